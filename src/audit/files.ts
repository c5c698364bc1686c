// Small file-system helpers for the audit trail: where things live, private directories, and
// atomic replacement (temp file, fsync, rename, fsync of the directory) for state that is not an
// append-only log.
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, chmodSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** NEMOCLAW_HOME, default ~/.nemoclaw. */
export function defaultHome(): string {
  const env = process.env.NEMOCLAW_HOME;
  return env !== undefined && env !== '' ? env : join(homedir(), '.nemoclaw');
}

export function auditDir(home: string): string {
  return join(home, 'audit');
}

/**
 * Signing keys live beside the log's directory, not inside it: the audit directory can be copied
 * or shipped to a SIEM without its keys, and no sandbox mounts NEMOCLAW_HOME.
 */
export function keysDir(home: string): string {
  return join(home, 'keys', 'audit');
}

/** mkdir -p each directory, then force mode 0700 on it (umask or an older mode cannot widen it). */
export function ensurePrivateDirs(...dirs: string[]): void {
  for (const d of dirs) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function tempName(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function writeTemp(path: string, data: string | Buffer, mode: number): string {
  const tmp = tempName(path);
  const fd = openSync(tmp, 'wx', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  return tmp;
}

/** Replaces path atomically: readers see the old content or the new, never a mix. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
  const tmp = writeTemp(path, data, mode);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  fsyncDir(dirname(path));
}

/**
 * Creates path with its full content atomically, failing with EEXIST if it exists (link(2) of a
 * complete temp file, so no reader ever sees a half-written file). Returns false on EEXIST.
 */
export function createFileExclusive(path: string, data: string | Buffer, mode = 0o600): boolean {
  const tmp = writeTemp(path, data, mode);
  try {
    linkSync(tmp, path);
    fsyncDir(dirname(path));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}
