// Audit retention (issue 19): old segments can be pruned under a signed retention checkpoint, and
// `audit verify` then says "pruned by policy at T (signed)" and passes; deleting a segment by hand
// (before or after a prune), or forging the retention line, still reads as tampering; a log that
// does not verify is never pruned; writers carry on after a prune; a size budget keeps the log
// under it. The verbs run for real through bin/nemoclaw.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditLog, pruneAudit, verifyAudit } from '../../src/audit/index.ts';
import { fill, readLines, removeHome, segPath, segments, tempHome, writeLines } from './helpers.ts';
import { auditCli } from './helpers.ts';
import { serve } from '../supervisor/harness.ts';
import { waitFor } from '../helpers/wait.ts';

const homes: string[] = [];
afterEach(() => {
  for (const h of homes.splice(0)) removeHome(h);
});

const cli = (home: string, args: string[]) => auditCli(home, args);

const OLD = Date.parse('2026-01-01T00:00:00Z');
const CUTOFF = '2026-02-01T00:00:00Z';

/** 1500 records written "in January" and 300 written now, in 16 KiB segments. */
async function agedLog(): Promise<string> {
  const h = tempHome();
  homes.push(h);
  const old = await openAuditLog({ home: h, heartbeatMs: 0, segmentBytes: 16 * 1024, now: () => OLD });
  await fill(old, 1500);
  await old.close();
  const fresh = await openAuditLog({ home: h, heartbeatMs: 0, segmentBytes: 16 * 1024 });
  await fill(fresh, 300, 1500);
  await fresh.close();
  return h;
}

const segNumbers = (h: string): number[] => segments(h).map((p) => Number(/seg-(\d+)/.exec(p)?.[1]));
const bytesOf = (h: string): number => segments(h).reduce((n, p) => n + statSync(p).size, 0);

