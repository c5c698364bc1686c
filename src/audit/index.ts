// Public door of the audit trail (DESIGN.md "Audit"). Everything other components need:
//   const log = await openAuditLog({ home });
//   await log.append({ kind: 'approval.decision', decision: 'allow_once', ... }, { durable: true });
//   await log.close();
//   const report = await verifyAudit({ home });
export { openAuditLog } from './log.ts';
export type { AuditLog, AppendOptions, OpenOptions } from './log.ts';
export { verifyAudit, formatStatus } from './verify.ts';
export type { VerifyReport, VerifyStatus, VerifyOptions } from './verify.ts';
export type { AuditEventInput, AuditKind, AuditActor, AuditRecord, RecordEvent, Severity } from './record.ts';
export { DenialAggregator } from './aggregate.ts';
export { fingerprint } from './keys.ts';
export type { Checkpoint } from './checkpoint.ts';
export { createOtlpExporter, toOcsf, toCef } from './export.ts';
export type { OtlpExporter } from './export.ts';
