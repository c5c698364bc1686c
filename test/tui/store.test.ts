import { afterEach, describe, expect, it, vi } from 'vitest';
import { collapse, type Collapsed } from '../../src/tui/store/collapse.ts';
import type { TuiEvent } from '../../src/tui/store/events.ts';
import { RingBuffer } from '../../src/tui/store/ring-buffer.ts';
import { MAX_LINE_CHARS, nextPublishInterval, TuiStore } from '../../src/tui/store/tui-store.ts';

const deny = (ts: number, syscall = 'ptrace', sandbox = 'demo'): TuiEvent => ({ type: 'syscall_denied', ts, sandbox, pid: 1, binary: '/usr/bin/gdb', syscall, rule: 'baseline' });

describe('RingBuffer', () => {
  it('keeps the newest `capacity` entries and counts what it dropped', () => {
    const b = new RingBuffer<number>(3);
    for (let i = 1; i <= 5; i++) b.push(i);
    expect(b.toArray()).toEqual([3, 4, 5]);
    expect(b.size).toBe(3);
    expect(b.dropped).toBe(2);
    expect(b.total).toBe(5);
    expect(b.peekFromEnd(0)).toBe(5);
    expect(b.peekFromEnd(2)).toBe(3);
    expect(b.peekFromEnd(3)).toBeUndefined();
  });

  it('returns a frozen array cached until the next mutation', () => {
    const b = new RingBuffer<number>(2);
    b.push(1);
    const a = b.toArray();
    expect(Object.isFrozen(a)).toBe(true);
    expect(b.toArray()).toBe(a);
    b.replaceFromEnd(0, 9);
    expect(b.toArray()).not.toBe(a);
    expect(b.toArray()).toEqual([9]);
    expect(a).toEqual([1]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new RingBuffer(0)).toThrow(RangeError);
    expect(() => new RingBuffer(1.5)).toThrow(RangeError);
  });
});

describe('collapse (pure)', () => {
  const entry = (key: string, lastTs: number, count = 1): Collapsed<string> => ({ event: key, key, count, firstTs: lastTs, lastTs });

  it('appends an event nothing recent matches', () => {
    const r = collapse([entry('a', 0)], 'b', 'b', 10);
    expect(r).toEqual({ kind: 'append', entry: { event: 'b', key: 'b', count: 1, firstTs: 10, lastTs: 10 } });
  });

  it('merges a repeat of the newest entry into a count', () => {
    const r = collapse([entry('a', 0, 2)], 'a', 'a', 5);
    expect(r).toEqual({ kind: 'merge', back: 0, entry: { event: 'a', key: 'a', count: 3, firstTs: 0, lastTs: 5 } });
  });

  it('merges interleaved repeats within the window, not beyond it', () => {
    const recent = [entry('b', 9), entry('c', 8), entry('a', 7)];
    expect(collapse(recent, 'a', 'a', 10, { window: 3, maxGapMs: 1000 })).toMatchObject({ kind: 'merge', back: 2 });
    expect(collapse(recent, 'a', 'a', 10, { window: 2, maxGapMs: 1000 }).kind).toBe('append');
  });

  it('starts a new row after a long gap', () => {
    expect(collapse([entry('a', 0)], 'a', 'a', 70_000, { window: 1, maxGapMs: 60_000 }).kind).toBe('append');
  });
});

