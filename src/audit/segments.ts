// Where the audit log's bytes live and how they reach the disk: segment and checkpoint file names,
// the install's log id, and the two I/O primitives every append goes through (one complete
// write(2) of a batch, fdatasync). Shared by the writer (log.ts, chain.ts, sealer.ts) and the
// readers (reader.ts, verify.ts).
import { existsSync, fdatasync, readFileSync, readdirSync, write } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createFileExclusive } from './files.ts';

export const CHECKPOINTS_FILE = 'checkpoints.jsonl';
export const LOG_ID_FILE = 'log-id';

export function segmentName(n: number): string {
  return `seg-${String(n).padStart(6, '0')}.jsonl`;
}

export function listSegments(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const m = /^seg-(\d{6,})\.jsonl$/.exec(n);
    if (m !== null) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** The install's log id (created on first use): the checkpoints' origin is `nemoclaw-audit/<id>`. */
export function readLogId(dir: string): string {
  const path = join(dir, LOG_ID_FILE);
  if (!existsSync(path)) createFileExclusive(path, `${randomBytes(8).toString('hex')}\n`, 0o600);
  const id = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{16}$/.test(id)) throw new Error(`${path}: not a log id`);
  return id;
}

/** Writes all of buf at the end of fd (opened for append), following short writes. */
export function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      write(fd, buf, off, buf.length - off, null, (err, n) => {
        if (err !== null) reject(err);
        else if (off + n < buf.length) step(off + n);
        else resolve();
      });
    };
    step(0);
  });
}

export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err))));
}
