// Trace events for `policy simulate` and `policy learn`: one reader for every shape the product
// records, so what a run left behind can be fed in as it is (docs/policy.md "Simulate and learn"):
//   - the trace format, written by hand or by a script:
//       {"type":"egress","host":"api.github.com","port":443,"binary":"/usr/bin/gh","method":"GET","path":"/user","query":"a=1"}
//       {"type":"egress","url":"https://api.github.com/user?a=1","method":"GET","binary":"/usr/bin/curl"}
//       {"type":"exec","path":"/usr/bin/git"}
//     (`kind` or `event` may stand for `type` and `exe` for `binary`);
//   - audit records (`audit export --format jsonl`, the segments under audit/): the decision records
//     `egress.allowed` (activity `allowed` or `audit`), `egress.denied` (`denied`), the proxy's
//     `approval.decision` (`allowed`/`denied`), `exec.allowed` and `exec.denied`;
//   - the supervisor's bus events (`nemoclaw events --json`): `{"type":"egress","event":{...}}` and
//     `{"type":"helper","event":{...}}` are unwrapped;
//   - the proxy's and the helper's own events (`sandbox run --events`): `egress_allowed`,
//     `egress_audit`, `egress_denied`, `exec_allowed`, `exec_denied`.
// Whatever the shape, one TraceEvent comes out, with `outcome` saying what was decided when the
// line is a record of a decision. Lines that are well-formed but not decisions (`ready`, `exit`,
// `egress_request_done`, lifecycle records, the supervisor's own copy of an approval...) are
// ignored, so no decision is counted twice. `address` is the resolved address (checked by the same
// address guard as the proxy). Hosts are canonicalised exactly as the proxy does before deciding.
import { canonicalizeHost } from './host.ts';

/** What the product decided, when the line records a decision: `audit` is "let through, only
 *  recorded" (unmatched egress under `approvals.unmatched_egress: audit`, an endpoint in audit
 *  enforcement, an exec outside `exec.allow` under `unmatched: allow`). */
export type RecordedOutcome = 'allow' | 'audit' | 'deny';

interface Recorded {
  outcome?: RecordedOutcome;
  /** The sandbox the record names (audit records and bus events carry it). */
  sandbox?: string;
}

export type TraceEvent =
  /** `address`: what the name resolved to (the proxy's events carry it); for a literal IP host, the host. */
  | ({ type: 'egress'; host: string; port: number; binary: string | null; method?: string; path?: string; query?: string; address?: string } & Recorded)
  | ({ type: 'exec'; path: string; binary?: string | null } & Recorded);

/** `ignore`: a well-formed event that is not a decision input (e.g. `ready`, `exit`, or a proxy
 *  event without a host): skipped by simulate and learn instead of being an error. */
export type ParsedLine = { ok: true; event: TraceEvent } | { ok: false; error: string; ignore?: boolean };

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'ws:': 80, 'wss:': 443 };

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function kindOf(o: Record<string, unknown>): 'egress' | 'exec' | null {
  for (const key of ['type', 'kind', 'event']) {
    const v = str(o[key])?.toLowerCase();
    if (v === undefined) continue;
    if (v.startsWith('egress') || v.startsWith('net') || v === 'connect' || v === 'http') return 'egress';
    if (v.startsWith('exec')) return 'exec';
  }
  return null;
}

type Normalized = { rec: Record<string, unknown>; kind: 'egress' | 'exec'; outcome?: RecordedOutcome; sandbox?: string } | { ignore: string } | null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The proxy's decision events (src/egress EgressEventType); the rest follow one of these. */
const PROXY_DECISIONS: Record<string, RecordedOutcome> = { egress_allowed: 'allow', egress_audit: 'audit', egress_denied: 'deny' };
/** The helper's exec events (native/PROTOCOL.md "Events"); `exec_ask` is followed by one of them. */
function helperExecOutcome(o: Record<string, unknown>): RecordedOutcome | null {
  if (o['type'] === 'exec_denied') return 'deny';
  if (o['type'] !== 'exec_allowed') return null;
  // Outside the allowlist and let through without anyone deciding: exec's counterpart of audit.
  return o['via'] === 'unmatched_allow' ? 'audit' : 'allow';
}

