#!/usr/bin/env node
// Compiles src/ to JavaScript in dist/, which bin/nemoclaw runs (issue 23; docs/design.md
// "Toolchain"): Node's run-time type stripping cost ~145 ms on every CLI start, more than Node's
// own start-up. The sources stay the truth: tsc emits with the project's tsconfig (types erased,
// `.ts` imports rewritten to `.js`, nothing bundled), dist/<component>/x.js sits at the depth of
// src/<component>/x.ts so paths such as '../../native/build/...' resolve the same, and tests may
// keep running the TypeScript. Type checking is `npm run typecheck`'s job, so the emit skips it.
//
// Freshness: dist/.built is written before tsc reads a source, so its mtime is the moment the build
// looked. A rebuild is due when anything under src/ (unit tests aside), tsconfig.json or
// tsconfig.build.json is newer, or when it is missing (staleness() below, for setup and the test
// run). The built CLI asks a narrower question before each command, from dist/sources.json written
// here: is a source of what this command loads newer? If so it runs the sources instead
// (src/cli/freshness.ts), so a stale build never runs, and no command pays for a walk of src/.
//
// Plain JavaScript that runs on Node 20: setup.mjs imports it before Node 24 is necessarily the
// one running. `node scripts/build.mjs [--force]` builds when stale (always with --force).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUILD_DIR = 'dist';
/** The compile's settings: sources as much as src/ is (staleness, dist/sources.json). */
export const TSCONFIGS = ['tsconfig.json', 'tsconfig.build.json'];
/**
 * Commands whose output depends on nothing but the build (not the home, the host, the terminal
 * when it is not one): recorded at build time in dist/cli/recorded/, one file per command
 * (recordedName). Help to a pipe is
 * commander's at 80 columns; completion scripts read sandbox names when the shell runs them;
 * the policy JSON Schema is the engine's zod schemas, converted (~20 ms of work on each run).
 */
const RECORDED = [['--help'], ['-h'], ['help'], ['completion', 'bash'], ['completion', 'zsh'], ['policy', 'schema']];

/**
 * A recorded command's file: its words, encoded so that no argument names a path. main.ts looks
 * a command up by the same name (recorded()), so a command with no recording costs it one failed
 * open instead of reading and parsing every recording.
 */
function recordedName(args) {
  return `${encodeURIComponent(args.join(' '))}.txt`;
}
export const STAMP = '.built';

/** find(1) arguments (after the root) that print the first input newer than the stamp. */
function freshnessFind(root) {
  const stamp = join(root, BUILD_DIR, STAMP);
  return [join(root, 'src'), ...TSCONFIGS.map((f) => join(root, f)), '!', '-name', '*.test.ts', '-newer', stamp, '-print', '-quit'];
}

/** Every file under src/ but unit tests, and the tsconfigs: paths relative to the checkout. */
function sourceFiles(root) {
  const files = readdirSync(join(root, 'src'), { recursive: true })
    .map((f) => `src/${String(f).split(sep).join('/')}`)
    .filter((f) => !f.endsWith('.test.ts') && statSync(join(root, f)).isFile());
  return [...TSCONFIGS, ...files.sort()];
}

/** Why the build cannot run as is (missing, or the first newer source), or null when it is fresh. */
export function staleness(root) {
  if (!existsSync(join(root, BUILD_DIR, STAMP)) || !existsSync(join(root, BUILD_DIR, 'cli', 'main.js'))) return `no build in ${BUILD_DIR}/`;
  const r = spawnSync('find', freshnessFind(root), { encoding: 'utf8' });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0 || out !== '') return out === '' ? `find exited ${r.status ?? r.signal}` : `${relative(root, out.split('\n')[0]) || '.'} is newer than the build`;
  return null;
}

