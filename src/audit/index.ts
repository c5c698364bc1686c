// Public door of the audit trail (docs/design.md "Audit"; docs/audit.md). Everything other components need:
//   const log = await openAuditLog({ home });
//   await log.append({ kind: 'approval.decision', decision: 'allow_once', ... }, { durable: true });
//   await log.close();
//   const report = await verifyAudit({ home });
export { openAuditLog } from './log.ts';
export type { AuditLog, AppendOptions, OpenOptions } from './log.ts';
// A report's `summary` is its status formatted; formatStatus itself stays out of this door, so that
// status.ts is bundled into the verifier, not into a chunk of its own loaded beside it (issue 23).
export type { VerifyStatus } from './status.ts';
import type { VerifyReport, VerifyOptions } from './verify.ts';
export type { VerifyReport, VerifyOptions } from './verify.ts';
export type { AuditEventInput, AuditKind, AuditActor, AuditRecord, RecordEvent, Severity } from './record.ts';
export { DenialAggregator } from './aggregate.ts';
export { fingerprint } from './keys.ts';
export type { Checkpoint } from './checkpoint.ts';
export { parseCheckpointText } from './checkpoint.ts';
export { createOtlpExporter, toOcsf, toCef, recordToOtlp, checkpointToOtlp, postOtlp } from './export.ts';
export type { OtlpExporter, OtlpLogRecord } from './export.ts';
// Inclusion proofs of one record against a signed checkpoint (`nemoclaw audit prove`).
export { proveInclusion, checkInclusion } from './prove.ts';
export type { InclusionProofDoc } from './prove.ts';
// Reading the log back (the TUI's audit pane, tail): whole lines only, oldest first.
export { readRecords, lastRecords, endCursor, readSince, readCheckpoints } from './reader.ts';
export type { RawRecord, Cursor } from './reader.ts';
export { parseRecord } from './record.ts';

import type { PruneOptions, PruneResult } from './prune.ts';
export type { PruneOptions, PruneResult } from './prune.ts';

/** Removes old segments under a signed retention checkpoint (see prune.ts); loaded on first use. */
export async function pruneAudit(opts: PruneOptions): Promise<PruneResult> {
  const { pruneAudit: prune } = await import('./prune.ts');
  return prune(opts);
}

/**
 * Verifies the audit log under opts.home (see verify.ts). Loaded on first use so that writers
 * (one-shot `nemoclaw sandbox run`s) do not pay for the verifier at start-up.
 */
export async function verifyAudit(opts: VerifyOptions): Promise<VerifyReport> {
  const { verifyAudit: verify } = await import('./verify.ts');
  return verify(opts);
}
