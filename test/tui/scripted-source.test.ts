import { describe, expect, it } from 'vitest';
import { demoScript, DEMO_APPROVAL_ID } from '../../src/tui/store/demo-script.ts';
import type { TuiEvent } from '../../src/tui/store/events.ts';
import { ScriptedDataSource, type Clock } from '../../src/tui/store/scripted-source.ts';

/** A clock the test advances by hand: deterministic, no real waiting. */
class ManualClock implements Clock {
  t = 1_000_000;
  #timers: { at: number; fn: () => void; id: number }[] = [];
  #id = 0;
  now = (): number => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.#id;
    this.#timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.#timers = this.#timers.filter((x) => x.id !== h);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (next === undefined || next.at > end) break;
      this.#timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

describe('ScriptedDataSource', () => {
  it('replays the script in order on its clock', () => {
    const clock = new ManualClock();
    const src = new ScriptedDataSource(
      { steps: [{ afterMs: 10, event: (ts) => ({ type: 'log', ts, sandbox: 's', stream: 'stdout', line: 'one' }) }, { afterMs: 20, event: (ts) => ({ type: 'log', ts, sandbox: 's', stream: 'stdout', line: 'two' }) }] },
      { clock },
    );
    const got: TuiEvent[] = [];
    src.events((e) => got.push(e));
    clock.advance(15);
    expect(got.map((e) => (e.type === 'log' ? e.line : ''))).toEqual(['one']);
    clock.advance(15);
    expect(got.map((e) => (e.type === 'log' ? [e.line, e.ts] : ''))).toEqual([
      ['one', 1_000_010],
      ['two', 1_000_030],
    ]);
  });

  it('runs the demo: pending approval, allow, then the curl succeeds', async () => {
    const clock = new ManualClock();
    const src = new ScriptedDataSource(demoScript({ loopTimes: 2 }), { clock });
    const got: TuiEvent[] = [];
    const stop = src.events((e) => got.push(e));
    clock.advance(10_000);
    expect(got.some((e) => e.type === 'syscall_denied')).toBe(true);
    expect(got.some((e) => e.type === 'egress_denied')).toBe(true);
    expect(got.some((e) => e.type === 'approval_pending' && e.approval.id === DEMO_APPROVAL_ID)).toBe(true);
    expect((await src.sandboxes()).map((s) => s.name).sort()).toEqual(['builder', 'demo']);

    expect(await src.decide(DEMO_APPROVAL_ID, 'allow', false)).toEqual({ ok: true });
    clock.advance(1000);
    const decided = got.find((e) => e.type === 'approval_decided');
    expect(decided?.type === 'approval_decided' && decided.decision).toMatchObject({ id: DEMO_APPROVAL_ID, verdict: 'allow', by: 'tui' });
    expect(got.some((e) => e.type === 'egress_allowed' && e.host === 'api.example.com')).toBe(true);
    expect(got.some((e) => e.type === 'log' && e.line === 'curl succeeded')).toBe(true);

    expect(await src.decide(DEMO_APPROVAL_ID, 'deny', false)).toMatchObject({ ok: false });
    stop();
  });

  it('fails closed: an undecided approval is denied by timeout', () => {
    const clock = new ManualClock();
    const src = new ScriptedDataSource(demoScript({ approvalTimeoutS: 5, loopTimes: 0 }), { clock });
    const got: TuiEvent[] = [];
    src.events((e) => got.push(e));
    clock.advance(60_000);
    const decided = got.find((e) => e.type === 'approval_decided');
    expect(decided?.type === 'approval_decided' && decided.decision).toMatchObject({ verdict: 'deny', by: 'timeout' });
    expect(got.some((e) => e.type === 'log' && e.line.includes('CONNECT tunnel failed'))).toBe(true);
    src.stop();
  });

  it('is bounded: the background loop ends', () => {
    const clock = new ManualClock();
    const src = new ScriptedDataSource(demoScript({ loopTimes: 3, approvalTimeoutS: 1 }), { clock });
    src.events(() => {});
    clock.advance(3_600_000);
    const n = src.emitted;
    clock.advance(3_600_000);
    expect(src.emitted).toBe(n);
  });
});
