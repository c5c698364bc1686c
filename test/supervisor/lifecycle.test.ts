// Supervisor lifecycle through the CLI and the API: create/list/status/stop/start/destroy,
// duplicate names (also concurrent), suggestions for unknown names, one supervisor per home,
// a stale lock and socket from a crash, and what commands say without a supervisor.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRecords } from '../../src/audit/index.ts';
import type { SandboxView } from '../../src/supervisor/index.ts';
import { cli, events, freshHome, serve, serveFresh } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from './harness.ts';

describe('supervisor lifecycle', { timeout: 120_000 }, () => {
  let sv: Served;
  let ws: string;
  beforeAll(async () => {
    ({ sv, ws } = await serveFresh());
  });
  afterAll(async () => {
    await sv?.stop();
  });

  it('create, list, status, stop, start, restart, destroy (CLI, --json shapes)', { timeout: 120_000 }, async () => {
    const c = await cli(sv.home, ['create', 'alpha', '--workspace', ws, '--json', '--', 'sleep', '1000']);
    expect(c.code, c.stderr + c.stdout).toBe(0);
    const created = JSON.parse(c.stdout) as { sandbox: SandboxView };
    expect(created.sandbox).toMatchObject({ name: 'alpha', state: 'running', restart: 'never', command: ['sleep', '1000'], policyRevision: 1 });
    expect(created.sandbox.pid).toBeGreaterThan(0);
    expect(created.sandbox.enforcement).toMatchObject({ no_new_privs: true, cap_eff: '0' });

    const list = JSON.parse((await cli(sv.home, ['list', '--json'])).stdout) as { supervisor: boolean; sandboxes: SandboxView[] };
    expect(list.supervisor).toBe(true);
    expect(list.sandboxes.map((s) => s.name)).toEqual(['alpha']);

    const st = await cli(sv.home, ['alpha', 'status', '--json']);
    expect(JSON.parse(st.stdout).sandbox.state).toBe('running');

    const stop = await cli(sv.home, ['alpha', 'stop', '--json']);
    expect(JSON.parse(stop.stdout).sandbox).toMatchObject({ state: 'stopped', desired: 'stopped', pid: null });
    const start = await cli(sv.home, ['alpha', 'start', '--json']);
    expect(JSON.parse(start.stdout).sandbox.state).toBe('running');
    const restart = await cli(sv.home, ['alpha', 'restart', '--json']);
    expect(JSON.parse(restart.stdout).sandbox.state).toBe('running');

    const noYes = await cli(sv.home, ['alpha', 'destroy']);
    expect(noYes.code).toBe(2);
    const d = await cli(sv.home, ['alpha', 'destroy', '--yes', '--json']);
    expect(JSON.parse(d.stdout)).toEqual({ destroyed: 'alpha' });
    expect((await sv.api.call<{ sandboxes: SandboxView[] }>('GET', '/v1/sandboxes')).sandboxes).toEqual([]);

    const types = (await events(sv.api)).filter((e) => e.sandbox === 'alpha').map((e) => (e.type === 'sandbox.state' ? `state:${e.state}` : e.type));
    expect(types).toEqual(expect.arrayContaining(['sandbox.created', 'state:starting', 'helper', 'state:running', 'state:stopping', 'state:stopped', 'sandbox.destroyed']));

    // Every supervisor decision is in the audit log (written durably for create/destroy).
    const audited = await waitFor(() => {
      const acts = [...readRecords(sv.home)].map((r) => JSON.parse(r.line) as { event: { kind: string; activity: string; sandbox?: string } }).filter((r) => r.event.sandbox === 'alpha').map((r) => `${r.event.kind}:${r.event.activity}`);
      return acts.includes('sandbox.lifecycle:destroy') ? acts : null;
    }, 'audit records', { withinMs: 15_000 });
    expect(audited).toEqual(expect.arrayContaining(['sandbox.lifecycle:create', 'sandbox.lifecycle:start', 'sandbox.enforcement:report', 'sandbox.lifecycle:stop', 'sandbox.lifecycle:exit', 'sandbox.lifecycle:destroy']));
  });

  it('refuses a duplicate name, also when two creates race', async () => {
    const a = await cli(sv.home, ['create', 'dup', '--workspace', ws, '--', 'sleep', '1000']);
    expect(a.code).toBe(0);
    const b = await cli(sv.home, ['create', 'dup', '--workspace', ws, '--', 'sleep', '1000']);
    expect(b.code).toBe(5);
    expect(b.stderr).toMatch(/already exists/);
    const race = await Promise.all([0, 1, 2, 3].map(() => sv.api.call('POST', '/v1/sandboxes', { name: 'racer', workspace: ws, command: ['sleep', '1000'] }).then(() => 'ok', (e: Error) => e.message)));
    expect(race.filter((r) => r === 'ok')).toHaveLength(1);
    expect(race.filter((r) => r !== 'ok').every((r) => /already exists/.test(r))).toBe(true);
    await sv.api.call('DELETE', '/v1/sandboxes/racer');
    await sv.api.call('DELETE', '/v1/sandboxes/dup');
  });

  it('refuses credentials in a sandbox environment (invariant 6), by name and by value shape', async () => {
    const byName = await cli(sv.home, ['create', 'leaky', '--workspace', ws, '--env', 'OPENAI_API_KEY=not-a-placeholder', '--', 'sleep', '1000']);
    expect(byName.code).not.toBe(0);
    expect(byName.stderr).toMatch(/OPENAI_API_KEY looks like a credential.*credentials never enter a sandbox/);
    const byValue = await cli(sv.home, ['create', 'leaky', '--workspace', ws, '--env', `NOTES=nvapi-${'x'.repeat(40)}`, '--', 'sleep', '1000']);
    expect(byValue.code).not.toBe(0);
    expect(byValue.stderr).toMatch(/NOTES looks like a credential/);
    const list = await sv.api.call<{ sandboxes: Array<{ name: string }> }>('GET', '/v1/sandboxes');
    expect(list.sandboxes.map((s) => s.name)).not.toContain('leaky');
    const placeholder = await cli(sv.home, ['create', 'tidy', '--workspace', ws, '--stopped', '--env', 'OPENAI_API_KEY=nemoclaw-placeholder', '--', 'sleep', '1000']);
    expect(placeholder.code).toBe(0);
    await sv.api.call('DELETE', '/v1/sandboxes/tidy');
  });

  it('the sandbox CA key and the supervisor sockets stay outside; only the trust bundle is inside (invariant 6)', async () => {
    const x = join(sv.home, 'run', 'x');
    const probe = `grep -c 'BEGIN CERTIFICATE' "$SSL_CERT_FILE"; cat ${x}/*.ca/ca-key.pem 2>&1; find ${x} 2>&1; env | sort; echo probe-done`;
    const c = await cli(sv.home, ['create', 'keyprobe', '--workspace', ws, '--', '/bin/sh', '-c', probe]);
    expect(c.code, c.stderr).toBe(0);
    const lines = await waitFor(async () => {
      const got = (await events(sv.api)).flatMap((e) => (e.type === 'log' && e.sandbox === 'keyprobe' ? [String(e.line)] : []));
      return got.includes('probe-done') ? got : null;
    }, 'probe output', { withinMs: 15_000 });
    // Of the supervisor's socket directory only the path to this sandbox's trust bundle exists
    // inside; outside it also holds the CA key and, while the sandbox runs, its proxy socket.
    const caDir = lines.find((l) => l.startsWith(x) && l.endsWith('.ca')) as string;
    expect(lines.filter((l) => l.startsWith(x)).sort()).toEqual([x, caDir, join(caDir, 'bundle.pem')]);
    expect(Number(lines[0])).toBeGreaterThan(0); // the bundle holds certificates
    // The same key read works outside: the probe would see an escape.
    expect(readFileSync(join(caDir, 'ca-key.pem'), 'utf8')).toMatch(/PRIVATE KEY/);
    expect(lines.join('\n')).not.toMatch(/PRIVATE KEY/);
    expect(lines.find((l) => l.startsWith('cat:'))).toMatch(/No such file|Permission denied/);
    // The workload's proxy and trust environment, in full (issue 3): every variable a client reads.
    const env = Object.fromEntries(lines.filter((l) => /^[A-Za-z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const proxy = 'http://127.0.0.1:3128';
    const bundle = join(caDir, 'bundle.pem');
    expect(env).toMatchObject({
      HTTP_PROXY: proxy, HTTPS_PROXY: proxy, ALL_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, all_proxy: proxy,
      NO_PROXY: 'localhost,127.0.0.1,::1', no_proxy: 'localhost,127.0.0.1,::1', NODE_USE_ENV_PROXY: '1',
      SSL_CERT_FILE: bundle, NODE_EXTRA_CA_CERTS: bundle, REQUESTS_CA_BUNDLE: bundle, CURL_CA_BUNDLE: bundle, GIT_SSL_CAINFO: bundle,
    });
    await sv.api.call('DELETE', '/v1/sandboxes/keyprobe');
  });

  it('suggests names for a typo and refuses bad names', async () => {
    await cli(sv.home, ['create', 'research-bot', '--workspace', ws, '--stopped', '--', 'sleep', '1000']);
    const r = await cli(sv.home, ['reserch-bot', 'status']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/no sandbox named reserch-bot \(did you mean research-bot\?\)/);
    const j = await cli(sv.home, ['reserch-bot', 'status', '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: 'not_found', suggestions: ['research-bot'] });
    const bad = await cli(sv.home, ['create', 'Bad_Name', '--workspace', ws, '--', 'true']);
    expect(bad.code).toBe(2);
    await sv.api.call('DELETE', '/v1/sandboxes/research-bot');
  });

  it('a second supervisor on the same home is refused', async () => {
    const r = await cli(sv.home, ['serve']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/already owns/);
  });
});

describe('without a supervisor', { timeout: 120_000 }, () => {
  it('says how to start one; list still shows what is on disk', async () => {
    const home = freshHome();
    const r = await cli(home, ['alpha', 'status']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/nemoclaw serve &/);
    const l = JSON.parse((await cli(home, ['list', '--json'])).stdout);
    expect(l).toEqual({ supervisor: false, sandboxes: [] });
  });

  it('a stale lock and socket left by a crash are cleaned up', async () => {
    const home = freshHome();
    mkdirSync(join(home, 'run'), { recursive: true, mode: 0o700 });
    // pid 2^22-1 is above pid_max on default kernels: certainly not running.
    writeFileSync(join(home, 'run', 'supervisor.lock'), '4194303 12345\n');
    writeFileSync(join(home, 'run', 'api.sock'), '');
    const s = await serve(home);
    try {
      const started = await waitFor(async () => (await events(s.api)).find((e) => e.type === 'supervisor.started'), 'supervisor.started', { withinMs: 15_000 });
      expect(started).toMatchObject({ type: 'supervisor.started', staleLock: 4194303 });
    } finally {
      await s.stop();
    }
  });
});
