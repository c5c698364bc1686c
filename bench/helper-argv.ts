// The helper's argv for a spec as the CLI builds it: bare (minus the events/control channels and
// the verdict handshake that only make sense with a supervisor on the other end: what a bare
// `nemoclaw-sandbox` start costs, for the benchmarks' baselines), or with them, as `sandbox run`
// gives it (the floor under that verb, bench/floor-run.mjs).
import { existsSync } from 'node:fs';
import { specToHelperArgv, workloadEnv } from '../src/sandbox/index.ts';
import type { SandboxSpec } from '../src/policy/index.ts';

const CHANNEL_OPTIONS = ['--events-fd', '--control-fd'];
const CHANNEL_FLAGS = ['--await-verdict'];

/** The CLI's argv for SPEC (no command yet): events on fd 3, control on fd 4, --await-verdict. */
function withChannels(spec: SandboxSpec, workspace: string, sandboxId: string): string[] {
  return specToHelperArgv(spec, { workspace, eventsFd: 3, controlFd: 4, tty: false, env: workloadEnv({}), sandboxId, exists: existsSync });
}

export function bareHelperArgv(spec: SandboxSpec, workspace: string, argv: string[]): string[] {
  const full = withChannels(spec, workspace, 'bench');
  const kept = full.filter((a, i) => !CHANNEL_OPTIONS.includes(a) && !CHANNEL_OPTIONS.includes(full[i - 1] ?? '') && !CHANNEL_FLAGS.includes(a));
  return [...kept, '--', ...argv];
}

/**
 * The helper's argv as `nemoclaw sandbox run` gives it, events on fd 3 and control on fd 4, the
 * workload waiting for go, its seccomp filter cached in cacheDir; without the protected paths,
 * whose placeholders are the CLI's own work (bench/floor-run.mjs runs it).
 */
export function channelHelperArgv(spec: SandboxSpec, workspace: string, cacheDir: string, argv: string[]): string[] {
  return [...withChannels(spec, workspace, 'bench-floor'), '--seccomp-cache', cacheDir, '--', ...argv];
}
