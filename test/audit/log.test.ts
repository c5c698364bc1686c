// Writer behaviour: resume, locks, durability options, aggregation, fingerprints, key files.
import { readFileSync, writeFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { fingerprint, openAuditLog, verifyAudit } from '../../src/audit/index.ts';
import { cpPath, fill, makeLog, readLines, removeHome, segPath, segments, tempHome } from './helpers.ts';

const homes: string[] = [];
function home(): string {
  const h = tempHome();
  homes.push(h);
  return h;
}
afterEach(() => {
  for (const h of homes.splice(0)) removeHome(h);
});
/** A home whose closed log holds n records (helpers.ts makeLog), removed after the test. */
async function loggedHome(n: number): Promise<string> {
  const h = await makeLog(n);
  homes.push(h);
  return h;
}
/** An Ed25519 private key no keys.json names, as PEM. */
function strangerKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
}

describe('openAuditLog', () => {
  it('continues the chain across reopen, resuming from the last checkpoint', async () => {
    const h = home();
    const a = await openAuditLog({ home: h, heartbeatMs: 0 });
    await fill(a, 250);
    await a.close();
    const b = await openAuditLog({ home: h, heartbeatMs: 0 });
    const { seq } = await b.append({ kind: 'policy.revision', policy_revision: 'r2', actor: { user: 'op' } });
    expect(seq).toBe(251);
    await b.close();
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
    const reasons = readLines(cpPath(h)).map((l) => (JSON.parse(l) as { reason: string }).reason);
    expect(reasons.filter((r) => r === 'shutdown')).toHaveLength(2);
  });

  it('carries the Merkle frontier only in some checkpoints, and resumes from the last one that has it', async () => {
    const h = home();
    const a = await openAuditLog({ home: h, heartbeatMs: 0, checkpointEvery: 10 });
    for (let i = 0; i < 300; i++) await a.append({ kind: 'audit.note', target: String(i) });
    // No close(): as if the process had exited. The next writer signs the leftover tail.
    const cps = readLines(cpPath(h)).map((l) => JSON.parse(l) as { size: number; frontier?: string[] });
    expect(cps.length).toBeGreaterThanOrEqual(10);
    expect(cps.filter((c) => c.frontier !== undefined).length).toBe(1);
    const b = await openAuditLog({ home: h, heartbeatMs: 0 });
    expect((await b.append({ kind: 'audit.note' })).seq).toBe(301);
    await b.close();
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('writes records with seq, RFC 3339 ts, prev and an OCSF event, and nothing else', async () => {
    const h = home();
    const w = await openAuditLog({ home: h, heartbeatMs: 0 });
    await w.append(
      { kind: 'approval.decision', activity: 'approve', actor: { user: 'alice' }, sandbox: 'sb', binary: '/bin/sh', target: 'pypi.org:443', decision: 'allow_once', rule: 'ask-net', policy_revision: 'r7' },
      { durable: true },
    );
    await w.close();
    const rec = JSON.parse(readLines(segPath(h, 1))[0] as string) as Record<string, unknown>;
    expect(Object.keys(rec)).toEqual(['v', 'seq', 'ts', 'prev', 'event']);
    expect(rec.seq).toBe(1);
    expect(rec.prev).toBe('0'.repeat(64));
    expect(rec.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(rec.event).toMatchObject({ class_uid: 3003, kind: 'approval.decision', decision: 'allow_once', actor: { user: 'alice' }, policy_revision: 'r7' });
  });

  it('serves I/O that is already due before its synchronous work (a sandbox waits for its go meanwhile)', async () => {
    const h = home();
    // Queued before the open: it must run before the open creates anything (a one-shot run sends
    // the helper its go from such a callback).
    let sawAuditDir: boolean | null = null;
    setImmediate(() => {
      sawAuditDir = existsSync(join(h, 'audit'));
    });
    const log = await openAuditLog({ home: h, heartbeatMs: 0 });
    await log.close();
    expect(sawAuditDir).toBe(false);
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('breaks a stale lock left by a dead process', async () => {
    const h = home();
    const w0 = await openAuditLog({ home: h, heartbeatMs: 0 });
    await w0.close();
    // A pid that is certainly dead: a child that already exited.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(h, 'audit', 'LOCK'), `${dead} 2026-01-01T00:00:00.000Z\n`);
    writeFileSync(join(h, 'audit', `LOCK.${dead}.abcdef`), `${dead} x\n`);
    const w = await openAuditLog({ home: h, heartbeatMs: 0, lockTimeoutMs: 5000 });
    await w.append({ kind: 'audit.note' });
    await w.close();
    expect(existsSync(join(h, 'audit', 'LOCK'))).toBe(false);
    expect(readdirSync(join(h, 'audit')).filter((n) => n.startsWith('LOCK'))).toEqual([]);
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('waits for a live lock holder and gives up after the timeout', async () => {
    const h = home();
    const w0 = await openAuditLog({ home: h, heartbeatMs: 0 });
    await w0.close();
    writeFileSync(join(h, 'audit', 'LOCK'), `${process.pid} held by the test\n`);
    await expect(openAuditLog({ home: h, heartbeatMs: 0, lockTimeoutMs: 50 })).rejects.toThrow(/still held by pid/);
  });

  it('interleaves two writers in one process on one directory', async () => {
    const h = home();
    const a = await openAuditLog({ home: h, heartbeatMs: 0 });
    const b = await openAuditLog({ home: h, heartbeatMs: 0 });
    const ps: Promise<{ seq: number }>[] = [];
    for (let i = 0; i < 300; i++) ps.push((i % 2 === 0 ? a : b).append({ kind: 'audit.note', target: String(i) }));
    const seqs = (await Promise.all(ps)).map((r) => r.seq);
    expect(new Set(seqs).size).toBe(300);
    await a.close();
    await b.close();
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('a writer picks up a key rotated by another writer', async () => {
    const h = home();
    const a = await openAuditLog({ home: h, heartbeatMs: 0 });
    await fill(a, 150);
    const b = await openAuditLog({ home: h, heartbeatMs: 0 });
    await b.rotateKey();
    await b.close();
    await fill(a, 150, 150);
    const cp = await a.checkpoint();
    expect(cp.epoch).toBe(2);
    await a.close();
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('keeps logging when the signing key is lost, by starting a new epoch', async () => {
    const h = home();
    const a = await openAuditLog({ home: h, heartbeatMs: 0 });
    await fill(a, 120);
    await a.close();
    rmSync(join(h, 'keys', 'audit', 'epoch-1.pem'));
    const b = await openAuditLog({ home: h, heartbeatMs: 0 });
    await fill(b, 30, 120);
    await b.close();
    const kinds = readLines(segPath(h, 1)).map((l) => (JSON.parse(l) as { event: { kind: string; activity: string } }).event);
    expect(kinds.some((e) => e.kind === 'audit.recovery' && e.activity === 'lost-signing-key')).toBe(true);
    expect(kinds.some((e) => e.kind === 'audit.key_rotation' && e.activity === 'replace-lost-key')).toBe(true);
    expect(existsSync(join(h, 'keys', 'audit', 'epoch-2.pem'))).toBe(true);
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('refuses to open with a private key that is not the one keys.json names', async () => {
    const h = await loggedHome(10);
    writeFileSync(join(h, 'keys', 'audit', 'epoch-1.pem'), strangerKeyPem());
    await expect(openAuditLog({ home: h, heartbeatMs: 0 })).rejects.toThrow('audit signing key does not match keys.json');
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('removes the private key of an epoch a crashed rotation never published, keeping the current one', async () => {
    const h = await loggedHome(10);
    const keys = join(h, 'keys', 'audit');
    writeFileSync(join(keys, 'epoch-2.pem'), strangerKeyPem());
    const b = await openAuditLog({ home: h, heartbeatMs: 0 });
    expect(readdirSync(keys).filter((n) => n.endsWith('.pem'))).toEqual(['epoch-1.pem']);
    await fill(b, 5, 10);
    await b.close();
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('rotates segments and links each new one to the previous', async () => {
    const h = home();
    const w = await openAuditLog({ home: h, heartbeatMs: 0, segmentBytes: 32 * 1024 });
    await fill(w, 1000);
    await w.close();
    const segs = segments(h);
    expect(segs.length).toBeGreaterThan(2);
    const first = JSON.parse(readLines(segs[1] as string)[0] as string) as { event: { kind: string; detail: Record<string, unknown> } };
    expect(first.event.kind).toBe('audit.segment');
    expect(first.event.detail.previous_segment).toBe(1);
    const reasons = readLines(cpPath(h)).map((l) => (JSON.parse(l) as { reason: string }).reason);
    expect(reasons).toContain('rotation');
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('aggregates repeated denials per minute with counts', async () => {
    const h = home();
    let now = Date.UTC(2026, 10, 22, 2, 0, 5);
    const w = await openAuditLog({ home: h, heartbeatMs: 0, now: () => now });
    const e = { kind: 'egress.denied' as const, sandbox: 'sb', target: 'evil.example:443', decision: 'deny', rule: 'default' };
    const firsts = await Promise.all(Array.from({ length: 50 }, () => w.append(e)));
    expect(new Set(firsts.map((f) => f.seq)).size).toBe(1);
    await w.append({ ...e, target: 'other:80' });
    now += 60_000;
    await w.append(e); // next minute: written, and the previous minute's summary goes out
    await w.close();
    const events = readLines(segPath(h, 1)).map((l) => (JSON.parse(l) as { event: { kind: string; target?: string; count?: number } }).event);
    const denied = events.filter((ev) => ev.kind === 'egress.denied' && ev.target === 'evil.example:443');
    const total = denied.reduce((s, ev) => s + (ev.count ?? 1), 0);
    expect(total).toBe(51);
    expect(denied.some((ev) => ev.count === 49)).toBe(true);
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('aggregates durable denials too, resolving once the first record is on disk', async () => {
    const h = home();
    const w = await openAuditLog({ home: h, heartbeatMs: 0, now: () => Date.UTC(2026, 10, 22, 3, 0, 1) });
    const e = { kind: 'egress.denied' as const, sandbox: 'sb', target: 'x:1', decision: 'deny' };
    const r = await Promise.all(Array.from({ length: 20 }, () => w.append(e, { durable: true })));
    expect(new Set(r.map((x) => x.seq))).toEqual(new Set([1]));
    await w.close();
    const denied = readLines(segPath(h, 1)).map((l) => (JSON.parse(l) as { event: { kind: string; count?: number } }).event).filter((ev) => ev.kind === 'egress.denied');
    expect(denied.map((ev) => ev.count ?? 1)).toEqual([1, 19]);
  });

  it('signs checkpoints on the count and the interval', async () => {
    const h = home();
    const seen: string[] = [];
    const w = await openAuditLog({ home: h, heartbeatMs: 0, checkpointIntervalMs: 10, onCheckpoint: (cp) => seen.push(cp.reason) });
    await fill(w, 120);
    await w.append({ kind: 'audit.note' });
    for (let i = 0; i < 300 && !seen.includes('interval'); i++) await new Promise((r) => setTimeout(r, 10));
    await w.close();
    expect(seen).toContain('count');
    expect(seen).toContain('interval');
    expect(seen[seen.length - 1]).toBe('shutdown');
  });

  it('seals idle periods with heartbeat checkpoints', async () => {
    const h = home();
    const seen: string[] = [];
    const w = await openAuditLog({ home: h, heartbeatMs: 10, onCheckpoint: (cp) => seen.push(cp.reason) });
    await w.checkpoint();
    for (let i = 0; i < 300 && seen.filter((r) => r === 'heartbeat').length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await w.close();
    expect(seen.filter((r) => r === 'heartbeat').length).toBeGreaterThanOrEqual(2);
    expect((await verifyAudit({ home: h })).summary).toBe('ok');
  });

  it('never writes secrets: fingerprints only, stable per install, different across installs', async () => {
    const h = home();
    const secret = 'nvapi-' + 'A1b2C3d4'.repeat(8);
    const w = await openAuditLog({ home: h, heartbeatMs: 0 });
    const fp = w.fingerprint(secret);
    expect(fp).toMatch(/^fp1:[0-9a-f]{32}$/);
    expect(fingerprint(secret, h)).toBe(fp);
    expect(fingerprint(secret, home())).not.toBe(fp);
    await w.append({ kind: 'inference.decision', decision: 'route_local', rule: 'secret.nvapi', fingerprints: { matched: fp } });
    await expect(w.append({ kind: 'inference.decision', detail: { prompt: secret } })).rejects.toThrow(TypeError);
    await w.close();
    for (const f of readdirSync(join(h, 'audit'))) expect(readFileSync(join(h, 'audit', f), 'utf8')).not.toContain(secret);
    expect(readFileSync(join(h, 'keys', 'audit', 'fingerprint.key'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it('refuses appends after close', async () => {
    const h = home();
    const w = await openAuditLog({ home: h, heartbeatMs: 0 });
    await w.close();
    await expect(w.append({ kind: 'audit.note' })).rejects.toThrow(/closed/);
  });
});
