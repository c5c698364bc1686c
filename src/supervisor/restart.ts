// Restart policies, as pure decisions:
//   never       an ended workload stays exited
//   on-failure  restart when it ended with a non-zero status, a signal, or because the supervisor
//               died under it; a clean exit 0 stays exited
//   always      restart whatever the status
// Restarts back off exponentially (BASE_MS * 2^n, capped at MAX_MS); a run that lasted
// STABLE_MS resets the count. A sandbox that failed to start at all (status 125) backs off too.
import type { RestartPolicy } from './events.ts';

export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 30_000;
export const STABLE_MS = 10_000;

export const RESTART_POLICIES: readonly RestartPolicy[] = ['never', 'on-failure', 'always'];

export function isRestartPolicy(v: string): v is RestartPolicy {
  return (RESTART_POLICIES as readonly string[]).includes(v);
}

export interface EndFacts {
  /** The helper's exit status (0 = clean). */
  status: number;
  /** Ended because the operator asked (stop, restart, destroy). */
  requested: boolean;
}

export function shouldRestart(policy: RestartPolicy, end: EndFacts): boolean {
  if (end.requested) return false;
  if (policy === 'always') return true;
  if (policy === 'on-failure') return end.status !== 0;
  return false;
}

/** Delay before restart number `attempt` (0-based count of quick failures so far). */
export function backoffDelay(attempt: number): number {
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 20));
}

/** The attempt counter after a run that lasted `ranMs`. */
export function nextAttempt(previous: number, ranMs: number): number {
  return ranMs >= STABLE_MS ? 0 : previous + 1;
}
