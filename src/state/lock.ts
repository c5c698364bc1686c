// Lock files and "is that process still there". One protocol for every lock under
// NEMOCLAW_HOME (the supervisor's, the audit log's single writer, a policy store's):
//
// - The lock file holds "<pid> <start>\n", where <start> is field 22 of /proc/<pid>/stat (the
//   process's start time in clock ticks since boot). It is created by link(2) of a complete temp
//   file (atomic.ts createFileExclusive), so it never exists half-written.
// - A holder is gone only when that pair is gone: no process with the pid, or a process with the
//   pid that started at another time (the pid was reused). A bare pid cannot tell a crashed
//   holder from an unrelated process that got its number, and a lock of a live holder is never
//   taken over on age alone. Files in the older formats ("<pid>", "<pid> <iso time>") name no
//   start time and count as held while the pid exists.
// - A stale lock is broken under a second lock, `<path>.break` (same protocol): only one process
//   at a time judges and removes it, and it re-reads the holder under that lock, so two starters
//   can never both break the lock and both win. Left undefended: a breaker killed inside its
//   few-microsecond window leaves `.break` behind, and two processes that then both judge that
//   `.break` stale at the same instant could both proceed.
import { readFileSync, statSync, unlinkSync } from 'node:fs';
import { createFileExclusive } from './atomic.ts';
import { pidAlive, processStartTime } from './proc.ts';

export interface LockHolder {
  pid: number;
  /** Start time (see processStartTime); null for a lock written in an older format. */
  start: string | null;
}

/** This process, as a lock records it. */
let own: LockHolder | null = null;
export function ownHolder(): LockHolder {
  own ??= { pid: process.pid, start: processStartTime(process.pid) };
  return own;
}

function holderLine(h: LockHolder): string {
  return `${h.pid} ${h.start ?? '0'}\n`;
}

/** The holder recorded in a lock file; null when there is no file or no pid in it. */
export function readLockHolder(path: string): LockHolder | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const m = /^(\d+)(?: (\S+))?/.exec(text);
  if (m === null) return null;
  const start = m[2] !== undefined && /^[1-9]\d*$/.test(m[2]) ? m[2] : null;
  return { pid: Number(m[1]), start };
}

/** Whether the process a lock names still runs (pid reuse safe, see the top of this file). */
export function holderAlive(h: LockHolder): boolean {
  const now = processStartTime(h.pid);
  if (now !== null) return h.start === null || now === h.start;
  // No /proc entry: gone, unless /proc cannot show it (not mounted, hidepid): then the pid decides.
  return pidAlive(h.pid);
}

function sameHolder(a: LockHolder | null, b: LockHolder): boolean {
  return a !== null && a.pid === b.pid && a.start === b.start;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone
  }
}

/** A lock file without a pid (not ours: hand-written or foreign) counts as stale after this long. */
const JUNK_STALE_MS = 10_000;

/** What the lock file at `path` is now: absent, held by a live process, or stale. */
function judge(path: string): { state: 'gone' | 'held' | 'stale'; holder: LockHolder | null } {
  const holder = readLockHolder(path);
  if (holder !== null) return { state: holderAlive(holder) ? 'held' : 'stale', holder };
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return { state: 'gone', holder };
  }
  return { state: Date.now() - mtimeMs > JUNK_STALE_MS ? 'stale' : 'held', holder };
}

export type LockAttempt = { acquired: true; brokeStale: LockHolder | null } | { acquired: false; holder: LockHolder | null };

/**
 * One attempt at the lock at `path` (its directory must exist): takes it when free or when its
 * holder is gone, else reports the holder. Synchronous on purpose: callers in one process never
 * interleave inside it, and since they share one pid and start time, they tell their own locks
 * apart by keeping track of what they took.
 */
export function tryLock(path: string, mode = 0o600): LockAttempt {
  const me = ownHolder();
  const line = holderLine(me);
  const brk = `${path}.break`;
  let brokeStale: LockHolder | null = null;
  for (let round = 0; round < 4; round++) {
    if (createFileExclusive(path, line, mode, { durable: false })) return { acquired: true, brokeStale };
    const cur = judge(path);
    if (cur.state === 'gone') continue; // released meanwhile
    if (cur.state === 'held') return { acquired: false, holder: cur.holder };
    if (!createFileExclusive(brk, line, mode, { durable: false })) {
      const b = judge(brk);
      if (b.state === 'held') return { acquired: false, holder: cur.holder }; // another process is breaking it
      if (b.state === 'stale') unlinkQuiet(brk); // its breaker died mid-break
      continue;
    }
    try {
      // Judged again under .break: the lock seen above may have been broken and retaken since.
      const again = judge(path);
      if (again.state === 'stale') {
        unlinkQuiet(path);
        brokeStale = again.holder ?? cur.holder;
      }
    } finally {
      if (sameHolder(readLockHolder(brk), me)) unlinkQuiet(brk);
    }
  }
  return { acquired: false, holder: readLockHolder(path) };
}

/** Removes the lock at `path` if this process holds it (a lock taken over meanwhile is left alone). */
export function releaseLock(path: string): void {
  if (sameHolder(readLockHolder(path), ownHolder())) unlinkQuiet(path);
}
