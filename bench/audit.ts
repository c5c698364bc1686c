// Audit trail benchmark: appends per second with checkpoints on, and verify throughput, each
// against its target and against a baseline measured in the same run on the same lines.
//   node bench/audit.ts [records]        (Node 24: node_modules/.bin/node bench/audit.ts)
import { appendFile, readFile } from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAuditLog, verifyAudit } from '../src/audit/index.ts';
import { report as summaryRow } from './summary.ts';

const N = Math.min(Math.max(Number(process.argv[2] ?? 200_000), 1000), 2_000_000);
const WAVE = 1000; // appends in flight at once (one group commit each)
const APPEND_TARGET = 50_000;
const VERIFY_TARGET = 200_000;

function rate(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

const home = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-audit-'));
try {
  // 1. Appends with checkpoints on (every 100 records / 1 s, fsync before each checkpoint).
  let checkpoints = 0;
  const log = await openAuditLog({ home, heartbeatMs: 0, onCheckpoint: () => checkpoints++ });
  const t0 = performance.now();
  for (let i = 0; i < N; i += WAVE) {
    const wave: Promise<{ seq: number }>[] = [];
    for (let j = i; j < Math.min(N, i + WAVE); j++) {
      wave.push(
        log.append({
          kind: 'egress.allowed',
          activity: 'connect',
          actor: { process: 'bench' },
          sandbox: `sb-${j % 16}`,
          binary: '/usr/bin/curl',
          target: `host-${j % 1000}.example:443`,
          decision: 'allow',
          rule: 'allow-example',
          policy_revision: 'r1',
        }),
      );
    }
    await Promise.all(wave);
  }
  await log.close();
  const appendMs = performance.now() - t0;

  // 1b. Durable appends, one at a time (each waits for its fsync): the cost of a security decision.
  const DURABLE = 500;
  const dlog = await openAuditLog({ home: join(home, 'durable'), heartbeatMs: 0 });
  const td = performance.now();
  for (let i = 0; i < DURABLE; i++) await dlog.append({ kind: 'approval.decision', decision: 'allow_once', actor: { user: 'op' } }, { durable: true });
  const durableMs = performance.now() - td;
  await dlog.close();

  // Baseline: the very same lines, appended unchained with appendFile in the same batch sizes.
  const seg = join(home, 'audit', 'seg-000001.jsonl');
  const lines = readFileSync(seg, 'utf8').split('\n').slice(0, -1).map((l) => `${l}\n`);
  const basePath = join(home, 'baseline.jsonl');
  const tb = performance.now();
  for (let i = 0; i < lines.length; i += WAVE) await appendFile(basePath, lines.slice(i, i + WAVE).join(''));
  const baseMs = performance.now() - tb;

  // 2. Verify throughput (chain, Merkle roots, every checkpoint signature).
  const tv = performance.now();
  const report = await verifyAudit({ home });
  const verifyMs = performance.now() - tv;
  if (report.summary !== 'ok') throw new Error(`bench log does not verify: ${report.summary}`);

  // Baseline: read the same file and SHA-256 each line (a bare hash chain, no parsing, no tree).
  const tvb = performance.now();
  const buf = await readFile(seg);
  let start = 0;
  let acc = '';
  for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10, start)) {
    acc = hash('sha256', buf.subarray(start, nl + 1), 'hex');
    start = nl + 1;
  }
  const verifyBaseMs = performance.now() - tvb;
  if (acc === '') throw new Error('baseline read nothing');

  const appendRate = rate(N, appendMs);
  const baseRate = rate(lines.length, baseMs);
  const verifyRate = rate(report.records, verifyMs);
  const verifyBaseRate = rate(report.records, verifyBaseMs);
  const out = [
    `audit bench: ${N} records of ~${Math.round(buf.length / report.records)} bytes, waves of ${WAVE}, ${checkpoints} signed checkpoints`,
    `append (checkpoints on):  ${appendRate.toLocaleString('en')} records/s  = ${(appendRate / APPEND_TARGET).toFixed(2)}x target ${APPEND_TARGET.toLocaleString('en')}/s; baseline unchained appendFile ${baseRate.toLocaleString('en')} lines/s, ratio ${(appendRate / baseRate).toFixed(2)}`,
    `durable append (awaited, fsync each): ${rate(DURABLE, durableMs).toLocaleString('en')} records/s (${(durableMs / DURABLE).toFixed(2)} ms each)`,
    `verify:                   ${verifyRate.toLocaleString('en')} records/s  = ${(verifyRate / VERIFY_TARGET).toFixed(2)}x target ${VERIFY_TARGET.toLocaleString('en')}/s; baseline sha256-per-line ${verifyBaseRate.toLocaleString('en')} lines/s, ratio ${(verifyRate / verifyBaseRate).toFixed(2)}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  summaryRow({ bench: 'audit', metric: 'append, checkpoints on', value: appendRate, unit: 'records/s', ratio: appendRate / baseRate, baseline: 'unchained appendFile', target: `>= ${APPEND_TARGET.toLocaleString('en')}/s`, met: appendRate >= APPEND_TARGET });
  summaryRow({ bench: 'audit', metric: 'verify', value: verifyRate, unit: 'records/s', ratio: verifyRate / verifyBaseRate, baseline: 'sha256 per line', target: `>= ${VERIFY_TARGET.toLocaleString('en')}/s`, met: verifyRate >= VERIFY_TARGET });
  if (appendRate < APPEND_TARGET || verifyRate < VERIFY_TARGET) process.exitCode = 1;
} finally {
  rmSync(home, { recursive: true, force: true });
}
