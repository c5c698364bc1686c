// Placeholders that leave nothing behind (issue 13, part 4). The helper can only protect a path
// that exists (a mount needs a dentry), so absent protected paths (.envrc, .vscode, .idea, ...)
// get empty placeholders before the run (placeholders.ts). They must stay while any sandbox on
// that workspace runs: removing one from the host detaches the read-only mount over it in every
// sandbox that has it (Linux >= 3.18 lazily unmounts a dentry unlinked in another namespace), and
// the name becomes writable there. So each workspace has a lease under NEMOCLAW_HOME/run/ws/:
//
//   run/ws/<dev>-<ino>/lock              src/state's lock protocol, held only around each step
//   run/ws/<dev>-<ino>/placeholders.json what nemoclaw created, with identity (dev, ino, birth)
//   run/ws/<dev>-<ino>/h-<pid>-<n>.json  one per running sandbox: the processes it lives in
//
// A holder is live while any of its processes is (pid + start time, src/state): nemoclaw, the
// helper, and the sandbox's init, which is reaped only after every process of the sandbox has
// exited (a pid namespace's init waits for all of them), so the lease outlives the last workload
// instruction even when nemoclaw and the helper are killed. The last holder to go removes the
// placeholders it can prove are still the ones created (same inode and birth time, still empty);
// anything else is left alone. A run that ends normally releases at once; a SIGKILLed one is
// released by its janitor (janitor.ts), a process started detached beside each run that does
// nothing unless nemoclaw dies without saying "done". Limits: the lease is per NEMOCLAW_HOME
// (docs/sandbox.md says so); runs with different state directories on one workspace at once do
// not see each other.
import { lstatSync, readFileSync, readdirSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { LockHolder } from '../state/index.ts';
import { ensurePrivateDirs, holderAlive, ownHolder, processStartTime, releaseLock, tryLock } from '../state/index.ts';
import { createPlaceholders } from './placeholders.ts';

interface PlaceholderRecord {
  path: string;
  kind: 'dir' | 'file';
  dev: number;
  ino: number;
  birthtimeMs: number;
}

/** How long a lease step waits for another process's step (each holds the lock for microseconds). */
const LOCK_WAIT_MS = 5000;
const LOCK_RETRY_MS = 5;

export class LeaseError extends Error {}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock<T>(dir: string, fn: () => T): T {
  const lock = join(dir, 'lock');
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const a = tryLock(lock);
    if (a.acquired) break;
    if (Date.now() > deadline) throw new LeaseError(`workspace lease ${lock} is held by pid ${a.holder?.pid ?? '?'}; try again`);
    sleepSync(LOCK_RETRY_MS);
  }
  try {
    return fn();
  } finally {
    releaseLock(lock);
  }
}

function readJson<T>(path: string, fallback: T): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

/** Replaces a file atomically; nothing here has to survive a crash (run/ is per boot in spirit). */
function writeJson(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
  renameSync(tmp, path);
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone
  }
}

function holderFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^h-\d+-\d+\.json$/.test(n));
}

function live(procs: LockHolder[]): boolean {
  return procs.some((p) => holderAlive(p));
}

/** Drops holder files whose processes are all gone; returns how many live holders remain. */
function prune(dir: string): number {
  let n = 0;
  for (const name of holderFiles(dir)) {
    const path = join(dir, name);
    const procs = readJson<LockHolder[] | null>(path, null);
    if (procs === null || !live(procs)) unlinkQuiet(path);
    else n++;
  }
  return n;
}

function identity(path: string): Omit<PlaceholderRecord, 'path' | 'kind'> | null {
  try {
    const st = lstatSync(path);
    return { dev: st.dev, ino: st.ino, birthtimeMs: st.birthtimeMs };
  } catch {
    return null;
  }
}

