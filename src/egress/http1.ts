// A small, strict HTTP/1.1 request-head parser for the egress proxy. Proxies get bypassed through
// parser differentials (the proxy reads one request, the origin another), so anything ambiguous is
// rejected rather than repaired: bare CR or LF, obs-fold, whitespace before a colon, duplicate Host
// or Content-Length, Content-Length together with Transfer-Encoding, any coding but `chunked`,
// control characters, over-long heads, and request targets with spaces or non-ASCII bytes.

export const MAX_HEAD_BYTES = 16 * 1024;
export const MAX_HEADERS = 100;

export interface RequestHead {
  method: string;
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1 */
  minor: 0 | 1;
  /** Header fields in order, names as sent. */
  headers: Array<[string, string]>;
  body: { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };
  /** Whether the client asked to keep the connection open after this request. */
  keepAlive: boolean;
}

export type ParseResult =
  | { kind: 'incomplete' }
  | { kind: 'error'; status: number; reason: string }
  | { kind: 'ok'; head: RequestHead; consumed: number };

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Control characters other than HTAB (field values allow VCHAR, SP, HTAB, obs-text). */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

function fail(status: number, reason: string): ParseResult {
  return { kind: 'error', status, reason };
}

/** Returns the header value for a (case-insensitive) name; undefined when absent. */
export function headerValue(headers: Array<[string, string]>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of headers) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** Comma-separated tokens of every field with this name, lower-cased. */
export function headerTokens(headers: Array<[string, string]>, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (const [k, v] of headers) {
    if (k.toLowerCase() !== lower) continue;
    for (const t of v.split(',')) {
      const s = t.trim().toLowerCase();
      if (s) out.push(s);
    }
  }
  return out;
}

/**
 * Parses one request head from the start of `buf`. Returns 'incomplete' when more bytes are
 * needed (and the limit is not yet reached).
 */
export function parseRequestHead(buf: Buffer, maxHead = MAX_HEAD_BYTES): ParseResult {
  // Find the end of the head while validating line endings: every LF must follow a CR and
  // every CR must precede an LF.
  const scanLimit = Math.min(buf.length, maxHead);
  let end = -1;
  for (let i = 0; i < scanLimit; i++) {
    const c = buf[i];
    if (c === 0x0d) {
      if (i + 1 >= buf.length) break; // need the next byte
      if (buf[i + 1] !== 0x0a) return fail(400, 'bare CR in request head');
    } else if (c === 0x0a) {
      if (i === 0 || buf[i - 1] !== 0x0d) return fail(400, 'bare LF in request head');
      if (i >= 3 && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) {
        end = i + 1;
        break;
      }
    } else if (c === 0) {
      return fail(400, 'NUL byte in request head');
    }
  }
  if (end < 0) {
    if (buf.length >= maxHead) return fail(431, 'request head too large');
    return { kind: 'incomplete' };
  }
  // latin1 keeps one char per byte so that byte checks below are exact.
  const text = buf.toString('latin1', 0, end - 4);
  const lines = text.split('\r\n');
  const requestLine = lines[0] ?? '';
  if (requestLine === '') return fail(400, 'empty request line');
  const parts = requestLine.split(' ');
  if (parts.length !== 3) return fail(400, 'malformed request line');
  const [method = '', target = '', version = ''] = parts;
  if (!TCHAR.test(method)) return fail(400, 'malformed method');
  if (target === '' || !/^[\x21-\x7e]+$/.test(target)) return fail(400, 'malformed request target');
  let minor: 0 | 1;
  if (version === 'HTTP/1.1') minor = 1;
  else if (version === 'HTTP/1.0') minor = 0;
  else return fail(505, 'unsupported HTTP version');

  const headers: Array<[string, string]> = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith(' ') || line.startsWith('\t')) return fail(400, 'obsolete line folding');
    const colon = line.indexOf(':');
    if (colon <= 0) return fail(400, 'malformed header line');
    const name = line.slice(0, colon);
    if (!TCHAR.test(name)) return fail(400, 'malformed header name');
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    // field-value: VCHAR, SP, HTAB, obs-text; no other control characters.
    if (hasControl(value)) return fail(400, 'control character in header value');
    headers.push([name, value]);
    if (headers.length > MAX_HEADERS) return fail(431, 'too many header fields');
  }

  let hostCount = 0;
  let clCount = 0;
  let teCount = 0;
  for (const [k] of headers) {
    const l = k.toLowerCase();
    if (l === 'host') hostCount++;
    else if (l === 'content-length') clCount++;
    else if (l === 'transfer-encoding') teCount++;
  }
  if (hostCount > 1) return fail(400, 'duplicate Host header');
  if (minor === 1 && hostCount === 0) return fail(400, 'missing Host header');
  if (clCount > 1) return fail(400, 'duplicate Content-Length header');
  if (clCount > 0 && teCount > 0) return fail(400, 'both Content-Length and Transfer-Encoding');

  let body: RequestHead['body'] = { kind: 'none' };
  if (teCount > 0) {
    if (minor === 0) return fail(400, 'Transfer-Encoding in an HTTP/1.0 request');
    const codings = headerTokens(headers, 'transfer-encoding');
    if (teCount !== 1 || codings.length !== 1 || codings[0] !== 'chunked') return fail(501, 'unsupported transfer coding');
    body = { kind: 'chunked' };
  } else if (clCount === 1) {
    const v = headerValue(headers, 'content-length') ?? '';
    if (!/^\d{1,15}$/.test(v)) return fail(400, 'malformed Content-Length');
    const n = Number(v);
    if (n > 0) body = { kind: 'length', length: n };
  }

  const conn = headerTokens(headers, 'connection');
  const keepAlive = minor === 1 ? !conn.includes('close') : conn.includes('keep-alive');
  return { kind: 'ok', head: { method, target, minor, headers, body, keepAlive }, consumed: end };
}

