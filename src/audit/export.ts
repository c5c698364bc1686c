// Derived export formats. The JSONL log stays the source of truth; these are pure formatters
// (OCSF 1.8 objects, ArcSight CEF lines, OTLP/HTTP JSON log payloads) plus one small poster.
import type { Checkpoint } from './checkpoint.ts';
import type { AuditRecord } from './record.ts';
import { parseRecord } from './record.ts';

const PRODUCT = { name: 'nemoclaw', vendor_name: 'nemoclaw', version: '0.1.0' };

const ACTIVITY_IDS: Readonly<Record<string, number>> = {
  start: 1,
  launch: 1,
  exit: 2,
  stop: 2,
  terminate: 2,
  open: 1,
  close: 2,
};

function decisionIds(decision: string | undefined): { action_id: number; disposition_id: number } {
  if (decision === undefined) return { action_id: 0, disposition_id: 0 };
  if (decision.startsWith('allow') || decision.startsWith('route')) return { action_id: 1, disposition_id: 1 };
  if (decision.startsWith('deny')) return { action_id: 2, disposition_id: 2 };
  return { action_id: 99, disposition_id: 99 };
}

function endpoint(target: string): { hostname: string; port?: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(target);
  return m === null ? { hostname: target } : { hostname: m[1] as string, port: Number(m[2]) };
}

/** One record as a full OCSF event object. */
export function toOcsf(rec: AuditRecord): Record<string, unknown> {
  const e = rec.event;
  const activityId = ACTIVITY_IDS[e.activity] ?? 99;
  const out: Record<string, unknown> = {
    class_uid: e.class_uid,
    class_name: e.class_name,
    category_uid: e.category_uid,
    activity_id: activityId,
    activity_name: e.activity,
    type_uid: e.class_uid * 100 + activityId,
    time: Date.parse(rec.ts),
    severity_id: e.severity_id,
    ...decisionIds(e.decision),
    metadata: { version: '1.8.0', product: PRODUCT, uid: String(rec.seq), sequence: rec.seq, log_name: 'nemoclaw-audit' },
  };
  if (e.count !== undefined) out.count = e.count;
  if (e.actor !== undefined) {
    const actor: Record<string, unknown> = {};
    if (e.actor.user !== undefined || e.actor.uid !== undefined) actor.user = { name: e.actor.user, uid: e.actor.uid === undefined ? undefined : String(e.actor.uid) };
    if (e.actor.pid !== undefined || e.actor.process !== undefined) actor.process = { pid: e.actor.pid, name: e.actor.process };
    out.actor = actor;
  }
  if (e.binary !== undefined) out.process = { file: { path: e.binary } };
  if (e.target !== undefined && e.class_uid === 4001) out.dst_endpoint = endpoint(e.target);
  if (e.rule !== undefined || e.policy_revision !== undefined) out.policy = { uid: e.rule, version: e.policy_revision };
  out.unmapped = {
    kind: e.kind,
    sandbox: e.sandbox,
    target: e.target,
    decision: e.decision,
    fingerprints: e.fingerprints,
    detail: e.detail,
    chain: { seq: rec.seq, prev: rec.prev },
  };
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>; // drops undefined members
}

function cefHeader(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]/g, ' ');
}

function cefValue(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r?\n|\r/g, '\\n');
}

/** One record as an ArcSight CEF line (severity 1..9 from OCSF severity 1..5). */
export function toCef(rec: AuditRecord): string {
  const e = rec.event;
  const ext: [string, string | number | undefined][] = [
    ['rt', Date.parse(rec.ts)],
    ['externalId', rec.seq],
    ['act', e.decision],
    ['suser', e.actor?.user],
    ['spid', e.actor?.pid],
    ['sproc', e.actor?.process],
    ['fname', e.binary],
    ['request', e.target],
    ['cnt', e.count],
    ['cs1Label', e.sandbox === undefined ? undefined : 'sandbox'],
    ['cs1', e.sandbox],
    ['cs2Label', e.rule === undefined ? undefined : 'rule'],
    ['cs2', e.rule],
    ['cs3Label', e.policy_revision === undefined ? undefined : 'policyRevision'],
    ['cs3', e.policy_revision],
    ['cat', String(e.class_uid)],
  ];
  const extText = ext
    .filter((kv): kv is [string, string | number] => kv[1] !== undefined)
    .map(([k, v]) => `${k}=${cefValue(String(v))}`)
    .join(' ');
  const sev = Math.min(10, Math.max(0, e.severity_id * 2 - 1));
  return `CEF:0|nemoclaw|nemoclaw|0.1.0|${cefHeader(e.kind)}|${cefHeader(`${e.kind} ${e.activity}`)}|${sev}|${extText}`;
}

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };
interface KeyValue {
  key: string;
  value: AnyValue;
}

function attr(key: string, v: string | number | boolean | undefined): KeyValue[] {
  if (v === undefined) return [];
  if (typeof v === 'number') return [{ key, value: { intValue: String(v) } }];
  if (typeof v === 'boolean') return [{ key, value: { boolValue: v } }];
  return [{ key, value: { stringValue: v } }];
}

const SEVERITY_NUMBER = [9, 9, 9, 13, 17, 21]; // index = OCSF severity_id; OTel INFO, WARN, ERROR, FATAL
const SEVERITY_TEXT = ['INFO', 'INFO', 'INFO', 'WARN', 'ERROR', 'FATAL'];

function nanos(ms: number): string {
  return `${BigInt(Math.round(ms)) * 1_000_000n}`;
}

export interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: { stringValue: string };
  attributes: KeyValue[];
}

