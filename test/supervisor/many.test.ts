// 20 sandboxes at once on a small machine, with events flowing (each prints a few lines), then a
// restart policy: a crash-looping agent backs off exponentially.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusEvent, SandboxView } from '../../src/supervisor/index.ts';
import { events, serveFresh } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from './harness.ts';

describe('many sandboxes', { timeout: 120_000 }, () => {
  let sv: Served;
  let ws: string;
  beforeAll(async () => {
    ({ sv, ws } = await serveFresh());
  });
  afterAll(async () => {
    await sv?.stop();
  });

  it('runs 20 sandboxes at once; every one reports running and its log lines reach the stream', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const got: BusEvent[] = [];
    const stream = sv.api.stream('/v1/events?since=0&follow=1', (e) => got.push(e as unknown as BusEvent));
    const created = await Promise.all(
      names.map((name) => sv.api.call<{ sandbox: SandboxView }>('POST', '/v1/sandboxes', { name, workspace: ws, command: ['/bin/sh', '-c', `for i in 1 2 3; do echo ${name}-$i; done; exec sleep 1000`] })),
    );
    expect(created.map((c) => c.sandbox.state), JSON.stringify(created.filter((c) => c.sandbox.state !== 'running'))).toEqual(names.map(() => 'running'));
    await waitFor(() => got.filter((e) => e.type === 'log').length >= 60, '60 log lines', { withinMs: 20_000 });
    for (const n of names) expect(got.filter((e) => e.type === 'log' && e.sandbox === n).map((e) => (e.type === 'log' ? e.line : ''))).toEqual([`${n}-1`, `${n}-2`, `${n}-3`]);
    const list = await sv.api.call<{ sandboxes: SandboxView[] }>('GET', '/v1/sandboxes');
    expect(list.sandboxes.filter((s) => s.state === 'running')).toHaveLength(20);
    stream.abort();
    await Promise.all(names.map((n) => sv.api.call('DELETE', `/v1/sandboxes/${n}`)));
    expect((await sv.api.call<{ sandboxes: SandboxView[] }>('GET', '/v1/sandboxes')).sandboxes).toEqual([]);
  });

  it('a crash-looping agent (on-failure) backs off with growing delays; stop ends the loop', async () => {
    await sv.api.call('POST', '/v1/sandboxes', { name: 'crashy', workspace: ws, restart: 'on-failure', command: ['/bin/sh', '-c', 'echo boom; exit 3'] });
    const backoffs = await waitFor(async () => {
      const b = (await events(sv.api)).filter((e) => e.sandbox === 'crashy' && e.type === 'sandbox.backoff');
      return b.length >= 3 ? b : null;
    }, 'three backoffs', { withinMs: 20_000 });
    const delays = backoffs.map((e) => (e.type === 'sandbox.backoff' ? e.delayMs : 0));
    expect(delays.slice(0, 3)).toEqual([250, 500, 1000]);
    const stopped = await sv.api.call<{ sandbox: SandboxView }>('POST', '/v1/sandboxes/crashy/stop');
    expect(stopped.sandbox.state).toBe('stopped');
    expect(stopped.sandbox.restarts).toBeGreaterThanOrEqual(3);
    expect(stopped.sandbox.lastExit).toMatchObject({ code: 3 });
  });

  it('never: an ended agent stays exited; on-failure: a clean exit stays exited', async () => {
    await sv.api.call('POST', '/v1/sandboxes', { name: 'oneshot', workspace: ws, restart: 'on-failure', command: ['true'] });
    const v = await waitFor(async () => {
      const s = (await sv.api.call<{ sandbox: SandboxView }>('GET', '/v1/sandboxes/oneshot')).sandbox;
      return s.state === 'exited' ? s : null;
    }, 'exited', { withinMs: 15_000 });
    expect(v).toMatchObject({ restarts: 0, lastExit: { code: 0, reason: 'exited' } });
  });
});
