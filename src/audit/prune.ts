// Pruning old segments (issue 19): the audit log may not grow without bound, and removing its
// oldest segments must not read as tampering. A prune
//   1. verifies the log (a log that does not verify is evidence: it is never pruned),
//   2. picks a prefix of whole segments — never the one being written — whose records are all
//      older than `before`, or as many of the oldest as it takes to get under `maxBytes`,
//   3. appends an `audit.retention` record to the chain (durable) saying what it will remove,
//   4. appends a retention checkpoint signed by the current key to retention.jsonl (fsynced):
//      the segments removed and the chain at the cut (size, root, last hash, frontier),
//   5. deletes the segments, oldest first.
// A crash after 4 leaves segments that verify skips; a crash before 4 removes nothing.
// docs/audit.md "Retention".
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { auditDir, fsyncDir } from './files.ts';
import { currentSigner, readKeyring } from './keys.ts';
import { DirLock } from './lock.ts';
import { openAuditLog } from './log.ts';
import { RETENTION_FILE, readRetentions, retentionProblem, signRetention } from './retention.ts';
import type { Retention } from './retention.ts';
import { listSegments, readLogId, segmentName } from './segments.ts';
import type { SegmentBoundary } from './verify.ts';

export interface PruneOptions {
  home: string;
  /** Remove segments whose every record is older than this (ms since the epoch). */
  beforeMs?: number;
  /** Remove the oldest segments until the segments together are at most this many bytes. */
  maxBytes?: number;
  /** Who asked (recorded in the audit record): an operator's login or "supervisor". */
  actor?: string;
}

export interface PruneResult {
  /** What was removed now; null when nothing qualified. */
  pruned: { fromSegment: number; toSegment: number; records: number; bytes: number; lastTs: string; reason: string } | null;
  /** Bytes of the segments kept. */
  keptBytes: number;
  segmentsKept: number;
}

export class PruneRefusedError extends Error {}

export async function pruneAudit(opts: PruneOptions): Promise<PruneResult> {
  if (opts.beforeMs === undefined && opts.maxBytes === undefined) throw new PruneRefusedError('nothing to prune by: give a date or a size budget');
  const dir = auditDir(opts.home);
  // One verification (of a snapshot taken under the writers' lock) gives both the status and the
  // chain's state at each segment's end; only the last segment grows meanwhile, never pruned.
  // Imported, not linked: with a static import the verifier would sit in a chunk of its own, shared
  // with this file, one file more for every `audit verify` (~0.3 ms each, issue 23).
  const { verifyAudit } = await import('./verify.ts');
  const boundaries: SegmentBoundary[] = [];
  const report = await verifyAudit({ home: opts.home, boundaries });
  if (report.status.kind !== 'ok' && report.status.kind !== 'unauthenticated-tail') {
    throw new PruneRefusedError(`the audit log does not verify (${report.summary}): pruning would destroy the evidence`);
  }
  const total = boundaries.reduce((n, b) => n + b.bytes, 0);
  const candidates = boundaries.slice(0, -1); // the last segment is the one being written
  let cutAt = -1;
  let removed = 0;
  for (let i = 0; i < candidates.length; i++) {
    const b = candidates[i] as SegmentBoundary;
    const old = opts.beforeMs !== undefined && Date.parse(b.lastTs) < opts.beforeMs;
    const over = opts.maxBytes !== undefined && total - removed > opts.maxBytes;
    if (!old && !over) break;
    cutAt = i;
    removed += b.bytes;
  }
  // Segments an earlier prune signed away but did not get to delete (a crash after its step 4).
  if (report.pruned !== null) {
    const { toSegment } = report.pruned;
    for (const seg of listSegments(dir)) if (seg <= toSegment) unlinkSync(join(dir, segmentName(seg)));
  }
  if (cutAt < 0) return { pruned: null, keptBytes: total, segmentsKept: boundaries.length };
  const first = boundaries[0] as SegmentBoundary;
  const last = candidates[cutAt] as SegmentBoundary;
  const reason = opts.beforeMs !== undefined && Date.parse(last.lastTs) < opts.beforeMs ? `before ${new Date(opts.beforeMs).toISOString()}` : `size budget ${opts.maxBytes} bytes`;

  // The chain says what is about to go, durably, before anything goes.
  const log = await openAuditLog({ home: opts.home, heartbeatMs: 0 });
  try {
    await log.append(
      {
        kind: 'audit.retention',
        activity: 'prune',
        severity: 'low',
        actor: { user: opts.actor ?? 'operator', pid: process.pid },
        detail: { segments: `${first.segment}..${last.segment}`, records: last.size, last_ts: last.lastTs, root: last.root, reason },
      },
      { durable: true },
    );
  } finally {
    await log.close();
  }

  const lock = new DirLock(dir);
  await lock.acquire(10_000);
  try {
    const signer = currentSigner(opts.home);
    const ring = readKeyring(opts.home);
    const origin = `nemoclaw-audit/${readLogId(dir)}`;
    // A later prune states everything removed so far, so the newest line alone describes the gap.
    const earlier = readRetentions(dir).list.filter((r) => retentionProblem(r, ring, origin) === null);
    const fromSegment = earlier.reduce((m, r: Retention) => Math.min(m, r.from_segment), first.segment);
    const retention = signRetention(
      {
        v: 1,
        origin,
        from_segment: fromSegment,
        to_segment: last.segment,
        size: last.size,
        root: last.root,
        last_hash: last.lastHash,
        last_ts: last.lastTs,
        log_size: report.records + 1,
        key_id: signer.keyId,
        epoch: signer.epoch,
        ts: new Date().toISOString(),
        reason,
      },
      last.frontier,
      signer,
    );
    const fd = openSync(join(dir, RETENTION_FILE), 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(retention)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncDir(dir);
    for (let i = 0; i <= cutAt; i++) unlinkSync(join(dir, segmentName((boundaries[i] as SegmentBoundary).segment)));
    fsyncDir(dir);
  } finally {
    lock.dispose();
  }
  return {
    pruned: { fromSegment: first.segment, toSegment: last.segment, records: last.size - (report.pruned?.records ?? 0), bytes: removed, lastTs: last.lastTs, reason },
    keptBytes: total - removed,
    segmentsKept: boundaries.length - cutAt - 1,
  };
}

