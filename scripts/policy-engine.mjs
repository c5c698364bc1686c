// Runs the bundle's policy engine (src/policy with yaml and zod, built by scripts/bundle.mjs as one
// classic script, dist/bundle/policy/engine.js) with the V8 code cache the build made for it
// (engine.cache, by scripts/engine-cache.mjs). Why not an ES module like the rest of the bundle:
// Node's compile cache stores a module's code as it was when compiled, before any of its
// functions ran, so V8 compiled yaml's and zod's functions anew on every `policy validate`
// (~10 ms of its ~55). A script's cache can be made after it ran (script.createCachedData()),
// holding every function that run compiled; the build makes it after a run over the shipped
// blueprints and presets (issue 23, docs/benchmarks.md "CLI start-up").
//
// The cache is only a speed-up: V8 rejects one made by another V8, or under other flags, and this
// loader ignores one older than engine.js (V8 checks a script's length, not its text: an edited
// engine.js must not run the code cached for the old one). Either way the engine compiles as
// usual. Bundled into the CLI (the door module bundle.mjs writes for src/policy/index.ts) and
// imported as is by scripts/engine-cache.mjs. Plain JavaScript.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

/** Where the build puts the engine script, under its output folder (dist/). */
export const ENGINE_FILE = 'bundle/policy/engine.js';

/** The engine's code cache: beside it. */
export function engineCacheOf(engine) {
  return new URL('engine.cache', engine);
}

/**
 * What the engine gave for each shipped preset, keyed by the preset's exact text: beside it too.
 * `policy presets` lists from it without running the engine (src/cli/presets.ts, which names the
 * same place from its own URL).
 */
export function presetsMemoOf(engine) {
  return new URL('presets.json', engine);
}

/**
 * Runs ENGINE (a file: URL of engine.js) and returns its exports, with how its cache fared:
 * 'accepted', 'rejected' (by V8), 'stale' (older than engine.js) or 'none'. IMPORTS are the
 * modules outside src/policy that it imports lazily, by specifier (engine.js calls them instead
 * of import(), which a script could only do through Node's experimental vm loader).
 */
export function loadEngine(engine, imports) {
  const fd = openSync(engine, 'r');
  let source;
  let engineMtime;
  try {
    engineMtime = fstatSync(fd).mtimeMs;
    // esbuild writes ASCII (non-ASCII characters escaped), where latin1 reads the same string
    // without UTF-8 decoding: ~0.5 ms of 500 KB.
    source = readFileSync(fd, 'latin1');
  } finally {
    closeSync(fd);
  }
  const { cachedData, cache } = readCache(engineCacheOf(engine), engineMtime);
  const script = new Script(source, { filename: fileURLToPath(engine), cachedData });
  const module = { exports: {} };
  // As the bundle's banner has it (scripts/bundle.mjs): node:module's ES facade would load all of it.
  const require = (id) => process.getBuiltinModule(id) ?? process.getBuiltinModule('node:module').createRequire(engine)(id);
  const lazy = (specifier) => {
    const load = imports[specifier];
    if (load === undefined) throw new Error(`policy engine: no import ${specifier} was bundled for it`);
    return load();
  };
  script.runInThisContext()(module.exports, module, require, engine.href, lazy);
  return { exports: module.exports, script, cache: cachedData === undefined ? cache : script.cachedDataRejected ? 'rejected' : 'accepted' };
}

/** The cache beside the engine, if there is one no older than it. */
function readCache(file, engineMtime) {
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { cachedData: undefined, cache: 'none' };
  }
  try {
    if (fstatSync(fd).mtimeMs < engineMtime) return { cachedData: undefined, cache: 'stale' };
    return { cachedData: readFileSync(fd), cache: 'accepted' };
  } finally {
    closeSync(fd);
  }
}
