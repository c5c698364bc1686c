// Whether a sandbox is learning, and what it has been seen doing that its policy does not cover,
// for `status`, the TUI's Sandboxes pane and the API's sandbox view (issue 22). Learning mode is
// `approvals.unmatched_egress: audit` (egress) and `exec.unmatched: allow` with an allowlist
// (exec): unmatched actions are let through and recorded, and `nemoclaw policy learn` turns the
// records into a revision (docs/policy.md "Simulate and learn"). The counts are this supervisor's
// (since it started the sandbox or the mode began); the audit log keeps every record for learn.
import type { EgressEvent } from '../egress/index.ts';
import type { Policy } from '../policy/index.ts';
import type { SandboxEvent } from '../sandbox/index.ts';

export interface LearningView {
  /** Unmatched egress is audited (let through and recorded). */
  egress: boolean;
  /** Execs outside a non-empty exec.allow are let through and recorded. */
  exec: boolean;
  /** Distinct host:port destinations audited (not covered by the policy) while learning. */
  destinations: number;
  /** Distinct exec paths outside the allowlist seen while learning. */
  execs: number;
  /** When this supervisor saw the sandbox enter learning mode. */
  since: string;
}

interface Seen {
  egress: boolean;
  exec: boolean;
  destinations: Set<string>;
  execs: Set<string>;
  since: string;
}

/** Caps the sets: a workload cannot grow the supervisor's memory by reaching many hosts. */
const MAX_TRACKED = 10_000;

export class LearningTracker {
  private readonly seen = new Map<string, Seen>();

  /**
   * The revision in force says whether the sandbox learns: at start for both, on a reload for
   * egress only, since exec is static and the running sandbox keeps the exec rules it started
   * with (docs/policy.md, the sections table).
   */
  policy(name: string, policy: Policy, at: 'start' | 'reload'): void {
    const cur = this.seen.get(name);
    const egress = policy.approvals?.unmatched_egress === 'audit';
    const exec = at === 'reload' ? (cur?.exec ?? false) : (policy.exec?.allow ?? []).length > 0 && policy.exec?.unmatched === 'allow';
    if (!egress && !exec) {
      this.seen.delete(name);
      return;
    }
    if (cur) {
      cur.egress = egress;
      cur.exec = exec;
      return;
    }
    this.seen.set(name, { egress, exec, destinations: new Set(), execs: new Set(), since: new Date().toISOString() });
  }

  egressEvent(name: string, e: EgressEvent): void {
    const s = this.seen.get(name);
    if (!s || e.type !== 'egress_audit' || e.host === null || s.destinations.size >= MAX_TRACKED) return;
    s.destinations.add(`${e.host}:${e.port ?? ''}`);
  }

  helperEvent(name: string, e: SandboxEvent): void {
    const s = this.seen.get(name);
    if (!s || e.type !== 'exec_allowed' || e.via !== 'unmatched_allow' || s.execs.size >= MAX_TRACKED) return;
    s.execs.add(e.path);
  }

  forget(name: string): void {
    this.seen.delete(name);
  }

  view(name: string): LearningView | null {
    const s = this.seen.get(name);
    if (!s) return null;
    return { egress: s.egress, exec: s.exec, destinations: s.destinations.size, execs: s.execs.size, since: s.since };
  }
}