/** `host:port` of an audit record's target (an IPv6 host may come bracketed or bare). */
function splitTarget(t: string): { host: string; port: number } | null {
  const i = t.lastIndexOf(':');
  if (i <= 0) return null;
  const port = Number(t.slice(i + 1));
  if (!/^[0-9]+$/.test(t.slice(i + 1))) return null;
  return { host: t.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * Brings an audit record, a bus event or a proxy/helper event to the trace format's fields, with
 * the recorded outcome; returns the object unchanged (null) when it is already in trace format.
 */
function normalize(o: Record<string, unknown>): Normalized {
  // An audit record: {"v":1,"seq":..,"ts":..,"prev":..,"event":{"kind":..}} (docs/audit.md).
  if (typeof o['v'] === 'number' && isObject(o['event']) && typeof o['event']['kind'] === 'string') {
    const ev = o['event'];
    const kind = ev['kind'] as string;
    const activity = str(ev['activity']);
    const detail = isObject(ev['detail']) ? ev['detail'] : {};
    const sandbox = str(ev['sandbox']);
    const extra = sandbox === undefined ? {} : { sandbox };
    if (kind === 'exec.allowed' || kind === 'exec.denied') {
      const path = str(ev['target']);
      if (path === undefined) return { ignore: `${kind} record without a target` };
      const outcome: RecordedOutcome = kind === 'exec.denied' ? 'deny' : detail['via'] === 'unmatched_allow' ? 'audit' : 'allow';
      return { rec: { path, binary: ev['binary'] }, kind: 'exec', outcome, ...extra };
    }
    let outcome: RecordedOutcome | undefined;
    // The proxy writes `approval.decision` with activity allowed/denied for the request it let
    // through or refused; the supervisor's own copy of the answer (approve/deny) is not a request.
    if (kind === 'egress.allowed' || kind === 'approval.decision') outcome = activity === 'allowed' ? 'allow' : activity === 'audit' ? 'audit' : undefined;
    if ((kind === 'egress.denied' || kind === 'approval.decision') && activity === 'denied') outcome = 'deny';
    if (outcome === undefined) return { ignore: `audit record ${kind}${activity ? ` (${activity})` : ''} is not an egress or exec decision` };
    const target = splitTarget(str(ev['target']) ?? '');
    if (target === null) return { ignore: 'egress record without a destination' };
    const rec: Record<string, unknown> = { host: target.host, port: target.port, binary: ev['binary'], method: detail['method'], path: detail['path'], address: detail['address'] };
    return { rec, kind: 'egress', outcome, ...extra };
  }
  // A bus event (`nemoclaw events --json`): the proxy's or the helper's event inside.
  if ((o['type'] === 'egress' || o['type'] === 'helper') && isObject(o['event'])) {
    const inner = normalize(o['event']);
    const sandbox = str(o['sandbox']);
    if (inner === null) return { ignore: `${o['type']} event of another kind` };
    if ('ignore' in inner) return inner;
    return sandbox === undefined ? inner : { ...inner, sandbox };
  }
  const type = str(o['type']);
  if (type !== undefined && /^(egress|exec)_/.test(type)) {
    const proxy = PROXY_DECISIONS[type];
    if (proxy !== undefined) return { rec: o, kind: 'egress', outcome: proxy, ...(str(o['sandbox']) ? { sandbox: str(o['sandbox']) as string } : {}) };
    const exec = helperExecOutcome(o);
    if (exec !== null) return { rec: o, kind: 'exec', outcome: exec };
    return { ignore: `${type} is not a decision` };
  }
  return null;
}

export function parseTraceLine(line: string): ParsedLine {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not a JSON object' };
  }
  if (!isObject(o)) return { ok: false, error: 'not a JSON object' };
  const norm = normalize(o);
  if (norm !== null && 'ignore' in norm) return { ok: false, error: norm.ignore, ignore: true };
  const rec = norm?.rec ?? o;
  const kind = norm?.kind ?? kindOf(rec);
  const recorded: Recorded = {};
  if (norm?.outcome !== undefined) recorded.outcome = norm.outcome;
  if (norm?.sandbox !== undefined) recorded.sandbox = norm.sandbox;
  const binary = str(rec['binary']) ?? str(rec['exe']) ?? null;
  if (kind === 'exec') {
    const path = str(rec['path']) ?? str(rec['exe']);
    if (!path) return { ok: false, error: 'exec event without `path`' };
    return { ok: true, event: { type: 'exec', path, ...recorded } };
  }
  if (kind !== 'egress') {
    const named = ['type', 'kind', 'event'].some((k) => typeof rec[k] === 'string');
    return named ? { ok: false, error: `not an egress or exec event`, ignore: true } : { ok: false, error: 'event without `type` (want "egress" or "exec"), and not an audit record or a supervisor event' };
  }
  let host = str(rec['host']);
  let port = typeof rec['port'] === 'number' ? rec['port'] : undefined;
  let path = str(rec['path']);
  let query = str(rec['query']);
  const url = str(rec['url']);
  if (url !== undefined) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return { ok: false, error: `bad url ${JSON.stringify(url)}` };
    }
    host ??= u.hostname;
    port ??= u.port ? Number(u.port) : DEFAULT_PORTS[u.protocol];
    path ??= u.pathname;
    query ??= u.search.replace(/^\?/, '') || undefined;
  }
  // Proxy events about a connection that never named a destination carry `host: null`.
  if (host === undefined) return rec['host'] === null ? { ok: false, error: 'egress event without a destination', ignore: true } : { ok: false, error: 'egress event without `host` or `url`' };
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, error: 'egress event without a valid `port`' };
  const canon = canonicalizeHost(host);
  if (!canon.ok) return { ok: false, error: `host ${JSON.stringify(host)}: ${canon.reason}` };
  const method = str(rec['method'])?.toUpperCase();
  const event: TraceEvent = { type: 'egress', host: canon.host, port, binary, ...recorded };
  // The address the proxy would check: the one the trace recorded, else a literal IP host itself.
  const address = str(rec['address']) ?? (canon.kind === 'dns' ? undefined : canon.host);
  if (address !== undefined) event.address = address;
  if (method !== undefined) {
    event.method = method;
    event.path = path ?? '/';
    if (query !== undefined) event.query = query;
  }
  return { ok: true, event };
}

/** Non-empty, non-comment lines with their 1-based line numbers. */
export function traceLines(text: string): { line: number; text: string }[] {
  return text.split(/\r?\n/).flatMap((t, i) => (t.trim() === '' || t.trimStart().startsWith('#') ? [] : [{ line: i + 1, text: t }]));
}

export function describeEvent(e: TraceEvent): string {
  if (e.type === 'exec') return `exec ${e.path}`;
  const target = `${e.host}:${e.port}`;
  const req = e.method ? ` ${e.method} ${e.path ?? '/'}${e.query ? `?${e.query}` : ''}` : ' (connect)';
  const at = e.address !== undefined && e.address !== e.host ? ` at ${e.address}` : '';
  return `egress ${target}${at}${req} by ${e.binary ?? 'unknown program'}`;
}
