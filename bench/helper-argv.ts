// The helper's argv for a spec as the CLI builds it, minus the events/control channels and the
// verdict handshake that only make sense with a supervisor on the other end: what a bare
// `nemoclaw-sandbox` start costs, for the benchmarks' baselines.
import { existsSync } from 'node:fs';
import { specToHelperArgv, workloadEnv } from '../src/sandbox/index.ts';
import type { SandboxSpec } from '../src/policy/index.ts';

const CHANNEL_OPTIONS = ['--events-fd', '--control-fd'];
const CHANNEL_FLAGS = ['--await-verdict'];

export function bareHelperArgv(spec: SandboxSpec, workspace: string, argv: string[]): string[] {
  const full = specToHelperArgv(spec, { workspace, eventsFd: 3, controlFd: 4, tty: false, env: workloadEnv({}), sandboxId: 'bench', exists: existsSync });
  const kept = full.filter((a, i) => !CHANNEL_OPTIONS.includes(a) && !CHANNEL_OPTIONS.includes(full[i - 1] ?? '') && !CHANNEL_FLAGS.includes(a));
  return [...kept, '--', ...argv];
}