/** Whether every directory from the workspace down to p's parent is a real directory. */
function parentsAreDirs(workspace: string, p: string): boolean {
  for (let d = posix.dirname(p); d.length > workspace.length; d = posix.dirname(d)) {
    try {
      if (!lstatSync(d).isDirectory()) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Removes each recorded placeholder that is provably still ours: same inode and birth time, still
 * empty, reached without a symlink. A placeholder someone filled, replaced or moved stays.
 */
function removePlaceholders(workspace: string, records: readonly PlaceholderRecord[]): void {
  // Deepest first, so a placeholder inside another one (none today) would go before its parent.
  for (const r of [...records].sort((a, b) => b.path.length - a.path.length)) {
    if (!parentsAreDirs(workspace, r.path)) continue;
    let st;
    try {
      st = lstatSync(r.path);
    } catch {
      continue;
    }
    if (st.dev !== r.dev || st.ino !== r.ino || st.birthtimeMs !== r.birthtimeMs) continue;
    try {
      if (r.kind === 'dir' && st.isDirectory()) rmdirSync(r.path); // ENOTEMPTY: someone put something there; keep it
      else if (r.kind === 'file' && st.isFile() && st.size === 0) unlinkSync(r.path);
    } catch {
      // not empty, or not permitted: left in place
    }
  }
}

function leaseDir(stateDir: string, workspace: string): string {
  const st = lstatSync(workspace);
  return join(stateDir, 'run', 'ws', `${st.dev}-${st.ino}`);
}

export interface WorkspaceLease {
  /** Placeholders this run created (absolute paths). */
  created: string[];
  /** Placeholders the lease tracks now (this run's and earlier runs' still in place). */
  tracked: number;
  /** The holder file: what a janitor is told to watch. */
  holderFile: string;
  /** Adds the processes the sandbox lives in (the helper, the sandbox's init): one write for all. */
  addProcess(...pids: number[]): void;
  /** This run is over: drop its holder; the last one removes the placeholders. Idempotent. */
  release(): void;
}

let holderSeq = 0;

/**
 * Registers this run on the workspace and creates the placeholders it needs, under the lease
 * lock so that a run ending at the same time cannot remove them in between.
 */
export function acquireWorkspaceLease(stateDir: string, workspace: string): WorkspaceLease {
  const dir = leaseDir(stateDir, workspace);
  ensurePrivateDirs(join(stateDir, 'run'), join(stateDir, 'run', 'ws'), dir);
  const procs: LockHolder[] = [ownHolder()];
  const holderFile = join(dir, `h-${process.pid}-${holderSeq++}.json`);
  const { created, tracked } = withLock(dir, () => {
    writeJson(holderFile, procs);
    const made = createPlaceholders(workspace);
    const listPath = join(dir, 'placeholders.json');
    const records = readJson<PlaceholderRecord[]>(listPath, []).filter((r) => identity(r.path) !== null);
    for (const p of made) {
      const id = identity(p);
      if (id !== null) records.push({ path: p, kind: lstatSync(p).isDirectory() ? 'dir' : 'file', ...id });
    }
    writeJson(listPath, records);
    return { created: made, tracked: records.length };
  });
  let released = false;
  return {
    created,
    tracked,
    holderFile,
    addProcess(...pids) {
      if (released) return;
      const n = procs.length;
      for (const pid of pids) {
        const start = processStartTime(pid);
        if (start !== null) procs.push({ pid, start });
      }
      if (procs.length > n) writeJson(holderFile, procs);
    },
    release() {
      if (released) return;
      released = true;
      releaseHolder(dir, workspace, holderFile);
    },
  };
}

/** Drops one holder (its file) and, when no live holder is left, removes the placeholders. */
export function releaseHolder(dir: string, workspace: string, holderFile: string): void {
  withLock(dir, () => {
    unlinkQuiet(holderFile);
    if (prune(dir) > 0) return;
    const listPath = join(dir, 'placeholders.json');
    removePlaceholders(workspace, readJson<PlaceholderRecord[]>(listPath, []));
    unlinkQuiet(listPath);
  });
}

/** Whether any process a holder file names still runs (false when the file is gone). */
export function holderLive(holderFile: string): boolean {
  const procs = readJson<LockHolder[] | null>(holderFile, null);
  return procs !== null && live(procs);
}

/** The host pid of a process's parent (field 4 of /proc/PID/stat), or null. */
export function parentPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isSafeInteger(ppid) && ppid > 0 ? ppid : null;
  } catch {
    return null;
  }
}
