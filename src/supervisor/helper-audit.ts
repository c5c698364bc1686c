// What the supervisor keeps of the helper's events: the audit records (denials, limits, the
// enforcement report) and a short enforcement summary for `status`.
import type { AuditEventInput } from '../audit/index.ts';
import type { ReadyEvent, SandboxEvent } from '../sandbox/index.ts';

export function enforcementSummary(e: ReadyEvent): Record<string, unknown> {
  const en = e.enforcement;
  return { landlock_abi: en.landlock.abi, seccomp_filters: en.seccomp.filters, no_new_privs: en.no_new_privs, cap_eff: en.cap_eff, uid: en.uid, namespaces: en.namespaces, degraded: e.degraded };
}

/** The audit record for one helper event of sandbox `name`, or null when it is not audited. */
export function helperAuditRecord(name: string, e: SandboxEvent): AuditEventInput | null {
  switch (e.type) {
    case 'ready': {
      const en = e.enforcement;
      return { kind: 'sandbox.enforcement', activity: 'report', sandbox: name, detail: { landlock_abi: en.landlock.abi, seccomp_filters: en.seccomp.filters, no_new_privs: en.no_new_privs, cap_eff: en.cap_eff, uid: en.uid, degraded: e.degraded.join('; ') || null } };
    }
    case 'syscall_denied':
      return { kind: 'syscall.denied', activity: 'deny', sandbox: name, target: e.syscall, binary: e.exe ?? undefined, decision: 'deny', severity: 'medium' };
    case 'exec_denied':
      return { kind: 'exec.denied', activity: 'deny', sandbox: name, target: e.path, decision: 'deny', severity: 'medium', detail: { reason: e.reason } };
    case 'exec_allowed':
      // Only execs outside the allowlist (let through under `unmatched: allow`, or by the
      // operator): what `policy learn` proposes (docs/policy.md "Simulate and learn"). Allowlisted
      // execs are the policy working as written and would flood the log.
      if (e.via === 'allowlist') return null;
      return { kind: 'exec.allowed', activity: e.via, sandbox: name, target: e.path, decision: 'allow', severity: 'info', detail: { via: e.via } };
    case 'limit_hit':
      return { kind: 'sandbox.lifecycle', activity: 'limit_hit', sandbox: name, target: e.limit, severity: 'medium' };
    case 'egress_direct':
      return { kind: 'egress.denied', activity: 'direct_connect', sandbox: name, target: `${e.addr}:${e.port}`, binary: e.exe ?? undefined, decision: 'deny', severity: 'medium' };
    default:
      return null;
  }
}
