// Durable atomic replacement of small state files (specs, pins, policy revisions, keys,
// checkpoints, preferences). One protocol for all of them, so no file is "atomic" with weaker
// guarantees than another:
//   1. a temp file in the same directory (rename(2) is atomic only within one file system) with a
//      name no other writer can predict or share (pid + 48 random bits), created with O_EXCL so
//      an existing file or a planted symlink is never written through;
//   2. the whole content written, the exact mode set (umask cannot change it), fsync;
//   3. rename over the target: readers see the old content or the new, never a mix;
//   4. fsync of the directory, so the rename itself survives a power loss.
// A failure before the rename removes the temp file and leaves the old file as it was.
import { closeSync, fchmodSync, fsync, fsyncSync, linkSync, mkdirSync, openSync, chmodSync, readdirSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { pidAlive } from './proc.ts';

const TEMP_RE = /\.tmp-(\d+)-[0-9a-f]{12}$/;

/**
 * 48 bits from the kernel's random pool. Read from /dev/urandom rather than through node:crypto:
 * a CLI's first call would load node:crypto (~5 ms of CPU), and `sandbox run` takes a lock (the
 * workspace lease) before its sandbox starts; node:crypto is only the fallback.
 */
function randomHex12(): string {
  const buf = Buffer.alloc(6);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, buf, 0, 6, null) === 6) return buf.toString('hex');
    } finally {
      closeSync(fd);
    }
  } catch {
    // no /dev/urandom (a chroot without /dev): node:crypto's generator below
  }
  return randomBytes(6).toString('hex');
}

/** A fresh temp name beside `path`: `<path>.tmp-<pid>-<12 hex>`. */
export function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}-${randomHex12()}`;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Opens a new temp file beside `path` (O_EXCL; a name already taken is skipped). */
function openTemp(path: string, mode: number): { tmp: string; fd: number } {
  for (let attempt = 0; ; attempt++) {
    const tmp = tempPath(path);
    try {
      return { tmp, fd: openSync(tmp, 'wx', mode) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
    }
  }
}

/** Writes `data` to a new temp file beside `path` and returns its name; `durable`: fsync it. */
function writeTemp(path: string, data: string | Uint8Array, mode: number, durable: boolean): string {
  const { tmp, fd } = openTemp(path, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fchmodSync(fd, mode);
    if (durable) fsyncSync(fd);
    closeSync(fd);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
    unlinkQuiet(tmp);
    throw err;
  }
  return tmp;
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** mkdir -p each directory, then force mode 0700 on it (umask or an older mode cannot widen it). */
export function ensurePrivateDirs(...dirs: string[]): void {
  for (const d of dirs) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
}

/** Replaces `path` durably and atomically (see the top of this file). */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = writeTemp(path, data, mode, true);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkQuiet(tmp);
    throw err;
  }
  fsyncDir(dirname(path));
}

/** writeFileAtomic of pretty-printed JSON and a final newline. */
export function writeJsonAtomic(path: string, value: unknown, mode = 0o600): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, mode);
}

/** A complete, fsynced temp file waiting to be renamed to `path` (commitStaged). */
export interface StagedFile {
  readonly path: string;
  readonly tmp: string;
}

/**
 * Steps 1-2 of the protocol without blocking the event loop: a complete, fsynced temp file beside
 * `path`, not yet visible under its name. Staging several files at once overlaps their fsyncs
 * (one journal commit can carry them all); commitStaged then makes them visible.
 */
export async function stageFileAsync(path: string, data: string | Uint8Array, mode = 0o600): Promise<StagedFile> {
  let tmp = '';
  let fh: Awaited<ReturnType<typeof open>> | null = null;
  for (let attempt = 0; fh === null; attempt++) {
    tmp = tempPath(path);
    try {
      fh = await open(tmp, 'wx', mode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
    }
  }
  try {
    try {
      // Small files: written and chmod-ed in place (page cache, no wait); only the fsync leaves
      // the event loop, one thread-pool round trip instead of three.
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      for (let off = 0; off < buf.length; ) off += writeSync(fh.fd, buf, off, buf.length - off);
      fchmodSync(fh.fd, mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    unlinkQuiet(tmp);
    throw err;
  }
  return { path, tmp };
}

/** Removes staged temp files that will not be committed. */
export function discardStaged(files: readonly StagedFile[]): void {
  for (const f of files) unlinkQuiet(f.tmp);
}

/**
 * Stages files side by side (their fsyncs overlap) while `alongside` runs, work that must succeed
 * with them: the staged files in the order given, or, when anything failed, none (their temp files
 * removed) and the first failure, in that order, thrown.
 */
export async function stageTogether(stages: readonly Promise<StagedFile>[], alongside: readonly Promise<unknown>[] = []): Promise<StagedFile[]> {
  const settled = await Promise.allSettled([...stages, ...alongside]);
  const staged = settled.slice(0, stages.length).flatMap((s) => (s.status === 'fulfilled' ? [s.value as StagedFile] : []));
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    discardStaged(staged);
    throw failed.reason;
  }
  return staged;
}

async function fsyncDirAsync(dir: string): Promise<void> {
  const fd = openSync(dir, 'r');
  try {
    await new Promise<void>((done, fail) => fsync(fd, (err) => (err ? fail(err) : done())));
  } finally {
    closeSync(fd);
  }
}

/**
 * Steps 3-4 for staged files: renamed in the order given (a reader, or a crash once renames are
 * on disk, sees a prefix of them: put the commit point last), then one fsync per directory for all
 * of them. The renames are done before this returns its promise (synchronously), so a caller can
 * decide and rename in one step that no other write comes between. On a failed rename, what is
 * not yet renamed is removed and the promise rejects.
 */
export async function commitStaged(files: readonly StagedFile[]): Promise<void> {
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as StagedFile;
    try {
      renameSync(f.tmp, f.path);
    } catch (err) {
      discardStaged(files.slice(i));
      throw err;
    }
  }
  await Promise.all([...new Set(files.map((f) => dirname(f.path)))].map(fsyncDirAsync));
}

/** writeFileAtomic without blocking the event loop (the supervisor's policy revisions). */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  await commitStaged([await stageFileAsync(path, data, mode)]);
}

/**
 * Creates `path` with its whole content, or returns false when it exists: link(2) of a complete
 * temp file, so no reader ever sees it half-written (an O_EXCL create would be visible empty).
 * `durable: false` skips both fsyncs, for files that mean nothing after a crash (lock files).
 */
export function createFileExclusive(path: string, data: string | Uint8Array, mode = 0o600, opts: { durable?: boolean } = {}): boolean {
  const durable = opts.durable ?? true;
  const tmp = writeTemp(path, data, mode, durable);
  try {
    linkSync(tmp, path);
    if (durable) fsyncDir(dirname(path));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkQuiet(tmp);
  }
}

/**
 * Removes temp files in `dir` that a writer which no longer runs left behind (killed between
 * create and rename). A live writer's temp file is never touched.
 */
export function removeDeadTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = TEMP_RE.exec(n);
    if (m !== null && !pidAlive(Number(m[1]))) unlinkQuiet(join(dir, n));
  }
}
