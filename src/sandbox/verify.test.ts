import { describe, expect, it } from 'vitest';
import type { SandboxSpec } from '../policy/index.ts';
import type { EnforcementReport, ReadyEvent } from './events.ts';
import { enforcementWarnings, verifyEnforcement } from './verify.ts';

function spec(over: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    filesystem: { readOnly: ['/usr'], readWrite: ['/tmp'], includeWorkdir: true },
    landlock: 'hard_requirement',
    runAsUser: 'sandbox',
    limits: {},
    exec: { allow: [], unmatched: 'allow' },
    syscalls: { deny: [], log: [] },
    loopback: { bind: [], connect: [] },
    ...over,
  };
}

function ready(over: Partial<EnforcementReport> = {}): ReadyEvent {
  return {
    type: 'ready',
    pid: 100,
    skipped: [],
    degraded: [],
    enforcement: {
      landlock: { abi: 7, fs_rights_handled: 65535, net: true, scoped: ['signal', 'abstract_unix_socket'] },
      seccomp: { mode: 'filter', filters: 1, notify: false },
      no_new_privs: true,
      cap_eff: '0000000000000000',
      cap_prm: '0',
      cap_bnd: '0',
      cap_amb: '0',
      namespaces: ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'],
      cgroup: null,
      uid: 1000,
      gid: 1000,
      ...over,
    },
  };
}

const ctx = { expectUserNamespace: false };

describe('verifyEnforcement', () => {
  it('accepts a report that meets the policy', () => {
    expect(verifyEnforcement(ready(), spec(), ctx)).toEqual([]);
  });

  it.each<[string, Partial<EnforcementReport>, RegExp]>([
    ['Landlock missing', { landlock: { abi: 0, fs_rights_handled: 0, net: false, scoped: [] } }, /^landlock: not enforced/],
    ['Landlock without TCP rules', { landlock: { abi: 3, fs_rights_handled: 1, net: false, scoped: [] } }, /^landlock: TCP rules/],
    ['Landlock without scoping where the ABI has it', { landlock: { abi: 6, fs_rights_handled: 1, net: true, scoped: [] } }, /scoping/],
    ['Landlock handling no rights', { landlock: { abi: 7, fs_rights_handled: 0, net: true, scoped: ['signal'] } }, /no filesystem rights/],
    ['seccomp with 0 filters', { seccomp: { mode: 'filter', filters: 0, notify: false } }, /^seccomp: 0 filters/],
    ['seccomp off', { seccomp: { mode: 'disabled', filters: 0, notify: false } }, /^seccomp: mode is disabled/],
    ['NoNewPrivs off', { no_new_privs: false }, /^no_new_privs: off/],
    ['effective capabilities', { cap_eff: '0000000000000400' }, /effective set is 0000000000000400/],
    ['bounding set', { cap_bnd: '000001fffeffffff' }, /bounding set/],
    ['ambient set', { cap_amb: 'zz' }, /ambient set/],
    ['a namespace missing', { namespaces: ['mnt', 'pid', 'ipc', 'uts', 'cgroup'] }, /^namespaces: net missing/],
    ['uid 0', { uid: 0 }, /^uid: workload would run as uid 0/],
    ['gid 0', { gid: 0 }, /^gid: workload would run as gid 0/],
  ])('reports %s', (_name, over, pattern) => {
    const out = verifyEnforcement(ready(over), spec(), ctx);
    expect(out.length).toBeGreaterThan(0);
    expect(out.some((m) => pattern.test(m))).toBe(true);
  });

  it('lets best_effort run without Landlock, then warns loudly', () => {
    const r = ready({ landlock: { abi: 0, fs_rights_handled: 0, net: false, scoped: [] } });
    r.degraded = ['landlock: kernel has no Landlock'];
    expect(verifyEnforcement(r, spec({ landlock: 'best_effort' }), ctx)).toEqual([]);
    expect(enforcementWarnings(r, spec({ landlock: 'best_effort' }))).toEqual(['landlock: kernel has no Landlock', 'landlock: not enforced']);
  });

  it('never lets best_effort excuse seccomp, NoNewPrivs, capabilities or uid 0', () => {
    const out = verifyEnforcement(ready({ no_new_privs: false, uid: 0, cap_eff: '1' }), spec({ landlock: 'best_effort' }), ctx);
    expect(out).toHaveLength(3);
  });

  it('requires the user namespace when the helper runs unprivileged', () => {
    expect(verifyEnforcement(ready(), spec(), { expectUserNamespace: true })).toEqual(['namespaces: user missing (helper runs unprivileged)']);
    expect(verifyEnforcement(ready({ namespaces: ['user', 'mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'] }), spec(), { expectUserNamespace: true })).toEqual([]);
  });

  it('checks the uid/gid we asked for', () => {
    expect(verifyEnforcement(ready(), spec(), { expectUserNamespace: false, uid: 1500, gid: 1000 })).toEqual(['uid: 1000, expected 1500']);
  });

  it('requires notification when the policy gates exec or logs syscalls', () => {
    const gated = spec({ exec: { allow: ['/usr/bin/*'], unmatched: 'ask' } });
    expect(verifyEnforcement(ready(), gated, ctx)).toEqual(['seccomp: user notification off, but the policy gates exec or logs syscalls']);
    expect(verifyEnforcement(ready(), spec({ syscalls: { deny: [], log: ['connect'] } }), ctx)).toHaveLength(1);
    expect(verifyEnforcement(ready({ seccomp: { mode: 'filter', filters: 2, notify: true } }), gated, ctx)).toEqual([]);
  });

  it('requires the cgroup controllers of the limits the policy sets', () => {
    const limited = spec({ limits: { memoryBytes: 1 << 30, pids: 64 } });
    expect(verifyEnforcement(ready(), limited, ctx)).toEqual(['cgroup: none, but the policy sets memory/cpu limits']);
    expect(verifyEnforcement(ready({ cgroup: { version: 1, path: '/x', controllers: ['pids'] } }), limited, ctx)).toEqual([
      'cgroup: controller memory missing, but the policy sets its limit',
    ]);
    expect(verifyEnforcement(ready({ cgroup: { version: 2, path: '/x', controllers: ['pids', 'memory'] } }), limited, ctx)).toEqual([]);
  });

  it('accepts a pids limit without a cgroup (RLIMIT_NPROC enforces it) and does not call it degraded', () => {
    const pidsOnly = spec({ limits: { pids: 1024 } });
    expect(verifyEnforcement(ready(), pidsOnly, ctx)).toEqual([]);
    expect(verifyEnforcement(ready({ cgroup: { version: 1, path: '/x', controllers: [] } }), pidsOnly, ctx)).toEqual([]);
    expect(enforcementWarnings({ ...ready(), degraded: ['cgroup'] }, pidsOnly)).toEqual([]);
    expect(enforcementWarnings({ ...ready(), degraded: ['cgroup'] }, spec({ limits: { pids: 8, memoryBytes: 1 << 30 }, landlock: 'best_effort' }))).toContain('cgroup');
  });
});
