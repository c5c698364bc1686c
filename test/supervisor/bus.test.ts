// The event bus and the event stream: a client that reconnects with ?since=<last seq> misses
// nothing; a subscriber that falls behind the ring is told how many it lost; publishing never
// waits for a subscriber.
import { describe, expect, it } from 'vitest';
import { EventBus, startSupervisor } from '../../src/supervisor/index.ts';
import type { BusEvent } from '../../src/supervisor/index.ts';
import { freshHome } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';

describe('event bus', () => {
  it('delivers in order with no holes, replays from a cursor, and counts drops for a stalled subscriber', async () => {
    const bus = new EventBus(64);
    const seen: number[] = [];
    const drops: number[] = [];
    const sub = bus.subscribe(0, { onEvent: (e) => seen.push(e.seq), onDropped: (n) => drops.push(n) });
    for (let i = 0; i < 50; i++) bus.publish('s', { type: 'log', stream: 'stdout', line: String(i) });
    await waitFor(() => seen.length === 50, 'delivery', { withinMs: 15_000 });
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    sub.pause();
    for (let i = 0; i < 200; i++) bus.publish('s', { type: 'log', stream: 'stdout', line: String(i) }); // never blocks
    sub.resume();
    await waitFor(() => seen[seen.length - 1] === 250, 'catch up', { withinMs: 15_000 });
    expect(drops).toEqual([250 - 64 - 50]);
    expect(sub.dropped).toBe(136);
    expect(bus.since(245).map((e) => e.seq)).toEqual([246, 247, 248, 249, 250]);
    sub.close();
  });
});

describe('event stream over the API', () => {
  it('a reconnecting client resumes from its last sequence number and misses no event', async () => {
    const home = freshHome();
    const sup = await startSupervisor({ home, onWarning: () => {} });
    const { ApiClient } = await import('../../src/supervisor/index.ts');
    const api = new ApiClient(sup.apiSocket);
    try {
      const got: BusEvent[] = [];
      let s = api.stream('/v1/events?since=0&follow=1', (e) => got.push(e as unknown as BusEvent));
      for (let i = 0; i < 100; i++) sup.bus.publish('x', { type: 'log', stream: 'stdout', line: `a${i}` });
      await waitFor(() => got.filter((e) => e.type === 'log').length === 100, 'first batch', { withinMs: 15_000 });
      s.abort();
      await s.done;
      // published while nobody listens
      for (let i = 0; i < 100; i++) sup.bus.publish('x', { type: 'log', stream: 'stdout', line: `b${i}` });
      const last = got[got.length - 1]?.seq ?? 0;
      s = api.stream(`/v1/events?since=${last}&follow=1`, (e) => got.push(e as unknown as BusEvent));
      for (let i = 0; i < 100; i++) sup.bus.publish('x', { type: 'log', stream: 'stdout', line: `c${i}` });
      await waitFor(() => got.filter((e) => e.type === 'log').length === 300, 'all', { withinMs: 15_000 });
      s.abort();
      await s.done;
      const seqs = got.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      const lines = got.flatMap((e) => (e.type === 'log' ? [e.line] : []));
      expect(lines).toEqual([...Array.from({ length: 100 }, (_, i) => `a${i}`), ...Array.from({ length: 100 }, (_, i) => `b${i}`), ...Array.from({ length: 100 }, (_, i) => `c${i}`)]);
    } finally {
      await sup.close();
    }
  });
});
