// A loopback origin that reads requests the most permissive way real servers do, so that a test
// judged only by what it receives catches every way a request can mean more than the proxy
// decided:
// - framing: Transfer-Encoding wins over Content-Length when both are present (RFC 9112 6.3), a
//   field name with `_` counts as `-` (some servers fold them), a missing length means no body;
// - method: X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override replace the method (as
//   many frameworks do);
// - path: percent-decoded, `;params` dropped from each segment (Tomcat, Jetty), `//` collapsed,
//   `.` and `..` resolved, `\` taken as `/`.
// Every request it parses is recorded, in order, with the connection it came on; each is answered
// 200 with a JSON body, so pipelined and smuggled requests are all parsed as soon as they arrive.
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

export interface SeenRequest {
  conn: number;
  method: string;
  target: string;
  /** Lower-cased, `_` folded to `-`. */
  headers: Map<string, string[]>;
  body: Buffer;
  /** What a lenient application acts on. */
  effective: { method: string; path: string };
}

export interface LenientOrigin {
  port: number;
  seen: SeenRequest[];
  /** Bytes a connection sent that did not parse as a request (judged as a failure too). */
  garbage: Array<{ conn: number; bytes: string }>;
  openConnections(): number;
  close(): Promise<void>;
}

const OVERRIDES = ['x-http-method-override', 'x-http-method', 'x-method-override'];

/** The path a permissive application server acts on. */
export function lenientPath(target: string): string {
  let path = target.split('?')[0] ?? '';
  for (let i = 0; i < 3; i++) {
    // decode repeatedly: some stacks decode twice (%252e -> %2e -> .)
    try {
      const d = decodeURIComponent(path);
      if (d === path) break;
      path = d;
    } catch {
      break;
    }
  }
  // overlong UTF-8 dots and slashes as some decoders take them
  path = path.replace(/\xc0\xae|\u00c0\u00ae/g, '.').replace(/\xc0\xaf|\u00c0\u00af/g, '/');
  path = path.replace(/\\/g, '/');
  const out: string[] = [];
  for (const raw of path.split('/')) {
    const seg = raw.split(';')[0] ?? '';
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

function parseOne(buf: Buffer): { consumed: number; req: Omit<SeenRequest, 'conn'> } | 'incomplete' | 'garbage' {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return buf.length > 65536 ? 'garbage' : 'incomplete';
  const lines = buf.toString('latin1', 0, end).split(/\r?\n/);
  const [method = '', target = '', version = ''] = (lines[0] ?? '').split(' ');
  if (!/^[A-Z]+$/.test(method) || !target || !version.startsWith('HTTP/')) return 'garbage';
  const headers = new Map<string, string[]>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i <= 0) continue;
    const k = l.slice(0, i).trim().toLowerCase().replaceAll('_', '-');
    headers.set(k, [...(headers.get(k) ?? []), l.slice(i + 1).trim()]);
  }
  let pos = end + 4;
  let body: Buffer;
  const te = (headers.get('transfer-encoding') ?? []).join(',').toLowerCase();
  if (te.includes('chunked')) {
    const parts: Buffer[] = [];
    for (;;) {
      const nl = buf.indexOf('\r\n', pos);
      if (nl < 0) return 'incomplete';
      const size = parseInt(buf.toString('latin1', pos, nl), 16);
      if (Number.isNaN(size)) return 'garbage';
      pos = nl + 2;
      if (size === 0) {
        const trailerEnd = buf.indexOf('\r\n', pos);
        if (trailerEnd < 0) return 'incomplete';
        pos = trailerEnd + 2;
        break;
      }
      if (buf.length < pos + size + 2) return 'incomplete';
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const cl = Number((headers.get('content-length') ?? [])[0] ?? 0);
    if (!Number.isFinite(cl) || cl < 0) return 'garbage';
    if (buf.length < pos + cl) return 'incomplete';
    body = buf.subarray(pos, pos + cl);
    pos += cl;
  }
  const override = OVERRIDES.map((h) => headers.get(h)?.[0]).find((v) => v !== undefined);
  return { consumed: pos, req: { method, target, headers, body: Buffer.from(body), effective: { method: (override ?? method).toUpperCase(), path: lenientPath(target) } } };
}

export async function startLenientOrigin(): Promise<LenientOrigin> {
  const seen: SeenRequest[] = [];
  const garbage: LenientOrigin['garbage'] = [];
  const sockets = new Set<Socket>();
  let conns = 0;
  const server: Server = createServer((sock) => {
    const conn = ++conns;
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const r = parseOne(buf);
        if (r === 'incomplete') return;
        if (r === 'garbage') {
          garbage.push({ conn, bytes: buf.toString('latin1').slice(0, 200) });
          sock.destroy();
          return;
        }
        buf = buf.subarray(r.consumed);
        seen.push({ conn, ...r.req });
        const text = JSON.stringify({ method: r.req.method, target: r.req.target });
        sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${r.req.method === 'HEAD' ? 0 : Buffer.byteLength(text)}\r\n\r\n${r.req.method === 'HEAD' ? '' : text}`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    garbage,
    openConnections: () => sockets.size,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
