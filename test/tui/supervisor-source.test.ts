// SupervisorDataSource against a fake client: bus events -> TuiEvents, resuming from the last
// sequence number after the stream drops (nothing missed, nothing twice), every decision reaching
// the pane (another client, a timeout), decisions through the approvals API, a restarted
// supervisor re-seeding, and the config preferences written atomically.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPreferences, savePreferences } from '../../src/cli/tui.ts';
import { SupervisorDataSource, approvalFromItem, summarisePolicy, type SupervisorApi } from '../../src/tui/source/index.ts';
import type { TuiEvent } from '../../src/tui/store/index.ts';
import { waitFor } from '../helpers/wait.ts';

interface OpenStream {
  path: string;
  onLine: (v: Record<string, unknown>) => void;
  end: () => void;
}

class FakeApi {
  pid = 100;
  streams: OpenStream[] = [];
  calls: Array<{ method: string; path: string; body?: unknown }> = [];
  approvals: unknown[] = [];
  call = (async (method: string, path: string, body?: unknown) => {
    this.calls.push({ method, path, body });
    if (path === '/v1/health') return { pid: this.pid };
    if (path === '/v1/approvals') return { items: this.approvals };
    if (path === '/v1/sandboxes') return { sandboxes: [{ name: 'a', state: 'running', pid: 7, blueprint: 'strict', policyRevision: 2, startedAt: null, enforcement: { landlock_abi: 6, degraded: [] } }] };
    if (path.endsWith('/policy')) return { current: { rev: 2, text: 'version: 1\nlimits: { memory: 1GiB }\nexec:\n  unmatched: deny\n' }, applied: 2 };
    if (path.includes('/decision')) {
      if (path.includes('gone')) throw new Error('no pending approval gone');
      if (path.includes('nodisk')) return { result: { verdict: 'deny', always: true, persisted: false, persistError: 'disk full' } };
      return { result: {} };
    }
    return {};
  }) as unknown as SupervisorApi['call'];
  stream = ((path: string, onLine: (v: Record<string, unknown>) => void) => {
    let end!: () => void;
    const done = new Promise<void>((r) => (end = r));
    this.streams.push({ path, onLine, end });
    return { done, abort: () => end() };
  }) as unknown as SupervisorApi['stream'];
}

const ev = (seq: number, body: Record<string, unknown>, sandbox: string | null = 'a') => ({ seq, ts: new Date(1_000_000 + seq).toISOString(), sandbox, ...body });
const pendingItem = (id: string) => ({ id, sandbox: 'a', kind: 'egress', binary: '/usr/bin/curl', host: '127.0.0.1', port: 8080, method: 'GET', path: '/x', firstSeen: 1, lastSeen: 1, count: 1, expiresAt: 60_001 });

