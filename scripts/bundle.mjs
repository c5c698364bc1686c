// Bundles the CLI that bin/nemoclaw runs (issue 23; docs/benchmarks.md "CLI start-up"): each ES
// module Node loads costs ~0.3-0.6 ms whatever its size (resolution with realpath, read, compile
// cache lookup, link), and a verb loaded some 50-250 of them (zod alone is ~90). esbuild joins
// src/cli/main.ts and everything it imports into a few files, split where the command table imports
// a verb lazily, so a verb still loads only its own code, now in a handful of files.
//
// Layout: dist/bundle/<dir>/<name>.js for src/<dir>/<name>.ts (main and each lazily imported
// module), dist/bundle/chunks/ for code shared between them: every output file is two folders below
// dist/bundle, as every source is one folder below src/. Code that locates a file beside itself by
// `import.meta.url` (the helper binary, a janitor or worker run as its own process, themes,
// blueprints) is given the URL its tsc-built copy has, dist/<dir>/<name>.js, so it finds the same
// files as the per-file build, and a janitor or worker it starts is that per-file build's.
//
// Only pure-JavaScript dependencies on the start-up path are inlined (zod, yaml, commander); the
// rest (Ink and React, dockerode, node-pty's addon...) stay imports of node_modules, loaded as before.
//
// One exception to ES modules: src/policy, with the yaml and zod it uses, is one classic script,
// dist/bundle/policy/engine.js, run with a V8 code cache made after a run (scripts/policy-engine.mjs
// says why; scripts/engine-cache.mjs makes it). Every import of src/policy/index.ts in the bundle
// gets a small door module that runs it once and re-exports its exports.
//
// Plain JavaScript that runs on Node 20 (setup.mjs may run before Node 24 is the one running).
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TSCONFIGS } from './build.mjs';
import { ENGINE_FILE } from './policy-engine.mjs';

