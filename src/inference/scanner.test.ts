import { afterAll, describe, expect, it } from 'vitest';
import { restoreText } from './redact.ts';
import { ScanTimeoutError, Scanner } from './scanner.ts';

const NVAPI = `nvapi-${'Qw3rTy7uIo9pAs2dFg5hJk8lZx1cVb4n'.repeat(2)}`;
const big = (n: number) => ({ model: 'm', messages: [{ role: 'user', content: `${'the build took 12 s; '.repeat(n)} key ${NVAPI} mail ops@example.com` }] });

describe('Scanner', () => {
  const worker = new Scanner({ inlineMaxBytes: 0 });
  afterAll(async () => {
    await worker.close();
  });

  it('a worker scan finds what an inline scan finds, and the mapping restores in this process', async () => {
    const body = big(100);
    const inline = await new Scanner().scan(body, 10, ['x'.repeat(8)]);
    const off = await worker.scan(body, 10, ['x'.repeat(8)]);
    expect(off.out).toEqual(inline.out);
    expect(off.ctx.found.map((f) => [f.placeholder, f.detector])).toEqual([
      ['[[SECRET_1]]', 'shape:nvapi'],
      ['[[EMAIL_2]]', 'email'],
    ]);
    expect(restoreText('use [[SECRET_1]] and [[EMAIL_2]]', off.ctx)).toBe(`use ${NVAPI} and ops@example.com`);
  });

  it('a scan past its deadline rejects (the router fails closed), and the next scan gets a fresh worker', async () => {
    const slow = new Scanner({ inlineMaxBytes: 0, deadlineMs: 1 });
    try {
      await expect(slow.scan(big(200_000), 4_000_000, [])).rejects.toBeInstanceOf(ScanTimeoutError);
    } finally {
      await slow.close();
    }
    const r = await worker.scan(big(10), 10, []);
    expect(r.ctx.found).toHaveLength(2);
  });

  it('adversarial text stays linear: unterminated PEM heads, hyphen and @ runs (the test timeout bounds it)', async () => {
    const s = new Scanner();
    for (const text of ['-----BEGIN PRIVATE KEY-----\n'.repeat(80_000), 'a-'.repeat(1_000_000), 'a@'.repeat(1_000_000), `${'a.'.repeat(1_000_000)}@`]) {
      const r = await s.scan({ messages: [{ role: 'user', content: text }] }, 0, []);
      expect(r.ctx.found).toEqual([]);
    }
  });
});
