// Builds the native helper once per test file (`make -C native`), serialised with flock so that
// two test files starting together never compile into native/build at the same time.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

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
