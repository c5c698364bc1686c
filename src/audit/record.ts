// Record format of the audit log: pure functions only (event validation, OCSF class mapping,
// line formatting and the fast head parser used by verify and by writers catching up).
//
// One record is one line: {"v":1,"seq":N,"ts":"RFC 3339","prev":"<hex>","event":{...}}\n
// prev = SHA-256(0x00 || exact bytes of the previous line, newline included): the RFC 6962 leaf
// hash of that line, so one hash per record serves both the chain and the Merkle tree. The first
// record's prev is 64 zeros.
// The head (everything before "event") has a fixed shape because we write it ourselves; that
// lets verify read seq and prev straight from the bytes without JSON.parse of every line.

export const GENESIS_PREV = '0'.repeat(64);

export type AuditKind =
  | 'sandbox.lifecycle'
  | 'sandbox.enforcement'
  | 'policy.revision'
  | 'approval.decision'
  | 'syscall.denied'
  | 'egress.denied'
  | 'egress.allowed'
  | 'exec.denied'
  | 'exec.allowed'
  | 'inference.decision'
  | 'audit.recovery'
  | 'audit.key_rotation'
  | 'audit.segment'
  | 'audit.denial_summary'
  | 'audit.note'
  | 'audit.retention';

export type Severity = 'info' | 'low' | 'medium' | 'high' | 'critical';

export interface AuditActor {
  /** Who decided or acted: an operator login name, or a component such as "supervisor". */
  user?: string;
  uid?: number;
  pid?: number;
  /** The program that acted (e.g. "nemoclaw sandbox run", "tui"). */
  process?: string;
}

/** What callers hand to append(). Everything is optional except the kind. */
export interface AuditEventInput {
  kind: AuditKind;
  /** Verb inside the kind: "start", "exit", "connect", "approve", "load", ... */
  activity?: string;
  actor?: AuditActor;
  /** Sandbox id or name. */
  sandbox?: string;
  /** Executable path inside the sandbox. */
  binary?: string;
  /** What was acted upon: host:port, file path, syscall name, model id. */
  target?: string;
  /** allow | deny | ask | allow_once | allow_always | deny_always | route_local | route_cloud | ... */
  decision?: string;
  /** Id of the policy rule that decided. */
  rule?: string;
  /** Policy revision id in force when the decision was taken. */
  policy_revision?: string;
  severity?: Severity;
  /** Number of occurrences this record stands for (denial aggregation). */
  count?: number;
  /** Sensitive values, only as fingerprint() output: name -> "fp1:<hex>". */
  fingerprints?: Record<string, string>;
  /** Small scalar facts. Keys that smell of content or credentials are refused. */
  detail?: Record<string, string | number | boolean | null>;
}

/** The OCSF-shaped object stored under "event": the input's fields (documented above), with the
 *  activity filled in, the severity as an OCSF id, and the OCSF class. */
export interface RecordEvent extends Omit<AuditEventInput, 'activity' | 'severity'> {
  class_uid: number;
  class_name: string;
  category_uid: number;
  activity: string;
  severity_id: number;
}

export interface AuditRecord {
  v: 1;
  seq: number;
  ts: string;
  prev: string;
  event: RecordEvent;
}

interface OcsfClass {
  uid: number;
  name: string;
  category: number;
}

const PROCESS: OcsfClass = { uid: 1007, name: 'Process Activity', category: 1 };
const CONFIG: OcsfClass = { uid: 5019, name: 'Device Config State Change', category: 5 };
const AUTHZ: OcsfClass = { uid: 3003, name: 'Authorize Session', category: 3 };
const NETWORK: OcsfClass = { uid: 4001, name: 'Network Activity', category: 4 };
const API: OcsfClass = { uid: 6003, name: 'API Activity', category: 6 };
const APP: OcsfClass = { uid: 6002, name: 'Application Lifecycle', category: 6 };

