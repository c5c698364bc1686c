// LogWriter's bounds (issue 19), driven through a stream with a controlled clock: files rotate
// before the cap, the oldest generation goes, each window admits a tenth of a file and marks the
// rest as dropped, and readLog reads across the generations (newest last, tail from the newest).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LOG_WINDOW_MS, LogWriter, dropMarker, readLog } from './logs.ts';
import type { LogRecord } from './logs.ts';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nc-logs-'));
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

const PER_FILE = 64 * 1024;
const FILES = 3;
const line = (i: number): string => `line ${String(i).padStart(6, '0')} ${'x'.repeat(80)}`;

/** Until the stream handed everything written to its 'data' listener (bounded: 1000 turns). */
async function drained(s: PassThrough): Promise<void> {
  for (let i = 0; i < 1000 && (s.writableLength > 0 || s.readableLength > 0); i++) await new Promise((r) => setImmediate(r));
  expect(s.writableLength + s.readableLength).toBe(0);
}

/** Writes `n` lines, one window (a tenth of a file) at a time, so nothing is dropped. */
async function feed(s: PassThrough, from: number, n: number): Promise<void> {
  const perWindow = Math.floor(PER_FILE / 10 / 160); // records are ~150 bytes
  for (let i = from; i < from + n; i += perWindow) {
    const chunk = Array.from({ length: Math.min(perWindow, from + n - i) }, (_, k) => `${line(i + k)}\n`).join('');
    s.write(chunk);
    await drained(s);
    vi.setSystemTime(Date.now() + LOG_WINDOW_MS);
  }
}

async function settle(w: LogWriter): Promise<void> {
  w.close();
  await w.flushed();
}

describe('LogWriter', () => {
  it('rotates before a file passes its share, keeps log_files generations, and readLog spans them', async () => {
    const file = join(dir, 'output.ndjson');
    const w = new LogWriter(file);
    w.configure({ logBytes: PER_FILE * FILES, logFiles: FILES });
    const s = new PassThrough();
    const seen: LogRecord[] = [];
    w.follow(s, 'stdout', (r) => seen.push(r));
    await feed(s, 0, 2000); // ~300 KiB: more than the cap, so the oldest generation went
    await settle(w);
    expect(readdirSync(dir).sort()).toEqual(['output.ndjson', 'output.ndjson.1', 'output.ndjson.2']);
    const total = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThanOrEqual(PER_FILE * FILES);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(PER_FILE);
    expect(seen).toHaveLength(2000); // paced within the rate: nothing dropped
    const all = readLog(file);
    expect(all.at(-1)?.line).toBe(line(1999));
    expect(all[0]?.line).not.toBe(line(0)); // the oldest went with the oldest generation
    const nums = all.map((r) => Number(r.line.slice(5, 11)));
    expect(nums).toEqual([...nums].sort((a, b) => a - b)); // in order across the files
    expect(readLog(file, { tail: 3 }).map((r) => r.line)).toEqual([line(1997), line(1998), line(1999)]);
  });

  it('a flood within one window is cut at a tenth of a file, with one marker and one drop report for the rest', async () => {
    const file = join(dir, 'output.ndjson');
    const w = new LogWriter(file);
    const notices: LogRecord[] = [];
    const drops: number[] = [];
    w.configure({ logBytes: PER_FILE * FILES, logFiles: FILES }, { onNotice: (r) => notices.push(r), onDropped: (b) => drops.push(b) });
    const s = new PassThrough();
    let admitted = 0;
    w.follow(s, 'stdout', () => admitted++);
    const chunk = Buffer.from('y\n'.repeat(32 * 1024)); // 64 KiB per chunk
    for (let i = 0; i < 16; i++) s.write(chunk);
    await drained(s);
    expect(drops).toEqual([]); // reported when the window ends, not per chunk
    vi.advanceTimersByTime(LOG_WINDOW_MS);
    expect(drops).toHaveLength(1);
    const written = admitted * 2;
    expect((drops[0] as number) + written).toBe(16 * 64 * 1024);
    expect(notices.map((n) => n.line)).toEqual([dropMarker(drops[0] as number)]);
    await settle(w);
    const recs = readLog(file);
    expect(recs.at(-1)?.line).toBe(dropMarker(drops[0] as number));
    expect(statSync(file).size).toBeLessThanOrEqual(PER_FILE / 10 + 200);
  });

  it('a lower log_files removes the generations beyond it at the next start', async () => {
    const file = join(dir, 'output.ndjson');
    const w = new LogWriter(file);
    w.configure({ logBytes: PER_FILE * 4, logFiles: 4 });
    const s = new PassThrough();
    w.follow(s, 'stdout', () => undefined);
    await feed(s, 0, 2000);
    await settle(w);
    expect(readdirSync(dir)).toHaveLength(4);
    const again = new LogWriter(file);
    again.configure({ logBytes: PER_FILE * 2, logFiles: 2 });
    await settle(again);
    expect(readdirSync(dir).sort()).toEqual(['output.ndjson', 'output.ndjson.1']);
  });
});
