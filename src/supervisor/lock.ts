// One supervisor per NEMOCLAW_HOME: run/supervisor.lock holds "<pid> <start-time>\n", created by
// link(2) of a complete temp file (never seen half-written). A lock whose process is gone (or
// whose pid now belongs to another process: start time differs) is stale: it is broken under a
// second O_EXCL file (run/supervisor.lock.break) so two starters never both break and both win.
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname } from 'node:path';

export class SupervisorRunningError extends Error {
  readonly pid: number;
  constructor(pid: number, lock: string) {
    super(`a supervisor (pid ${pid}) already owns ${dirname(dirname(lock))} (lock ${lock})`);
    this.pid = pid;
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks), or null when there is no such process. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

export interface LockHolder {
  pid: number;
  start: string;
}

export function readLock(path: string): LockHolder | null {
  try {
    const m = /^(\d+) (\S+)/.exec(readFileSync(path, 'utf8'));
    return m ? { pid: Number(m[1]), start: m[2] as string } : null;
  } catch {
    return null;
  }
}

/** Whether the process recorded in a lock file still runs. */
export function holderAlive(h: LockHolder): boolean {
  return processStartTime(h.pid) === h.start;
}

function createExclusive(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone
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
  const me = `${process.pid} ${processStartTime(process.pid) ?? '0'}\n`;
  let brokeStale: LockHolder | null = null;
  for (let attempt = 0; attempt < 10; attempt++) {
    if (createExclusive(path, me)) {
      return {
        path,
        brokeStale,
        release: () => {
          const h = readLock(path);
          if (h && h.pid === process.pid) unlinkQuiet(path);
        },
      };
    }
    const holder = readLock(path);
    if (holder && holderAlive(holder)) throw new SupervisorRunningError(holder.pid, path);
    // Stale (or unreadable: a crash between link and write cannot happen, so treat as stale).
    const brk = `${path}.break`;
    if (!createExclusive(brk, me)) {
      const b = readLock(brk);
      if (b === null || !holderAlive(b)) unlinkQuiet(brk);
      continue;
    }
    try {
      const again = readLock(path);
      if (again === null || !holderAlive(again)) {
        brokeStale = again ?? holder;
        unlinkQuiet(path);
      }
    } finally {
      unlinkQuiet(brk);
    }
  }
  const h = readLock(path);
  throw new SupervisorRunningError(h?.pid ?? 0, path);
}
