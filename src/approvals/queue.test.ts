import { describe, expect, it, vi } from 'vitest';
import { ApprovalQueue, ApprovalRefusedError } from './index.ts';
import type { ApprovalItem } from './index.ts';

const by = { user: 'op', origin: 'tty:/dev/pts/1' };
const req = { sandbox: 's', kind: 'egress' as const, binary: '/usr/bin/curl', host: 'a.test', port: 443 };

describe('ApprovalQueue', () => {
  it('identical pending requests share one item and all waiters get the decision', async () => {
    const q = new ApprovalQueue();
    const added: ApprovalItem[] = [];
    q.on('added', (i) => added.push(i));
    const p1 = q.request(req);
    const p2 = q.request(req);
    const p3 = q.request({ ...req, port: 80 });
    expect(q.list()).toHaveLength(2);
    expect(added).toHaveLength(2);
    const item = q.list().find((i) => i.port === 443);
    expect(item?.count).toBe(2);
    expect(item).toMatchObject({ sandbox: 's', kind: 'egress', binary: '/usr/bin/curl', host: 'a.test', port: 443, method: null, path: null });
    const r = await q.decide(item?.id ?? '', { verdict: 'allow', always: false, by });
    expect(r?.verdict).toBe('allow');
    expect(await p1).toMatchObject({ verdict: 'allow', reason: 'operator', by });
    expect(await p2).toMatchObject({ verdict: 'allow' });
    q.close();
    expect(await p3).toMatchObject({ verdict: 'deny', reason: 'closed' });
  });

  it('the first decision wins', async () => {
    const q = new ApprovalQueue();
    const p = q.request(req);
    const id = q.list()[0]?.id ?? '';
    const [a, b] = await Promise.all([q.decide(id, { verdict: 'deny', always: false, by }), q.decide(id, { verdict: 'allow', always: false, by })]);
    expect(a?.verdict).toBe('deny');
    expect(b).toBeNull();
    expect((await p).verdict).toBe('deny');
    expect(await q.decide('nope', { verdict: 'allow', always: false, by })).toBeNull();
  });

  it('times out to deny (default from options, per-item override)', async () => {
    vi.useFakeTimers();
    try {
      const q = new ApprovalQueue({ timeoutMs: 1000 });
      const p = q.request(req);
      const p2 = q.request({ ...req, host: 'b.test', timeoutMs: 5000 });
      expect(q.list()[0]?.expiresAt).toBe((q.list()[0]?.firstSeen ?? 0) + 1000);
      vi.advanceTimersByTime(1001);
      expect(await p).toMatchObject({ verdict: 'deny', reason: 'timeout', by: { origin: 'timeout' } });
      expect(q.list()).toHaveLength(1);
      vi.advanceTimersByTime(4000);
      expect(await p2).toMatchObject({ verdict: 'deny', reason: 'timeout' });
    } finally {
      vi.useRealTimers();
    }
  });

  it('always runs the persistence hook before releasing waiters', async () => {
    const order: string[] = [];
    // The hook finishes only when the test says so: no timer decides which side is first.
    let finishPersist = (): void => undefined;
    const persisting = new Promise<void>((res) => (finishPersist = res));
    const q = new ApprovalQueue({
      persist: async (item, d) => {
        order.push(`persist ${item.host} ${d.verdict} started`);
        await persisting;
        order.push(`persist ${item.host} ${d.verdict} done`);
      },
    });
    const p = q.request(req).then((r) => {
      order.push('released');
      return r;
    });
    const decided = q.decide(q.list()[0]?.id ?? '', { verdict: 'allow', always: true, by });
    // setImmediate runs after every promise reaction queued so far: a waiter released before the
    // hook finished would have pushed 'released' by then.
    await new Promise((res) => setImmediate(res));
    expect(order).toEqual(['persist a.test allow started']);
    finishPersist();
    expect(await decided).toMatchObject({ always: true, persisted: true });
    await p;
    expect(order).toEqual(['persist a.test allow started', 'persist a.test allow done', 'released']);
  });

  it('a failing persistence hook is reported, and the decision still applies once', async () => {
    const q = new ApprovalQueue({ persist: () => Promise.reject(new Error('disk full')) });
    const p = q.request(req);
    const r = await q.decide(q.list()[0]?.id ?? '', { verdict: 'deny', always: true, by });
    expect(r).toMatchObject({ verdict: 'deny', persisted: false, persistError: 'disk full' });
    expect((await p).verdict).toBe('deny');
  });

  it('a failed "allow always" fails closed: the request is denied, not allowed once', async () => {
    const q = new ApprovalQueue({ persist: () => Promise.reject(new Error('disk full')) });
    const p = q.request(req);
    const r = await q.decide(q.list()[0]?.id ?? '', { verdict: 'allow', always: true, by });
    expect(r).toMatchObject({ verdict: 'deny', always: true, persisted: false, persistError: 'disk full' });
    expect((await p).verdict).toBe('deny');
    const q2 = new ApprovalQueue();
    const p2 = q2.request(req);
    expect(await q2.decide(q2.list()[0]?.id ?? '', { verdict: 'allow', always: true, by })).toMatchObject({ verdict: 'deny', persisted: false, persistError: 'no persistence hook configured' });
    expect((await p2).verdict).toBe('deny');
  });

  it('"allow always" for an unknown program is refused before deciding: nothing is persisted, the item stays pending', async () => {
    const persist = vi.fn();
    const q = new ApprovalQueue({ persist });
    const p = q.request({ ...req, binary: null });
    const id = q.list()[0]?.id ?? '';
    await expect(q.decide(id, { verdict: 'allow', always: true, by })).rejects.toThrow(ApprovalRefusedError);
    await expect(q.decide(id, { verdict: 'allow', always: true, by })).rejects.toThrow(/calling program is unknown.*every program/);
    expect(persist).not.toHaveBeenCalled();
    // Still pending: a settled item leaves the list, and only settling resolves its waiters.
    expect(q.list().map((i) => i.id)).toEqual([id]);
    // The operator can still answer once (or deny always, which only narrows).
    const last = await q.decide(id, { verdict: 'deny', always: true, by });
    expect(last).toMatchObject({ verdict: 'deny', persisted: true });
    expect(persist).toHaveBeenCalledTimes(1);
    // A promise settles once: the waiter got this last decision, so the refused ones settled nothing.
    expect(await p).toEqual(last);
  });

  it('"deny always" for exec is refused (no exec deny list); "allow always" for exec is persisted', async () => {
    const persist = vi.fn();
    const q = new ApprovalQueue({ persist });
    const exec = { sandbox: 's', kind: 'exec' as const, binary: '/opt/tool' };
    const p = q.request(exec);
    const id = q.list()[0]?.id ?? '';
    await expect(q.decide(id, { verdict: 'deny', always: true, by })).rejects.toThrow(/no exec deny list/);
    expect(persist).not.toHaveBeenCalled();
    expect(await q.decide(id, { verdict: 'allow', always: true, by })).toMatchObject({ verdict: 'allow', persisted: true });
    expect(persist).toHaveBeenCalledTimes(1);
    expect((await p).verdict).toBe('allow');
  });

  it('close() denies pending and later requests (fail closed)', async () => {
    const q = new ApprovalQueue();
    const p = q.request(req);
    q.close();
    expect((await p).verdict).toBe('deny');
    expect((await q.request(req)).verdict).toBe('deny');
    expect(q.list()).toEqual([]);
  });

  it('caps distinct pending items per sandbox; identical requests still join', async () => {
    const q = new ApprovalQueue({ maxPendingPerSandbox: 2 });
    const a = q.request({ ...req, host: 'a.test' });
    void q.request({ ...req, host: 'b.test' });
    expect(await q.request({ ...req, host: 'c.test' })).toMatchObject({ verdict: 'deny', reason: 'overflow' });
    void q.request({ ...req, host: 'a.test' });
    expect(q.list().find((i) => i.host === 'a.test')?.count).toBe(2);
    void q.request({ ...req, sandbox: 'other', host: 'c.test' });
    expect(q.list()).toHaveLength(3);
    q.close();
    expect((await a).verdict).toBe('deny');
  });
});