export interface Authority {
  /** The host as written (brackets removed for IPv6), not yet canonical. */
  host: string;
  port: number;
}

/** Parses `host:port` / `[v6]:port` (CONNECT targets and Host headers). Port required unless defaultPort. */
export function parseAuthority(text: string, defaultPort?: number): Authority | { error: string } {
  if (text.includes('@')) return { error: 'userinfo in authority' };
  if (text.includes('%')) return { error: 'percent-encoding in host' };
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { error: 'unterminated IPv6 literal' };
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return { error: 'malformed authority' };
      portText = rest.slice(1);
    }
    if (!/^[0-9A-Fa-f:.]+$/.test(host)) return { error: 'malformed IPv6 literal' };
  } else {
    const colon = text.lastIndexOf(':');
    if (colon >= 0) {
      if (text.indexOf(':') !== colon) return { error: 'malformed authority' };
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    } else host = text;
  }
  if (host === '') return { error: 'empty host' };
  let port: number;
  if (portText === undefined) {
    if (defaultPort === undefined) return { error: 'port required' };
    port = defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portText)) return { error: 'malformed port' };
    port = Number(portText);
    if (port < 1 || port > 65535) return { error: 'port out of range' };
  }
  return { host, port };
}

export interface AbsoluteTarget {
  scheme: 'http' | 'https';
  authority: string;
  host: string;
  port: number;
  /** Path, always starting with `/`. */
  path: string;
  /** Query without `?`; '' when absent. */
  query: string;
}

/** Parses an absolute-form request target (`http://host[:port]/path?query`); fragments rejected. */
export function parseAbsoluteTarget(target: string): AbsoluteTarget | { error: string } {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^#]*)$/.exec(target);
  if (!m) return { error: 'malformed absolute-form target' };
  const scheme = (m[1] ?? '').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return { error: `unsupported scheme ${scheme}` };
  const authority = m[2] ?? '';
  const a = parseAuthority(authority, scheme === 'http' ? 80 : 443);
  if ('error' in a) return a;
  let rest = m[3] ?? '';
  if (rest === '') rest = '/';
  if (!rest.startsWith('/')) rest = `/${rest}`;
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  return { scheme, authority, host: a.host, port: a.port, path, query };
}

/** Splits an origin-form target into path and query; null when it is not origin-form. */
export function parseOriginTarget(target: string): { path: string; query: string } | null {
  if (!target.startsWith('/') || target.startsWith('//') || target.includes('#')) return null;
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/**
 * Incremental, strict chunked-body decoder. `push` returns decoded data and, once the last chunk
 * and trailers are read, `done` with the bytes that follow the body (the next pipelined request).
 */
/**
 * The largest chunk accepted. The size line is the client's promise of bytes to come; without a cap
 * `ffffffff` holds a connection for 4 GiB of body. Real clients write chunks of their buffer size
 * (curl, Node streams: 16-64 KiB), so this is far above any of them.
 */
export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;

export class ChunkedDecoder {
  private state: 'size' | 'data' | 'data_crlf' | 'trailer' = 'size';
  private readonly maxChunk: number;
  private remaining = 0;
  private pending: Buffer = Buffer.alloc(0);
  private trailerBytes = 0;
  done = false;

  constructor(maxChunk = MAX_CHUNK_BYTES) {
    this.maxChunk = maxChunk;
  }

  push(input: Buffer): { data: Buffer[]; rest: Buffer | null; error?: string } {
    let buf = this.pending.length ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    const data: Buffer[] = [];
    while (buf.length > 0) {
      if (this.state === 'size' || this.state === 'trailer') {
        const lf = buf.indexOf(0x0a);
        if (lf < 0) {
          if (buf.length > 1024) return { data, rest: null, error: 'chunk line too long' };
          this.pending = buf;
          return { data, rest: null };
        }
        if (lf === 0 || buf[lf - 1] !== 0x0d) return { data, rest: null, error: 'bare LF in chunked body' };
        const line = buf.toString('latin1', 0, lf - 1);
        if (line.includes('\r')) return { data, rest: null, error: 'bare CR in chunked body' };
        buf = buf.subarray(lf + 1);
        if (this.state === 'size') {
          const m = /^([0-9A-Fa-f]{1,8})(;[\x21-\x7e\t ]*)?$/.exec(line);
          if (!m) return { data, rest: null, error: 'malformed chunk size' };
          const size = parseInt(m[1] ?? '', 16);
          if (size > this.maxChunk) return { data, rest: null, error: `chunk size ${size} over the ${this.maxChunk}-byte limit` };
          if (size === 0) this.state = 'trailer';
          else {
            this.remaining = size;
            this.state = 'data';
          }
        } else {
          if (line === '') {
            this.done = true;
            return { data, rest: buf };
          }
          this.trailerBytes += line.length;
          const colon = line.indexOf(':');
          if (this.trailerBytes > 8192 || colon <= 0 || !TCHAR.test(line.slice(0, colon)) || hasControl(line.slice(colon + 1))) {
            return { data, rest: null, error: 'malformed trailer' };
          }
        }
      } else if (this.state === 'data') {
        const n = Math.min(this.remaining, buf.length);
        data.push(buf.subarray(0, n));
        buf = buf.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data_crlf';
      } else {
        if (buf.length < 2) {
          this.pending = buf;
          return { data, rest: null };
        }
        if (buf[0] !== 0x0d || buf[1] !== 0x0a) return { data, rest: null, error: 'missing CRLF after chunk' };
        buf = buf.subarray(2);
        this.state = 'size';
      }
    }
    return { data, rest: null };
  }
}
