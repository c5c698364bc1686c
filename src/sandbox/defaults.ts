// The compiled form of src/policy's defaultPolicy(), kept here so that `nemoclaw sandbox run`
// without --policy does not load zod and yaml (about 100 ms of a 150 ms start-up budget).
// defaults.test.ts compares it with compileSandboxSpec(defaultPolicy()) so the two cannot drift:
// the policy component stays the source of truth.
import type { SandboxSpec } from '../policy/index.ts';

export function defaultSandboxSpec(): SandboxSpec {
  return {
    filesystem: {
      readOnly: [
        '/usr',
        '/bin',
        '/lib',
        '/lib64',
        '/etc/ssl',
        '/etc/ca-certificates',
        '/etc/passwd',
        '/etc/group',
        '/etc/hosts',
        '/etc/ld.so.cache',
        '/etc/localtime',
        '/etc/alternatives',
      ],
      readWrite: ['/tmp'],
      includeWorkdir: true,
    },
    landlock: 'hard_requirement',
    runAsUser: 'sandbox',
    limits: { pids: 1024, nofile: 4096 },
    exec: { allow: [], unmatched: 'allow' },
    syscalls: { deny: [], log: [] },
    loopback: { bind: [], connect: [] },
  };
}

// Two values of other components that every start needs, copied for the same reason: each of
// their light doors (src/policy/types.ts, src/egress/types.ts) is a module of its own in the
// bundle, and loading a module costs a `sandbox run` about as much as a few hundred lines of
// work. defaults.test.ts holds the copies equal to the originals.
/** src/policy's LIMIT_DEFAULTS.tmpBytes: each private tmpfs when the policy names no size. */
export const DEFAULT_TMP_BYTES = 512 * 1024 * 1024;
/** src/egress's SANDBOX_OWN_LOOPBACK: the NO_PROXY list of the sandbox's own loopback. */
export const SANDBOX_OWN_LOOPBACK = 'localhost,127.0.0.1,::1';
