// The audit directory's single-writer lock: `LOCK`, taken with src/state's lock protocol (pid +
// process start time, created whole by link(2), a lock whose holder is gone broken under
// `LOCK.break`; see src/state/lock.ts). It is held only around one group commit (catch up, write,
// fsync, checkpoint), never for a writer's whole life: that is what lets one-shot `nemoclaw
// sandbox run`s log into the same chain while a supervisor runs. A lock left by a dead writer
// (SIGKILL, power loss) is broken by the next one; a live writer's never is, a reused pid included.
import { readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pidAlive, readLockHolder, releaseLock, removeDeadTemps, tryLock } from '../state/index.ts';

export const LOCK_NAME = 'LOCK';
/** How long a busy writer steps aside when another one is waiting. */
const YIELD_MS = 8;
/** A want marker older than this is ignored (its writer gave up or died). */
const WANT_FRESH_MS = 250;

export class DirLock {
  readonly dir: string;
  readonly path: string;
  /** Names this writer in the want marker (writers in one process share pid and start time). */
  private readonly mine: string;
  private held = false;

  constructor(dir: string) {
    this.dir = dir;
    this.path = join(dir, LOCK_NAME);
    this.mine = `${process.pid}.${randomBytes(6).toString('hex')}`;
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** One attempt; true when the lock is now ours. */
  tryAcquire(): boolean {
    if (this.held) throw new Error('audit lock already held by this writer');
    this.held = tryLock(this.path).acquired;
    return this.held;
  }

  /**
   * Waits (polling with backoff, bounded by timeoutMs) for the lock. Fairness: a writer that
   * fails to get the lock leaves a `LOCK.want` marker; a busy writer that sees a fresh marker
   * from someone else pauses before taking the lock again, so a one-shot `sandbox run` is not
   * starved by a supervisor committing back to back.
   */
  async acquire(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    if (this.othersWaiting()) await sleep(YIELD_MS);
    let delay = 1;
    let wanted = false;
    for (;;) {
      if (this.tryAcquire()) {
        if (wanted) this.clearWant();
        return;
      }
      if (!wanted || delay >= 4) {
        this.markWant();
        wanted = true;
      }
      if (Date.now() >= deadline) {
        if (wanted) this.clearWant();
        const pid = readLockHolder(this.path)?.pid;
        throw new Error(`audit lock ${this.path} still held by pid ${pid ?? '?'} after ${timeoutMs} ms`);
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 4);
    }
  }

  private wantPath(): string {
    return `${this.path}.want`;
  }

  private markWant(): void {
    try {
      writeFileSync(this.wantPath(), `${process.pid} ${this.mine}\n`, { mode: 0o600 });
    } catch {
      // fairness is best effort
    }
  }

  private clearWant(): void {
    try {
      if (readFileSync(this.wantPath(), 'utf8').includes(this.mine)) unlinkSync(this.wantPath());
    } catch {
      // gone or someone else's
    }
  }

  private othersWaiting(): boolean {
    try {
      const st = statSync(this.wantPath());
      if (Date.now() - st.mtimeMs > WANT_FRESH_MS) return false;
      return !readFileSync(this.wantPath(), 'utf8').includes(this.mine);
    } catch {
      return false;
    }
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    releaseLock(this.path);
  }

  /** Releases the lock (call at close). */
  dispose(): void {
    this.release();
  }
}

/**
 * Deletes what writers that no longer run left beside the lock: temp files of the lock protocol
 * (src/state removeDeadTemps), and the link sources, `LOCK.stale-*` names and want marker of the
 * lock protocol before src/state (on open).
 */
export function cleanLockLeftovers(dir: string): void {
  removeDeadTemps(dir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^LOCK\.(\d+)\.[0-9a-f]+$/.exec(name);
    const stale = /^LOCK\.stale-[0-9a-f]+$/.test(name) || name === 'LOCK.want';
    if ((m !== null && !pidAlive(Number(m[1]))) || stale) {
      try {
        if (stale && Date.now() - statSync(join(dir, name)).mtimeMs < 10_000) continue;
        unlinkSync(join(dir, name));
      } catch {
        // raced with another cleaner
      }
    }
  }
}
