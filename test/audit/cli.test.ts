// The audit verbs, run for real through bin/nemoclaw with NEMOCLAW_HOME pointing at a temp dir.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog } from '../../src/audit/index.ts';
import { fill, readLines, removeHome, segPath, tempHome, writeLines } from './helpers.ts';
import { auditCli } from './helpers.ts';

const bin = resolve(import.meta.dirname, '..', '..', 'bin', 'nemoclaw');
const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) removeHome(h);
});

const cli = (home: string, args: string[]) => auditCli(home, args);

async function home(n: number): Promise<string> {
  const h = tempHome();
  homes.push(h);
  const w = await openAuditLog({ home: h, heartbeatMs: 0 });
  await fill(w, n);
  await w.append({ kind: 'egress.denied', sandbox: 'sb', target: 'evil.example:443', decision: 'deny', rule: 'r|1=x', actor: { user: 'op' } });
  await w.close();
  return h;
}

describe('nemoclaw audit', () => {
  it('verify: exit 0 and "ok" on a clean log, exit 1 with the status when tampered', async () => {
    const h = await home(300);
    const ok = await cli(h, ['verify']);
    expect(ok.code).toBe(0);
    expect(ok.stdout.split('\n')[0]).toBe('ok');
    const js = await cli(h, ['verify', '--json']);
    expect(JSON.parse(js.stdout)).toMatchObject({ summary: 'ok', records: 301 });
    const lines = readLines(segPath(h, 1));
    lines[150] = (lines[150] as string).replace('sb-150', 'sb-15O');
    writeLines(segPath(h, 1), lines);
    const bad = await cli(h, ['verify']);
    expect(bad.code).toBe(1);
    expect(bad.stdout.split('\n')[0]).toBe('tampered(151)');
  });

  it('verify --trusted-checkpoint catches truncation after the local checkpoints are cut too', async () => {
    const h = await home(400);
    const last = await cli(h, ['checkpoints', '--last', '--json']);
    expect(last.code).toBe(0);
    const anchor = join(h, 'anchor.json');
    writeFileSync(anchor, last.stdout);
    writeLines(segPath(h, 1), readLines(segPath(h, 1)).slice(0, 350));
    writeFileSync(join(h, 'audit', 'checkpoints.jsonl'), '');
    const r = await cli(h, ['verify', '--trusted-checkpoint', anchor]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe('truncated(expected>=401, found 350)');
  });

  it('verify with a --keys or --trusted-checkpoint file that is missing or wrong: one line naming it, exit 2', async () => {
    const h = await home(20);
    const notJson = join(h, 'not-json.txt');
    writeFileSync(notJson, 'not json\n');
    const notKeys = join(h, 'not-keys.json');
    writeFileSync(notKeys, '{"v": 2}\n');
    const cases: Array<[string[], RegExp]> = [
      [['--keys', join(h, 'missing.json')], /^nemoclaw: --keys \S+missing\.json: cannot read it: no such file\n$/],
      [['--keys', h], /^nemoclaw: --keys \S+: cannot read it: a directory, not a file\n$/],
      [['--keys', notJson], /^nemoclaw: --keys \S+not-json\.txt: not JSON/],
      [['--keys', notKeys], /^nemoclaw: --keys \S+not-keys\.json: not a keys\.json/],
      [['--trusted-checkpoint', join(h, 'missing.json')], /^nemoclaw: --trusted-checkpoint \S+missing\.json: cannot read it: no such file\n$/],
      [['--trusted-checkpoint', notJson], /^nemoclaw: --trusted-checkpoint \S+not-json\.txt: no checkpoint in it\n$/],
    ];
    for (const [args, line] of cases) {
      const r = await cli(h, ['verify', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(line);
      expect(r.stderr.split('\n').length, r.stderr).toBe(2); // one line, no stack trace
      expect(r.stdout).toBe('');
    }
  });

  it('tail -n, tail --json and tail --follow', async () => {
    const h = await home(50);
    const t = await cli(h, ['tail', '-n', '3']);
    expect(t.code).toBe(0);
    const lines = t.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatch(/^\s+51 .*egress\.denied\/denied\s+deny\s+by=op\s+sandbox=sb/);
    const j = await cli(h, ['tail', '-n', '2', '--json']);
    expect(j.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([50, 51]);

    const p = spawn(bin, ['audit', 'tail', '-n', '1', '--follow'], { env: { ...process.env, NEMOCLAW_HOME: h } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const closed = new Promise((r) => p.on('close', r));
    for (let i = 0; i < 200 && !out.includes('\n'); i++) await new Promise((r) => setTimeout(r, 25));
    const w = await openAuditLog({ home: h, heartbeatMs: 0 });
    await w.append({ kind: 'policy.revision', policy_revision: 'rev-followed' });
    await w.close();
    for (let i = 0; i < 400 && !out.includes('rev-followed'); i++) await new Promise((r) => setTimeout(r, 25));
    p.kill('SIGTERM');
    await closed;
    expect(out).toContain('rev=rev-followed');
  });

  it('export in jsonl, ocsf and cef, with --since', async () => {
    const h = await home(20);
    const jsonl = await cli(h, ['export', '--format', 'jsonl']);
    expect(jsonl.stdout).toBe(readLines(segPath(h, 1)).map((l) => `${l}\n`).join(''));
    const ocsf = (await cli(h, ['export', '--format', 'ocsf'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ocsf).toHaveLength(21);
    expect(ocsf[20]).toMatchObject({ class_uid: 4001, disposition_id: 2, dst_endpoint: { hostname: 'evil.example', port: 443 }, actor: { user: { name: 'op' } }, metadata: { version: '1.8.0', sequence: 21 } });
    const cef = (await cli(h, ['export', '--format', 'cef'])).stdout.trim().split('\n');
    expect(cef[20]).toMatch(/^CEF:0\|nemoclaw\|nemoclaw\|0\.1\.0\|egress\.denied\|egress\.denied denied\|5\|/);
    expect(cef[20]).toContain('cs2=r|1\\=x'); // '=' escaped in extension values
    const none = await cli(h, ['export', '--since', '2999-01-01T00:00:00Z']);
    expect(none.stdout).toBe('');
    const recent = await cli(h, ['export', '--since', '1h']);
    expect(recent.stdout.trim().split('\n')).toHaveLength(21);
    const bad = await cli(h, ['export', '--format', 'xml']);
    expect(bad.code).toBe(2);
  });

  it('export --otlp-endpoint posts records and checkpoints as OTLP/HTTP JSON logs', async () => {
    const h = await home(30);
    const bodies: { url: string; type: string; body: unknown }[] = [];
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => {
        data += c.toString();
      });
      req.on('end', () => {
        bodies.push({ url: req.url ?? '', type: req.headers['content-type'] ?? '', body: JSON.parse(data) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const r = await cli(h, ['export', '--otlp-endpoint', `http://127.0.0.1:${port}`]);
      expect(r.code).toBe(0);
    } finally {
      server.close();
    }
    expect(bodies).toHaveLength(1);
    expect(bodies[0]?.url).toBe('/v1/logs');
    expect(bodies[0]?.type).toBe('application/json');
    type Rec = { body: { stringValue: string }; attributes: { key: string; value: Record<string, unknown> }[]; timeUnixNano: string };
    const payload = bodies[0]?.body as { resourceLogs: { resource: unknown; scopeLogs: { scope: { name: string }; logRecords: Rec[] }[] }[] };
    const recs = payload.resourceLogs[0]?.scopeLogs[0]?.logRecords ?? [];
    const names = recs.map((x) => x.attributes.find((a) => a.key === 'event.name')?.value.stringValue);
    expect(names.filter((n) => n === 'nemoclaw.audit.record')).toHaveLength(31);
    expect(names.filter((n) => n === 'nemoclaw.audit.checkpoint').length).toBeGreaterThan(0);
    // The body is the exact line, so the SIEM copy can be re-verified.
    expect(recs[0]?.body.stringValue).toBe(readLines(segPath(h, 1))[0]);
    expect(recs[0]?.timeUnixNano).toMatch(/^\d{19}$/);
  });

  it('export --otlp-endpoint fails with exit 1 when the receiver refuses', async () => {
    const h = await home(3);
    const server = createServer((_req, res) => res.writeHead(500).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const r = await cli(h, ['export', '--otlp-endpoint', `http://127.0.0.1:${port}/v1/logs`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/answered 500/);
    } finally {
      server.close();
    }
  });

  it('checkpoints lists signed checkpoints; keys rotate starts a new epoch and verify stays ok', async () => {
    const h = await home(10);
    const list = await cli(h, ['checkpoints', '--json']);
    const cps = JSON.parse(list.stdout) as { size: number; reason: string; key_id: string }[];
    expect(cps[cps.length - 1]).toMatchObject({ size: 11, reason: 'shutdown' });
    const rot = await cli(h, ['keys', 'rotate', '--json']);
    expect(rot.code).toBe(0);
    const k = JSON.parse(rot.stdout) as { keyId: string; epoch: number };
    expect(k.epoch).toBe(2);
    expect(k.keyId).not.toBe(cps[0]?.key_id);
    const v = await cli(h, ['verify']);
    expect(v.code).toBe(0);
    const human = await cli(h, ['checkpoints']);
    expect(human.stdout).toContain(`key ${k.keyId} (epoch 2)`);
  });
});
