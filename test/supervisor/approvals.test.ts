// An approval round trip through the supervisor: a sandboxed curl to a loopback origin (listed
// with allowed_ips, but only GET /ok is allowed) waits in the supervisor's queue, shows up in
// `nemoclaw approvals list` and the event stream, is approved with `nemoclaw approvals approve`,
// and succeeds. Headless mode takes the same decision as NDJSON on stdin.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyStore } from '../../src/policy/index.ts';
import { cli, events, freshHome, pidsWith, serve, workspace } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from './harness.ts';

let origin: Server;
let port = 0;

beforeAll(async () => {
  origin = createServer((req, res) => res.end(`hello from ${req.url}`));
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
  port = (origin.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => origin.close(r));
});

function policyText(unmatched: 'ask' | 'deny', paths: string[]): string {
  const rules = paths.map((p) => `{ allow: { method: GET, path: ${p} } }`).join(', ');
  return `version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /bin, /lib, /lib64, /etc]
  read_write: [/tmp]
approvals: { unmatched_egress: ${unmatched}, timeout: 60s }
network_policies:
  local:
    endpoints:
      - { host: host.nemoclaw.internal, port: ${port}, protocol: rest, rules: [${rules}] }
`;
}

function policy(dir: string, unmatched: 'ask' | 'deny' = 'ask', paths = ['/ok']): string {
  const file = join(dir, `policy-${unmatched}.yaml`);
  writeFileSync(file, policyText(unmatched, paths));
  return file;
}

const curl = (path: string) => ['curl', '-s', '-w', ' %{http_code}', `http://host.nemoclaw.internal:${port}${path}`];

describe('approvals through the supervisor', { timeout: 120_000 }, () => {
  let sv: Served;
  beforeAll(async () => {
    const home = freshHome();
    const ws = workspace(home);
    sv = await serve(home);
    const c = await cli(home, ['create', 'net', '--workspace', ws, '--policy', policy(home), '--', 'sleep', '1000']);
    expect(c.code, c.stderr).toBe(0);
  });
  afterAll(async () => {
    await sv?.stop();
  });

  it('allowed without asking where the policy allows', async () => {
    const r = await cli(sv.home, ['net', 'exec', '--', ...curl('/ok')]);
    expect(r.stdout).toBe('hello from /ok 200');
  });

  it('waits for the operator, is approved with `nemoclaw approvals approve`, succeeds', async () => {
    const pending = cli(sv.home, ['net', 'exec', '--', ...curl('/wait')]);
    const items = await waitFor(async () => {
      const r = await cli(sv.home, ['approvals', 'list', '--json']);
      const list = JSON.parse(r.stdout) as Array<{ id: string; sandbox: string; host: string; path: string; binary: string }>;
      return list.length > 0 ? list : null;
    }, 'pending approval', { withinMs: 30_000, everyMs: 100 });
    expect(items[0]).toMatchObject({ sandbox: 'net', host: 'host.nemoclaw.internal', path: '/wait', binary: '/usr/bin/curl' });
    const ok = await cli(sv.home, ['approvals', 'approve', items[0]?.id as string]);
    expect(ok.code, ok.stderr).toBe(0);
    expect((await pending).stdout).toBe('hello from /wait 200');
    const ev = await events(sv.api);
    expect(ev.some((e) => e.type === 'approval.pending')).toBe(true);
    expect(ev.find((e) => e.type === 'approval.decided')).toMatchObject({ verdict: 'allow', always: false });
  });
});

describe('approvals and a supervisor crash', { timeout: 120_000 }, () => {
  it('SIGKILL while a request waits: the waiting process is gone, nothing was allowed, nothing is pending after the restart', async () => {
    const home = freshHome();
    const ws = workspace(home);
    const sv = await serve(home);
    const marker = `/crash-${process.pid}-${Date.now() % 100000}`;
    let waiting: ReturnType<typeof cli>;
    try {
      const c = await cli(home, ['create', 'crashnet', '--workspace', ws, '--restart', 'always', '--policy', policy(home), '--', 'sleep', '1000']);
      expect(c.code, c.stderr).toBe(0);
      waiting = cli(home, ['crashnet', 'exec', '--', ...curl(marker)]);
      await waitFor(async () => (await sv.api.call<{ items: unknown[] }>('GET', '/v1/approvals')).items.length === 1, 'pending', { withinMs: 15_000 });
    } catch (err) {
      await sv.stop(); // a failure before the kill must not leave this supervisor running
      throw err;
    }
    sv.proc.kill('SIGKILL');
    await sv.exited;
    const r = await waiting;
    expect(r.stdout).not.toMatch(/200$/);
    expect(await waitFor(() => (pidsWith(marker).length === 0 ? 'gone' : null), 'curl gone', { everyMs: 20 })).toBe('gone');
    const sv2 = await serve(home);
    try {
      await waitFor(async () => (await sv2.api.call<{ sandbox: { state: string } }>('GET', '/v1/sandboxes/crashnet')).sandbox.state === 'running', 'restarted', { withinMs: 15_000 });
      expect((await sv2.api.call<{ items: unknown[] }>('GET', '/v1/approvals')).items).toEqual([]);
      expect((await cli(home, ['approvals', 'list', '--json'])).stdout.trim()).toBe('[]');
    } finally {
      await sv2.stop();
    }
  });
});

