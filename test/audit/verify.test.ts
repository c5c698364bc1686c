// verify must catch every way of editing the log that the design claims to catch, and must not
// cry wolf on a crash.
import { cpSync, copyFileSync, appendFileSync, readFileSync, rmSync, truncateSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, hash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog, verifyAudit } from '../../src/audit/index.ts';
import { parseCheckpoint, signCheckpoint } from '../../src/audit/checkpoint.ts';
import type { Checkpoint } from '../../src/audit/checkpoint.ts';
import { keyIdOf, rawPublicKey } from '../../src/audit/keys.ts';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { formatLine } from '../../src/audit/record.ts';
import type { AuditRecord } from '../../src/audit/record.ts';
import { cpPath, fill, makeLog, readLines, removeHome, segPath, segments, tempHome, writeLines } from './helpers.ts';

const homes: string[] = [];
async function log(n: number, opts = {}): Promise<string> {
  const h = await makeLog(n, opts);
  homes.push(h);
  return h;
}
afterEach(() => {
  for (const h of homes.splice(0)) removeHome(h);
});

function lastCheckpoint(home: string): Checkpoint {
  const lines = readLines(cpPath(home));
  return parseCheckpoint(JSON.parse(lines[lines.length - 1] as string));
}

describe('verifyAudit', () => {
  it('reports ok for a clean log, with size and root', async () => {
    const home = await log(2000);
    const r = await verifyAudit({ home });
    expect(r.summary).toBe('ok');
    expect(r.records).toBe(2000);
    expect(r.root).toBe(lastCheckpoint(home).root);
    expect(r.checkpoints.valid).toBeGreaterThan(1);
  });

  it('reports ok for an empty home', async () => {
    const home = tempHome();
    homes.push(home);
    expect((await verifyAudit({ home })).summary).toBe('ok');
  });

  it('detects an edited middle record', async () => {
    const home = await log(1000);
    const seg = segPath(home, 1);
    const lines = readLines(seg);
    lines[499] = (lines[499] as string).replace('sb-499', 'sb-4X9');
    writeLines(seg, lines);
    const r = await verifyAudit({ home });
    expect(r.status).toEqual({ kind: 'tampered', seq: 500 });
    expect(r.summary).toBe('tampered(500)');
  });

  it('detects a deleted record', async () => {
    const home = await log(1000);
    const seg = segPath(home, 1);
    const lines = readLines(seg);
    lines.splice(499, 1);
    writeLines(seg, lines);
    expect((await verifyAudit({ home })).status).toEqual({ kind: 'tampered', seq: 500 });
  });

  it('detects reordered records', async () => {
    const home = await log(1000);
    const seg = segPath(home, 1);
    const lines = readLines(seg);
    const a = lines[399] as string;
    lines[399] = lines[400] as string;
    lines[400] = a;
    writeLines(seg, lines);
    expect((await verifyAudit({ home })).status).toEqual({ kind: 'tampered', seq: 400 });
  });

  it('detects a truncated tail from the local checkpoints and from an exported checkpoint', async () => {
    const home = await log(1000);
    const exported = join(home, 'exported-checkpoint.json');
    writeFileSync(exported, JSON.stringify(lastCheckpoint(home)));
    const seg = segPath(home, 1);
    writeLines(seg, readLines(seg).slice(0, 900));
    expect((await verifyAudit({ home })).summary).toBe('truncated(expected>=1000, found 900)');
    // The attacker also removes the local checkpoints: the exported one still catches it.
    rmSync(cpPath(home));
    expect((await verifyAudit({ home, trustedCheckpoint: exported })).summary).toBe('truncated(expected>=1000, found 900)');
    // Without any anchor, never "ok".
    const r = await verifyAudit({ home });
    expect(r.status.kind).toBe('unauthenticated-tail');
  });

  it('detects a trailing cut even when checkpoints are cut back consistently, given the exported one', async () => {
    const home = await log(1000);
    const exported = lastCheckpoint(home);
    const seg = segPath(home, 1);
    writeLines(seg, readLines(seg).slice(0, 700));
    const cps = readLines(cpPath(home)).filter((l) => parseCheckpoint(JSON.parse(l)).size <= 700);
    writeLines(cpPath(home), cps);
    expect((await verifyAudit({ home, trustedCheckpoint: exported })).status).toEqual({ kind: 'truncated', expected: 1000, found: 700 });
  });

  it('detects a deleted middle segment and a deleted last segment', async () => {
    const home = await log(3000, { segmentBytes: 64 * 1024 });
    const segs = segments(home);
    expect(segs.length).toBeGreaterThanOrEqual(3);
    expect((await verifyAudit({ home })).summary).toBe('ok');
    const saved = readFileSync(segs[1] as string);
    rmSync(segs[1] as string);
    const r = await verifyAudit({ home });
    expect(r.status.kind).toBe('tampered');
    expect(r.problems.join(' ')).toMatch(/seq jumps/);
    writeFileSync(segs[1] as string, saved);
    expect((await verifyAudit({ home })).summary).toBe('ok');
    rmSync(segs[segs.length - 1] as string);
    expect((await verifyAudit({ home })).status.kind).toBe('truncated');
  });

  it('detects swapped segments', async () => {
    const home = await log(3000, { segmentBytes: 64 * 1024 });
    const segs = segments(home);
    const a = readFileSync(segs[0] as string);
    copyFileSync(segs[1] as string, segs[0] as string);
    writeFileSync(segs[1] as string, a);
    expect((await verifyAudit({ home })).status).toEqual({ kind: 'tampered', seq: 1 });
  });

  it('catches a rewritten file with a recomputed chain through the signatures', async () => {
    const home = await log(500);
    const seg = segPath(home, 1);
    const lines = readLines(seg);
    let prev = '0'.repeat(64);
    const out: string[] = [];
    for (const l of lines) {
      const r = JSON.parse(l) as AuditRecord;
      if (r.seq === 10) r.event.decision = 'deny';
      const line = formatLine(r.seq, r.ts, prev, r.event);
      prev = hash('sha256', `\0${line}`, 'hex');
      out.push(line.slice(0, -1));
    }
    writeLines(seg, out);
    const r = await verifyAudit({ home });
    expect(r.status.kind).toBe('tampered');
    expect((r.status as { seq: number }).seq).toBeLessThanOrEqual(10);
    expect(r.problems.join(' ')).toMatch(/do not match the checkpoint/);
  });

  it('rejects checkpoints re-signed by an attacker key', async () => {
    const home = await log(300);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const cp = lastCheckpoint(home);
    const forged = signCheckpoint({ ...cp, key_id: keyIdOf(rawPublicKey(publicKey)) }, cp.frontier, { epoch: 1, keyId: keyIdOf(rawPublicKey(publicKey)), privateKey });
    appendFileSync(cpPath(home), `${JSON.stringify(forged)}\n`);
    const r = await verifyAudit({ home });
    expect(r.status.kind).toBe('tampered');
    expect(r.problems.join(' ')).toMatch(/unknown key/);
  });

  it('rejects a checkpoint whose signed text was edited, or whose signature is not one, under the right key', async () => {
    const home = await log(300);
    const cp = lastCheckpoint(home);
    appendFileSync(cpPath(home), `${JSON.stringify({ ...cp, ts: '2030-01-01T00:00:00.000Z' })}\n`);
    const edited = await verifyAudit({ home });
    expect(edited.status.kind).toBe('tampered');
    expect(edited.problems.join(' ')).toMatch(/bad signature/);
    expect(edited.checkpoints.invalid).toBe(1);
    appendFileSync(cpPath(home), `${JSON.stringify({ ...cp, sig: 'bm90IGEgc2lnbmF0dXJl' })}\n`);
    const garbage = await verifyAudit({ home });
    expect(garbage.checkpoints.invalid).toBe(2);
    expect(garbage.checkpoints.valid).toBe(edited.checkpoints.valid);
  });

  it('rejects a checkpoint signed with a retired key', async () => {
    const home = tempHome();
    homes.push(home);
    const w = await openAuditLog({ home, heartbeatMs: 0 });
    await fill(w, 200);
    const oldPem = readFileSync(join(home, 'keys', 'audit', 'epoch-1.pem'));
    const rotated = await w.rotateKey();
    expect(rotated.epoch).toBe(2);
    // Forward security: the old private key is gone from disk.
    expect(existsSync(join(home, 'keys', 'audit', 'epoch-1.pem'))).toBe(false);
    await fill(w, 200, 200);
    await w.close();
    expect((await verifyAudit({ home })).summary).toBe('ok');
    const records = readLines(segPath(home, 1));
    expect(records.some((l) => l.includes('"kind":"audit.key_rotation"'))).toBe(true);
    // An attacker who stole the epoch-1 key signs a checkpoint over the newer records.
    const oldKey = createPrivateKey(oldPem);
    const oldId = keyIdOf(rawPublicKey(createPublicKey(oldKey)));
    const cp = lastCheckpoint(home);
    const forged = signCheckpoint({ ...cp, key_id: oldId, epoch: 1 }, cp.frontier, { epoch: 1, keyId: oldId, privateKey: oldKey });
    appendFileSync(cpPath(home), `${JSON.stringify(forged)}\n`);
    const r = await verifyAudit({ home });
    expect(r.status.kind).toBe('tampered');
    expect(r.problems.join(' ')).toMatch(/may sign sizes/);
  });

  it('detects keys.json widened to let a retired key sign again', async () => {
    const home = tempHome();
    homes.push(home);
    const w = await openAuditLog({ home, heartbeatMs: 0 });
    await fill(w, 50);
    await w.rotateKey();
    await fill(w, 50, 50);
    await w.close();
    const ringPath = join(home, 'keys', 'audit', 'keys.json');
    const ring = JSON.parse(readFileSync(ringPath, 'utf8')) as { epochs: { toSize: number | null }[] };
    (ring.epochs[0] as { toSize: number | null }).toSize = null;
    writeFileSync(ringPath, JSON.stringify(ring));
    expect((await verifyAudit({ home })).status.kind).toBe('tampered');
  });

  it('reports a torn tail (not tampering), and the next writer recovers it', async () => {
    const home = await log(300);
    appendFileSync(segPath(home, 1), '{"v":1,"seq":301,"ts":"2026-');
    expect((await verifyAudit({ home })).summary).toBe('torn-tail');
    const w = await openAuditLog({ home, heartbeatMs: 0 });
    const { seq } = await w.append({ kind: 'policy.revision', policy_revision: 'r9' });
    await w.close();
    expect(seq).toBe(302); // 301 is the recovery record
    const lines = readLines(segPath(home, 1));
    expect(lines[300]).toMatch(/"kind":"audit.recovery".*"activity":"torn-tail"/);
    expect((await verifyAudit({ home })).summary).toBe('ok');
  });

  it('reports unauthenticated-tail for records after the last checkpoint', async () => {
    const home = tempHome();
    homes.push(home);
    const w = await openAuditLog({ home, heartbeatMs: 0, checkpointEvery: 1000, checkpointIntervalMs: 3_600_000 });
    await w.checkpoint();
    await fill(w, 7);
    const r = await verifyAudit({ home });
    expect(r.summary).toBe('unauthenticated-tail(7)');
    await w.close();
    expect((await verifyAudit({ home })).summary).toBe('ok');
  });

  it('flags a garbled checkpoint line', async () => {
    const home = await log(100);
    appendFileSync(cpPath(home), '{"v":1,"nonsense":true}\n');
    expect((await verifyAudit({ home })).status.kind).toBe('tampered');
  });

  it('keeps segment files private', async () => {
    const home = await log(10);
    expect(statSync(join(home, 'audit')).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'keys', 'audit')).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, 'keys', 'audit', 'epoch-1.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(segPath(home, 1)).mode & 0o777).toBe(0o600);
  });

  it('cuts a torn checkpoint line on open', async () => {
    const home = await log(100);
    appendFileSync(cpPath(home), '{"v":1,"origin":"nemo');
    const w = await openAuditLog({ home, heartbeatMs: 0 });
    await w.close();
    expect((await verifyAudit({ home })).summary).toBe('ok');
    truncateSync(cpPath(home), 0);
  });

  it('checks a copied audit directory with an exported keys.json, and is never ok without keys', async () => {
    const home = await log(300);
    const keys = join(home, 'keys', 'audit', 'keys.json');
    const copy = tempHome();
    homes.push(copy);
    cpSync(join(home, 'audit'), join(copy, 'audit'), { recursive: true });
    expect((await verifyAudit({ home: copy, keys })).summary).toBe('ok');
    const bare = await verifyAudit({ home: copy });
    expect(bare.status).toEqual({ kind: 'unauthenticated-tail', count: 300 });
    expect(bare.problems.join(' ')).toMatch(/no keyring/);
    // The exported anchor still catches a cut tail.
    const anchor = lastCheckpoint(home);
    writeLines(segPath(copy, 1), readLines(segPath(copy, 1)).slice(0, 200));
    expect((await verifyAudit({ home: copy, trustedCheckpoint: anchor })).status.kind).toBe('truncated');
  });

  it('reads a consistent snapshot while a writer appends (no false torn-tail)', async () => {
    const home = tempHome();
    homes.push(home);
    const w = await openAuditLog({ home, heartbeatMs: 0 });
    let stop = false;
    const writer = (async () => {
      for (let i = 0; i < 400 && !stop; i++) await fill(w, 50, i * 50);
    })();
    const seen = new Set<string>();
    for (let i = 0; i < 15; i++) seen.add((await verifyAudit({ home })).status.kind);
    stop = true;
    await writer;
    await w.close();
    for (const k of seen) expect(['ok', 'unauthenticated-tail']).toContain(k);
    expect((await verifyAudit({ home })).summary).toBe('ok');
  });

  it('catches a rollback to an older checkpoint followed by a divergent history, given the newer exported checkpoint', async () => {
    const home = await log(600);
    const exported = lastCheckpoint(home); // size 600, kept by the SIEM
    const cps = readLines(cpPath(home)).map((l) => parseCheckpoint(JSON.parse(l)));
    const older = cps.find((c) => c.size < 600 && c.size > 0) as Checkpoint;
    // Roll back to the older checkpoint, then forge 300 records with a valid chain (no key).
    const seg = segPath(home, 1);
    const kept = readLines(seg).slice(0, older.size);
    let prev = older.last_hash;
    const template = JSON.parse(kept[kept.length - 1] as string) as AuditRecord;
    for (let seq = older.size + 1; seq <= older.size + 300; seq++) {
      const line = formatLine(seq, template.ts, prev, { ...template.event, target: `forged-${seq}` });
      prev = hash('sha256', `\0${line}`, 'hex');
      kept.push(line.slice(0, -1));
    }
    writeLines(seg, kept);
    writeLines(cpPath(home), readLines(cpPath(home)).filter((l) => parseCheckpoint(JSON.parse(l)).size <= older.size));
    const local = await verifyAudit({ home });
    expect(local.status).toEqual({ kind: 'unauthenticated-tail', count: 300 });
    const anchored = await verifyAudit({ home, trustedCheckpoint: exported });
    expect(anchored.status.kind).toBe(older.size + 300 >= 600 ? 'tampered' : 'truncated');
  });
});