export const BUNDLE_DIR = 'bundle';
const LAZY = 'nemoclaw-lazy-package';
const BUILTIN = 'nemoclaw-builtin';
const POLICY_DOOR = 'nemoclaw-policy-door';
const NO_ESBUILD = 'esbuild is not installed (npm install); bin/nemoclaw runs the per-file build';
const INLINE = new Set(['zod', 'yaml', 'commander']);
const TS_URL = /new URL\((['"])(\.{1,2}\/[^'"\n]+)\.ts\1, import\.meta\.url\)/g;
// A lazy import out of src/policy (store.ts's of src/state), which the engine script makes through
// the loader instead (scripts/policy-engine.mjs).
const IMPORT_OUT = /import\((['"])(\.\.\/[^'"\n]+\.tsx?)\1\)/g;
/** The engine's wrapper: a script whose completion value is a function of what a module has. */
const ENGINE_PARAMS = 'exports, module, require, __engineUrl, __engineImport';

/**
 * The ES module a static import of BUILTIN gets in the bundle. Each export is read from the
 * builtin only where it is used: esbuild keeps an export only when something imports it (the
 * reads are marked pure). A builtin Node already loaded at start-up is read when the importing
 * chunk runs. Any other one loads on first use: its plain functions (no properties of their own,
 * no methods on a prototype, not classes) become wrappers that load it when called; anything
 * else (classes, objects, constants, functions carrying properties such as util.promisify.custom)
 * is read, and so loads the builtin, when the importing chunk runs, so identity and properties
 * stay Node's own. A name that is no identifier is left out: importing it fails the build.
 */
function standIn(builtin, real, loadedAtStart) {
  const id = JSON.stringify(builtin);
  const lines = ['let m;', `const load = () => (m ??= process.getBuiltinModule(${id}));`, 'const pick = (n) => load()[n];'];
  for (const name of Object.getOwnPropertyNames(real)) {
    if (name === 'default' || !isIdentifier(name)) continue;
    // An accessor (node:crypto's deprecated `fips`) is read only where the bundle uses it.
    const { value } = Object.getOwnPropertyDescriptor(real, name);
    if (!loadedAtStart && isPlainFunction(value)) lines.push(`export function ${name}(...a) { return load().${name}(...a); }`);
    else lines.push(`export const ${name} = /* @__PURE__ */ pick(${JSON.stringify(name)});`);
  }
  // The module object itself (`import cp from 'node:child_process'`, as commander has it, for a
  // spawn it never makes here): loaded at first use through a proxy, or every commander verb
  // would load child_process (~4 ms) at start. A builtin loaded at start-up is given as is.
  if (loadedAtStart) lines.push('export default /* @__PURE__ */ load();');
  else lines.push('export default /* @__PURE__ */ lazyModule();', LAZY_MODULE);
  return lines.join('\n');
}

/**
 * A stand-in's lazy default export: a proxy that loads the builtin on first use and answers for
 * it (properties, `in`, keys, descriptors, the functions unchanged, called on the real module).
 */
const LAZY_MODULE = `function lazyModule() {
  const forward = (trap) => (_target, ...a) => Reflect[trap](load(), ...a);
  return new Proxy({}, {
    get: (_t, k) => load()[k],
    has: forward('has'),
    ownKeys: forward('ownKeys'),
    // Reported configurable: the empty target has none of them (a proxy's invariant).
    getOwnPropertyDescriptor: (_t, k) => {
      const d = Reflect.getOwnPropertyDescriptor(load(), k);
      return d === undefined ? undefined : { ...d, configurable: true };
    },
    set: (_t, k, v) => Reflect.set(load(), k, v),
  });
}`;

/** A function a wrapper can stand in for: called, never constructed or inspected. */
function isPlainFunction(f) {
  if (typeof f !== 'function' || /^class\b/.test(Function.prototype.toString.call(f))) return false;
  if (!Reflect.ownKeys(f).every((k) => k === 'length' || k === 'name' || k === 'prototype')) return false;
  return f.prototype === undefined || Reflect.ownKeys(f.prototype).every((k) => k === 'constructor');
}

/** A name `export const NAME` can declare (reserved words are not). */
function isIdentifier(name) {
  if (!/^[A-Za-z_$][\w$]*$/.test(name)) return false;
  try {
    new Function(`'use strict'; let ${name};`);
    return true;
  } catch {
    return false;
  }
}

let startupMemo;
/**
 * The builtins a bare Node has loaded by the time it runs a script (this Node: build.mjs runs this
 * file on the Node that runs the bundle). Asked once per build: the engine's and the CLI's plugins
 * both need it.
 */
function startupBuiltins() {
  if (startupMemo === undefined) {
    const bare = spawnSync(process.execPath, ['-p', 'JSON.stringify(process.moduleLoadList)'], { encoding: 'utf8' });
    startupMemo = new Set(JSON.parse(bare.stdout).filter((m) => m.startsWith('NativeModule ')).map((m) => `node:${m.slice(13)}`));
  }
  return startupMemo;
}

/**
 * The plugin that keeps other packages external and pins `import.meta.url` to the per-file build.
 * For the CLI's bundle, DOOR is the module that stands for src/policy/index.ts (policyDoor()); for
 * the engine script, ENGINE collects the specifiers of its lazy imports out of src/policy.
 */
function nemoclawPlugin(root, { door, engine } = {}) {
  const src = join(root, 'src');
  const policyIndex = join(src, 'policy', 'index.ts');
  const startup = startupBuiltins();
  return {
    name: 'nemoclaw',
    setup(b) {
      // Every import of src/policy/index.ts from outside src/policy gets the door: one engine
      // (one PolicyError class, one zod) for the whole CLI.
      if (door !== undefined) {
        b.onResolve({ filter: /index\.ts$/ }, (a) => {
          if (a.importer.startsWith(join(src, 'policy') + sep) || join(a.resolveDir, a.path) !== policyIndex) return undefined;
          return { path: relative(root, policyIndex), namespace: POLICY_DOOR };
        });
        b.onLoad({ filter: /.*/, namespace: POLICY_DOOR }, () => ({ contents: door, resolveDir: join(src, 'policy'), loader: 'js' }));
      }
      b.onResolve({ filter: /^[^./]/ }, (a) => {
        // A static import of a builtin is given a stand-in (see BUILTIN below).
        // One stand-in per importing file, so it lands in that file's chunk rather than in a chunk
        // of its own that every verb would load (a file costs more than a few duplicated lines).
        if (a.path.startsWith('node:') && a.kind === 'import-statement') return { path: `${a.path}|${relative(root, a.importer)}`, namespace: BUILTIN };
        if (a.path.startsWith('node:')) return { external: true };
        const pkg = a.path.startsWith('@') ? a.path.split('/').slice(0, 2).join('/') : a.path.split('/')[0];
        if (!INLINE.has(pkg)) return { external: true };
        // `await import('yaml')` of a CommonJS package: esbuild's namespace for it would hold only
        // `default`, where Node's also has the named exports it detects. A stand-in module
        // re-exports what Node itself shows for the package, so the bundle sees the same names.
        if (a.kind === 'dynamic-import' && a.namespace !== LAZY) return { path: a.path, namespace: LAZY };
        return undefined;
      });
      // A builtin imported statically: an ES import of it builds the builtin's module facade,
      // which reads every export, so Node's lazy exports run (node:util's loads worker_threads
      // and more, node:process's allowedNodeEnvironmentFlags builds a set), and esbuild's
      // CommonJS interop over require() copies every property. Instead the import gets an ES
      // module of its own (standIn below), one named export per export Node has (read here from
      // the same Node), which esbuild drops where nothing imports it: a verb reads only the
      // exports it uses, and a builtin Node has not loaded yet (node:crypto, node:child_process,
      // node:net) loads when one of its plain functions is first called, not at import.
      b.onLoad({ filter: /.*/, namespace: BUILTIN }, (a) => {
        const builtin = a.path.slice(0, a.path.indexOf('|'));
        const id = JSON.stringify(builtin);
        if (builtin === 'node:process') return { contents: 'module.exports = process;', loader: 'js' };
        // A builtin that is a function (node:events is EventEmitter, node:assert assert) is its
        // own default export, with properties of its own: it is required as is.
        const real = createRequire(import.meta.url)(builtin);
        if (typeof real === 'function') return { contents: `module.exports = require(${id});`, loader: 'js' };
        return { contents: standIn(builtin, real, startup.has(builtin)), loader: 'js' };
      });
      b.onLoad({ filter: /.*/, namespace: LAZY }, async (a) => {
        const names = Object.keys(await import(pathToFileURL(createRequire(join(root, 'package.json')).resolve(a.path)).href));
        const named = names.filter((n) => n !== 'default' && /^[A-Za-z_$][\w$]*$/.test(n));
        const lines = [`import * as m from ${JSON.stringify(a.path)};`, `export const { ${named.join(', ')} } = m;`];
        if (names.includes('default')) lines.push('export default m.default;');
        return { contents: lines.join('\n'), resolveDir: root, loader: 'js' };
      });
      b.onLoad({ filter: /\.tsx?$/ }, async (a) => {
        let text = await readFile(a.path, 'utf8');
        const rel = relative(src, a.path);
        if (rel.startsWith('..')) return undefined;
        if (text.includes('import.meta.url')) {
          // Output files sit two folders below dist/bundle (asserted after the build), so ../../
          // from any of them is dist/, where tsc put this module as dist/<rel>.js.
          const own = `../../${rel.split(sep).join('/').replace(/\.tsx?$/, '.js')}`;
          text = text.replace(TS_URL, (_m, q, p) => `new URL(${q}${p}.js${q}, import.meta.url)`);
          text = text.replaceAll('import.meta.url', `new URL(${JSON.stringify(own)}, import.meta.url).href`);
        }
        if (engine !== undefined) {
          text = text.replace(IMPORT_OUT, (_m, q, specifier) => {
            engine.add(specifier);
            return `__engineImport(${q}${specifier}${q})`;
          });
        }
        return { contents: text, loader: a.path.endsWith('x') ? 'tsx' : 'ts' };
      });
    },
  };
}

/**
 * Builds src/policy (with yaml and zod) as one classic script, OUT/ENGINE_FILE, for
 * scripts/policy-engine.mjs to run with a code cache made after a run (why: that file). Returns
 * what the door needs (the engine's export names, its lazy imports out of src/policy) and the
 * sources it holds, or an error message.
 */
async function buildEngine(esbuild, options, root, out) {
  const file = join(out, ENGINE_FILE);
  const specifiers = new Set();
  const engineOptions = {
    ...options,
    entryPoints: [join(root, 'src', 'policy', 'index.ts')],
    splitting: false,
    write: false,
    banner: {},
    plugins: [nemoclawPlugin(root, { engine: specifiers })],
  };
  // An ES build, written nowhere, for the names the door re-exports.
  const scan = await esbuild.build(engineOptions).catch((err) => err);
  if (scan instanceof Error) return `esbuild failed on the policy engine: ${scan.message}`;
  const names = Object.values(scan.metafile.outputs).find((o) => o.entryPoint !== undefined).exports;
  const r = await esbuild
    .build({ ...engineOptions, format: 'cjs', outdir: undefined, outfile: file, define: { 'import.meta.url': '__engineUrl' } })
    .catch((err) => err);
  if (r instanceof Error) return `esbuild failed on the policy engine: ${r.message}`;
  const code = r.outputFiles[0].text;
  // A script has no import(): without Node's experimental vm loader it would throw when called.
  const dynamic = code.match(/\bimport\((?!\)).{0,60}/);
  if (dynamic !== null) return `the policy engine imports lazily where the loader cannot: ${dynamic[0]}`;
  // The loader reads it as latin1, which is its text only while it is ASCII (esbuild's default).
  const wide = code.match(/[^\0-\x7f]/);
  if (wide !== null) return `the policy engine is not ASCII (the loader reads it as latin1): ${JSON.stringify(wide[0])} at ${wide.index}`;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `(function (${ENGINE_PARAMS}) {\n${code}\n})\n`);
  const sources = Object.keys(r.metafile.inputs).filter((i) => i.startsWith('src/'));
  return { names, specifiers: [...specifiers], sources };
}

/**
 * yaml's ES module build, what the package exports under the `default` condition (esbuild on the
 * node platform takes its `node` one, the CommonJS build: the same sources, compiled twice). Its
 * modules are hoisted into one scope where the CommonJS ones each stay a function with its exports
 * copied between them: the engine script is ~65 KB smaller, and runs its top level ~0.7 ms faster
 * (issue 23). The two builds differ only where nemoclaw never goes: warnings are printed with
 * console.warn instead of process.emitWarning (load.ts asks for none), `!!binary` decodes with atob
 * instead of Buffer (a YAML 1.1 tag; policies are read as 1.2), and LOG_TOKENS/LOG_STREAM debug
 * output is not read from the environment.
 */
function yamlEsBuild(root) {
  return join(dirname(createRequire(join(root, 'package.json')).resolve('yaml/package.json')), 'browser', 'index.js');
}

/** The module that stands for src/policy/index.ts in the CLI's bundle: it runs the engine script. */
function policyDoor(root, engine) {
  const imports = engine.specifiers.map((s) => `${JSON.stringify(s)}: () => import(${JSON.stringify(s)})`);
  return [
    `import { loadEngine } from ${JSON.stringify(join(root, 'scripts', 'policy-engine.mjs'))};`,
    // Every output file is two folders below dist/bundle, so ../../ is dist/.
    `const engine = loadEngine(new URL(${JSON.stringify(`../../${ENGINE_FILE}`)}, import.meta.url), { ${imports.join(', ')} }).exports;`,
    `export const { ${engine.names.join(', ')} } = engine;`,
  ].join('\n');
}

/**
 * Writes the bundle of src/cli/main.ts under OUT (a build's dist/ being prepared); returns an
 * error message, or null. esbuild is a devDependency: without it there is no bundle and
 * bin/nemoclaw runs the per-file build.
 */
export async function bundle(root, out) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return NO_ESBUILD;
  }
  const outdir = join(out, BUNDLE_DIR);
  const main = join(root, 'src', 'cli', 'main.ts');
  const options = {
    absWorkingDir: root,
    entryPoints: [main],
    outbase: join(root, 'src'),
    outdir,
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    jsx: 'automatic',
    // The bundled CommonJS (yaml's Node build, commander) and the stand-ins of builtins that are
    // functions require only builtins, and an ES module has no require of its own.
    // process.getBuiltinModule, not an import of node:module, whose ES facade would read (and so
    // load) all of its exports.
    banner: {
      js: 'const require = (id) => process.getBuiltinModule(id) ?? process.getBuiltinModule("node:module").createRequire(import.meta.url)(id);',
    },
    metafile: true,
    logLevel: 'silent',
    alias: { yaml: yamlEsBuild(root) },
  };
  const engine = await buildEngine(esbuild, options, root, out);
  if (typeof engine === 'string') return engine;
  options.plugins = [nemoclawPlugin(root, { door: policyDoor(root, engine) })];
  // Every module imported lazily (a verb, a component's door) becomes an entry of its own, named
  // after its source (dist/bundle/cli/policy.js, dist/bundle/headless/index.js), not a hashed
  // chunk: what a verb loaded stays readable in a module trace. A first pass, writing nothing,
  // finds them.
  const scan = await esbuild.build({ ...options, write: false }).catch((err) => err);
  if (scan instanceof Error) return `esbuild failed: ${scan.message}`;
  const lazy = new Set([main]);
  for (const input of Object.values(scan.metafile.inputs)) {
    // Packages imported lazily (commander, yaml) stay hashed chunks: only sources have a folder.
    for (const i of input.imports) if (i.kind === 'dynamic-import' && !i.external && i.path.startsWith('src/')) lazy.add(join(root, i.path));
  }
  const r = await esbuild.build({ ...options, entryPoints: [...lazy] }).catch((err) => err);
  if (r instanceof Error) return `esbuild failed: ${r.message}`;
  const deep = Object.keys(r.metafile.outputs).filter((f) => relative(outdir, join(root, f)).split(sep).length !== 2);
  if (deep.length > 0) return `bundle outputs not two folders below ${BUNDLE_DIR}/ (import.meta.url would be wrong): ${deep.join(', ')}`;
  const closures = await sourceClosures(esbuild, options, r.metafile, { [`${POLICY_DOOR}:src/policy/index.ts`]: engine.sources });
  if (typeof closures === 'string') return closures;
  // build.mjs wrote the list of every source there; the closures join it as indices into that
  // list (src/cli/freshness.ts reads it before every command: 8 KB, not 60).
  const manifest = join(out, 'sources.json');
  const { all } = JSON.parse(await readFile(manifest, 'utf8'));
  const index = new Map(all.map((f, i) => [f, i]));
  const missing = Object.values(closures).flat().filter((f) => !index.has(f));
  if (missing.length > 0) return `sources in the bundle that the build did not list: ${[...new Set(missing)].join(', ')}`;
  const indices = Object.fromEntries(Object.entries(closures).map(([m, files]) => [m, files.map((f) => index.get(f))]));
  await writeFile(manifest, `${JSON.stringify({ all, closures: indices })}\n`);
  return null;
}

/**
 * Per entry of the bundle (a module a command starts from: src/cli/main.ts and each lazily
 * imported one, keyed by its path under src/ without extension), the sources its code comes from:
 * those of every output file it reaches through imports of any kind, and of each script such a
 * source starts as a process or worker by `new URL('./x.ts', import.meta.url)` (which runs the
 * per-file build), found by a scan of those scripts. src/cli/freshness.ts checks only these.
 */
async function sourceClosures(esbuild, options, metafile, standsFor) {
  const outputs = metafile.outputs;
  const reach = (start, staticOnly) => {
    const seen = new Set();
    const todo = [start];
    while (todo.length > 0) {
      const o = todo.pop();
      if (seen.has(o)) continue;
      seen.add(o);
      for (const i of outputs[o].imports) if (!i.external && (!staticOnly || i.kind === 'import-statement')) todo.push(i.path);
    }
    return [...seen].flatMap((o) => Object.keys(outputs[o].inputs).flatMap((i) => standsFor[i] ?? [i])).filter((i) => i.startsWith('src/'));
  };
  // Scripts started by URL, each with the sources it imports, found by a scan (no output) that
  // bundles each as an entry of its own. Each source is read for its URLs once, whatever number
  // of entries it is part of.
  const started = new Map();
  const urlsOf = new Map();
  const startsFrom = async (file) => {
    if (!urlsOf.has(file)) {
      const text = await readFile(join(options.absWorkingDir, file), 'utf8');
      urlsOf.set(file, [...text.matchAll(TS_URL)].map((m) => relative(options.absWorkingDir, join(options.absWorkingDir, file, '..', `${m[2]}.ts`)).split(sep).join('/')));
    }
    return urlsOf.get(file);
  };
  const startedBy = async (sources) => {
    const wanted = new Set();
    for (const file of sources) for (const w of await startsFrom(file)) wanted.add(w);
    const fresh = [...wanted].filter((w) => !started.has(w));
    if (fresh.length > 0) {
      const scan = await esbuild.build({ ...options, entryPoints: fresh.map((f) => join(options.absWorkingDir, f)), splitting: false, write: false }).catch((err) => err);
      if (scan instanceof Error) throw scan;
      for (const o of Object.values(scan.metafile.outputs)) {
        if (o.entryPoint !== undefined) started.set(o.entryPoint, Object.keys(o.inputs).filter((i) => i.startsWith('src/')));
      }
      for (const f of fresh) if (!started.has(f)) throw new Error(`no scan output for ${f}, started by URL`);
    }
    return [...wanted];
  };
  const closures = {};
  try {
    for (const [out, o] of Object.entries(outputs)) {
      if (o.entryPoint === undefined || !o.entryPoint.startsWith('src/')) continue;
      // main.ts's own code, without what it imports lazily: every command loads a verb's module
      // too, and asks for that module's sources beside these (or for every source).
      const sources = new Set(reach(out, o.entryPoint === 'src/cli/main.ts'));
      // A started script may start another: until no new one turns up.
      for (let todo = [...sources]; todo.length > 0; ) {
        const next = [];
        for (const s of await startedBy(todo)) {
          for (const f of [s, ...started.get(s)]) {
            if (sources.has(f)) continue;
            sources.add(f);
            next.push(f);
          }
        }
        todo = next;
      }
      closures[o.entryPoint.replace(/^src\//, '').replace(/\.tsx?$/, '')] = [...TSCONFIGS, ...[...sources].sort()];
    }
  } catch (err) {
    return `esbuild failed on a script started by URL: ${err.message}`;
  }
  return closures;
}

// `node scripts/bundle.mjs ROOT OUT`: what build.mjs runs (in its own process, since esbuild's
// plugins need its asynchronous API and build() is synchronous). Exit 0 with a bundle, 2 without
// esbuild (a note on stderr), 1 when the bundle failed.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [root, out] = process.argv.slice(2);
  const why = await bundle(root, out);
  if (why !== null) process.stderr.write(`${why}\n`);
  process.exitCode = why === null ? 0 : why === NO_ESBUILD ? 2 : 1;
}
