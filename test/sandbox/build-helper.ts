// Shared set-up for the sandbox tests: the repository root, the CLI, temporary directories removed
// after the file, the exec-ask policy text, and a build of the native helper (`make -C native`),
// serialised with flock so that two test files starting together never compile into native/build
// at the same time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The nemoclaw CLI of this checkout. */
export const bin = join(root, 'bin', 'nemoclaw');

/** One fresh directory under the system tmpdir per prefix, all removed (in order) after this test file. */
export function tempDirs(...prefixes: string[]): string[] {
  const dirs = prefixes.map((p) => mkdtempSync(join(tmpdir(), p)));
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return dirs;
}

/** A policy whose exec rule asks about every program but sh/dash. */
export const EXEC_ASK_POLICY = [
  'version: 1',
  'filesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp] }',
  'exec: { allow: ["/usr/bin/sh", "/usr/bin/dash"], unmatched: ask }',
  '',
].join('\n');

export interface HelperBuild {
  ok: boolean;
  output: string;
}

export function buildHelper(): HelperBuild {
  const lock = join(tmpdir(), 'nemoclaw-native-build.lock');
  const r = spawnSync('flock', [lock, 'make', '-s', '-C', join(root, 'native')], { encoding: 'utf8', timeout: 300_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  return { ok: r.status === 0 && existsSync(join(root, 'native', 'build', 'nemoclaw-sandbox')), output };
}
