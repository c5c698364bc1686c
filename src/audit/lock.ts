// The audit directory's single-writer lock: a lock file created with O_EXCL semantics (link(2) of
// a complete temp file holding our pid, so the lock never exists half-written) and removed when
// the holder is done. It is held only around one group commit (catch up, write, fsync,
// checkpoint), never for a writer's whole life: that is what lets one-shot `nemoclaw sandbox
// run`s log into the same chain while a supervisor runs. A lock whose pid is dead (SIGKILL,
// power loss) is stale and broken by the next writer.
import { closeSync, linkSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const LOCK_NAME = 'LOCK';
/** How long a busy writer steps aside when another one is waiting. */
const YIELD_MS = 8;
/** A want marker older than this is ignored (its writer gave up or died). */
const WANT_FRESH_MS = 250;

export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(path: string): number | null {
  try {
    const m = /^(\d+) /.exec(readFileSync(path, 'utf8'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

export class DirLock {
  readonly dir: string;
  readonly path: string;
  private readonly mine: string;
  private held = false;

  constructor(dir: string) {
    this.dir = dir;
    this.path = join(dir, LOCK_NAME);
    const token = randomBytes(6).toString('hex');
    this.mine = join(dir, `${LOCK_NAME}.${process.pid}.${token}`);
  }

  get isHeld(): boolean {
    return this.held;
  }

  private ensureMine(): void {
    try {
      statSync(this.mine);
    } catch {
      const fd = openSync(this.mine, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid} ${new Date().toISOString()}\n`);
      } finally {
        closeSync(fd);
      }
    }
  }

  /** One attempt; true when the lock is now ours. */
  tryAcquire(): boolean {
    if (this.held) throw new Error('audit lock already held by this writer');
    this.ensureMine();
    try {
      linkSync(this.mine, this.path);
      this.held = true;
      // LOCK now names the inode; dropping our private name leaves nothing behind if this
      // process exits without close().
      this.dropMine();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    this.breakIfStale();
    return false;
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
        const pid = readPid(this.path);
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
    unlinkSync(this.path);
  }

  private dropMine(): void {
    try {
      unlinkSync(this.mine);
    } catch {
      // already gone
    }
  }

  /** Releases the lock and removes our own link source (call at close). */
  dispose(): void {
    this.release();
    this.dropMine();
  }

  /**
   * Breaks the lock if its holder is dead. The lock is first renamed to a unique name and its
   * inode compared with the one judged stale, so a live lock created in between is never
   * deleted (it is linked back instead).
   */
  private breakIfStale(): void {
    let ino: number;
    try {
      ino = statSync(this.path).ino;
    } catch {
      return; // released meanwhile
    }
    const pid = readPid(this.path);
    if (pid === null) {
      // Cannot happen with link(2) creation unless someone wrote the file by hand; treat a lock
      // without a pid older than 10 s as stale.
      try {
        if (Date.now() - statSync(this.path).mtimeMs < 10_000) return;
      } catch {
        return;
      }
    } else if (pidAlive(pid)) {
      return;
    }
    const aside = `${this.path}.stale-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(this.path, aside);
    } catch {
      return;
    }
    if (statSync(aside).ino !== ino) {
      try {
        linkSync(aside, this.path);
      } catch {
        // someone holds a newer lock; theirs wins
      }
    }
    unlinkSync(aside);
  }
}

/** Deletes link sources and stale-lock leftovers of dead processes (on open). */
export function cleanLockLeftovers(dir: string): void {
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
