// The workload's output, one NDJSON record per line ({"ts","stream","line"}), appended to
// sandboxes/<name>/logs/output.ndjson and published on the bus. Lines are cut at MAX_LINE bytes.
//
// Bounded (issue 19): a sandbox must not be able to fill the host's disk through its output.
// - Rotation: the files together never exceed `limits.log_size` (default 100 MiB), split into
//   `limits.log_files` files (default 5: output.ndjson, output.ndjson.1 … .4, oldest last), like
//   Docker's `local` driver. A file that would grow past its share is rotated first.
// - Rate: per second, at most a tenth of one file's share is taken in, so a flood needs 10 s to
//   rotate one file and the history before it survives for log_files × 10 s. The excess is
//   dropped, never waited for (a paused pipe would stall the workload, and a supervisor that
//   splits and writes every line of a 20 MB/s flood stalls everything else), and said so with
//   one marker record `[nemoclaw: N bytes dropped]` per second plus a `limit_hit` callback.
// Writes are asynchronous and never wait: a disk slower than the rate above costs at most
// MAX_PENDING bytes of memory, beyond which output is dropped as well.
import { createWriteStream, fstatSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { LIMIT_DEFAULTS } from '../policy/index.ts';
import type { SandboxSpec } from '../policy/index.ts';

export const MAX_LINE = 16 * 1024;
/** The rate window: the marker and the limit_hit callback come at most once per window. */
export const LOG_WINDOW_MS = 1000;
/** Bytes queued for the disk beyond which output is dropped rather than held in memory. */
export const MAX_PENDING = 4 * 1024 * 1024;

export interface LogRecord {
  ts: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export interface LogHooks {
  /** A record nemoclaw wrote itself (the drop marker), to publish like a line of output. */
  onNotice?: (r: LogRecord) => void;
  /** Output was dropped during the last window: `bytes` of the workload's output. */
  onDropped?: (bytes: number) => void;
}

export const dropMarker = (bytes: number): string => `[nemoclaw: ${bytes} bytes dropped]`;

export class LogWriter {
  private out: WriteStream;
  private size = 0;
  private files: number = LIMIT_DEFAULTS.logFiles;
  private perFile: number = Math.floor(LIMIT_DEFAULTS.logBytes / LIMIT_DEFAULTS.logFiles);
  private hooks: LogHooks = {};
  private windowStart = 0;
  private used = 0;
  private dropped = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Streams ended (rotation, close) whose last writes may still be on their way to the disk. */
  private readonly draining = new Set<WriteStream>();
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
    this.out = this.open();
  }

  /** The policy's limits (absent ones take LIMIT_DEFAULTS) and where drops are reported. */
  configure(limits: SandboxSpec['limits'], hooks: LogHooks = {}): void {
    this.files = Math.max(1, limits.logFiles ?? LIMIT_DEFAULTS.logFiles);
    this.perFile = Math.floor((limits.logBytes ?? LIMIT_DEFAULTS.logBytes) / this.files);
    this.hooks = hooks;
    // A policy that lowered log_files leaves older generations behind: they count against nothing.
    for (const g of generations(this.file)) if (g.n >= this.files) rmQuiet(g.path);
    if (this.size > this.perFile) this.rotate();
  }

  private retire(): void {
    const old = this.out;
    this.draining.add(old);
    old.once('close', () => this.draining.delete(old)); // also after an error (emitClose)
    old.end();
  }

  /** Resolves once everything written so far has reached the file (or failed): after close(), for readers. */
  async flushed(): Promise<void> {
    await Promise.all([...this.draining].map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', () => resolve())))));
  }

  private open(): WriteStream {
    // Opened here, synchronously: the file must exist before the next rotation renames it (a
    // stream opening in the background would let two quick rotations lose a generation).
    let fd: number | null = null;
    try {
      fd = openSync(this.file, 'a', 0o600);
      this.size = fstatSync(fd).size;
    } catch {
      this.size = 0; // the stream below reports (and we ignore) the same error
    }
    const out = fd === null ? createWriteStream(this.file, { flags: 'a', mode: 0o600 }) : createWriteStream(this.file, { fd, flags: 'a' });
    out.on('error', () => {
      // a full disk must not take the supervisor down; the bus still carries the lines
    });
    return out;
  }

  /** output.ndjson → .1 → .2 …; the oldest generation is removed, then a fresh file opened. */
  private rotate(): void {
    this.retire(); // pending writes still land in the renamed file (same inode)
    if (this.files === 1) rmQuiet(this.file);
    else {
      rmQuiet(`${this.file}.${this.files - 1}`);
      for (let n = this.files - 2; n >= 1; n--) renameQuiet(`${this.file}.${n}`, `${this.file}.${n + 1}`);
      renameQuiet(this.file, `${this.file}.1`);
    }
    this.out = this.open();
  }

  /** Appends one record, rotating first if it would not fit; returns the bytes written. */
  private write(r: LogRecord): number {
    if (this.closed) return 0; // output still draining after the end: a rotation would reopen a file
    const text = `${JSON.stringify(r)}\n`;
    const n = Buffer.byteLength(text);
    if (n > this.perFile) return 0; // cannot happen with log_size/log_files >= 64 KiB (schema)
    if (this.size + n > this.perFile) this.rotate();
    this.out.write(text);
    this.size += n;
    return n;
  }

  /** Starts a new window when the old one is over, writing the marker for what it dropped. */
  private tick(now: number): void {
    if (now - this.windowStart < LOG_WINDOW_MS) return;
    this.flushDropped();
    this.windowStart = now;
    this.used = 0;
  }

  private flushDropped(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.dropped === 0) return;
    const bytes = this.dropped;
    this.dropped = 0;
    const r: LogRecord = { ts: new Date().toISOString(), stream: 'stderr', line: dropMarker(bytes) };
    this.write(r);
    this.hooks.onNotice?.(r);
    this.hooks.onDropped?.(bytes);
  }

  private drop(bytes: number): void {
    if (bytes <= 0) return;
    this.dropped += bytes;
    // The marker must show up even if the workload goes quiet right after its flood.
    if (this.flushTimer === null && !this.closed) {
      const due = Math.max(1, this.windowStart + LOG_WINDOW_MS - Date.now());
      this.flushTimer = setTimeout(() => {
        this.flushTimer = null;
        this.tick(Date.now());
      }, due);
      this.flushTimer.unref();
    }
  }

  /** Whether this window's allowance (a tenth of a file) and the disk queue have room left. */
  private admits(): boolean {
    return this.used < Math.max(1, Math.floor(this.perFile / 10)) && this.out.writableLength < MAX_PENDING;
  }

  /** Splits a stream into lines; each one admitted goes to the file and to `onLine`. */
  follow(stream: Readable | null, name: 'stdout' | 'stderr', onLine: (r: LogRecord) => void): void {
    if (stream === null) return;
    let partial = '';
    const decoder = new StringDecoder('utf8');
    const emit = (line: string): void => {
      const r: LogRecord = { ts: new Date().toISOString(), stream: name, line };
      this.used += this.write(r);
      onLine(r);
    };
    stream.on('data', (chunk: Buffer) => {
      this.tick(Date.now());
      if (!this.admits()) {
        // The whole chunk goes, with the unfinished line before it: nothing is split or decoded.
        this.drop(chunk.length + Buffer.byteLength(partial));
        partial = '';
        decoder.end();
        return;
      }
      partial += decoder.write(chunk);
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        if (!this.admits()) {
          this.drop(Buffer.byteLength(partial));
          partial = '';
          return;
        }
        emit(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
      while (partial.length > MAX_LINE) {
        emit(partial.slice(0, MAX_LINE));
        partial = partial.slice(MAX_LINE);
      }
    });
    stream.on('end', () => {
      partial += decoder.end();
      if (partial !== '') emit(partial);
      partial = '';
    });
    stream.on('error', () => {});
  }

  note(line: string): void {
    this.write({ ts: new Date().toISOString(), stream: 'stderr', line: `[nemoclaw] ${line}` });
  }

  close(): void {
    this.flushDropped();
    this.closed = true;
    this.retire();
  }
}

function rmQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function renameQuiet(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch {
    // that generation does not exist yet
  }
}

/** output.ndjson (n = 0) and its rotated generations (n = 1, 2, …), newest first. */
function generations(file: string): { n: number; path: string }[] {
  const base = basename(file);
  const dir = dirname(file);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: { n: number; path: string }[] = [];
  for (const name of names) {
    if (name === base) out.push({ n: 0, path: file });
    else if (name.startsWith(`${base}.`) && /^[1-9][0-9]{0,3}$/.test(name.slice(base.length + 1))) out.push({ n: Number(name.slice(base.length + 1)), path: join(dir, name) });
  }
  return out.sort((a, b) => a.n - b.n);
}

function parseRecords(path: string, sinceMs: number | undefined): LogRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return []; // rotated away between the listing and the read
  }
  const out: LogRecord[] = [];
  for (const l of text.split('\n')) {
    if (l === '') continue;
    try {
      const r = JSON.parse(l) as LogRecord;
      if (sinceMs !== undefined && Date.parse(r.ts) < sinceMs) continue;
      out.push(r);
    } catch {
      // a torn last line after a crash
    }
  }
  return out;
}

/**
 * Records of a log and its rotated generations, oldest first, filtered by time and tail count.
 * With `tail`, only as many generations as needed are read, newest first.
 */
export function readLog(file: string, opts: { sinceMs?: number; tail?: number } = {}): LogRecord[] {
  const chunks: LogRecord[][] = [];
  let count = 0;
  for (const g of generations(file)) {
    const recs = parseRecords(g.path, opts.sinceMs);
    chunks.unshift(recs);
    count += recs.length;
    if (opts.tail !== undefined && count >= opts.tail) break;
  }
  const out = chunks.flat();
  return opts.tail !== undefined ? out.slice(Math.max(0, out.length - opts.tail)) : out;
}