describe('audit retention', () => {
  it('prune --before, then verify passes and says what was pruned (signed)', async () => {
    const h = await agedLog();
    const before = await verifyAudit({ home: h });
    expect(before.status.kind).toBe('ok');
    const segsBefore = segNumbers(h);
    expect(segsBefore.length).toBeGreaterThan(4);

    const pr = await cli(h, ['prune', '--before', CUTOFF]);
    expect(pr.code, pr.stderr).toBe(0);
    expect(pr.stdout).toMatch(/^pruned segments 1\.\.\d+: \d+ records up to 2026-01-01T00:00:00\.000Z/);
    const left = segNumbers(h);
    expect(left[0]).toBeGreaterThan(1);
    expect(left.length).toBeLessThan(segsBefore.length);

    const v = await cli(h, ['verify']);
    expect(v.code, v.stdout).toBe(0);
    expect(v.stdout.split('\n')[0]).toBe('ok');
    expect(v.stdout).toMatch(/pruned by policy at \S+ \(signed\): segments 1\.\.\d+, records 1\.\.\d+ \(up to 2026-01-01T00:00:00\.000Z\), before 2026-02-01T00:00:00\.000Z/);
    const report = await verifyAudit({ home: h });
    expect(report.pruned).toMatchObject({ fromSegment: 1, toSegment: (left[0] as number) - 1 });
    // Nothing of what was kept was lost: every record after the cut, and the prune itself, chained.
    expect(report.records).toBe(before.records + 1);
    const tail = await cli(h, ['tail', '-n', '1', '--json']);
    expect(tail.stdout).toContain('"kind":"audit.retention"');
    // An inclusion proof needs every record from the first: refused with the reason, not a wrong proof.
    const prove = await cli(h, ['prove', '--seq', String(before.records)]);
    expect(prove.code).toBe(1);
    expect(`${prove.stdout}${prove.stderr}`).toContain('were pruned');
  });

  it('deleting a segment by hand reads as tampering, before and after a prune', async () => {
    const h = await agedLog();
    rmSync(segPath(h, 2));
    const v = await cli(h, ['verify']);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^tampered\(\d+\)/);

    const h2 = await agedLog();
    await pruneAudit({ home: h2, beforeMs: Date.parse(CUTOFF) });
    const first = segNumbers(h2)[0] as number;
    rmSync(segPath(h2, first));
    const v2 = await verifyAudit({ home: h2 });
    expect(v2.status.kind).toBe('tampered');
    expect(v2.problems.join('\n')).toContain(`segment ${first} is missing after the retention cut`);
  });

  it('a retention line edited to cover more, or not signed by the log key, is tampering', async () => {
    const h = await agedLog();
    await pruneAudit({ home: h, beforeMs: Date.parse(CUTOFF) });
    const path = join(h, 'audit', 'retention.jsonl');
    const [line] = readLines(path);
    const r = JSON.parse(line as string) as { to_segment: number };
    // Claim one more segment was pruned, then delete it: the signature no longer matches.
    writeLines(path, [JSON.stringify({ ...r, to_segment: r.to_segment + 1 })]);
    rmSync(segPath(h, r.to_segment + 1));
    const v = await verifyAudit({ home: h });
    expect(v.status.kind).toBe('tampered');
    expect(v.problems.join('\n')).toContain('bad signature');
  });

  it('segments a crashed prune signed away but left behind are skipped by verify and removed by the next prune', async () => {
    const h = await agedLog();
    const seg1 = readFileSync(segPath(h, 1));
    await pruneAudit({ home: h, beforeMs: Date.parse(CUTOFF) });
    writeFileSync(segPath(h, 1), seg1); // as if the process died between signing and deleting
    const v = await verifyAudit({ home: h });
    expect(v.status.kind).toBe('ok');
    expect(v.pruned?.fromSegment).toBe(1);
    const again = await pruneAudit({ home: h, beforeMs: Date.parse('2025-01-01') });
    expect(again.pruned).toBeNull();
    expect(existsSync(segPath(h, 1))).toBe(false);
    expect((await verifyAudit({ home: h })).status.kind).toBe('ok');
  });

  it('a log that does not verify is never pruned', async () => {
    const h = await agedLog();
    const lines = readLines(segPath(h, 3));
    writeLines(segPath(h, 3), [lines[0] as string, (lines[1] as string).replace('sb-', 'sX-'), ...lines.slice(2)]);
    const pr = await cli(h, ['prune', '--before', CUTOFF]);
    expect(pr.code).toBe(1);
    expect(pr.stderr).toContain('does not verify');
    expect(existsSync(segPath(h, 1))).toBe(true);
  });

  it('writers carry on after a prune, also when they rescan from the cut', async () => {
    const h = await agedLog();
    await pruneAudit({ home: h, beforeMs: Date.parse(CUTOFF) });
    const w = await openAuditLog({ home: h, heartbeatMs: 0, segmentBytes: 16 * 1024 });
    await fill(w, 200, 5000);
    await w.close();
    expect((await verifyAudit({ home: h })).status.kind).toBe('ok');
    // Without checkpoints a writer resumes from the start of what is left: the signed cut.
    writeFileSync(join(h, 'audit', 'checkpoints.jsonl'), '');
    const w2 = await openAuditLog({ home: h, heartbeatMs: 0, segmentBytes: 16 * 1024 });
    const { seq } = await w2.append({ kind: 'audit.note', activity: 'after', detail: { n: 1 } });
    await w2.close();
    const v = await verifyAudit({ home: h });
    expect(v.records).toBe(seq);
    expect(v.status.kind).toBe('ok');
  });

  it('a size budget keeps the segments under it (the one being written excepted)', async () => {
    const h = await agedLog();
    const budget = 40 * 1024;
    expect(bytesOf(h)).toBeGreaterThan(budget);
    const pr = await cli(h, ['prune', '--max-bytes', '40KiB', '--json']);
    expect(pr.code, pr.stderr).toBe(0);
    const res = JSON.parse(pr.stdout) as { pruned: { reason: string }; keptBytes: number };
    expect(res.pruned.reason).toBe(`size budget ${budget} bytes`);
    expect(res.keptBytes).toBeLessThanOrEqual(budget);
    expect((await verifyAudit({ home: h })).status.kind).toBe('ok');
    const again = await cli(h, ['prune', '--before', '2025-01-01']);
    expect(again.stdout).toContain('nothing to prune');
    expect(readFileSync(join(h, 'audit', 'retention.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('a supervisor with a budget in config.json prunes the oldest segments under it at start', async () => {
    const h = await agedLog();
    writeFileSync(join(h, 'config.json'), JSON.stringify({ audit: { max_bytes: '40KiB' } }));
    const sv = await serve(h);
    try {
      const report = await waitFor(async () => {
        const r = await verifyAudit({ home: h });
        return r.pruned !== null ? r : null;
      }, 'a signed prune by the supervisor', { withinMs: 20_000 });
      expect(report.status.kind).not.toBe('tampered');
      expect(report.pruned?.reason).toBe(`size budget ${40 * 1024} bytes`);
      const rec = readFileSync(segments(h).at(-1) as string, 'utf8').split('\n').find((l) => l.includes('"kind":"audit.retention"'));
      expect(rec).toContain('"user":"supervisor"');
    } finally {
      await sv.stop();
    }
    // What is left (the supervisor's own records included) is under the budget but for the live segment.
    const left = segments(h);
    expect(left.slice(0, -1).reduce((n, p) => n + statSync(p).size, 0)).toBeLessThanOrEqual(40 * 1024);
    expect((await verifyAudit({ home: h })).status.kind).toBe('ok');
  });

  it('without a budget the supervisor prunes nothing', async () => {
    const h = await agedLog();
    const sv = await serve(h);
    await sv.stop();
    expect(existsSync(segPath(h, 1))).toBe(true);
    expect((await verifyAudit({ home: h })).pruned).toBeNull();
  });
});
