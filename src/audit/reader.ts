// Reading records back (tail, export): whole lines only, in seq order across segments.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint } from './checkpoint.ts';
import { parseCheckpointText } from './checkpoint.ts';
import { auditDir } from './files.ts';
import { CHECKPOINTS_FILE, listSegments, segmentName } from './segments.ts';

export interface RawRecord {
  /** The exact line, without its newline. */
  line: string;
  seq: number;
  ts: string;
}

function headOf(line: string): RawRecord | null {
  const m = /^\{"v":1,"seq":(\d+),"ts":"([^"]+)"/.exec(line);
  return m === null ? null : { line, seq: Number(m[1]), ts: m[2] as string };
}

function completeLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline: empty, or a record still being written
  return lines;
}

/** All records, oldest first, optionally only those with ts >= sinceMs. */
export function* readRecords(home: string, sinceMs?: number): Generator<RawRecord> {
  const dir = auditDir(home);
  for (const seg of listSegments(dir)) {
    for (const line of completeLines(readFileSync(join(dir, segmentName(seg)), 'utf8'))) {
      const r = headOf(line);
      if (r === null) continue;
      if (sinceMs !== undefined && Date.parse(r.ts) < sinceMs) continue;
      yield r;
    }
  }
}

/** How much of a segment's end is read at a time: a segment grows to 64 MiB, a tail wants a few lines. */
const TAIL_WINDOW = 64 * 1024;

function readAt(fd: number, from: number, to: number): Buffer {
  const buf = Buffer.allocUnsafe(to - from);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** The offset just after the file's last newline (0 when it has none), reading from the end. */
function completeEnd(fd: number, size: number): number {
  for (let hi = size; hi > 0; hi -= TAIL_WINDOW) {
    const lo = Math.max(0, hi - TAIL_WINDOW);
    const nl = readAt(fd, lo, hi).lastIndexOf(10);
    if (nl >= 0) return lo + nl + 1;
  }
  return 0;
}

/**
 * Adds up to `want` records from the end of one segment to `out`, newest first, reading the
 * file backwards a window at a time and only as far as needed. Lines split at newline bytes,
 * which UTF-8 never uses inside a character, so each line decodes as it would in the whole text.
 */
function newestRecords(path: string, want: number, out: RawRecord[]): void {
  const fd = openSync(path, 'r');
  try {
    // What follows the last newline is a record still being written: never shown.
    let hi = completeEnd(fd, fstatSync(fd).size);
    let window = TAIL_WINDOW;
    const stop = out.length + want;
    while (hi > 0 && out.length < stop) {
      const lo = Math.max(0, hi - window);
      const buf = readAt(fd, lo, hi);
      // The first line in the window is whole only when the window starts the file.
      const first = lo === 0 ? 0 : buf.indexOf(10) + 1;
      if (lo > 0 && first === buf.length) {
        window *= 4; // one line longer than the window
        continue;
      }
      for (let end = buf.length - 1; end >= first && out.length < stop; ) {
        const start = end === 0 ? 0 : buf.lastIndexOf(10, end - 1) + 1;
        const r = headOf(buf.toString('utf8', start, end));
        if (r !== null) out.push(r);
        end = start - 1;
      }
      hi = lo + first;
    }
  } finally {
    closeSync(fd);
  }
}

/** The last n records, oldest first (reads segments from the newest backwards, each from its end). */
export function lastRecords(home: string, n: number): RawRecord[] {
  if (n <= 0) return [];
  const dir = auditDir(home);
  const segs = listSegments(dir);
  const newestFirst: RawRecord[] = [];
  for (let i = segs.length - 1; i >= 0 && newestFirst.length < n; i--) {
    newestRecords(join(dir, segmentName(segs[i] as number)), n - newestFirst.length, newestFirst);
  }
  return newestFirst.reverse();
}

/** Position after the last complete line: where a follower continues. */
export interface Cursor {
  segment: number;
  offset: number;
}

export function endCursor(home: string): Cursor {
  const dir = auditDir(home);
  const segs = listSegments(dir);
  const segment = segs[segs.length - 1] ?? 1;
  const path = join(dir, segmentName(segment));
  if (!existsSync(path)) return { segment, offset: 0 };
  const fd = openSync(path, 'r');
  try {
    return { segment, offset: completeEnd(fd, fstatSync(fd).size) };
  } finally {
    closeSync(fd);
  }
}

/** Records appended after the cursor (following rotations); advances the cursor. */
export function readSince(home: string, cur: Cursor): RawRecord[] {
  const dir = auditDir(home);
  const out: RawRecord[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const path = join(dir, segmentName(cur.segment));
    if (existsSync(path)) {
      const fd = openSync(path, 'r');
      try {
        const size = fstatSync(fd).size;
        if (size > cur.offset) {
          const buf = Buffer.alloc(size - cur.offset);
          readSync(fd, buf, 0, buf.length, cur.offset);
          const end = buf.lastIndexOf(10) + 1;
          for (const line of completeLines(buf.toString('utf8', 0, end))) {
            const r = headOf(line);
            if (r !== null) out.push(r);
          }
          cur.offset += end;
        }
      } finally {
        closeSync(fd);
      }
    }
    if (!existsSync(join(dir, segmentName(cur.segment + 1)))) break;
    cur.segment += 1;
    cur.offset = 0;
  }
  return out;
}

export function readCheckpoints(home: string): Checkpoint[] {
  const path = join(auditDir(home), CHECKPOINTS_FILE);
  if (!existsSync(path)) return [];
  return parseCheckpointText(readFileSync(path, 'utf8')).cps;
}
