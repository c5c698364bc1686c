// Fail closed: compare what the helper says it enforced (the `ready` event, sent before the
// workload's execve) with what the policy required. Pure; the caller kills the sandbox and exits
// 125 when the list is not empty. Each rule is one row so that the list reads as the invariant.
import type { SandboxSpec } from '../policy/index.ts';
import type { EnforcementReport, ReadyEvent } from './events.ts';

export interface VerifyContext {
  /** The helper runs unprivileged, so the user namespace is what makes the others possible. */
  expectUserNamespace: boolean;
  /** The uid/gid we asked for (inside the sandbox), when we asked. */
  uid?: number;
  gid?: number;
}

/** Namespaces every sandbox has (docs/design.md, "Processes and data flow"). */
export const REQUIRED_NAMESPACES: readonly string[] = ['mnt', 'pid', 'net', 'ipc', 'uts', 'cgroup'];

/** Landlock ABI that brings TCP rules (4) and signal/abstract-socket scoping (6). */
const LANDLOCK_NET_ABI = 4;
const LANDLOCK_SCOPE_ABI = 6;

function capIsEmpty(v: string): boolean {
  const s = v.trim().toLowerCase().replace(/^0x/, '');
  return /^[0-9a-f]+$/.test(s) && /^0+$/.test(s);
}

type Rule = (e: EnforcementReport, spec: SandboxSpec, ctx: VerifyContext) => string | null;

const hard = (spec: SandboxSpec): boolean => spec.landlock === 'hard_requirement';
// Limits only a cgroup can enforce. `pids` is not among them: argv.ts always passes it as
// RLIMIT_NPROC too (per user namespace, and the workload always has its own), so a pids limit
// holds without a cgroup; the cgroup pids controller, where there is one, is a second bound.
const wantsLimit = (spec: SandboxSpec): boolean => Boolean(spec.limits.memoryBytes || spec.limits.cpuPercent);

const RULES: readonly Rule[] = [
  (e, s) => (hard(s) && e.landlock.abi < 1 ? 'landlock: not enforced (policy requires hard_requirement)' : null),
  (e, s) =>
    hard(s) && e.landlock.abi >= 1 && (e.landlock.fs_rights_handled === 0 || e.landlock.fs_rights_handled === '0')
      ? 'landlock: no filesystem rights handled (policy requires hard_requirement)'
      : null,
  (e, s) =>
    hard(s) && e.landlock.abi >= 1 && (e.landlock.abi < LANDLOCK_NET_ABI || !e.landlock.net)
      ? `landlock: TCP rules not enforced (ABI ${e.landlock.abi}; policy requires hard_requirement)`
      : null,
  (e, s) =>
    hard(s) && e.landlock.abi >= LANDLOCK_SCOPE_ABI && e.landlock.scoped.length === 0
      ? `landlock: signal/abstract-socket scoping not enforced although ABI ${e.landlock.abi} offers it`
      : null,
  (e) => (e.seccomp.mode !== 'filter' ? `seccomp: mode is ${e.seccomp.mode}, expected filter` : null),
  (e) => (e.seccomp.filters < 1 ? `seccomp: ${e.seccomp.filters} filters installed, expected at least 1` : null),
  (e, s) =>
    (s.exec.allow.length > 0 && s.exec.unmatched !== 'allow') || s.syscalls.log.length > 0
      ? e.seccomp.notify
        ? null
        : 'seccomp: user notification off, but the policy gates exec or logs syscalls'
      : null,
  (e) => (e.no_new_privs ? null : 'no_new_privs: off'),
  (e) => (capIsEmpty(e.cap_eff) ? null : `capabilities: effective set is ${e.cap_eff}, expected empty`),
  (e) => (capIsEmpty(e.cap_prm) ? null : `capabilities: permitted set is ${e.cap_prm}, expected empty`),
  (e) => (capIsEmpty(e.cap_bnd) ? null : `capabilities: bounding set is ${e.cap_bnd}, expected empty`),
  (e) => (capIsEmpty(e.cap_amb) ? null : `capabilities: ambient set is ${e.cap_amb}, expected empty`),
  (e) => {
    const missing = REQUIRED_NAMESPACES.filter((n) => !e.namespaces.includes(n));
    return missing.length > 0 ? `namespaces: ${missing.join(', ')} missing` : null;
  },
  (e, _s, c) => (c.expectUserNamespace && !e.namespaces.includes('user') ? 'namespaces: user missing (helper runs unprivileged)' : null),
  (e) => (e.uid === 0 ? 'uid: workload would run as uid 0' : null),
  (e) => (e.gid === 0 ? 'gid: workload would run as gid 0' : null),
  (e, _s, c) => (c.uid !== undefined && e.uid !== c.uid ? `uid: ${e.uid}, expected ${c.uid}` : null),
  (e, _s, c) => (c.gid !== undefined && e.gid !== c.gid ? `gid: ${e.gid}, expected ${c.gid}` : null),
  // Limits are the only defence against fork and memory bombs; under best_effort a missing
  // cgroup is reported as degraded instead (see enforcementWarnings).
  (e, s) => {
    if (!hard(s) || !wantsLimit(s)) return null;
    if (e.cgroup === null) return 'cgroup: none, but the policy sets memory/cpu limits';
    const need = [
      ...(s.limits.memoryBytes ? ['memory'] : []),
      ...(s.limits.cpuPercent ? ['cpu'] : []),
    ].filter((c) => !e.cgroup?.controllers.includes(c));
    return need.length > 0 ? `cgroup: controller ${need.join(', ')} missing, but the policy sets its limit` : null;
  },
];

/** Mismatches between the policy's requirements and what the helper reports; empty = fine. */
export function verifyEnforcement(ready: ReadyEvent, spec: SandboxSpec, ctx: VerifyContext = { expectUserNamespace: false }): string[] {
  const out: string[] = [];
  for (const rule of RULES) {
    const m = rule(ready.enforcement, spec, ctx);
    if (m !== null) out.push(m);
  }
  return out;
}

/** What runs degraded (shown loudly, never silently): the helper's own list plus cgroup gaps under best_effort. */
export function enforcementWarnings(ready: ReadyEvent, spec: SandboxSpec): string[] {
  // The helper says `cgroup` whenever a requested cgroup limit could not be set; when only pids
  // was requested, RLIMIT_NPROC still enforces it, so that is not a degraded run.
  const out = ready.degraded.filter((d) => d !== 'cgroup' || wantsLimit(spec));
  if (!hard(spec) && ready.enforcement.landlock.abi < 1) out.push('landlock: not enforced');
  if (!hard(spec) && wantsLimit(spec) && ready.enforcement.cgroup === null) out.push('cgroup: limits not enforced');
  return [...new Set(out)];
}
