import { describe, expect, it } from 'vitest';
import { compileSandboxSpec, decideExec, defaultPolicy, parsePolicy } from './index.ts';

describe('defaultPolicy', () => {
  it('compiles to read-only system paths, workspace and private /tmp writable, Landlock required, exec unrestricted', () => {
    expect(compileSandboxSpec(defaultPolicy())).toEqual({
      filesystem: {
        readOnly: ['/usr', '/bin', '/lib', '/lib64', '/etc/ssl', '/etc/ca-certificates', '/etc/passwd', '/etc/group', '/etc/hosts', '/etc/ld.so.cache', '/etc/localtime', '/etc/alternatives'],
        readWrite: ['/tmp'],
        includeWorkdir: true,
      },
      landlock: 'hard_requirement',
      runAsUser: 'sandbox',
      limits: { pids: 1024, nofile: 4096 },
      exec: { allow: [], unmatched: 'allow' },
      syscalls: { deny: [], log: [] },
      loopback: { bind: [], connect: [] },
    });
    expect(defaultPolicy().network_policies).toBeUndefined();
    expect(defaultPolicy().approvals?.unmatched_egress).toBe('deny');
  });

  it('returns a fresh object each time', () => {
    const a = defaultPolicy();
    a.filesystem_policy?.read_only?.push('/home');
    expect(defaultPolicy().filesystem_policy?.read_only).not.toContain('/home');
  });
});

describe('compileSandboxSpec', () => {
  it('turns sizes, durations and percentages into numbers and fails closed by default', () => {
    const spec = compileSandboxSpec(
      parsePolicy(
        `version: 1
filesystem_policy: { include_workdir: false, read_only: [/usr, /data, /usr], read_write: [/data, /tmp] }
process: { run_as_user: 1000 }
limits: { memory: 2GiB, pids: 512, nofile: 4096, file_size: 512MB, wall_time: 1h30m, cpu: 150% }
exec: { allow: [/usr/bin/*] }
syscalls: { deny: [ptrace], log: [connect, connect] }
loopback: { bind: [18789], connect: [18789] }
`,
        'c.yaml',
      ),
    );
    expect(spec.filesystem).toEqual({ readOnly: ['/usr'], readWrite: ['/data', '/tmp'], includeWorkdir: false });
    expect(spec.landlock).toBe('hard_requirement');
    expect(spec.runAsUser).toBe('1000');
    expect(spec.limits).toEqual({ memoryBytes: 2 * 1024 ** 3, pids: 512, nofile: 4096, fileSizeBytes: 512_000_000, wallTimeMs: 5_400_000, cpuPercent: 150 });
    expect(spec.exec).toEqual({ allow: ['/usr/bin/*'], unmatched: 'ask' });
    expect(spec.syscalls).toEqual({ deny: ['ptrace'], log: ['connect'] });
    expect(spec.loopback).toEqual({ bind: [18789], connect: [18789] });
  });

  it('an empty policy is still fail-closed', () => {
    const spec = compileSandboxSpec(parsePolicy('version: 1\n', 'e.yaml'));
    expect(spec.landlock).toBe('hard_requirement');
    expect(spec.filesystem).toEqual({ readOnly: [], readWrite: [], includeWorkdir: true });
    expect(spec.runAsUser).toBe('sandbox');
  });
});

describe('decideExec', () => {
  const spec = compileSandboxSpec(parsePolicy('version: 1\nexec: { allow: ["/usr/bin/*", "/opt/tools/**"], unmatched: deny }\n', 'x.yaml'));
  it.each([
    ['/usr/bin/git', 'allow'],
    ['/usr/bin/sub/git', 'deny'],
    ['/opt/tools/a/b/c', 'allow'],
    ['/tmp/payload', 'deny'],
    ['/usr/bin/../../tmp/payload', 'deny'],
    ['usr/bin/git', 'deny'],
  ] as const)('%s -> %s', (path, verdict) => {
    expect(decideExec(spec, path)).toBe(verdict);
  });

  it('asks when unmatched is ask, and allows everything with an empty allow list', () => {
    const ask = compileSandboxSpec(parsePolicy('version: 1\nexec: { allow: ["/usr/bin/*"], unmatched: ask }\n', 'x.yaml'));
    expect(decideExec(ask, '/tmp/x')).toBe('ask');
    expect(decideExec(compileSandboxSpec(defaultPolicy()), '/anything/at/all')).toBe('allow');
  });
});
