// The JavaScript build that bin/nemoclaw runs (scripts/build.mjs, issue 23): the compiled CLI gives
// the same output and exit status as the TypeScript sources, and bin/nemoclaw never runs a build
// older than src/ (it runs the sources instead, telling a terminal so). Behaviour only; the time it
// saves is bench/cli.ts's to print.
import { spawn } from '@lydell/node-pty';
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { staleness } from '../../scripts/build.mjs';
import { ENGINE_FILE, engineCacheOf } from '../../scripts/policy-engine.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const node = join(root, 'node_modules', 'node', 'bin', 'node');
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-build-'));

/** Everything `file args` prints on a 200-column PTY until it exits (CRs dropped); fails after 20 s. */
function ptyOutput(file: string, args: string[], rows: number, opts: { cwd?: string; env: Record<string, string> }): Promise<string> {
  return new Promise<string>((done, fail) => {
    const p = spawn(file, args, { cols: 200, rows, ...opts });
    let out = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      fail(new Error(`no exit: ${out}`));
    }, 20_000);
    p.onData((d) => (out += d));
    p.onExit(() => {
      clearTimeout(timer);
      done(out.replace(/\r/g, ''));
    });
  });
}
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the built CLI (dist/) and the TypeScript sources', () => {
  // The test run's global setup rebuilt dist/ if a source had changed since `npm run setup`.
  // `bundled` is what bin/nemoclaw runs (scripts/bundle.mjs); `built`, the per-file build it runs
  // without esbuild, and whose files the bundle's janitor and workers are.
  const entries = {
    built: [join(root, 'dist', 'cli', 'main.js')],
    bundled: [join(root, 'dist', 'bundle', 'cli', 'main.js')],
    sources: ['--disable-warning=ExperimentalWarning', join(root, 'src', 'cli', 'main.ts')],
  };
  const workspace = join(scratch, 'ws');
  const home = join(scratch, 'home');
  mkdirSync(workspace);
  mkdirSync(home);
  const good = join(workspace, 'good.yaml');
  const bad = join(workspace, 'bad.yaml');
  writeFileSync(good, 'version: 1\nnetwork_policies:\n  gh:\n    endpoints: [{ host: api.github.com, port: 443, protocol: rest, access: read-only }]\n');
  writeFileSync(bad, 'version: 1\nnetwork_policies:\n  x:\n    endpoints:\n      - host: "*.com"\n        port: 443\n');

  function run(entry: string[], args: string[]) {
    const r = spawnSync(node, [...entry, ...args], { cwd: workspace, encoding: 'utf8', env: { ...process.env, NEMOCLAW_HOME: home }, timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  const commands = [
    ['--version'],
    ['--help'],
    ['-h'],
    ['help'],
    ['help', 'policy'],
    ['no-such-verb'],
    ['policy', 'validate', good, bad],
    ['policy', 'explain', good],
    ['completion', 'bash'],
    ['completion', 'zsh'],
    ['completion', 'fish'],
    ['policy', 'schema'],
    ['policy', 'schema', '--kind', 'preset'],
    ['policy', 'presets'],
    ['policy', 'presets', '--json'],
    ['sandbox', 'run', '--', 'true'],
    ['sandbox', 'run', '--', 'sh', '-c', 'echo inside; exit 3'],
  ];
  it.each(commands.map((args) => [args.map((a) => a.replace(workspace, '.')).join(' '), args] as const))('nemoclaw %s runs the same', (_title, args) => {
    const built = run(entries.built, args);
    const sources = run(entries.sources, args);
    expect(built).toEqual(sources);
    expect(run(entries.bundled, args)).toEqual(sources);
    expect(built.status).not.toBeNull();
  });

  it('sandbox run gives the command its status and output through the build and the bundle', () => {
    for (const entry of [entries.built, entries.bundled]) {
      expect(run(entry, ['sandbox', 'run', '--', 'sh', '-c', 'echo inside; exit 3'])).toMatchObject({ status: 3, stdout: 'inside\n' });
    }
  });

  it('--help on a terminal is wrapped to its width, as the sources wrap it (the recorded output is for pipes)', async () => {
    const onPty = (entry: string[]) => ptyOutput(node, [...entry, '--help'], 60, { cwd: workspace, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: home, TERM: 'xterm' } });
    const sources = await onPty(entries.sources);
    expect(sources).toMatch(/^ {2}approvals +list and decide pending egress\/exec approvals \(needs `nemoclaw serve`\)$/m);
    expect(await onPty(entries.bundled)).toBe(sources);
    expect(await onPty(entries.built)).toBe(sources);
  });

  it('every module a built file names by URL (a janitor, a worker, the helper, themes) exists', () => {
    const dist = join(root, 'dist');
    const missing: string[] = [];
    for (const f of readdirSync(dist, { recursive: true }).map(String)) {
      if (!f.endsWith('.js')) continue;
      const text = readFileSync(join(dist, f), 'utf8');
      for (const m of text.matchAll(/new URL\((['"])(\.{1,2}\/[^'"\n]*)\1, import\.meta\.url\)/g)) {
        const target = resolve(dirname(join(dist, f)), m[2] as string);
        // The helper binary exists once `make -C native` ran (global setup); the rest ship in the tree.
        if (!existsSync(target)) missing.push(`${f}: ${m[2]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

/**
 * How the policy engine's code cache fares when CHECKOUT's dist/bundle/policy/engine.js runs under
 * FLAGS (scripts/policy-engine.mjs: accepted, rejected, stale or none).
 */
function engineCache(checkout: string, flags: string[] = []): string {
  const script = `import { loadEngine } from ${JSON.stringify(join(root, 'scripts', 'policy-engine.mjs'))};
process.stdout.write(loadEngine(new URL(${JSON.stringify(pathToFileURL(join(checkout, 'dist', ENGINE_FILE)).href)}), {}).cache);`;
  const r = spawnSync(node, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe("the policy engine's code cache, made by the build", () => {
  it('is accepted by the Node that runs the CLI, under every set of flags bin/nemoclaw gives it', () => {
    // The V8 flags are part of what a code cache must match (heap sizes are not).
    const launches = [...readFileSync(join(root, 'bin', 'nemoclaw'), 'utf8').matchAll(/exec "\$node" (.*) "\$entry"/g)].map((m) => (m[1] as string).split(' '));
    expect(launches.length).toBeGreaterThanOrEqual(2);
    for (const flags of launches) expect({ flags, cache: engineCache(root, flags) }).toEqual({ flags, cache: 'accepted' });
  });
});

describe('policy presets from the build', () => {
  // The bundle's policy presets with a hook that reports every open of the engine script: whether
  // the engine ran at all, with NEMOCLAW_BLUEPRINTS naming `blueprints`.
  const hook = `data:text/javascript,${encodeURIComponent(
    "import fs from 'node:fs'; const open = fs.openSync; fs.openSync = (p, ...a) => { if (String(p).endsWith('/policy/engine.js')) process.stderr.write('ENGINE-RUN\\n'); return open(p, ...a); };",
  )}`;
  const presets = (blueprints: string) => {
    const r = spawnSync(node, ['--import', hook, join(root, 'dist', 'bundle', 'cli', 'main.js'), 'policy', 'presets'], { encoding: 'utf8', env: { ...process.env, NEMOCLAW_BLUEPRINTS: blueprints }, timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace('ENGINE-RUN\n', ''), engineRun: r.stderr.includes('ENGINE-RUN') };
  };
  const copyOfShipped = (name: string): string => {
    const dir = join(scratch, name);
    cpSync(join(root, 'blueprints'), dir, { recursive: true });
    return dir;
  };

  it('lists the shipped presets without running the engine, as the engine lists them', () => {
    const r = presets(copyOfShipped('shipped'));
    expect(r).toMatchObject({ status: 0, engineRun: false, stderr: '' });
    expect(r.stdout).toMatch(/^pypi +\S/m);
    // The engine's own answer, from the sources (which have no such record of the build's).
    const sources = spawnSync(node, ['--disable-warning=ExperimentalWarning', join(root, 'src', 'cli', 'main.ts'), 'policy', 'presets'], { encoding: 'utf8', env: { ...process.env, NEMOCLAW_BLUEPRINTS: join(scratch, 'shipped') } });
    expect(r.stdout).toBe(sources.stdout);
  });

  it('runs the engine for a preset the build did not read: an edited one is listed as edited, a broken one refused with its position', () => {
    const edited = copyOfShipped('edited');
    const pypi = join(edited, 'presets', 'pypi.yaml');
    writeFileSync(pypi, readFileSync(pypi, 'utf8').replace(/description: .*/, 'description: edited after the build'));
    expect(presets(edited)).toMatchObject({ status: 0, engineRun: true, stdout: expect.stringMatching(/^pypi +edited after the build$/m) });
    const broken = copyOfShipped('broken');
    writeFileSync(join(broken, 'presets', 'pypi.yaml'), 'preset:\n  name: pypi\n  description: no rules\nnetwork_policies:\n  x:\n    endpoints: [{ host: "*.com", port: 443 }]\n');
    expect(presets(broken)).toMatchObject({ status: 1, engineRun: true, stdout: '', stderr: expect.stringMatching(/pypi\.yaml:\d+:\d+/) });
  });
});

describe('bin/nemoclaw picks the build only while it is fresh', () => {
  // A copy of this checkout's build and sources, with the real bin/nemoclaw and Node 24, whose
  // src/cli/main.ts is replaced by a stand-in that says the sources ran, and mtimes set by hand.
  // The build decides for itself (src/cli/freshness.ts) from the list of sources it wrote.
  const fake = join(scratch, 'checkout');
  mkdirSync(join(fake, 'bin'), { recursive: true });
  copyFileSync(join(root, 'bin', 'nemoclaw'), join(fake, 'bin', 'nemoclaw'));
  spawnSync('chmod', ['+x', join(fake, 'bin', 'nemoclaw')]);
  symlinkSync(join(root, 'node_modules'), join(fake, 'node_modules'));
  for (const f of ['dist', 'src', 'tsconfig.json', 'tsconfig.build.json']) cpSync(join(root, f), join(fake, f), { recursive: true });
  writeFileSync(join(fake, 'src', 'cli', 'main.ts'), "const ran: string = 'sources';\nprocess.stdout.write(`${ran} ${process.argv.slice(2).join(' ')}\\n`);\n");
  const at = (path: string, secondsAgo: number): void => {
    const t = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(join(fake, path), t, t);
  };
  const sources = (JSON.parse(readFileSync(join(fake, 'dist', 'sources.json'), 'utf8')) as { all: string[] }).all;
  /** Every source older than the stamp: a fresh build. */
  const fresh = (): void => {
    writeFileSync(join(fake, 'dist', '.built'), '');
    for (const p of [...sources, ...readdirSync(join(fake, 'src'), { recursive: true }).map((f) => `src/${String(f)}`), 'src']) at(p, 100);
    at('dist/.built', 50);
  };
  const nemoclaw = (...args: string[]) => {
    const r = spawnSync(join(fake, 'bin', 'nemoclaw'), args, { encoding: 'utf8', env: { ...process.env, NODE_COMPILE_CACHE: join(scratch, 'cc'), NEMOCLAW_HOME: join(scratch, 'fake-home') } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const BUILT = { status: 0, stdout: '0.1.0\n', stderr: '' };
  const SOURCES = { status: 0, stdout: 'sources --version\n', stderr: '' };

  it('runs the build when no source is newer than its stamp', () => {
    fresh();
    expect(nemoclaw('--version')).toEqual(BUILT);
    expect(nemoclaw('list')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^no sandboxes/) });
    expect(staleness(fake)).toBeNull();
  });

  it('runs the bundle, found through a link or a relative path too', () => {
    fresh();
    const link = join(scratch, 'link-to-nemoclaw');
    symlinkSync(join(fake, 'bin', 'nemoclaw'), link);
    const env = { ...process.env, NODE_COMPILE_CACHE: join(scratch, 'cc') };
    for (const [how, cmd, cwd] of [
      ['absolute', join(fake, 'bin', 'nemoclaw'), scratch],
      ['link', link, scratch],
      ['relative', './bin/nemoclaw', fake],
      ['relative to a subfolder', '../bin/nemoclaw', join(fake, 'src')],
    ] as const) {
      const r = spawnSync(cmd, ['--version'], { cwd, encoding: 'utf8', env });
      expect({ how, status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ how, ...BUILT });
    }
  });

  it('runs the sources when a source the command loads or a tsconfig is newer or gone, or the build is missing', () => {
    const cases: [string, () => void][] = [
      ['a changed source of the command', () => at('src/cli/output.ts', 10)],
      ['a changed tsconfig', () => at('tsconfig.build.json', 10)],
      ['a source the command loads is gone', () => rmSync(join(fake, 'src', 'text', 'inert.ts'))],
      ['no stamp', () => rmSync(join(fake, 'dist', '.built'))],
      ['no list of sources (a build from before the check)', () => rmSync(join(fake, 'dist', 'sources.json'))],
      ['a list of sources that does not parse', () => writeFileSync(join(fake, 'dist', 'sources.json'), '{"all": [')],
    ];
    const keep = (f: string): Buffer => readFileSync(join(fake, f));
    const [inert, manifest] = [keep('src/text/inert.ts'), keep('dist/sources.json')];
    for (const [what, change] of cases) {
      fresh();
      change();
      expect({ what, ...nemoclaw('--version') }).toEqual({ what, ...SOURCES });
      writeFileSync(join(fake, 'src', 'text', 'inert.ts'), inert);
      writeFileSync(join(fake, 'dist', 'sources.json'), manifest);
    }
  });

  it("checks only the sources of what the command loads: a verb's own (commander's verbs too), or every one for recorded output", () => {
    fresh();
    at('src/tui/index.ts', 10);
    expect(nemoclaw('--version')).toEqual(BUILT);
    expect(nemoclaw('list')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^no sandboxes/) });
    expect(nemoclaw('tui', '--help')).toEqual({ status: 0, stdout: 'sources tui --help\n', stderr: '' });
    expect(nemoclaw('help', 'tui')).toEqual({ status: 0, stdout: 'sources help tui\n', stderr: '' });
    expect(nemoclaw('doctor', '--help')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^Usage: nemoclaw doctor/) });
    // Recorded output (`--help` to a pipe) is the whole build's: any newer source reruns it.
    expect(nemoclaw('--help')).toEqual({ status: 0, stdout: 'sources --help\n', stderr: '' });
    fresh();
    at('src/cli/doctor.ts', 10);
    expect(nemoclaw('doctor', '--help')).toEqual({ status: 0, stdout: 'sources doctor --help\n', stderr: '' });
    expect(nemoclaw('tui', '--help')).toMatchObject({ status: 0, stdout: expect.stringMatching(/^Usage: nemoclaw tui/) });
    fresh();
    at('src/cli/sandbox-verbs.ts', 10);
    expect(nemoclaw('bench-bot', 'unpin')).toEqual({ status: 0, stdout: 'sources bench-bot unpin\n', stderr: '' });
    // `stop` is a fast-path verb of sandboxes.ts, which loads nothing of sandbox-verbs.ts: the build runs it.
    expect(nemoclaw('bench-bot', 'stop')).toMatchObject({ status: 3, stdout: '', stderr: expect.stringMatching(/no supervisor is running/) });
    fresh();
    at('src/sandbox/janitor.ts', 10); // imported by nothing: `sandbox run` starts it as a process
    expect(nemoclaw('--version')).toEqual(BUILT);
    expect(nemoclaw('sandbox', 'run', '--', 'true')).toEqual({ status: 0, stdout: 'sources sandbox run -- true\n', stderr: '' });
    fresh();
    at('src/state/lock.ts', 10);
    expect(nemoclaw('list')).toEqual({ status: 0, stdout: 'sources list\n', stderr: '' });
    // The policy engine is a script of its own (dist/bundle/policy/engine.js), not a bundle chunk.
    const file = join(scratch, 'fresh-policy.yaml');
    writeFileSync(file, 'version: 1\n');
    fresh();
    expect(nemoclaw('policy', 'validate', file)).toEqual({ status: 0, stdout: `ok ${file} (policy)\n`, stderr: '' });
    at('src/policy/load.ts', 10);
    expect(nemoclaw('policy', 'validate', file)).toEqual({ status: 0, stdout: `sources policy validate ${file}\n`, stderr: '' });
  });

  it("runs the policy engine right whatever its code cache: made for it, older than it, or one V8 refuses", () => {
    const engine = `dist/${ENGINE_FILE}`;
    const cacheFile = relative(fake, fileURLToPath(engineCacheOf(pathToFileURL(join(fake, engine)))));
    const cache = join(fake, cacheFile);
    const made = readFileSync(cache);
    const good = join(scratch, 'cache-good.yaml');
    const bad = join(scratch, 'cache-bad.yaml');
    writeFileSync(good, 'version: 1\nfilesystem_policy: { read_write: [/tmp] }\n');
    writeFileSync(bad, 'version: 1\nlimits: { memory: lots }\n');
    const answers = () => [nemoclaw('policy', 'validate', good), nemoclaw('policy', 'validate', bad), nemoclaw('policy', 'explain', good)];
    fresh();
    at(engine, 40);
    at(cacheFile, 30);
    expect(engineCache(fake)).toBe('accepted');
    const expected = answers();
    expect(expected.map((a) => a.status)).toEqual([0, 1, 0]);
    expect(expected[1]?.stderr).toMatch(/cache-bad\.yaml:2:/);
    try {
      const cases: [string, () => void][] = [
        ['stale', () => at(cacheFile, 45)],
        ['rejected', () => writeFileSync(cache, made.subarray(0, made.length >> 1))],
        ['rejected', () => writeFileSync(cache, Buffer.alloc(4096, 0x5a))],
        ['none', () => rmSync(cache)],
      ];
      for (const [status, change] of cases) {
        change();
        expect(engineCache(fake)).toBe(status);
        expect(answers()).toEqual(expected);
      }
    } finally {
      writeFileSync(cache, made);
    }
  });

  it('keeps the build when only a unit test changed or a file no source imports was added', () => {
    fresh();
    at('src/policy/load.test.ts', 10);
    writeFileSync(join(fake, 'src', 'policy', 'scratch-note.ts'), 'export {};\n');
    try {
      expect(nemoclaw('--version')).toEqual(BUILT);
      expect(nemoclaw('doctor', '--help')).toMatchObject({ stdout: expect.not.stringMatching(/^sources/) });
      // A rebuild is still due (setup's test), though nothing this build runs is older than its source.
      expect(staleness(fake)).not.toBeNull();
    } finally {
      rmSync(join(fake, 'src', 'policy', 'scratch-note.ts'));
    }
  });

  it('says so in one line on a terminal when it runs the sources', async () => {
    fresh();
    at('src/cli/output.ts', 10);
    const text = await ptyOutput(join(fake, 'bin', 'nemoclaw'), ['--version'], 10, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: scratch, TERM: 'xterm' } });
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^nemoclaw: the build in dist\/ is missing or older than src\/; running the TypeScript sources \(src\/cli\/output\.ts changed; .*npm run setup/);
    expect(lines[1]).toBe('sources --version');
  });
});