/** OCSF class of each kind (OCSF 1.8 uids; see docs/audit.md, "Record format"). */
export const KIND_CLASS: Readonly<Record<AuditKind, OcsfClass>> = {
  'sandbox.lifecycle': PROCESS,
  'sandbox.enforcement': CONFIG,
  'policy.revision': CONFIG,
  'approval.decision': AUTHZ,
  'syscall.denied': PROCESS,
  'egress.denied': NETWORK,
  'egress.allowed': NETWORK,
  'exec.denied': PROCESS,
  'exec.allowed': PROCESS,
  'inference.decision': API,
  'audit.recovery': APP,
  'audit.key_rotation': APP,
  'audit.segment': APP,
  'audit.denial_summary': APP,
  'audit.note': APP,
  'audit.retention': APP,
};

export const SEVERITY_ID: Readonly<Record<Severity, number>> = { info: 1, low: 2, medium: 3, high: 4, critical: 5 };

/** Kinds that are aggregated per minute (see DenialAggregator). */
export const DENIAL_KINDS: ReadonlySet<AuditKind> = new Set<AuditKind>(['syscall.denied', 'egress.denied', 'exec.denied']);

const MAX_STRING = 512;
const MAX_DETAIL_KEYS = 32;
/**
 * Detail keys that would carry prompts, completions, credentials or placeholders. The log must
 * never hold those (they would be copied into every SIEM the log is exported to); refusing the key
 * makes the mistake loud in tests instead of silent in production.
 */
const FORBIDDEN_KEY =
  /prompt|completion|^messages?$|^content$|^body$|secret|passw|(^|[_.-])token$|^token|api.?key|authori[sz]ation|cookie|credential|placeholder|private.?key/i;
export const FINGERPRINT_RE = /^fp1:[0-9a-f]{32}$/;
const DECISION_RE = /^[a-z][a-z0-9_.-]{0,39}$/;

function clip(s: string): string {
  return s.length <= MAX_STRING ? s : `${s.slice(0, MAX_STRING - 1)}…`;
}

function optString(name: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  // Lenient on shape (a record with an odd field beats a lost record), strict on content rules.
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v !== 'string') throw new TypeError(`audit event: ${name} must be a string`);
  return clip(v);
}

function optInt(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`audit event: ${name} must be a non-negative integer`);
  return v;
}

/**
 * Validates an input event and builds the stored, OCSF-shaped event. Throws TypeError on input
 * that must never be logged (unknown kind, free-form credential-like detail keys, raw values in
 * fingerprints).
 */
export function normalizeEvent(input: AuditEventInput): RecordEvent {
  if (input === null || typeof input !== 'object') throw new TypeError('audit event must be an object');
  const cls = KIND_CLASS[input.kind];
  if (cls === undefined) throw new TypeError(`audit event: unknown kind ${String(input.kind)}`);
  const ev: RecordEvent = {
    class_uid: cls.uid,
    class_name: cls.name,
    category_uid: cls.category,
    kind: input.kind,
    activity: optString('activity', input.activity) ?? defaultActivity(input.kind),
    severity_id: SEVERITY_ID[input.severity ?? (DENIAL_KINDS.has(input.kind) ? 'medium' : 'info')] ?? 1,
  };
  if (input.actor !== undefined) {
    const a: AuditActor = {};
    const user = optString('actor.user', input.actor.user);
    if (user !== undefined) a.user = user;
    const uid = optInt('actor.uid', input.actor.uid);
    if (uid !== undefined) a.uid = uid;
    const pid = optInt('actor.pid', input.actor.pid);
    if (pid !== undefined) a.pid = pid;
    const proc = optString('actor.process', input.actor.process);
    if (proc !== undefined) a.process = proc;
    ev.actor = a;
  }
  for (const k of ['sandbox', 'binary', 'target', 'rule', 'policy_revision'] as const) {
    const v = optString(k, input[k]);
    if (v !== undefined) ev[k] = v;
  }
  if (input.decision !== undefined && input.decision !== null) {
    if (typeof input.decision !== 'string') throw new TypeError('audit event: decision must be a string');
    ev.decision = normalizeDecision(input.decision);
  }
  const count = optInt('count', input.count);
  if (count !== undefined) ev.count = count;
  if (input.fingerprints !== undefined) {
    const fps: Record<string, string> = {};
    const entries = Object.entries(input.fingerprints);
    if (entries.length > MAX_DETAIL_KEYS) throw new TypeError('audit event: too many fingerprints');
    for (const [k, v] of entries) {
      if (typeof v !== 'string' || !FINGERPRINT_RE.test(v)) {
        throw new TypeError(`audit event: fingerprints.${k} is not a fingerprint() value`);
      }
      fps[clip(k)] = v;
    }
    ev.fingerprints = fps;
  }
  if (input.detail !== undefined) {
    const entries = Object.entries(input.detail);
    if (entries.length > MAX_DETAIL_KEYS) throw new TypeError('audit event: too many detail keys');
    const d: Record<string, string | number | boolean | null> = {};
    for (const [k, v] of entries) {
      if (FORBIDDEN_KEY.test(k)) throw new TypeError(`audit event: detail.${k} looks like content or a credential; log a fingerprint instead`);
      if (typeof v === 'string') d[k] = clip(v);
      else if (v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) d[k] = v;
      else if (typeof v === 'number' || v === undefined) d[k] = null;
      else throw new TypeError(`audit event: detail.${k} must be a scalar`);
    }
    ev.detail = d;
  }
  return ev;
}