describe('SupervisorDataSource', () => {
  it('maps bus events, resumes after a drop from the last seq, and shows every decision', async () => {
    const api = new FakeApi();
    const src = new SupervisorDataSource({ api, reconnectMs: 5, user: 'me' });
    const got: TuiEvent[] = [];
    const stop = src.events((e) => got.push(e));
    await waitFor(() => api.streams[0], 'first stream');
    expect(api.streams[0]?.path).toBe('/v1/events?follow=1&since=0');
    const s1 = api.streams[0] as OpenStream;
    s1.onLine(ev(1, { type: 'helper', event: { type: 'syscall_denied', pid: 5, syscall: 'unshare', nr: 272, exe: '/usr/bin/unshare', action: 'errno' } }));
    s1.onLine(ev(2, { type: 'egress', event: { type: 'egress_denied', binary: '/usr/bin/curl', host: 'x.test', port: 443, rule: 'r1', reason: 'no rule', method: 'GET', path: '/a' } }));
    s1.onLine(ev(3, { type: 'approval.pending', item: pendingItem('p1') }));
    s1.onLine(ev(4, { type: 'log', stream: 'stdout', line: 'hello' }));
    s1.onLine(ev(5, { type: 'helper', event: { type: 'limit_hit', limit: 'memory', detail: '1GiB' } }));
    s1.end(); // connection lost
    await waitFor(() => api.streams[1], 'reconnect');
    expect(api.streams[1]?.path).toBe('/v1/events?follow=1&since=5');
    const s2 = api.streams[1] as OpenStream;
    s2.onLine(ev(5, { type: 'log', stream: 'stdout', line: 'duplicate' })); // already seen: skipped
    s2.onLine(ev(6, { type: 'approval.decided', id: 'p1', verdict: 'allow', always: false, by: 'bob (cli)', reason: 'operator' }));
    s2.onLine(ev(7, { type: 'approval.pending', item: pendingItem('p2') }));
    s2.onLine(ev(8, { type: 'approval.decided', id: 'p2', verdict: 'deny', always: false, by: 'timeout', reason: 'timeout' }));
    stop();
    expect(got.find((e) => e.type === 'syscall_denied')).toMatchObject({ sandbox: 'a', binary: 'unshare', syscall: 'unshare' });
    expect(got.find((e) => e.type === 'egress_denied')).toMatchObject({ binary: 'curl', host: 'x.test', port: 443, rule: 'r1' });
    expect(got.find((e) => e.type === 'approval_pending')).toMatchObject({ approval: { id: 'p1', summary: 'curl -> 127.0.0.1:8080 GET /x', target: '127.0.0.1:8080' } });
    expect(got.find((e) => e.type === 'limit_hit')).toMatchObject({ limit: 'memory', value: '1GiB' });
    const logs = got.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.line : ''));
    expect(logs).toContain('hello');
    expect(logs).not.toContain('duplicate');
    const decided = got.filter((e) => e.type === 'approval_decided').map((e) => (e.type === 'approval_decided' ? e.decision : null));
    expect(decided).toMatchObject([
      { id: 'p1', verdict: 'allow', by: 'bob (cli)', summary: 'curl -> 127.0.0.1:8080 GET /x', sandbox: 'a' },
      { id: 'p2', verdict: 'deny', by: 'timeout' },
    ]);
  });

  it('seeds pending approvals the ring no longer holds; a restarted supervisor resets the cursor', async () => {
    const api = new FakeApi();
    api.approvals = [pendingItem('old')];
    const src = new SupervisorDataSource({ api, reconnectMs: 5 });
    const got: TuiEvent[] = [];
    const stop = src.events((e) => got.push(e));
    await waitFor(() => api.streams[0], 'stream');
    expect(got.find((e) => e.type === 'approval_pending')).toMatchObject({ approval: { id: 'old' } });
    api.streams[0]?.onLine(ev(40, { type: 'log', stream: 'stdout', line: 'x' }));
    api.approvals = [];
    api.pid = 200; // the supervisor restarted: numbering starts again
    api.streams[0]?.end();
    await waitFor(() => api.streams[1], 'reconnect');
    stop();
    expect(api.streams[1]?.path).toBe('/v1/events?follow=1&since=0');
    expect(got.find((e) => e.type === 'approval_decided')).toMatchObject({ decision: { id: 'old', verdict: 'deny', by: 'supervisor restart' } });
    expect(got.some((e) => e.type === 'sandbox_state' && e.sandbox.name === 'a')).toBe(true);
  });

  it('decide() asks the approvals API; sandboxes() carries the policy summary and enforcement', async () => {
    const api = new FakeApi();
    const src = new SupervisorDataSource({ api, user: 'me', origin: 'tui' });
    expect(await src.decide('p1', 'allow', true)).toEqual({ ok: true });
    expect(api.calls.find((c) => c.path === '/v1/approvals/p1/decision')?.body).toEqual({ verdict: 'allow', always: true, by: { user: 'me', origin: 'tui' } });
    const bad = await src.decide('gone', 'deny', false);
    expect(bad.ok).toBe(false);
    // A failed "allow always" denied the request: the operator is told, not shown a success.
    expect(await src.decide('nodisk', 'allow', true)).toEqual({ ok: false, error: '"allow always" failed, policy NOT written: disk full; the request was denied' });
    const [a] = await src.sandboxes();
    expect(a).toMatchObject({ name: 'a', state: 'running', blueprint: 'strict', policyRevision: 2, enforcement: { landlock_abi: '6' } });
    expect(a?.policySummary).toEqual(['limits: { memory: 1GiB }', 'exec: unmatched deny']);
    expect(summarisePolicy('# c\nversion: 1\napprovals: { unmatched_egress: ask }\n')).toEqual(['approvals: { unmatched_egress: ask }']);
  });
});

describe('tui preferences in config.json', () => {
  it('written atomically under the tui key, other keys kept', () => {
    const home = mkdtempSync(join(tmpdir(), 'nct-prefs-'));
    writeFileSync(join(home, 'config.json'), JSON.stringify({ other: 1 }));
    savePreferences(home, { layout: 'monitoring', theme: 'dark', hidden: ['chat'], adjust: {} });
    expect(JSON.parse(readFileSync(join(home, 'config.json'), 'utf8'))).toEqual({ other: 1, tui: { layout: 'monitoring', theme: 'dark', hidden: ['chat'], adjust: {} } });
    expect(readPreferences(home)).toMatchObject({ layout: 'monitoring' });
    expect(readdirSync(home)).toEqual(['config.json']); // no temp file left
  });

  it('approvalFromItem shows the rule an "always" answer writes: method and path for a request, refusals where nothing can be written', () => {
    const l7 = approvalFromItem(pendingItem('r1') as never).alwaysRule;
    expect(l7?.allow).toContain('endpoints: [{ host: 127.0.0.1, port: 8080, protocol: rest, rules: [{ allow: { method: GET, path: /x } }] }]');
    expect(l7?.deny).toContain('rules: [], deny_rules: [{ method: GET, path: /x }]');
    expect(l7?.deny).not.toContain('action: deny');
    const unknown = approvalFromItem({ ...pendingItem('r2'), binary: null } as never).alwaysRule;
    expect(unknown?.allow).toMatch(/^refused: the calling program is unknown/);
    expect(unknown?.deny).toContain('deny_rules');
    const exec = approvalFromItem({ ...pendingItem('r3'), kind: 'exec', binary: '/opt/tool', host: null, port: null, method: null, path: null } as never).alwaysRule;
    expect(exec?.allow).toContain('/opt/tool');
    expect(exec?.deny).toMatch(/^refused: policies have no exec deny list/);
  });
});
