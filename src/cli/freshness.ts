// Whether the build this CLI runs from (dist/, scripts/build.mjs) may run this command, and the
// way back to the TypeScript sources when it may not (issue 23; docs/design.md "Toolchain").
//
// A build is stale for a command when a source of the code that command loads changed after the
// build looked at it (dist/.built's mtime). Only those sources are checked: dist/sources.json,
// written by the build, lists every source (`all`) and, per module a command can start from, the
// sources its code comes from (`closures`: everything it imports, statically or not, and the
// scripts it starts as processes). A new file matters only once a source imports it, and that
// source changed; a deleted one fails its stat. Checking ~20-90 files instead of walking all of
// src/ is what lets bin/nemoclaw skip find(1), ~4 ms of every command on the machines CI uses.
//   - `nemoclaw --version`: this file's own module (cli/main);
//   - a fast-path verb (commands.ts FAST_VERBS): cli/main and the verb's module;
//   - a verb through commander: cli/main and the modules commands.ts's commanderPlan() registers
//     (none for --help or an unknown verb);
//   - recorded output (help and completion scripts to a pipe, made by the whole build): every
//     source.
// Run from the sources (no build), there is nothing to check.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** dist/sources.json. */
export interface SourceManifest {
  /** Every source file under src/ (unit tests aside) and the tsconfigs, relative to the checkout. */
  all: string[];
  /** Per module (path under src/ without extension), the sources its code comes from: indices into `all`. */
  closures?: Record<string, number[]>;
}

/** Modules a command loads (keys of SourceManifest.closures), or every source. */
export type Loads = readonly string[] | 'all';

/**
 * The first source among those `loads` reads that is missing or newer than the build's stamp,
 * as a line for the operator; null when the build may run. `mtimeMs` takes a path as the manifest
 * writes it (relative to the checkout). A module the manifest has no closure for (a build made
 * without esbuild) means every source.
 */
export function staleSource(manifest: SourceManifest, loads: Loads, stampMs: number, mtimeMs: (path: string) => number | undefined): string | null {
  const closures = manifest.closures ?? {};
  const everything = loads === 'all' || loads.some((m) => !Object.hasOwn(closures, m));
  const paths = everything ? manifest.all : [...new Set(loads.flatMap((m) => closures[m] ?? []))].map((i) => manifest.all[i] ?? `source #${i}`);
  for (const path of paths) {
    const t = mtimeMs(path);
    if (t === undefined) return `${path} is gone`;
    if (t > stampMs) return `${path} changed`;
  }
  return null;
}

const ENTRY = import.meta.url;

/** Why the build may not run a command that loads `loads` (null: it may), or null from the sources. */
export function buildStaleness(loads: Loads): string | null {
  if (!ENTRY.endsWith('.js')) return null;
  // This module is dist/cli/freshness.js (the bundle gives it that URL too, scripts/bundle.mjs):
  // the stamp and manifest are in the build's folder, the sources in the folder above it (the
  // checkout, or the folder where scripts/build.mjs runs a new build before it is moved in).
  const root = fileURLToPath(new URL('../../', ENTRY));
  const stat = (path: string): number | undefined => statSync(root + path, { throwIfNoEntry: false })?.mtimeMs;
  const stampMs = statSync(new URL('../.built', ENTRY), { throwIfNoEntry: false })?.mtimeMs;
  if (stampMs === undefined) return 'dist/.built is gone';
  let manifest: SourceManifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('../sources.json', ENTRY), 'utf8')) as SourceManifest;
  } catch {
    return 'dist/sources.json is unreadable';
  }
  return staleSource(manifest, loads, stampMs, stat);
}

/**
 * Runs this command again from the TypeScript sources, in this process (the same pid, arguments,
 * Node options and environment), saying so in one line on a terminal; a script's stderr stays the
 * command's own.
 */
export function runSources(why: string): never {
  if (process.stderr.isTTY) {
    process.stderr.write(`nemoclaw: the build in dist/ is missing or older than src/; running the TypeScript sources (${why}; slower start; npm run setup rebuilds)\n`);
  }
  const main = fileURLToPath(new URL('../../src/cli/main.ts', ENTRY));
  const argv = [process.execPath, ...process.execArgv, main, ...process.argv.slice(2)];
  if (process.execve === undefined) throw new Error(`this Node (${process.version}) cannot replace its process; run: ${argv.join(' ')}`);
  return process.execve(process.execPath, argv, process.env as Record<string, string>);
}
