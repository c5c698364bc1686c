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

/** The last n records (reads segments from the newest backwards). */
export function lastRecords(home: string, n: number): RawRecord[] {
  const dir = auditDir(home);
  const segs = listSegments(dir);
  let out: RawRecord[] = [];
  for (let i = segs.length - 1; i >= 0 && out.length < n; i--) {
    const recs = completeLines(readFileSync(join(dir, segmentName(segs[i] as number)), 'utf8'))
      .map(headOf)
      .filter((r): r is RawRecord => r !== null);
    out = [...recs, ...out];
  }
  return n <= 0 ? [] : out.slice(-n);
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
  const text = readFileSync(path);
  return { segment, offset: text.lastIndexOf(10) + 1 };
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
