// Trace events for `policy simulate` and `policy learn`: one JSON object per line, either
//   {"type":"egress","host":"api.github.com","port":443,"binary":"/usr/bin/gh","method":"GET","path":"/user","query":"a=1"}
//   {"type":"egress","url":"https://api.github.com/user?a=1","method":"GET","binary":"/usr/bin/curl"}
//   {"type":"exec","path":"/usr/bin/git"}
// `kind` or `event` may stand for `type` and `exe` for `binary`, `address` is the resolved address
// (checked by the same address guard as the proxy), so that the event streams of
// `sandbox run --events` and of the egress proxy (`egress_allowed`, `exec_denied`, ...) can be fed
// in as they are: extra fields are ignored, and other event types (`ready`, `exit`, ...) skipped. Hosts are canonicalised exactly as
// the proxy does before deciding.
import { canonicalizeHost } from './host.ts';

export type TraceEvent =
  /** `address`: what the name resolved to (the proxy's events carry it); for a literal IP host, the host. */
  | { type: 'egress'; host: string; port: number; binary: string | null; method?: string; path?: string; query?: string; address?: string }
  | { type: 'exec'; path: string; binary?: string | null };

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

export function parseTraceLine(line: string): ParsedLine {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return { ok: false, error: 'not a JSON object' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ok: false, error: 'not a JSON object' };
  const rec = o as Record<string, unknown>;
  const kind = kindOf(rec);
  const binary = str(rec['binary']) ?? str(rec['exe']) ?? null;
  if (kind === 'exec') {
    const path = str(rec['path']) ?? str(rec['exe']);
    if (!path) return { ok: false, error: 'exec event without `path`' };
    return { ok: true, event: { type: 'exec', path } };
  }
  if (kind !== 'egress') {
    const named = ['type', 'kind', 'event'].some((k) => typeof rec[k] === 'string');
    return named ? { ok: false, error: `not an egress or exec event`, ignore: true } : { ok: false, error: 'event without `type` (want "egress" or "exec")' };
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
  const event: TraceEvent = { type: 'egress', host: canon.host, port, binary };
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
