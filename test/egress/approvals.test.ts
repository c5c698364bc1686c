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
import { connectTunnel, forward, startOrigins, startProxy } from './harness.ts';
import type { Origin } from './harness.ts';

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

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
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
      await until(() => queue.list().length === 1);
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

describe('"always" through the PolicyStore', () => {
  it('deny always writes a revision; after a proxy restart from the store the request is denied without asking', async () => {
    const store = new PolicyStore(join(dir, 'policy'));
    await store.set(
      `version: 1\napprovals: { unmatched_egress: ask }\nnetwork_policies:\n  base:\n    endpoints: [{ host: api.test, port: ${origin.httpsPort}, allowed_ips: [127.0.0.1] }]\n`,
      { author: 'test', reason: 'initial' },
    );
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
    try {
      const p = connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      await until(() => queue.list().length === 1);
      const r = await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: true, by: { user: 'op', origin: 'test' } });
      expect(r).toMatchObject({ verdict: 'deny', always: true, persisted: true });
      expect((await p).status).toBe(403);
      const rev = await store.get();
      expect(rev?.meta.source).toBe('approval');
      expect(rev?.text).toMatch(/always_deny_other_test/);
      // restart: a new proxy built from the store's current revision
      await fx.close();
      rules = await current();
      fx = await startProxy(() => rules, origin, { approvals: queue });
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
    const store = new PolicyStore(join(dir, 'policy2'));
    await store.set(`version: 1\napprovals: { unmatched_egress: ask }\n`, { author: 'test', reason: 'initial' });
    const current = async () => compileEgressRules((await store.get())?.policy ?? { version: 1 });
    let rules = await current();
    const queue = new ApprovalQueue({ persist: policyStorePersistHook(store) });
    let fx = await startProxy(() => rules, origin, { approvals: queue });
    try {
      const p = connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      await until(() => queue.list().length === 1);
      await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'allow', always: true, by: { user: 'op', origin: 'test' } });
      // other.test resolves to 127.0.0.1 here, which the always rule does not list in allowed_ips
      const first = await p;
      expect(first.status).toBe(403);
      expect(JSON.parse(first.response.body).rule_missing).toMatch(/allowed_ips/);
      await fx.close();
      rules = await current();
      fx = await startProxy(() => rules, origin, { approvals: queue });
      const again = await connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      expect(queue.list()).toEqual([]);
      expect(fx.events.some((e) => e.type === 'egress_allowed' && e.rule?.includes('always_allow_other_test'))).toBe(true);
      expect(again.status).toBe(403);
    } finally {
      queue.close();
      await fx.close();
    }
  });
});
