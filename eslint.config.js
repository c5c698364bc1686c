import path from 'node:path';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SRC = path.join(import.meta.dirname, 'src');

/**
 * Each folder under src/ is a component whose index.ts is its only public door (docs/design.md,
 * "Component map"), plus two light doors that import nothing heavy, so a CLI verb does not load a
 * whole component (issue 23): client.ts where a component serves other processes, and types.ts
 * (types and constants). A relative import that resolves into another component must name one;
 * inside its own folder a component imports what it likes. A local rule because
 * no-restricted-imports matches the specifier text, which cannot tell `../layout/x.ts` inside
 * src/tui from `../telemetry/x.ts` leaving it, and never sees `import()`.
 */
const componentDoors = {
  meta: {
    type: 'problem',
    docs: { description: "import another src/ component only through its index.ts" },
    messages: { door: "'{{source}}' reaches into src/{{component}}/{{inner}}: import src/{{component}}/index.ts instead (add the export there if it is missing)" },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const own = path.relative(SRC, file).split(path.sep);
    if (own[0] === '..' || own.length < 2) return {};
    const check = (node) => {
      const source = node.type === 'Literal' ? node.value : node.type === 'TemplateLiteral' && node.expressions.length === 0 ? node.quasis[0].value.cooked : null;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const [component, ...rest] = path.relative(SRC, path.resolve(path.dirname(file), source)).split(path.sep);
      if (component === '..' || component === own[0] || rest.length === 0) return;
      const inner = rest.join('/');
      if (inner === 'index.ts' || inner === 'client.ts' || inner === 'types.ts') return;
      context.report({ node, messageId: 'door', data: { source, component, inner } });
    };
    return {
      ImportDeclaration: (n) => check(n.source),
      ExportNamedDeclaration: (n) => n.source && check(n.source),
      ExportAllDeclaration: (n) => check(n.source),
      ImportExpression: (n) => check(n.source),
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'native/**', 'dist/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', AbortController: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', fetch: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    plugins: { nemoclaw: { rules: { 'component-doors': componentDoors } } },
    rules: { 'nemoclaw/component-doors': 'error' },
  },
  {
    // node:http by process.getBuiltinModule('node:http'): an ESM import of it evaluates every
    // export, and its lazy WebSocket getters load Node's bundled undici, ~40 ms on every CLI start
    // (issue 23; docs/design.md "Toolchain"). Type imports cost nothing. Tests may import it.
    files: ['src/**/*.ts', 'src/**/*.tsx'],
    ignores: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: ['node:http', 'http'].map((name) => ({ name, allowTypeImports: true, message: "use `const { request } = process.getBuiltinModule('node:http')`: importing node:http loads undici (~40 ms per CLI start)" })),
      }],
    },
  },
  {
    // Backend code never imports React or Ink (docs/design.md, "Component map": headless never loads Ink).
    files: ['src/**/*.ts'],
    ignores: ['src/tui/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['react', 'ink', 'ink-text-input'] }],
    },
  },
);
