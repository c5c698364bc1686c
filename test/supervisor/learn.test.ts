// Learning mode end to end (issue 22): a real supervised sandbox under
// `approvals: { unmatched_egress: audit }` and `exec: { unmatched: allow }` makes requests to two
// host services (host.nemoclaw.internal on two ports) with two methods and runs one program outside its allowlist; `status` says it is
// learning and how many destinations it has seen; `policy learn --sandbox` reads the audit log and
// proposes exactly those (the `audit export | policy learn --events -` pipe too); `--apply --yes`
// writes the revision, after which the same requests pass with unmatched egress denied, a new host
// and an unseen path are denied, and (after a restart, exec being static) the program runs and
// another one is refused.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxView } from '../../src/supervisor/index.ts';
import { cli, events, freshHome, serve, workspace } from './harness.ts';
import type { Served } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';

// Two origins on the host's loopback, reached from inside as host.nemoclaw.internal (the one way
// to the host's loopback services: docs/egress.md "Loopback").
const HOST = 'host.nemoclaw.internal';
const origins: Server[] = [];
let port = 0;
let port2 = 0;
const seen: string[] = [];

beforeAll(async () => {
  for (let i = 0; i < 2; i++) {
    const origin = createServer((req, res) => {
      seen.push(`${req.method} ${req.headers.host} ${req.url}`);
      req.resume();
      req.on('end', () => res.end(`hello from ${req.url}`));
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', () => r()));
    origins.push(origin);
  }
  port = (origins[0]?.address() as AddressInfo).port;
  port2 = (origins[1]?.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const origin of origins) await new Promise((r) => origin.close(r));
});

/**
 * Learning mode on top of a base that names both host services (which grants the host's loopback
 * on exactly those ports) and one health path: the address guard is never widened by learning, so
 * the host's loopback is reachable only where the base already grants it (docs/design.md invariant 3).
 */
function basePolicy(): string {
  return `version: 1
filesystem_policy:
  include_workdir: true
  read_only: [/usr, /bin, /lib, /lib64, /etc]
  read_write: [/tmp]
exec: { allow: [/usr/bin/curl], unmatched: allow }
approvals: { unmatched_egress: audit }
network_policies:
  health:
    endpoints:
      - { host: ${HOST}, port: ${port}, protocol: rest, rules: [{ allow: { method: GET, path: /health } }] }
      - { host: ${HOST}, port: ${port2}, protocol: rest, rules: [{ allow: { method: GET, path: /health } }] }
    binaries: [{ path: /usr/bin/curl }]
`;
}

const curl = (method: string, url: string) => ['/usr/bin/curl', '-s', '-X', method, '-w', ' %{http_code}', ...(method === 'POST' ? ['-d', 'x'] : []), url];

interface Learned {
  rules: Array<{ host: string; port: number; shape: string; hits: number; binaries: Array<{ path: string | null; hits: number }> }>;
  exec: Array<{ path: string; hits: number }>;
  denied: number;
  policy: { network_policies: Record<string, { endpoints: Array<{ rules?: unknown[]; allowed_ips?: string[] }> }>; exec?: unknown; approvals?: unknown };
}

describe('policy learn from what a supervised sandbox recorded', { timeout: 180_000 }, () => {
  let sv: Served;
  const name = 'learner';
  beforeAll(async () => {
    const home = freshHome();
    const ws = workspace(home);
    sv = await serve(home);
    const file = join(home, 'base.yaml');
    writeFileSync(file, basePolicy());
    const c = await cli(home, ['create', name, '--workspace', ws, '--policy', file, '--', 'sleep', '1000']);
    expect(c.code, c.stderr).toBe(0);
  });
  afterAll(async () => {
    await sv?.stop();
  });

  it('in learning mode the requests and the exec go through, and status says so', async () => {
    const before = await cli(sv.home, [name, 'status']);
    expect(before.stdout).toContain('learning: egress (unmatched audited): 0 distinct destinations; exec (outside the allowlist allowed): 0 paths');
    expect((await cli(sv.home, [name, 'exec', '--', ...curl('GET', `http://${HOST}:${port}/a`)])).stdout).toBe('hello from /a 200');
    expect((await cli(sv.home, [name, 'exec', '--', ...curl('GET', `http://${HOST}:${port}/a`)])).stdout).toBe('hello from /a 200');
    expect((await cli(sv.home, [name, 'exec', '--', ...curl('POST', `http://${HOST}:${port2}/b`)])).stdout).toBe('hello from /b 200');
    const id = await cli(sv.home, [name, 'exec', '--', '/usr/bin/id', '-u']);
    expect(id.code, id.stderr).toBe(0);
    expect(seen).toEqual([`GET ${HOST}:${port} /a`, `GET ${HOST}:${port} /a`, `POST ${HOST}:${port2} /b`]);
    const view = await waitFor(async () => {
      const s = (await sv.api.call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${name}`)).sandbox;
      return s.learning?.destinations === 2 && s.learning.execs === 1 ? s : null;
    }, 'learning counts', { withinMs: 15_000 });
    expect(view.learning).toMatchObject({ egress: true, exec: true, destinations: 2, execs: 1 });
    const status = await cli(sv.home, [name, 'status']);
    expect(status.stdout).toContain(`learning: egress (unmatched audited): 2 distinct destinations; exec (outside the allowlist allowed): 1 path since`);
    expect(status.stdout).toContain(`propose a revision: nemoclaw policy learn --sandbox ${name}`);
    expect((await cli(sv.home, ['list'])).stdout).toContain('LEARNING (2 destinations seen)');
  });

  it('learn --sandbox reads the audit log and proposes exactly what happened; the export pipe proposes the same', async () => {
    const learned = await waitFor(async () => {
      const r = await cli(sv.home, ['policy', 'learn', '--sandbox', name, '--json']);
      if (r.code !== 0) throw new Error(r.stderr);
      const j = JSON.parse(r.stdout) as Learned;
      return j.rules.length === 2 && j.exec.length === 1 ? j : null;
    }, 'audit records of the requests', { withinMs: 15_000 });
    expect(learned.rules.map((r) => [r.host, r.port, r.shape, r.hits, r.binaries])).toEqual([
      [HOST, port, 'exact', 2, [{ path: '/usr/bin/curl', hits: 2 }]],
      [HOST, port2, 'exact', 1, [{ path: '/usr/bin/curl', hits: 1 }]],
    ].sort((a, b) => (a[1] as number) - (b[1] as number)));
    expect(learned.exec).toEqual([{ path: '/usr/bin/id', hits: 1 }]);
    const np = learned.policy.network_policies;
    // Naming host.nemoclaw.internal is the grant: the learned rule carries no allowed_ips.
    expect(np[`learned_host_nemoclaw_internal_${port}`]?.endpoints[0]).toEqual({ host: HOST, port, protocol: 'rest', rules: [{ allow: { method: 'GET', path: '/a' } }] });
    expect(np[`learned_host_nemoclaw_internal_${port2}`]?.endpoints[0]).toEqual({ host: HOST, port: port2, protocol: 'rest', rules: [{ allow: { method: 'POST', path: '/b' } }] });
    expect(Object.keys(np).sort()).toEqual(['health', `learned_host_nemoclaw_internal_${port}`, `learned_host_nemoclaw_internal_${port2}`].sort());

    const exported = await cli(sv.home, ['audit', 'export', '--format', 'jsonl']);
    expect(exported.code, exported.stderr).toBe(0);
    const piped = await cli(sv.home, ['policy', 'learn', '--events', '-', '--sandbox', name, '--json'], exported.stdout);
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stderr).not.toContain('skipped');
    const p = JSON.parse(piped.stdout) as Learned;
    expect(p.rules).toEqual(learned.rules);
    expect(p.exec).toEqual(learned.exec);

    // And from the supervisor's event stream, as `nemoclaw events --json` prints it.
    const bus = await cli(sv.home, ['events', '--sandbox', name, '--json']);
    expect(bus.code, bus.stderr).toBe(0);
    const fromBus = await cli(sv.home, ['policy', 'learn', '--events', '-', '--sandbox', name, '--json'], bus.stdout);
    expect(fromBus.code, fromBus.stderr).toBe(0);
    expect(fromBus.stderr).not.toContain('skipped');
    const b = JSON.parse(fromBus.stdout) as Learned;
    expect(b.rules.map((r) => [r.host, r.port, r.hits])).toEqual(learned.rules.map((r) => [r.host, r.port, r.hits]));
    expect(b.exec).toEqual(learned.exec);

    // The same proposal through the API (what the TUI asks for), computed off the event loop.
    const api = await sv.api.call<{ proposal: { rev: number; rules: Learned['rules']; exec: Learned['exec']; diff: string; text: string } }>('POST', `/v1/sandboxes/${name}/learn`, { minutes: 60 });
    expect(api.proposal.rev).toBe(1);
    expect(api.proposal.rules).toEqual(learned.rules);
    expect(api.proposal.exec).toEqual(learned.exec);
    expect(api.proposal.diff).toContain(`+  learned_host_nemoclaw_internal_${port}:`);
    // Applying needs the revision it was proposed against to be current.
    await expect(sv.api.call('PUT', `/v1/sandboxes/${name}/learn`, { text: api.proposal.text, rev: 7 })).rejects.toThrow(/revision 1 is current, not 7/);

    // --since SEQ past the last record: nothing left to learn.
    const all = JSON.parse((await cli(sv.home, ['policy', 'learn', '--sandbox', name, '--json'])).stdout) as { lastSeq: number };
    const later = JSON.parse((await cli(sv.home, ['policy', 'learn', '--sandbox', name, '--since', String(all.lastSeq + 1), '--json'])).stdout) as Learned;
    expect(later.rules).toEqual([]);
  });

  it('--apply shows the diff and writes nothing without --yes off a terminal; --yes writes the revision', async () => {
    const dry = await cli(sv.home, ['policy', 'learn', '--sandbox', name, '--unmatched', 'deny', '--apply']);
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain('+++ learned');
    expect(dry.stdout).toContain(`+  learned_host_nemoclaw_internal_${port2}:`);
    expect(dry.stdout).toMatch(/^- {2}unmatched_egress: audit$/m);
    expect(dry.stdout).toMatch(/^\+ {2}unmatched_egress: deny$/m);
    expect(dry.stderr).toContain('nothing written');
    expect((await cli(sv.home, ['policy', 'history', '--sandbox', name, '--json'])).stdout).not.toContain('"rev": 2');

    const applied = await cli(sv.home, ['policy', 'learn', '--sandbox', name, '--unmatched', 'deny', '--apply', '--yes']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('revision 2 written');
    expect(applied.stdout).toContain('changed exec: takes effect when the sandbox is next created');
    await waitFor(async () => (await events(sv.api)).find((e) => e.type === 'policy.revision' && e.rev === 2), 'revision 2 applied', { withinMs: 15_000 });
    const hist = JSON.parse((await cli(sv.home, ['policy', 'history', '--sandbox', name, '--json'])).stdout) as Array<{ rev: number; source?: string; reason: string }>;
    expect(hist[1]).toMatchObject({ rev: 2, source: 'learn' });
    expect(hist[1]?.reason).toContain(`${HOST}:${Math.min(port, port2)}, ${HOST}:${Math.max(port, port2)}; exec /usr/bin/id`);
  });

  it('enforcing the learned revision: the same requests pass, a new host and an unseen path are denied, the learned exec runs', async () => {
    // Egress is enforced at once; exec is static and still learns until the sandbox is re-created.
    const s = (await sv.api.call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${name}`)).sandbox;
    expect(s.learning).toMatchObject({ egress: false, exec: true });
    seen.length = 0;
    expect((await cli(sv.home, [name, 'exec', '--', ...curl('GET', `http://${HOST}:${port}/a`)])).stdout).toBe('hello from /a 200');
    expect((await cli(sv.home, [name, 'exec', '--', ...curl('POST', `http://${HOST}:${port2}/b`)])).stdout).toBe('hello from /b 200');
    expect((await cli(sv.home, [name, 'exec', '--', ...curl('GET', `http://${HOST}:${port}/other`)])).stdout).toMatch(/ 403$/);
    // A host never seen: denied on its name, never resolved (docs/design.md invariant 3).
    expect((await cli(sv.home, [name, 'exec', '--', ...curl('GET', `http://new-host.example:${port}/a`)])).stdout).toMatch(/ 403$/);
    expect(seen).toEqual([`GET ${HOST}:${port} /a`, `POST ${HOST}:${port2} /b`]);

    const restarted = await cli(sv.home, [name, 'restart']);
    expect(restarted.code, restarted.stderr).toBe(0);
    await waitFor(async () => (await sv.api.call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${name}`)).sandbox.state === 'running', 'running again', { withinMs: 15_000 });
    const id = await cli(sv.home, [name, 'exec', '--', '/usr/bin/id', '-u']);
    expect(id.code, id.stderr).toBe(0);
    const other = await cli(sv.home, [name, 'exec', '--', '/usr/bin/whoami']);
    expect(other.code).not.toBe(0);
    await waitFor(async () => {
      const log = (await cli(sv.home, ['audit', 'export', '--format', 'jsonl'])).stdout;
      return log.split('\n').some((l) => l.includes('"kind":"exec.denied"') && l.includes('"target":"/usr/bin/whoami"')) || null;
    }, 'exec.denied record for whoami', { withinMs: 15_000 });
    expect((await sv.api.call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${name}`)).sandbox.learning).toBeNull();
  });
});