/** One OTLP log record; attributes whose value is undefined are left out. */
function otlpRecord(
  ts: string,
  observedMs: number,
  severityId: number,
  body: string,
  attributes: readonly (readonly [string, string | number | boolean | undefined])[],
): OtlpLogRecord {
  return {
    timeUnixNano: nanos(Date.parse(ts)),
    observedTimeUnixNano: nanos(observedMs),
    severityNumber: SEVERITY_NUMBER[severityId] ?? 9,
    severityText: SEVERITY_TEXT[severityId] ?? 'INFO',
    body: { stringValue: body },
    attributes: attributes.flatMap(([key, v]) => attr(key, v)),
  };
}

/** An audit record as an OTLP log record; the body is the exact JSONL line (so it can be re-verified). */
export function recordToOtlp(line: string, observedMs: number): OtlpLogRecord {
  const rec = parseRecord(line);
  const e = rec.event;
  return otlpRecord(rec.ts, observedMs, e.severity_id, line, [
    ['event.name', 'nemoclaw.audit.record'],
    ['nemoclaw.audit.seq', rec.seq],
    ['nemoclaw.audit.kind', e.kind],
    ['ocsf.class_uid', e.class_uid],
    ['nemoclaw.sandbox', e.sandbox],
    ['nemoclaw.decision', e.decision],
    ['nemoclaw.rule', e.rule],
  ]);
}

/** A signed checkpoint as an OTLP log record: the SIEM becomes an external witness. */
export function checkpointToOtlp(cp: Checkpoint, observedMs: number): OtlpLogRecord {
  // OCSF severity 1 (informational) is OTel INFO (9).
  return otlpRecord(cp.ts, observedMs, 1, JSON.stringify(cp), [
    ['event.name', 'nemoclaw.audit.checkpoint'],
    ['nemoclaw.audit.tree_size', cp.size],
    ['nemoclaw.audit.root', cp.root],
    ['nemoclaw.audit.key_id', cp.key_id],
    ['nemoclaw.audit.origin', cp.origin],
  ]);
}

/** ExportLogsServiceRequest in the OTLP/HTTP JSON encoding. */
export function otlpPayload(logRecords: OtlpLogRecord[]): unknown {
  return {
    resourceLogs: [
      {
        resource: { attributes: [...attr('service.name', 'nemoclaw'), ...attr('service.version', '0.1.0')] },
        scopeLogs: [{ scope: { name: 'nemoclaw.audit', version: '0.1.0' }, logRecords }],
      },
    ],
  };
}

/** http://host:4318 -> http://host:4318/v1/logs (an URL already ending in /v1/logs is kept). */
export function otlpLogsUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (!u.pathname.endsWith('/v1/logs')) u.pathname = `${u.pathname.replace(/\/$/, '')}/v1/logs`;
  return u.toString();
}

/** POSTs log records in batches; throws on a non-2xx answer. */
export async function postOtlp(endpoint: string, records: OtlpLogRecord[], batch = 1000): Promise<number> {
  const url = otlpLogsUrl(endpoint);
  let sent = 0;
  for (let i = 0; i < records.length; i += batch) {
    const chunk = records.slice(i, i + batch);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(otlpPayload(chunk)),
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`OTLP endpoint ${url} answered ${res.status}`);
    sent += chunk.length;
  }
  return sent;
}

export interface OtlpExporter {
  /** Pass as openAuditLog's onRecords. */
  records(lines: string[]): void;
  /** Pass as openAuditLog's onCheckpoint. */
  checkpoint(cp: Checkpoint): void;
  /** Sends what is queued now. */
  flush(): Promise<void>;
  /** Flushes and stops the timer. */
  close(): Promise<void>;
  /** Records dropped because the receiver was unreachable and the queue was full. */
  readonly dropped: number;
}

/**
 * Live OTLP/HTTP export for a long-running writer (the supervisor): queues records and
 * checkpoints and posts them every intervalMs. The queue is bounded (maxQueue, oldest dropped
 * first and counted) so an unreachable collector can never grow memory or slow the log.
 */
export function createOtlpExporter(opts: { endpoint: string; intervalMs?: number; maxQueue?: number; onError?: (err: Error) => void }): OtlpExporter {
  const url = otlpLogsUrl(opts.endpoint);
  const maxQueue = opts.maxQueue ?? 10_000;
  let queue: OtlpLogRecord[] = [];
  let dropped = 0;
  let sending: Promise<void> | null = null;
  const push = (r: OtlpLogRecord): void => {
    queue.push(r);
    if (queue.length > maxQueue) {
      dropped += queue.length - maxQueue;
      queue = queue.slice(queue.length - maxQueue);
    }
  };
  const send = async (): Promise<void> => {
    while (queue.length > 0) {
      const chunk = queue.slice(0, 1000);
      try {
        await postOtlp(url, chunk);
        queue = queue.slice(chunk.length);
      } catch (err) {
        opts.onError?.(err as Error);
        return; // retried at the next tick
      }
    }
  };
  const flush = (): Promise<void> => {
    if (sending === null) {
      sending = send().finally(() => {
        sending = null;
      });
    }
    return sending;
  };
  const timer = setInterval(() => {
    void flush();
  }, opts.intervalMs ?? 1000);
  timer.unref();
  return {
    records(lines) {
      const now = Date.now();
      for (const l of lines) push(recordToOtlp(l, now));
    },
    checkpoint(cp) {
      push(checkpointToOtlp(cp, Date.now()));
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
      if (queue.length > 0) await flush();
    },
    get dropped() {
      return dropped;
    },
  };
}