// `new URL('./janitor.ts', import.meta.url)`: how a module names a sibling it runs in another
// process or a worker (src/sandbox/run.ts, src/supervisor/learn.ts). tsc rewrites `.ts` in import
// specifiers only, so the build does the same for this one form, or a built CLI would start a
// janitor or worker that does not exist.
const MODULE_URL = /new URL\((['"])(\.{1,2}\/[^'"\n]+)\.ts\1, import\.meta\.url\)/g;

function rewriteModuleUrls(dir) {
  for (const f of readdirSync(dir, { recursive: true })) {
    if (!String(f).endsWith('.js')) continue;
    const file = join(dir, String(f));
    const text = readFileSync(file, 'utf8');
    const out = text.replace(MODULE_URL, (_m, q, path) => `new URL(${q}${path}.js${q}, import.meta.url)`);
    if (out !== text) writeFileSync(file, out);
  }
}

/**
 * Compiles into a private folder, then swaps it in with renames, so a CLI starting meanwhile sees
 * the old build, no build (and runs the sources), or the new one, never a half-written file.
 */
export function build(root, say = (m) => process.stderr.write(`build: ${m}\n`)) {
  const work = join(root, 'node_modules', '.cache', 'nemoclaw', `dist-${process.pid}-${Date.now()}`);
  const next = join(work, 'next');
  mkdirSync(next, { recursive: true });
  // The new build's CLI runs here before it is moved in (recording, below), and checks its sources
  // in the folder above its own, as it will in the checkout (src/cli/freshness.ts).
  for (const f of ['src', ...TSCONFIGS]) symlinkSync(join(root, f), join(work, f));
  try {
    writeFileSync(join(next, STAMP), 'compiled by scripts/build.mjs from src/; stale when a source is newer than this file\n');
    // Every source this build reads, listed once it has looked (the stamp's mtime); the bundle adds
    // which of them each command loads. src/cli/freshness.ts checks them instead of walking src/.
    writeFileSync(join(next, 'sources.json'), `${JSON.stringify({ all: sourceFiles(root) })}\n`);
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', next], { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) {
      say(`tsc failed (exit ${r.status ?? r.signal}); bin/nemoclaw keeps running the TypeScript sources\n${r.stdout}${r.stderr}`);
      return false;
    }
    rewriteModuleUrls(next);
    // The CLI bin/nemoclaw runs, bundled into a few files (scripts/bundle.mjs): without esbuild
    // (status 2) bin/nemoclaw runs the per-file build above instead.
    // On the project's Node 24 where it is installed: the bundle reads the exports of the Node
    // that will run it.
    const node24 = join(root, 'node_modules', 'node', 'bin', 'node');
    const b = spawnSync(existsSync(node24) ? node24 : process.execPath, [join(root, 'scripts', 'bundle.mjs'), root, next], { cwd: root, encoding: 'utf8' });
    if (b.status === 2) say(b.stderr.trim());
    else if (b.status !== 0) {
      say(`bundling failed (exit ${b.status ?? b.signal}); bin/nemoclaw keeps running the TypeScript sources\n${b.stdout}${b.stderr}`);
      return false;
    }
    // The policy engine's code cache (scripts/engine-cache.mjs), made by the Node that runs the
    // bundle. Its run loads every shipped blueprint and preset: one that fails is a broken build.
    if (b.status === 0 && existsSync(node24)) {
      const c = spawnSync(node24, [join(root, 'scripts', 'engine-cache.mjs'), next], { cwd: root, encoding: 'utf8', env: { ...process.env, NEMOCLAW_BLUEPRINTS: join(root, 'blueprints') } });
      if (c.status !== 0) {
        say(`the policy engine's cache run failed (exit ${c.status ?? c.signal}); bin/nemoclaw keeps running the TypeScript sources\n${c.stdout}${c.stderr}`);
        return false;
      }
    }
    // The output of commands that depend on nothing but the build, as they print it to a pipe,
    // recorded so that the built CLI prints it without loading commander or the verb
    // (src/cli/main.ts, recorded()).
    const built = existsSync(join(next, 'bundle', 'cli', 'main.js')) ? join(next, 'bundle', 'cli', 'main.js') : join(next, 'cli', 'main.js');
    mkdirSync(join(next, 'cli', 'recorded'));
    for (const args of RECORDED) {
      const h = spawnSync(existsSync(node24) ? node24 : process.execPath, [built, ...args], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (h.status !== 0 || h.stdout === '') {
        say(`the built CLI's ${args.join(' ')} failed (exit ${h.status ?? h.signal}); bin/nemoclaw keeps running the TypeScript sources\n${h.stderr}`);
        return false;
      }
      writeFileSync(join(next, 'cli', 'recorded', recordedName(args)), h.stdout);
    }
    const dist = join(root, BUILD_DIR);
    const old = join(work, 'old');
    try {
      renameSync(dist, old);
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
    try {
      renameSync(next, dist);
    } catch (err) {
      // Another build (a second setup or test run) put its own in place between our renames:
      // it is as fresh as ours, and bin/nemoclaw checks its stamp anyway.
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    }
    return true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const why = process.argv.includes('--force') ? 'forced' : staleness(root);
  if (why !== null) {
    process.stderr.write(`build: compiling src/ to ${BUILD_DIR}/ (${why})\n`);
    process.exitCode = build(root) ? 0 : 1;
  }
}
