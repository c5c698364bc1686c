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
