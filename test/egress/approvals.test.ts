// Approvals end to end without a sandbox: the control API and CLI, and "always" written through
// the real PolicyStore so that it survives a proxy restart.
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalQueue, policyStorePersistHook, serveApprovals } from '../../src/approvals/index.ts';
import { PolicyStore, compileEgressRules } from '../../src/policy/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectTunnel, forward, startOrigins, startProxy } from './harness.ts';
import type { Origin, ProxyFixture } from './harness.ts';

const bin = fileURLToPath(new URL('../../bin/nemoclaw', import.meta.url));
let origin: Origin;
let dir: string;
beforeAll(async () => {
  origin = await startOrigins();
  dir = mkdtempSync(join(tmpdir(), 'nc-approvals-'));
});
afterAll(async () => {
  await origin.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(bin, args, { env: { ...process.env, NEMOCLAW_HOME: join(dir, 'home') } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('nemoclaw approvals (CLI over the control socket)', () => {
  it('says it needs `nemoclaw serve` when no queue is served', () => {
    const r = spawnSync(bin, ['approvals', 'list'], { encoding: 'utf8', env: { ...process.env, NEMOCLAW_HOME: join(dir, 'nothing') } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/nemoclaw serve/);
  });

  it('lists a waiting egress request and approves it; the waiting client then succeeds; a second decision is refused', async () => {
    const queue = new ApprovalQueue();
    const socket = join(dir, 'home', 'run', 'approvals.sock');
    const server = await serveApprovals(queue, socket);
    const fx = await startProxy(
      compileEgressRules({
        version: 1,
        approvals: { unmatched_egress: 'ask' },
        network_policies: { p: { endpoints: [{ host: 'other.test', port: origin.httpPort, protocol: 'rest', rules: [{ allow: { method: 'GET', path: '/ok' } }], allowed_ips: ['127.0.0.1'] }] } },
      }),
      origin,
      { approvals: queue },
    );
    try {
      expect(statSync(socket).mode & 0o777).toBe(0o600);
      const waiting = forward(fx.proxy.socketPath, `http://other.test:${origin.httpPort}/needs-approval`);
      await waitFor(() => queue.list().length === 1, 'one pending approval');
      const list = await cli(['approvals', 'list']);
      expect(list.status).toBe(0);
      const id = queue.list()[0]?.id ?? '';
      expect(list.stdout).toContain(id);
      expect(list.stdout).toContain(`GET other.test:${origin.httpPort}/needs-approval`);
      const json = await cli(['approvals', 'list', '--json']);
      expect(JSON.parse(json.stdout)).toMatchObject([{ id, kind: 'egress', host: 'other.test', binary: '/usr/bin/curl' }]);
      const ok = await cli(['approvals', 'approve', id]);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(new RegExp(`${id}: allow once by \\S+ \\(`));
      expect((await waiting).status).toBe(200);
      const again = await cli(['approvals', 'deny', id]);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/no pending approval/);
    } finally {
      queue.close();
      await fx.close();
      await server.close();
    }
  });
});

describe('"always" refused for an unknown program (CLI)', () => {
  it('approve --always for an unknown caller fails with a clear error, writes nothing, and lets nothing through; the item stays pending', async () => {
    const store = new PolicyStore(join(dir, 'policy-unknown'));
    await store.set(`version: 1\napprovals: { unmatched_egress: ask }\n`, { author: 'test', reason: 'initial' });
    const queue = new ApprovalQueue({ persist: policyStorePersistHook(store) });
    const socket = join(dir, 'home', 'run', 'approvals.sock');
    const server = await serveApprovals(queue, socket);
    const fx = await startProxy(compileEgressRules((await store.get())?.policy ?? { version: 1 }), origin, { approvals: queue });
    try {
      let answered = false;
      const waiting = forward(fx.proxy.socketPath, `http://other.test:${origin.httpPort}/unknown-caller`, { method: 'POST', caller: { exe: null } }).then((r) => {
        answered = true;
        return r;
      });
      await waitFor(() => queue.list().length === 1, 'one pending approval');
      const id = queue.list()[0]?.id ?? '';
      expect(queue.list()[0]).toMatchObject({ binary: null, method: 'POST', path: '/unknown-caller' });
      const always = await cli(['approvals', 'approve', id, '--always']);
      expect(always.status).toBe(1);
      expect(always.stderr).toMatch(/"allow always" refused: the calling program is unknown, so the rule would allow other\.test:\d+ for every program/);
      expect(always.stdout).toBe('');
      expect((await store.history()).map((m) => m.rev)).toEqual([1]);
      expect(queue.list().map((i) => i.id)).toEqual([id]);
      expect(answered).toBe(false);
      expect(origin.seen.some((r) => r.url === '/unknown-caller')).toBe(false);
      const deny = await cli(['approvals', 'deny', id]);
      expect(deny.status, deny.stderr).toBe(0);
      expect((await waiting).status).toBe(403);
      expect(origin.seen.some((r) => r.url === '/unknown-caller')).toBe(false);
    } finally {
      queue.close();
      await fx.close();
      await server.close();
    }
  });
});

/**
 * A proxy whose rules come from a PolicyStore: "always" decisions write a revision and reload it,
 * and restart() starts a fresh proxy from the store's current revision (a sandbox restart).
 */
async function storeBackedProxy(name: string, text: string): Promise<{ store: PolicyStore; queue: ApprovalQueue; fx: ProxyFixture; restart(): Promise<ProxyFixture> }> {
  const store = new PolicyStore(join(dir, name));
  await store.set(text, { author: 'test', reason: 'initial' });
  const current = async () => compileEgressRules((await store.get())?.policy ?? { version: 1 });
  let rules = await current();
  const queue = new ApprovalQueue();
  let fx = await startProxy(() => rules, origin, { approvals: queue });
  queue.setPersistHook(
    policyStorePersistHook(store, async () => {
      rules = await current();
      fx.proxy.reload();
    }),
  );
  const restart = async (): Promise<ProxyFixture> => {
    await fx.close();
    rules = await current();
    fx = await startProxy(() => rules, origin, { approvals: queue });
    return fx;
  };
  return { store, queue, fx, restart };
}

describe('"always" through the PolicyStore', () => {
  it('deny always writes a revision; after a proxy restart from the store the request is denied without asking', async () => {
    const sp = await storeBackedProxy('policy', `version: 1\napprovals: { unmatched_egress: ask }\nnetwork_policies:\n  base:\n    endpoints: [{ host: api.test, port: ${origin.httpsPort}, allowed_ips: [127.0.0.1] }]\n`);
    const { store, queue } = sp;
    let fx = sp.fx;
    try {
      const p = connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      await waitFor(() => queue.list().length === 1, 'one pending approval');
      const r = await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: true, by: { user: 'op', origin: 'test' } });
      expect(r).toMatchObject({ verdict: 'deny', always: true, persisted: true });
      expect((await p).status).toBe(403);
      const rev = await store.get();
      expect(rev?.meta.source).toBe('approval');
      expect(rev?.text).toMatch(/always_deny_other_test/);
      // restart: a new proxy built from the store's current revision
      fx = await sp.restart();
      const again = await connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      expect(again.status).toBe(403);
      expect(queue.list()).toEqual([]);
      expect(JSON.parse(again.response.body).rule).toMatch(/always_deny_other_test/);
    } finally {
      queue.close();
      await fx.close();
    }
  });

  it('allow always writes an allow rule: after restart no question is asked (the SSRF guard still applies: approvals never add allowed_ips)', async () => {
    const sp = await storeBackedProxy('policy2', `version: 1\napprovals: { unmatched_egress: ask }\n`);
    const { queue } = sp;
    let fx = sp.fx;
    try {
      const p = connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      await waitFor(() => queue.list().length === 1, 'one pending approval');
      await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'allow', always: true, by: { user: 'op', origin: 'test' } });
      // other.test resolves to 127.0.0.1 here, which the always rule does not list in allowed_ips
      const first = await p;
      expect(first.status).toBe(403);
      expect(JSON.parse(first.response.body).rule_missing).toMatch(/allowed_ips/);
      fx = await sp.restart();
      const again = await connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      expect(queue.list()).toEqual([]);
      expect(fx.events.some((e) => e.type === 'egress_allowed' && e.rule?.includes('always_allow_other_test'))).toBe(true);
      // The policy allowed it (the always rule); only the SSRF guard refused the loopback address.
      expect(again.status).toBe(403);
      expect(JSON.parse(again.response.body).rule_missing).toMatch(/allowed_ips/);
    } finally {
      queue.close();
      await fx.close();
    }
  });

  it('allow always on a request-level ask writes only that method and path: it succeeds now and after a restart without a question; DELETE is still asked', async () => {
    // other.test is reachable (allowed_ips) but the policy lets curl only GET /ok.
    const sp = await storeBackedProxy('policy3', `version: 1\napprovals: { unmatched_egress: ask }\nnetwork_policies:\n  base:\n    endpoints: [{ host: other.test, port: ${origin.httpPort}, protocol: rest, rules: [{ allow: { method: GET, path: /ok } }], allowed_ips: [127.0.0.1] }]\n    binaries: [{ path: /usr/bin/curl }]\n`);
    const { queue } = sp;
    let fx = sp.fx;
    const url = (path: string) => `http://other.test:${origin.httpPort}${path}`;
    try {
      const p = forward(fx.proxy.socketPath, url('/submit?n=1'), { method: 'POST', body: 'x' });
      await waitFor(() => queue.list().length === 1, 'one pending approval');
      expect(queue.list()[0]).toMatchObject({ method: 'POST', path: '/submit' });
      const r = await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'allow', always: true, by: { user: 'op', origin: 'test' } });
      expect(r).toMatchObject({ verdict: 'allow', persisted: true });
      const first = await p;
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body)).toMatchObject({ method: 'POST', url: '/submit?n=1' });
      // Not the whole host: another method on the same path is still a question.
      const del = forward(fx.proxy.socketPath, url('/submit'), { method: 'DELETE' });
      await waitFor(() => queue.list().length === 1, 'one pending approval');
      expect(queue.list()[0]).toMatchObject({ method: 'DELETE', path: '/submit' });
      await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: false, by: { user: 'op', origin: 'test' } });
      expect((await del).status).toBe(403);
      // restart: a new proxy built from the store's current revision
      fx = await sp.restart();
      const again = await forward(fx.proxy.socketPath, url('/submit?n=2'), { method: 'POST', body: 'y' });
      expect(again.status).toBe(200);
      expect(JSON.parse(again.body)).toMatchObject({ method: 'POST', url: '/submit?n=2' });
      expect(queue.list()).toEqual([]);
      expect(fx.events.some((e) => e.type === 'egress_allowed' && e.rule?.includes('always_allow_POST_other_test'))).toBe(true);
      expect(fx.events.some((e) => e.type === 'egress_ask')).toBe(false);
      // ...and only that exact path.
      const deeper = forward(fx.proxy.socketPath, url('/submit/2'), { method: 'POST', body: 'z' });
      await waitFor(() => queue.list().length === 1, 'one pending approval');
      expect(queue.list()[0]).toMatchObject({ method: 'POST', path: '/submit/2' });
      await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: false, by: { user: 'op', origin: 'test' } });
      expect((await deeper).status).toBe(403);
    } finally {
      queue.close();
      await fx.close();
    }
  });
});