/** Decisions are short lowercase words ("allow_once"); anything else is folded into that shape. */
export function normalizeDecision(d: string): string {
  if (DECISION_RE.test(d)) return d;
  const w = d
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .slice(0, 40);
  return w === '' ? 'other' : w;
}

function defaultActivity(kind: AuditKind): string {
  const dot = kind.indexOf('.');
  return kind.slice(dot + 1);
}

/** Formats one record line (with its trailing newline). */
export function formatLine(seq: number, ts: string, prev: string, event: RecordEvent): string {
  return `{"v":1,"seq":${seq},"ts":"${ts}","prev":"${prev}","event":${JSON.stringify(event)}}\n`;
}

const HEAD = Buffer.from('{"v":1,"seq":');
const PREV_KEY = Buffer.from(',"prev":"');

export interface LineHead {
  seq: number;
  /** Byte offset of the 64 hex chars of prev. */
  prevAt: number;
}

/**
 * Reads seq and the position of prev from the fixed head of the line buf[start, end). Returns
 * null when the head does not have the shape formatLine writes (which verify reports as tampering).
 */
export function parseHead(buf: Buffer, start: number, end: number): LineHead | null {
  if (end - start < HEAD.length + 100) return null;
  for (let i = 0; i < HEAD.length; i++) if (buf[start + i] !== HEAD[i]) return null;
  let p = start + HEAD.length;
  let seq = 0;
  const digits = p;
  while (p < end) {
    const c = buf[p] as number;
    if (c < 48 || c > 57) break;
    seq = seq * 10 + (c - 48);
    p++;
  }
  if (p === digits || p - digits > 15 || (buf[digits] === 48 && p - digits > 1)) return null;
  // ,"ts":"<24 chars of toISOString()>"  then ,"prev":" — checked in place first (verify speed),
  // searched for when the timestamp has another length.
  let prevKey = p + 7 + 24 + 1;
  for (let i = 0; i < PREV_KEY.length; i++) {
    if (buf[prevKey + i] !== PREV_KEY[i]) {
      prevKey = buf.indexOf(PREV_KEY, p);
      break;
    }
  }
  if (prevKey < 0 || prevKey > p + 64) return null;
  const prevAt = prevKey + PREV_KEY.length;
  if (prevAt + 64 + 11 > end || buf[prevAt + 64] !== 34) return null;
  return { seq, prevAt };
}

/** Full parse of one line (exports, tail). Throws on a malformed line. */
export function parseRecord(line: string): AuditRecord {
  const r = JSON.parse(line) as AuditRecord;
  if (r === null || typeof r !== 'object' || r.v !== 1 || typeof r.seq !== 'number' || typeof r.event !== 'object') {
    throw new Error('not an audit record');
  }
  return r;
}
