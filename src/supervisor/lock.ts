// One supervisor per NEMOCLAW_HOME: run/supervisor.lock, taken with src/state's lock protocol
// (pid + process start time, created whole by link(2), a stale one broken under a second lock so
// two starters never both win; see src/state/lock.ts).
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { readLockHolder, releaseLock, tryLock } from '../state/index.ts';
import type { LockHolder } from '../state/index.ts';

export class SupervisorRunningError extends Error {
  readonly pid: number;
  constructor(pid: number, lock: string) {
    super(`a supervisor (pid ${pid}) already owns ${dirname(dirname(lock))} (lock ${lock})`);
    this.pid = pid;
  }
}

export interface HeldLock {
  path: string;
  /** True when a stale lock (a crashed supervisor's) was found and broken. */
  brokeStale: LockHolder | null;
  release(): void;
}

/** Takes the supervisor lock or throws SupervisorRunningError. Bounded: a few attempts. */
export function acquireSupervisorLock(path: string): HeldLock {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  chmodSync(dirname(path), 0o700);
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = tryLock(path);
    if (r.acquired) return { path, brokeStale: r.brokeStale, release: () => releaseLock(path) };
    if (r.holder !== null) throw new SupervisorRunningError(r.holder.pid, path);
  }
  throw new SupervisorRunningError(readLockHolder(path)?.pid ?? 0, path);
}