describe('TuiStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('publishes one coalesced snapshot for a burst of events, never per event', () => {
    vi.useFakeTimers();
    const store = new TuiStore({ publishIntervalMs: 100 });
    const first = store.getSnapshot();
    let notified = 0;
    store.subscribe(() => notified++);
    for (let i = 0; i < 1000; i++) store.ingest(deny(i, `sc${i % 7}`));
    expect(notified).toBe(0);
    expect(store.getSnapshot()).toBe(first); // nothing published yet: React sees a stable snapshot
    vi.advanceTimersByTime(100);
    expect(notified).toBe(1);
    const snap = store.getSnapshot();
    expect(snap.totalEvents).toBe(1000);
    expect(Object.isFrozen(snap)).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(notified).toBe(1); // idle: no timer, no publish
    store.dispose();
  });

  it('publishes less often under a flood, and at the normal pace again once it is over', () => {
    const pacing = { intervalMs: 100, busyIntervalMs: 250, busyEventsPerSecond: 1000 };
    expect(nextPublishInterval(99, 100, pacing)).toBe(100);
    expect(nextPublishInterval(100, 100, pacing)).toBe(250);
    expect(nextPublishInterval(0, 0, pacing)).toBe(100);
    expect(nextPublishInterval(5000, 1000, { ...pacing, busyIntervalMs: 50 })).toBe(100); // never faster than normal

    vi.useFakeTimers();
    const store = new TuiStore({ publishIntervalMs: 100, busyPublishIntervalMs: 250, busyEventsPerSecond: 1000 });
    let notified = 0;
    store.subscribe(() => notified++);
    let n = 0;
    // 5,000 events/s: 50 every 10 ms.
    const flood = (ms: number): void => {
      for (let t = 0; t < ms; t += 10) {
        for (let i = 0; i < 50; i++) store.ingest(deny(n++));
        vi.advanceTimersByTime(10);
      }
    };
    flood(100);
    expect(notified).toBe(1); // the first window publishes at the normal pace
    flood(1000);
    expect(notified).toBe(5); // then 4 a second
    vi.advanceTimersByTime(1000); // quiet
    notified = 0;
    store.ingest(deny(n++));
    vi.advanceTimersByTime(100);
    expect(notified).toBe(1); // a lone event after the flood is shown after the normal interval
    expect(store.getSnapshot().totalEvents).toBe(n);
    store.dispose();
  });

  it('collapses repeated denials and counts them per sandbox', () => {
    const store = new TuiStore();
    store.ingestMany([deny(1), deny(2), deny(3), deny(4, 'mount')]);
    store.flush();
    const s = store.getSnapshot();
    expect(s.syscalls.items.map((r) => [r.event.type === 'syscall_denied' ? r.event.syscall : '', r.count])).toEqual([
      ['ptrace', 3],
      ['mount', 1],
    ]);
    expect(s.sandboxes.find((x) => x.name === 'demo')?.denials).toBe(4);
    store.dispose();
  });

  it('bounds every feed and reports drops', () => {
    const store = new TuiStore({ capacities: { logs: 10 } });
    for (let i = 0; i < 25; i++) store.ingest({ type: 'log', ts: i, sandbox: 'x', stream: 'stdout', line: `line ${i}` });
    store.flush();
    const logs = store.getSnapshot().logs;
    expect(logs.items).toHaveLength(10);
    expect(logs.dropped).toBe(15);
    expect(logs.items.at(-1)?.event.line).toBe('line 24');
    store.dispose();
  });

  it('cuts huge log lines when storing them', () => {
    const store = new TuiStore();
    store.ingest({ type: 'log', ts: 1, sandbox: 'x', stream: 'stdout', line: 'y'.repeat(90_000) });
    store.flush();
    expect(store.getSnapshot().logs.items[0]?.event.line.length).toBeLessThanOrEqual(MAX_LINE_CHARS + 1);
    store.dispose();
  });

  it('tracks approvals from pending to decided, wherever the decision came from', () => {
    const store = new TuiStore();
    store.ingest({ type: 'sandbox_state', ts: 0, sandbox: { name: 'demo', state: 'running', blueprint: 'strict', policyRevision: 1 } });
    store.ingest({ type: 'approval_pending', ts: 1, approval: { id: 'ap-1', sandbox: 'demo', kind: 'egress', summary: 'curl', createdAt: 1, timeoutAt: 60_000 } });
    store.flush();
    expect(store.getSnapshot().pending.map((p) => p.id)).toEqual(['ap-1']);
    expect(store.getSnapshot().sandboxes[0]?.pendingApprovals).toBe(1);
    store.ingest({ type: 'approval_decided', ts: 2, decision: { id: 'ap-1', sandbox: 'demo', summary: 'curl', verdict: 'allow', always: false, by: 'cli', ts: 2 } });
    store.flush();
    const s = store.getSnapshot();
    expect(s.pending).toEqual([]);
    expect(s.decided.items[0]?.by).toBe('cli');
    expect(s.sandboxes[0]?.pendingApprovals).toBe(0);
    store.dispose();
  });

  it('keeps GPU and host history, and a clear unavailable state', () => {
    const store = new TuiStore({ capacities: { history: 3 } });
    for (let i = 0; i < 5; i++) {
      store.ingest({ type: 'gpu_sample', ts: i, gpus: [{ index: 0, name: 'H100', utilization: i * 10, memoryUsed: 50, memoryTotal: 100, temperature: 40, powerDraw: 100, ts: i }] });
    }
    store.ingest({ type: 'host_sample', ts: 9, sample: { cpu: 12, memUsed: 1, memTotal: 4, ts: 9 } });
    store.flush();
    let s = store.getSnapshot();
    expect(s.gpu.status).toEqual({ state: 'ok' });
    expect(s.gpu.gpus[0]?.util).toEqual([20, 30, 40]);
    expect(s.gpu.gpus[0]?.mem).toEqual([50, 50, 50]);
    expect(s.host.mem).toEqual([25]);
    store.ingest({ type: 'gpu_status', ts: 10, status: { state: 'unavailable', reason: 'nvidia-smi not found' } });
    store.flush();
    s = store.getSnapshot();
    expect(s.gpu.status).toEqual({ state: 'unavailable', reason: 'nvidia-smi not found' });
    expect(s.gpu.gpus).toEqual([]);
    store.dispose();
  });

  it('ignores event types it does not know (a newer supervisor)', () => {
    const store = new TuiStore();
    store.ingest({ type: 'from_the_future', ts: 1 } as unknown as TuiEvent);
    store.flush();
    expect(store.getSnapshot().totalEvents).toBe(1);
    store.dispose();
  });
});