describe('policy hot reload', { timeout: 120_000 }, () => {
  it('a new revision (through the API, or written by another writer) applies to the running proxy', async () => {
    const home = freshHome();
    const ws = workspace(home);
    const sv = await serve(home);
    try {
      await cli(home, ['create', 'hot', '--workspace', ws, '--policy', policy(home, 'deny', ['/ok']), '--', 'sleep', '1000']);
      expect((await cli(home, ['hot', 'exec', '--', ...curl('/fresh')])).stdout).toMatch(/ 403$/);
      const put = await sv.api.call<{ applied: boolean; reloaded: boolean; meta: { rev: number } }>('PUT', '/v1/sandboxes/hot/policy', { text: policyText('deny', ['/ok', '/fresh']), reason: 'test', confirm: true });
      expect(put, JSON.stringify(put)).toMatchObject({ applied: true, reloaded: true, meta: { rev: 2 } });
      expect((await cli(home, ['hot', 'exec', '--', ...curl('/fresh')])).stdout).toBe('hello from /fresh 200');
      // Another writer (say `nemoclaw policy set`) adds revision 3 in the same store.
      const store = new PolicyStore(join(home, 'sandboxes', 'hot', 'policy'));
      await store.set(policyText('deny', ['/ok', '/fresh', '/third']), { author: 'other', reason: 'test', confirm: true });
      await waitFor(async () => (await events(sv.api)).find((e) => e.type === 'policy.revision' && e.rev === 3), 'revision 3 applied', { withinMs: 15_000 });
      const third = await cli(home, ['hot', 'exec', '--', ...curl('/third')]);
      expect(third.stdout, JSON.stringify(third)).toBe('hello from /third 200');
      const pol = await sv.api.call<{ revisions: unknown[]; applied: number }>('GET', '/v1/sandboxes/hot/policy');
      expect(pol).toMatchObject({ applied: 3 });
      expect(pol.revisions).toHaveLength(3);
    } finally {
      await sv.stop();
    }
  });
});

describe('headless mode', { timeout: 120_000 }, () => {
  it('prints events as NDJSON and takes {"deny": id} / {"approve": id} on stdin', async () => {
    const home = freshHome();
    const ws = workspace(home);
    const sv = await serve(home, ['--headless']);
    try {
      const c = await cli(home, ['create', 'hl', '--workspace', ws, '--policy', policy(home), '--', 'sleep', '1000']);
      expect(c.code, c.stderr).toBe(0);
      const lines = (): Array<Record<string, unknown>> => sv.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const first = cli(home, ['hl', 'exec', '--', ...curl('/denied')]);
      const p1 = await waitFor(() => lines().find((l) => l.type === 'approval.pending'), 'pending (headless)');
      sv.proc.stdin?.write(`${JSON.stringify({ deny: (p1.item as { id: string }).id })}\n`);
      expect((await first).stdout).toMatch(/ 403$/);
      const second = cli(home, ['hl', 'exec', '--', ...curl('/approved')]);
      const p2 = await waitFor(() => lines().filter((l) => l.type === 'approval.pending')[1], 'second pending');
      sv.proc.stdin?.write('not json\n');
      sv.proc.stdin?.write(`${JSON.stringify({ approve: (p2.item as { id: string }).id })}\n`);
      expect((await second).stdout).toBe('hello from /approved 200');
      expect(lines().filter((l) => l.type === 'decision.result').map((l) => l.ok)).toEqual([true, true]);
      expect(lines().some((l) => l.type === 'decision.error')).toBe(true);
      expect(lines().some((l) => l.type === 'sandbox.state' && l.state === 'running')).toBe(true);
    } finally {
      await sv.stop();
    }
  });
});
