// The workload's output, one NDJSON record per line ({"ts","stream","line"}), appended to
// sandboxes/<name>/logs/output.ndjson and published on the bus. Lines are cut at MAX_LINE bytes.
// Writes are asynchronous and never wait: a slow disk costs memory in the write stream, not time.
import { createWriteStream, readFileSync, renameSync, statSync } from 'node:fs';
import type { WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';

export const MAX_LINE = 16 * 1024;
/** A log file over this size at a (re)start is moved to output.ndjson.1 (one generation kept). */
export const ROTATE_BYTES = 16 * 1024 * 1024;

export interface LogRecord {
  ts: string;
  stream: 'stdout' | 'stderr';
  line: string;
}

export class LogWriter {
  private readonly out: WriteStream;

  constructor(file: string) {
    try {
      if (statSync(file).size > ROTATE_BYTES) renameSync(file, `${file}.1`);
    } catch {
      // no log yet
    }
    this.out = createWriteStream(file, { flags: 'a', mode: 0o600 });
    this.out.on('error', () => {
      // a full disk must not take the supervisor down; the bus still carries the lines
    });
  }

  /** Splits a stream into lines; each one goes to the file and to `onLine`. */
  follow(stream: Readable | null, name: 'stdout' | 'stderr', onLine: (r: LogRecord) => void): void {
    if (stream === null) return;
    let partial = '';
    const emit = (line: string): void => {
      const r: LogRecord = { ts: new Date().toISOString(), stream: name, line };
      this.out.write(`${JSON.stringify(r)}\n`);
      onLine(r);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        emit(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
      while (partial.length > MAX_LINE) {
        emit(partial.slice(0, MAX_LINE));
        partial = partial.slice(MAX_LINE);
      }
    });
    stream.on('end', () => {
      if (partial !== '') emit(partial);
      partial = '';
    });
    stream.on('error', () => {});
  }

  note(line: string): void {
    this.out.write(`${JSON.stringify({ ts: new Date().toISOString(), stream: 'stderr', line: `[nemoclaw] ${line}` })}\n`);
  }

  close(): void {
    this.out.end();
  }
}

/** Records of a log file, filtered by time and tail count. */
export function readLog(file: string, opts: { sinceMs?: number; tail?: number } = {}): LogRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: LogRecord[] = [];
  for (const l of text.split('\n')) {
    if (l === '') continue;
    try {
      const r = JSON.parse(l) as LogRecord;
      if (opts.sinceMs !== undefined && Date.parse(r.ts) < opts.sinceMs) continue;
      out.push(r);
    } catch {
      // a torn last line after a crash
    }
  }
  return opts.tail !== undefined ? out.slice(Math.max(0, out.length - opts.tail)) : out;
}
