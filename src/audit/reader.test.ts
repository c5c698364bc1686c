import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { endCursor, lastRecords, readRecords } from './reader.ts';

// lastRecords reads each segment backwards a window (64 KiB) at a time: these logs put lines
// across window edges, a line longer than a window, multi-byte text on the edges, lines that are
// not records, and a record still being written, and every answer must be the tail of what
// reading the whole log gives.
const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

function line(seq: number, pad: number): string {
  return `{"v":1,"seq":${seq},"ts":"2026-12-06T10:00:00.000Z","event":{"kind":"audit.note","note":"${'é€x'.repeat(pad)}"}}`;
}

/** A home whose audit directory holds these segment texts (seg-000001 first). */
function home(segments: string[]): string {
  const h = mkdtempSync(join(tmpdir(), 'nemoclaw-reader-'));
  homes.push(h);
  mkdirSync(join(h, 'audit'));
  segments.forEach((text, i) => writeFileSync(join(h, 'audit', `seg-${String(i + 1).padStart(6, '0')}.jsonl`), text));
  return h;
}

function expectTails(h: string): void {
  const all = [...readRecords(h)];
  for (const n of [0, 1, 2, 7, 100, 999, all.length - 1, all.length, all.length + 5]) {
    expect(lastRecords(h, n), `n=${n}`).toEqual(n <= 0 ? [] : all.slice(-n));
  }
}

describe('lastRecords', () => {
  it('gives the tail of the whole log across window edges, long lines, junk and a torn last record', () => {
    let seq = 0;
    const lines: string[] = [];
    for (let i = 0; i < 1500; i++) {
      lines.push(line(++seq, (i * 7) % 40));
      if (i === 700) lines.push(line(++seq, 40_000)); // ~200 KB: longer than a window
      if (i % 250 === 0) lines.push('', 'not a record');
    }
    const h = home([`${lines.join('\n')}\n${line(seq + 1, 3).slice(0, 30)}`]);
    expect([...readRecords(h)].length).toBe(1501);
    expectTails(h);
  });

  it('reads on into older segments, and an empty or newline-free segment gives nothing', () => {
    const seg = (from: number, count: number): string => Array.from({ length: count }, (_, i) => `${line(from + i, 20)}\n`).join('');
    const h = home([seg(1, 400), '', seg(401, 3), line(404, 1), seg(404, 900)]);
    expectTails(h);
  });
});

describe('endCursor', () => {
  it('points just after the last newline of the newest segment', () => {
    const text = `${line(1, 30_000)}\n${line(2, 10)}\n${line(3, 5).slice(0, 20)}`;
    const h = home([`${line(0, 1)}\n`, text]);
    expect(endCursor(h)).toEqual({ segment: 2, offset: Buffer.from(text).lastIndexOf(10) + 1 });
    expect(readFileSync(join(h, 'audit', 'seg-000002.jsonl')).length).toBeGreaterThan(endCursor(h).offset);
  });
});
