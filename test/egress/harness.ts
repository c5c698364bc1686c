// Test harness for the egress proxy: loopback origins (HTTP and HTTPS with a test CA), a proxy on a
// unix socket, and clients that write the relay preamble themselves (the helper's job in a real
// sandbox).
import { spawn } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { join, resolve } from 'node:path';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { compileEgressRules, parsePolicy } from '../../src/policy/index.ts';
import type { EgressRuleSet } from '../../src/policy/index.ts';
import { proxyEnvironment, startEgressProxy } from '../../src/egress/index.ts';
import type { EgressEvent, EgressProxy, EgressProxyOptions } from '../../src/egress/index.ts';
import { createCertificateAuthority, issueLeafCertificate } from '../../src/egress/x509.ts';

/** The sandbox helper these tests run (built by the vitest global setup). */
export const HELPER = join(resolve(import.meta.dirname, '../..'), 'native/build/nemoclaw-sandbox');

export interface Origin {
  http: HttpServer;
  https: HttpServer;
  httpPort: number;
  httpsPort: number;
  caPem: string;
  /** Requests seen by the origins (method, url, host header, body length). */
  seen: Array<{ scheme: string; method: string; url: string; host: string | undefined; body: number; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
}

/** Host names the test origin's certificate covers. */
export const ORIGIN_NAMES = ['api.test', 'other.test', 'a.wild.test', 'b.c.wild.test', 'localhost', '127.0.0.1'];

export async function startOrigins(): Promise<Origin> {
  const seen: Origin['seen'] = [];
  const ca = createCertificateAuthority('test origin');
  const leafKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  // One certificate per name, served by SNI.
  const certs = new Map(ORIGIN_NAMES.map((n) => [n, issueLeafCertificate(ca, leafKey, n).certPem]));
  const handler = (scheme: string) => (req: IncomingMessage, res: ServerResponse) => {
    let body = 0;
    req.on('data', (c: Buffer) => (body += c.length));
    req.on('end', () => {
      seen.push({ scheme, method: req.method ?? '', url: req.url ?? '', host: req.headers.host, body, headers: req.headers });
      if (req.url?.startsWith('/bytes/')) {
        const n = Number(req.url.slice(7));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(n) });
        res.end(Buffer.alloc(n, 0x61));
        return;
      }
      if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part1-');
        res.end('part2');
        return;
      }
      const text = JSON.stringify({ ok: true, scheme, method: req.method, url: req.url, host: req.headers.host, body });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
    });
  };
  const http = createHttpServer({ keepAlive: true }, handler('http'));
  const leafKeyPem = leafKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const https = createHttpsServer(
    {
      key: leafKeyPem,
      cert: certs.get('api.test'),
      SNICallback: (name, cb) => {
        const cert = certs.get(name);
        if (!cert) return cb(new Error(`no certificate for ${name}`));
        cb(null, createSecureContext({ key: leafKeyPem, cert }));
      },
    },
    handler('https'),
  );
  // A minimal upgrade endpoint: 101 with the Sec-WebSocket-Accept for the key sent, then echo raw
  // bytes (enough to test the relay; no WS framing). /ws-bad-accept answers 101 with a wrong one,
  // as a server that says 101 to anything would.
  for (const srv of [http, https]) {
    srv.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      seen.push({ scheme: srv === http ? 'http' : 'https', method: req.method ?? '', url: req.url ?? '', host: req.headers.host, body: 0, headers: req.headers });
      const key = String(req.headers['sec-websocket-key'] ?? '');
      const accept = createHash('sha1').update(`${req.url === '/ws-bad-accept' ? 'not-' : ''}${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
  }
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  return {
    http,
    https,
    httpPort: (http.address() as AddressInfo).port,
    httpsPort: (https.address() as AddressInfo).port,
    caPem: ca.certPem,
    seen,
    async close() {
      http.closeAllConnections();
      https.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => https.close(r))]);
    },
  };
}


/**
 * Two policies shared by the proxy and sandbox tests, as network_policies entries: `paths` (REST
 * rules on method, path glob and query on localhost) and `audited` (read-only, audit enforcement).
 * No trailing newline.
 */
export function pathsAndAuditedPolicies(o: Origin): string {
  return `  paths:
    endpoints:
      - host: localhost
        port: ${o.httpPort}
        protocol: rest
        allowed_ips: [127.0.0.1]
        rules:
          - allow: { method: GET, path: "/repos/**" }
          - allow: { method: GET, path: "/search", query: { q: "nemo*" } }
    binaries: [{ path: /usr/bin/curl }]
  audited:
    endpoints:
      - { host: audit.test, port: ${o.httpPort}, protocol: rest, access: read-only, enforcement: audit, allowed_ips: [127.0.0.1] }`;
}

export function rulesFrom(yaml: string): EgressRuleSet {
  return compileEgressRules(parsePolicy(`version: 1\n${yaml}`, 'test-policy.yaml'));
}

/**
 * Names that resolve to a private or metadata address in the tests: the SSRF guard must refuse them
 * without dialling (the rebinding case; a rule naming a metadata address itself no longer validates). Tests never dial a literal private IP: since a literal IP host is
 * its own allowed_ips (OpenShell's meaning), a rule naming one would send real traffic off the host.
 */
export const PRIVATE_NAMES: Readonly<Record<string, string[]>> = { 'private.test': ['10.1.2.3'], 'metadata.test': ['169.254.169.254'] };

/** Resolver used by tests: every `.test` name and localhost map to 127.0.0.1 (PRIVATE_NAMES to theirs); records each lookup. */
export function testResolver(lookups: string[], map: Record<string, string[]> = {}): (h: string) => Promise<string[]> {
  return async (host) => {
    lookups.push(host);
    const mapped = map[host] ?? PRIVATE_NAMES[host];
    if (mapped) return mapped;
    if (host.endsWith('.test') || host === 'localhost') return ['127.0.0.1'];
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
}

export interface ProxyFixture {
  dir: string;
  proxy: EgressProxy;
  events: EgressEvent[];
  lookups: string[];
  close(): Promise<void>;
}

export async function startProxy(rules: EgressRuleSet | (() => EgressRuleSet), origin: Origin, extra: Partial<EgressProxyOptions> = {}): Promise<ProxyFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'nc-egress-'));
  // Traversable, so that a sandbox helper can bind the trust bundle under ca/ (the socket's own
  // directory run/ stays 0700).
  chmodSync(dir, 0o755);
  const events: EgressEvent[] = [];
  const lookups: string[] = [];
  const proxy = await startEgressProxy({
    socketPath: join(dir, 'run', 'proxy.sock'),
    sandboxId: 'sb1',
    rules,
    caDir: join(dir, 'ca'),
    upstreamCa: [origin.caPem],
    resolver: testResolver(lookups),
    onEvent: (e) => events.push(e),
    ...extra,
  });
  return {
    dir,
    proxy,
    events,
    lookups,
    async close() {
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Caller {
  exe?: string | null;
  sha256?: string | null;
  pid?: number;
  sandbox?: string;
  /** Offer the handoff of byte relays, as the helper's relay does (native/PROTOCOL.md, "Handoff"). */
  handoff?: boolean;
}

export function preamble(c: Caller = {}): string {
  const exe = c.exe === undefined ? '/usr/bin/curl' : c.exe;
  const sha = c.sha256 === undefined ? (exe ? 'a'.repeat(64) : null) : c.sha256;
  return `NEMOCLAW/1 ${JSON.stringify({ sandbox: c.sandbox ?? 'sb1', pid: c.pid ?? 4242, exe, sha256: sha, uid: 1000, ...(c.handoff ? { handoff: 1 } : {}) })}\n`;
}

/** Connects to the proxy socket as the relay would (preamble first). */
export function connectProxy(socketPath: string, c: Caller = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(socketPath, () => {
      s.write(preamble(c));
      resolve(s);
    });
    s.once('error', reject);
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

export function parseRaw(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  const headText = end < 0 ? raw : raw.slice(0, end);
  const [statusLine = '', ...lines] = headText.split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = end < 0 ? '' : raw.slice(end + 4);
  if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
  return { status: Number(statusLine.split(' ')[1] ?? 0), headers, body, raw };
}

function dechunk(s: string): string {
  let out = '';
  let rest = s;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    if (nl < 0) return out;
    const n = parseInt(rest.slice(0, nl), 16);
    if (!n) return out;
    out += rest.slice(nl + 2, nl + 2 + n);
    rest = rest.slice(nl + 2 + n + 2);
  }
}

/** Sends raw bytes and collects everything until the proxy closes (or `ms` passes). */
export async function rawExchange(socketPath: string, bytes: string | Buffer, c: Caller = {}, ms = 5000): Promise<string> {
  return exchangeOn(await connectProxy(socketPath, c), bytes, { ms });
}

/**
 * Writes bytes on a connected socket and collects everything that comes back until it closes (or
 * `ms` passes). With `halfClose`, ends our side after writing, so the proxy finishes what it read.
 */
export function exchangeOn(s: Socket, bytes: string | Buffer, opts: { ms?: number; halfClose?: boolean } = {}): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, opts.ms ?? 5000);
    s.on('data', (d: Buffer) => (out += d.toString('latin1')));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('error', () => {});
    s.write(bytes);
    if (opts.halfClose) s.end();
  });
}

/** One forward (absolute-form) request; reads one response then closes. */
export async function forward(socketPath: string, url: string, init: { method?: string; body?: string; headers?: Record<string, string>; caller?: Caller } = {}): Promise<RawResponse> {
  const u = new URL(url);
  const body = init.body ?? '';
  const headers = { Host: u.host, Connection: 'close', ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...init.headers };
  const head = `${init.method ?? 'GET'} ${url} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return parseRaw(await rawExchange(socketPath, head + body, init.caller));
}

/** CONNECT; resolves with the status and (when 200) the tunnel socket. */
export async function connectTunnel(socketPath: string, authority: string, c: Caller = {}, hostHeader: string = authority): Promise<{ status: number; response: RawResponse; socket: Socket }> {
  const s = await connectProxy(socketPath, c);
  s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${hostHeader}\r\n\r\n`);
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const r = parseRaw(buf);
      if (r.status === 200) {
        s.off('data', onData);
        s.pause();
        const rest = Buffer.from(buf.slice(end + 4), 'latin1');
        if (rest.length) s.unshift(rest);
        resolve({ status: 200, response: r, socket: s });
        return;
      }
      // wait for the full body on refusals
      const len = Number(r.headers['content-length'] ?? 0);
      if (Buffer.byteLength(r.body, 'latin1') >= len) {
        s.off('data', onData);
        s.destroy();
        resolve({ status: r.status, response: r, socket: s });
      }
    };
    s.on('data', onData);
    s.on('close', () => resolve({ status: parseRaw(buf).status, response: parseRaw(buf), socket: s }));
    s.on('error', () => {});
  });
}

/** HTTPS request through a CONNECT tunnel, trusting `ca` (the proxy's CA for inspected endpoints). */
export async function httpsViaTunnel(
  socketPath: string,
  authority: string,
  servername: string,
  ca: string,
  req: { method?: string; path?: string; body?: string; caller?: Caller; host?: string } = {},
): Promise<RawResponse & { tunnelStatus: number }> {
  const t = await connectTunnel(socketPath, authority, req.caller);
  if (t.status !== 200) return { ...t.response, tunnelStatus: t.status };
  const tlsSock: TLSSocket = tlsConnect({ socket: t.socket, servername, ca: [ca] });
  return new Promise((resolve, reject) => {
    let out = '';
    tlsSock.on('secureConnect', () => {
      const body = req.body ?? '';
      tlsSock.write(
        `${req.method ?? 'GET'} ${req.path ?? '/'} HTTP/1.1\r\nHost: ${req.host ?? authority}\r\nConnection: close\r\n${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`,
      );
    });
    tlsSock.on('data', (d: Buffer) => (out += d.toString('latin1')));
    tlsSock.on('end', () => resolve({ ...parseRaw(out), tunnelStatus: 200 }));
    tlsSock.on('close', () => resolve({ ...parseRaw(out), tunnelStatus: 200 }));
    tlsSock.on('error', reject);
  });
}

export interface SandboxRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface SandboxRunOptions {
  /** The helper binary (default native/build/nemoclaw-sandbox). */
  helper?: string;
  sandboxId?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  onStdout?: (all: string) => void;
  ro?: string[];
  rw?: string[];
}

/**
 * Runs `sh -c script` in a real sandbox whose only way out is the relay to this fixture's proxy:
 * the system directories read-only, the proxy's trust bundle and proxy environment, nothing else.
 */
export function runInSandbox(fx: ProxyFixture, script: string, opts: SandboxRunOptions = {}): Promise<SandboxRun> {
  // These tests send requests for literal loopback origins (the fixture's) through the proxy, to
  // exercise its address guard: the proxy decides them only when NO_PROXY does not exempt the
  // sandbox's own loopback, as a real sandbox's does (test/supervisor/loopback.test.ts covers that).
  const env = { ...proxyEnvironment(fx.proxy.caBundlePath), NO_PROXY: '', no_proxy: '', PATH: '/usr/bin:/bin', HOME: '/home/sandbox', ...opts.env };
  const args = ['--ro', '/usr', '--ro', '/lib', '--ro', '/lib64', '--ro', '/bin', '--ro', '/etc', '--ro', fx.proxy.caBundlePath];
  for (const path of opts.ro ?? []) args.push('--ro', path);
  for (const path of opts.rw ?? []) args.push('--rw', path);
  args.push('--proxy-socket', fx.proxy.socketPath, '--sandbox-id', opts.sandboxId ?? 'sb1', '--wall-time', String(opts.timeoutMs ?? 25_000));
  for (const [k, v] of Object.entries(env)) args.push('--env', `${k}=${v}`);
  args.push('--', '/bin/sh', '-c', script);
  return new Promise((done, fail) => {
    const child = spawn(opts.helper ?? HELPER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(stdout);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
