// What an egress event leaves in the audit log: never query strings, headers or bodies.

import type { AuditEventInput } from '../audit/index.ts';
import type { EgressEvent } from './types.ts';

/** Maps a proxy event to an audit record, or null for events that are not audited (asks, errors). */
export function egressAuditRecord(ev: EgressEvent): { event: AuditEventInput; durable: boolean } | null {
  const denied = ev.type === 'egress_denied' || ev.type === 'binary_replaced' || ev.type === 'preamble_rejected' || ev.type === 'egress_closed_by_reload';
  const kind: AuditEventInput['kind'] = ev.approval ? 'approval.decision' : denied ? 'egress.denied' : 'egress.allowed';
  if (ev.type === 'egress_ask' || ev.type === 'egress_error') return null;
  const event: AuditEventInput = { kind, activity: ev.type.replace(/^egress_/, ''), sandbox: ev.sandbox };
  if (ev.binary !== null) event.binary = ev.binary;
  if (ev.host !== null) event.target = `${ev.host}:${ev.port ?? ''}`;
  const decision = ev.approval
    ? `${ev.verdict === 'allow' ? 'allow' : 'deny'}_${ev.approval.reason === 'operator' ? (ev.approval.always ? 'always' : 'once') : ev.approval.reason}`
    : (ev.verdict ?? undefined);
  if (decision) event.decision = decision;
  if (ev.rule) event.rule = ev.rule;
  if (ev.approval) event.actor = { user: ev.approval.by.user };
  event.severity = denied ? 'medium' : 'info';
  const detail: Record<string, string | number | boolean | null> = { reason: ev.reason };
  if (ev.method) detail.method = ev.method;
  if (ev.path) detail.path = ev.path;
  if (ev.address) detail.address = ev.address;
  if (ev.pid !== null) detail.pid = ev.pid;
  if (ev.scope) detail.scope = ev.scope;
  if (ev.approval) detail.origin = ev.approval.by.origin;
  if (ev.bytes) {
    detail.bytes_up = ev.bytes.up;
    detail.bytes_down = ev.bytes.down;
  }
  if (ev.status !== undefined) detail.status = ev.status;
  event.detail = detail;
  return { event, durable: denied || ev.approval !== undefined };
}
