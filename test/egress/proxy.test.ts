// The egress proxy driven directly over its unix socket by a client that writes the relay
// preamble itself (what the helper's relay does in a real sandbox). Origins run on 127.0.0.1;
// test names (*.test) resolve to 127.0.0.1 through an injected resolver that records lookups.
import { readFileSync, statSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalQueue } from '../../src/approvals/index.ts';
import { connectProxy, connectTunnel, forward, httpsViaTunnel, parseRaw, pathsAndAuditedPolicies, rawExchange, rulesFrom, startOrigins, startProxy } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Origin, ProxyFixture } from './harness.ts';

let origin: Origin;
beforeAll(async () => {
  origin = await startOrigins();
});
afterAll(async () => {
  await origin.close();
});

function policy(o: Origin): string {
  return `
network_policies:
  api_l4:
    endpoints:
      - { host: api.test, port: ${o.httpPort}, allowed_ips: [127.0.0.1] }
      - { host: api.test, port: ${o.httpsPort}, allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }]
  wild:
    endpoints:
      - { host: "*.wild.test", port: ${o.httpsPort}, allowed_ips: [127.0.0.1] }
      - { host: "**.wild.test", port: ${o.httpPort}, allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }]
  ro:
    endpoints:
      - { host: other.test, port: ${o.httpsPort}, protocol: rest, access: read-only, allowed_ips: [127.0.0.1] }
      - { host: other.test, port: ${o.httpPort}, protocol: rest, access: read-only, allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }, { path: /usr/bin/python3* }]
${pathsAndAuditedPolicies(o)}
  no_ips:
    endpoints:
      - { host: internal.test, port: ${o.httpPort} }
      - { host: 127.0.0.1, port: ${o.httpPort} }
      - { host: metadata.test, port: 80 }
      - { host: private.test, port: 80 }
    binaries: [{ path: /usr/bin/curl }]
  ip_ok:
    endpoints:
      - { host: 127.0.0.1, port: ${o.httpsPort}, allowed_ips: [127.0.0.0/8] }
    binaries: [{ path: /usr/bin/curl }]
`;
}

describe('egress proxy over its unix socket (direct client, no sandbox)', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxy(rulesFrom(policy(origin)), origin);
  });
  afterAll(async () => {
    await fx.close();
  });

  it('serves its socket with mode 0600 inside a 0700 directory', () => {
    expect(statSync(fx.proxy.socketPath).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(fx.proxy.socketPath)).mode & 0o777).toBe(0o700);
    expect(statSync(fx.proxy.caCertPath).mode & 0o777).toBe(0o644);
    expect(statSync(`${dirname(fx.proxy.caCertPath)}/ca-key.pem`).mode & 0o777).toBe(0o600);
  });

  it('forwards an allowed absolute-form request', async () => {
    const r = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/hello?x=1`);
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { url: string; host: string };
    expect(body.url).toBe('/hello?x=1');
    expect(body.host).toBe(`api.test:${origin.httpPort}`);
  });

  it('denies by host with the 403 JSON body, before any DNS lookup', async () => {
    const before = fx.lookups.length;
    const r = await forward(fx.proxy.socketPath, `http://secret-data.evil.test:${origin.httpPort}/`);
    expect(r.status).toBe(403);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'policy_denied', host: 'secret-data.evil.test', port: origin.httpPort, binary: '/usr/bin/curl', method: 'GET', path: '/' });
    expect(typeof body.rule_missing).toBe('string');
    expect(String(body.hint)).toMatch(/^nemoclaw policy add /);
    expect(fx.lookups.slice(before)).toEqual([]);
  });

  it("the 403 hint is safe to paste: a workload's own executable path is one quoted shell word", async () => {
    const exe = "/tmp/x;touch pwned'$(id)";
    const r = await forward(fx.proxy.socketPath, `http://nowhere.test:${origin.httpPort}/`, { caller: { exe } });
    expect(r.status).toBe(403);
    const hint = (JSON.parse(r.body) as { hint: string }).hint;
    expect(hint).toContain(`--binary '/tmp/x;touch pwned'\\''$(id)'`);
    // The shell reads it back as exactly that path.
    const { execFileSync } = await import('node:child_process');
    const words = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${hint.slice(hint.indexOf('--binary ') + '--binary '.length)}`], { encoding: 'utf8' }).split('\n');
    expect(words[0]).toBe(exe);
  });

  it('denies by port and by binary', async () => {
    const wrongPort = await connectTunnel(fx.proxy.socketPath, 'api.test:4444');
    expect(wrongPort.status).toBe(403);
    const wrongBin = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/`, { caller: { exe: '/usr/bin/wget' } });
    expect(wrongBin.status).toBe(403);
    expect(JSON.parse(wrongBin.body)).toMatchObject({ binary: '/usr/bin/wget' });
    const unknown = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/`, { caller: { exe: null, pid: 0 } });
    expect(unknown.status).toBe(403);
    expect(JSON.parse(unknown.body)).toMatchObject({ binary: null });
  });

  it('relays CONNECT for an L4 endpoint and TLS to the origin works end to end', async () => {
    const r = await httpsViaTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`, 'api.test', origin.caPem);
    expect(r.tunnelStatus).toBe(200);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ scheme: 'https', method: 'GET' });
  });

  it('matches wildcard hosts: *.x one label, **.x one or more', async () => {
    expect((await connectTunnel(fx.proxy.socketPath, `a.wild.test:${origin.httpsPort}`)).status).toBe(200);
    expect((await connectTunnel(fx.proxy.socketPath, `b.c.wild.test:${origin.httpsPort}`)).status).toBe(403);
    expect((await forward(fx.proxy.socketPath, `http://b.c.wild.test:${origin.httpPort}/`)).status).toBe(200);
    expect((await forward(fx.proxy.socketPath, `http://wild.test:${origin.httpPort}/`)).status).toBe(403);
  });

  it('L7 read-only over HTTPS: GET passes, POST is refused with 403 inside the tunnel', async () => {
    const get = await httpsViaTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`, 'other.test', readFileCa(fx));
    expect(get.status).toBe(200);
    const seenBefore = origin.seen.length;
    const post = await httpsViaTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`, 'other.test', readFileCa(fx), { method: 'POST', path: '/upload', body: 'secret' });
    expect(post.tunnelStatus).toBe(200);
    expect(post.status).toBe(403);
    expect(JSON.parse(post.body)).toMatchObject({ error: 'policy_denied', method: 'POST', path: '/upload', host: 'other.test' });
    expect(origin.seen.slice(seenBefore).some((s) => s.method === 'POST')).toBe(false);
  });

  it('L7 read-only over plain HTTP forward', async () => {
    expect((await forward(fx.proxy.socketPath, `http://other.test:${origin.httpPort}/x`)).status).toBe(200);
    expect((await forward(fx.proxy.socketPath, `http://other.test:${origin.httpPort}/x`, { method: 'DELETE' })).status).toBe(403);
  });

  it('inspected TLS presents a leaf from the sandbox CA and refuses an SNI that differs from the CONNECT target', async () => {
    const t = await connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
    expect(t.status).toBe(200);
    const { connect } = await import('node:tls');
    const err = await new Promise<Error | null>((resolve) => {
      const s = connect({ socket: t.socket, servername: 'api.test', ca: [readFileCa(fx)] });
      s.on('secureConnect', () => resolve(null));
      s.on('error', (e) => resolve(e));
    });
    expect(err).not.toBeNull();
    expect(fx.events.some((e) => e.reason.includes('SNI'))).toBe(true);
  });

  it('path and query rules', async () => {
    const base = `http://localhost:${origin.httpPort}`;
    expect((await forward(fx.proxy.socketPath, `${base}/repos/a/b`)).status).toBe(200);
    expect((await forward(fx.proxy.socketPath, `${base}/users/a`)).status).toBe(403);
    expect((await forward(fx.proxy.socketPath, `${base}/search?q=nemoclaw`)).status).toBe(200);
    expect((await forward(fx.proxy.socketPath, `${base}/search?q=other`)).status).toBe(403);
    expect((await forward(fx.proxy.socketPath, `${base}/search?q=nemoclaw&q=evil`)).status).toBe(403);
    expect((await forward(fx.proxy.socketPath, `${base}/repos/../users/a`)).status).toBe(403);
  });

  it('audit mode lets a violation through and records it', async () => {
    const r = await forward(fx.proxy.socketPath, `http://audit.test:${origin.httpPort}/x`, { method: 'POST', body: 'x' });
    expect(r.status).toBe(200);
    expect(fx.events.some((e) => e.type === 'egress_audit' && e.host === 'audit.test' && e.method === 'POST')).toBe(true);
  });

  it('SSRF: loopback, private and metadata addresses are refused without allowed_ips', async () => {
    for (const target of [`127.0.0.1:${origin.httpPort}`, 'metadata.test:80', 'private.test:80', `internal.test:${origin.httpPort}`]) {
      const t = await connectTunnel(fx.proxy.socketPath, target);
      expect(t.status, target).toBe(403);
      expect(JSON.parse(t.response.body).rule_missing, target).toMatch(/allowed_ips/);
    }
  });

  it('SSRF: allowed_ips admits the listed range, and every spelling of it', async () => {
    for (const spelling of ['127.0.0.1', '127.1', '0x7f.0.0.1', '2130706433', '017700000001', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]']) {
      const t = await connectTunnel(fx.proxy.socketPath, `${spelling}:${origin.httpsPort}`);
      expect(t.status, spelling).toBe(200);
      t.socket.destroy();
    }
  });

  it('alternate spellings of an allowed name reach the same decision', async () => {
    for (const spelling of ['API.TEST', 'api.test.', 'Api.Test.']) {
      const r = await connectTunnel(fx.proxy.socketPath, `${spelling}:${origin.httpsPort}`);
      expect(r.status, spelling).toBe(200);
      r.socket.destroy();
    }
  });

  it('rejects malformed hosts: NUL, userinfo, percent-encoding, over-long labels', async () => {
    const bad = [
      `CONNECT api.test%00.evil.test:443 HTTP/1.1\r\nHost: x\r\n\r\n`,
      `CONNECT api.test@evil.test:443 HTTP/1.1\r\nHost: api.test@evil.test:443\r\n\r\n`,
      `GET http://api.test@evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n`,
      `GET http://%61pi.test/ HTTP/1.1\r\nHost: %61pi.test\r\n\r\n`,
      `CONNECT ${'a'.repeat(64)}.test:443 HTTP/1.1\r\nHost: ${'a'.repeat(64)}.test:443\r\n\r\n`,
    ];
    for (const b of bad) {
      const r = parseRaw(await rawExchange(fx.proxy.socketPath, b));
      expect(r.status, b).toBe(400);
    }
    const nul = parseRaw(await rawExchange(fx.proxy.socketPath, Buffer.from(`CONNECT evil.test\0.api.test:${origin.httpsPort} HTTP/1.1\r\nHost: x\r\n\r\n`, 'latin1')));
    expect(nul.status).toBe(400);
  });

  it('rejects an absolute-form request whose Host header names another host', async () => {
    const r = parseRaw(await rawExchange(fx.proxy.socketPath, `GET http://api.test:${origin.httpPort}/ HTTP/1.1\r\nHost: evil.test\r\n\r\n`));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'host_mismatch' });
    const c = await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`, {}, 'evil.test:443');
    expect(c.status).toBe(400);
  });

  it('parser differentials are refused, and nothing reaches the origin', async () => {
    const u = `http://api.test:${origin.httpPort}`;
    const h = `api.test:${origin.httpPort}`;
    // [request, the exact answer]: a 502 (or any other status) would mean it was not refused as malformed
    const cases: Array<[string, number]> = [
      [`GET ${u}/ HTTP/1.1\r\nHost: ${h}\r\nX-A: 1\r\n folded\r\n\r\n`, 400], // obs-fold
      [`GET ${u}/ HTTP/1.1\r\nHost: ${h}\r\nHost: evil.test\r\n\r\n`, 400], // duplicate Host
      [`POST ${u}/ HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc`, 400], // dup CL
      [`POST ${u}/ HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400], // CL+TE
      [`POST ${u}/ HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, 501], // other coding
      [`GET ${u}/ HTTP/1.1\nHost: ${h}\n\n`, 400], // bare LF
      [`GET ${u}/ HTTP/1.1\r\nHost: ${h}\rX: y\r\n\r\n`, 400], // bare CR
      [`GET ${u}/ HTTP/1.1\r\nHost : ${h}\r\n\r\n`, 400], // space before colon
      [`GET ${u}/ x HTTP/1.1\r\nHost: ${h}\r\n\r\n`, 400], // space in target
      [`GET ${u}/ HTTP/2.0\r\nHost: ${h}\r\n\r\n`, 505],
      [`GET ${u}/ HTTP/1.1\r\nHost: ${h}\r\nX: ${'a'.repeat(20000)}\r\n\r\n`, 431], // over-long head
      [`POST ${u}/ HTTP/1.1\r\nHost: ${h}\r\nContent-Length: +3\r\n\r\nabc`, 400],
      [`POST ${u}/ HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n`, 400], // bad chunk size
    ];
    const before = origin.seen.length;
    for (const [c, status] of cases) {
      const r = parseRaw(await rawExchange(fx.proxy.socketPath, c));
      expect(r.status, JSON.stringify(c.slice(0, 80))).toBe(status);
    }
    expect(origin.seen.length).toBe(before);
  });

  it('keep-alive and pipelining: three pipelined requests get three responses in order', async () => {
    const h = `api.test:${origin.httpPort}`;
    const one = (p: string, close = false) => `GET http://${h}${p} HTTP/1.1\r\nHost: ${h}\r\n${close ? 'Connection: close\r\n' : ''}\r\n`;
    const post = `POST http://${h}/p2 HTTP/1.1\r\nHost: ${h}\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`;
    const raw = await rawExchange(fx.proxy.socketPath, one('/p1') + post + one('/p3', true));
    const urls = [...raw.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
    expect(urls).toEqual(['/p1', '/p2', '/p3']);
    expect(raw).toContain('"body":4');
  });

  it('streams chunked responses back with valid framing', async () => {
    const r = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/chunked`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('part1-part2');
  });

  it('origin-form requests to the proxy and https absolute-form are refused', async () => {
    expect(parseRaw(await rawExchange(fx.proxy.socketPath, `GET / HTTP/1.1\r\nHost: api.test\r\n\r\n`)).status).toBe(400);
    expect(parseRaw(await rawExchange(fx.proxy.socketPath, `GET https://api.test/ HTTP/1.1\r\nHost: api.test\r\n\r\n`)).status).toBe(400);
  });

  it('inference.local answers 503 with a clear message until a router is configured, then routes', async () => {
    const r = await forward(fx.proxy.socketPath, 'http://inference.local/v1/models');
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'inference_unavailable' });
    fx.proxy.setInferenceRouter({
      async handle(req, res) {
        let n = 0;
        for await (const c of req.body) n += (c as Buffer).length;
        res.writeHead(200, { 'content-type': 'application/json' });
        await res.end(JSON.stringify({ routed: true, url: req.url, n, binary: req.binary }));
      },
    });
    const r2 = await forward(fx.proxy.socketPath, 'http://inference.local/v1/chat/completions', { method: 'POST', body: '{"a":1}' });
    expect(r2.status).toBe(200);
    expect(JSON.parse(r2.body)).toEqual({ routed: true, url: '/v1/chat/completions', n: 7, binary: '/usr/bin/curl' });
    // A replaced binary reaches neither the policy nor the router.
    const replaced = await forward(fx.proxy.socketPath, 'http://inference.local/v1/models', { caller: { exe: '/usr/bin/curl', sha256: 'e'.repeat(64) } });
    expect(replaced.status).toBe(403);
    expect(JSON.parse(replaced.body)).toMatchObject({ error: 'binary_replaced' });
    fx.proxy.setInferenceRouter(undefined);
  });

  it('CONNECT inside an inspected tunnel is refused; loopback CONNECTs: no rule -> policy 403, a rule without allowed_ips -> SSRF 403', async () => {
    const r = await httpsViaTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`, 'other.test', readFileCa(fx), { method: 'CONNECT', path: 'evil.test:443' });
    expect(r.status).toBe(400);
    const v6 = await connectTunnel(fx.proxy.socketPath, '[::1]:3128');
    expect(v6.status).toBe(403);
    expect(JSON.parse(v6.response.body)).toMatchObject({ error: 'policy_denied', host: '::1', port: 3128 });
    const self = await connectTunnel(fx.proxy.socketPath, '127.0.0.1:3128');
    expect(self.status).toBe(403);
    expect(JSON.parse(self.response.body)).toMatchObject({ error: 'policy_denied', host: '127.0.0.1', port: 3128, rule_missing: 'an endpoint 127.0.0.1:3128 for binary /usr/bin/curl' });
    // A rule names 127.0.0.1 on the origin's port, but without allowed_ips the SSRF guard still refuses it.
    const guarded = await connectTunnel(fx.proxy.socketPath, `127.0.0.1:${origin.httpPort}`);
    expect(guarded.status).toBe(403);
    expect(JSON.parse(guarded.response.body)).toMatchObject({ error: 'policy_denied', rule_missing: expect.stringMatching(/^allowed_ips covering 127\.0\.0\.1/) });
  });

  it('a preamble for another sandbox (cross-sandbox use of the socket) is refused and reported', async () => {
    const r = parseRaw(await rawExchange(fx.proxy.socketPath, `GET http://api.test:${origin.httpPort}/ HTTP/1.1\r\nHost: api.test\r\n\r\n`, { sandbox: 'sb2' }));
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body)).toMatchObject({ error: 'proxy_refused' });
    expect(fx.events.some((e) => e.type === 'preamble_rejected')).toBe(true);
    const s = await import('node:net').then((n) => n.connect(fx.proxy.socketPath));
    const out = await new Promise<string>((resolve) => {
      let d = '';
      s.on('data', (b: Buffer) => (d += b.toString()));
      s.on('close', () => resolve(d));
      s.write(`CONNECT api.test:${origin.httpsPort} HTTP/1.1\r\nHost: api.test\r\n\r\n`);
    });
    expect(parseRaw(out).status).toBe(403);
  });

  it('a tunnel delivers every byte, in order, when the upstream closes right after its last write (5 rounds x 8 MiB, some with a slow reader)', async () => {
    const { createServer } = await import('node:net');
    const { createHash, randomBytes } = await import('node:crypto');
    const size = 8 * 1024 * 1024;
    const data = randomBytes(size);
    const want = createHash('sha256').update(data).digest('hex');
    const src = createServer((s) => s.end(data));
    await new Promise<void>((r) => src.listen(0, '127.0.0.1', () => r()));
    const port = (src.address() as AddressInfo).port;
    const fx2 = await startProxy(rulesFrom(`network_policies:\n  src:\n    endpoints: [{ host: 127.0.0.1, port: ${port}, allowed_ips: [127.0.0.1] }]\n`), origin);
    try {
      for (let i = 0; i < 5; i++) {
        const t = await connectTunnel(fx2.proxy.socketPath, `127.0.0.1:${port}`);
        expect(t.status).toBe(200);
        const slow = i % 2 === 1;
        const [n, digest] = await new Promise<[number, string]>((resolve) => {
          let got = 0;
          const h = createHash('sha256');
          t.socket.on('data', (d: Buffer) => {
            got += d.length;
            h.update(d);
            if (slow) {
              t.socket.pause();
              setTimeout(() => t.socket.resume(), 1);
            }
          });
          t.socket.on('end', () => resolve([got, h.digest('hex')]));
          t.socket.resume();
        });
        expect(n).toBe(size);
        expect(digest).toBe(want);
        t.socket.destroy();
      }
    } finally {
      await fx2.close();
      src.close();
    }
  });

  it('server-first protocols: bytes the upstream sends before the tunnel is up arrive after the 200, then the relay echoes', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer((s) => {
      s.write('BANNER ready\r\n');
      s.pipe(s);
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as AddressInfo).port;
    const fx2 = await startProxy(rulesFrom(`network_policies:\n  smtp:\n    endpoints: [{ host: 127.0.0.1, port: ${port}, allowed_ips: [127.0.0.1] }]\n`), origin);
    try {
      const t = await connectTunnel(fx2.proxy.socketPath, `127.0.0.1:${port}`);
      expect(t.status).toBe(200);
      const got = await new Promise<string>((resolve) => {
        let text = '';
        t.socket.on('data', (d: Buffer) => {
          text += d.toString();
          if (text === 'BANNER ready\r\n') t.socket.write('EHLO x\r\n');
          if (text.endsWith('EHLO x\r\n')) resolve(text);
        });
        t.socket.resume();
      });
      expect(got).toBe('BANNER ready\r\nEHLO x\r\n');
      t.socket.destroy();
    } finally {
      await fx2.close();
      srv.close();
    }
  });

  it('WebSocket upgrades pass through forward and inspected sessions after the policy allows the GET', async () => {
    const up = (host: string) => `GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    const echoOver = (s: Duplex, request: string) =>
      new Promise<string>((resolve) => {
        let text = '';
        s.on('data', (d: Buffer) => {
          text += d.toString('latin1');
          if (text.includes('\r\n\r\n') && !text.includes('hello-ws')) s.write('hello-ws');
          if (text.endsWith('hello-ws')) resolve(text);
        });
        s.write(request);
      });
    // forward (absolute-form) to an L7 read-only endpoint
    const s1 = await connectProxy(fx.proxy.socketPath);
    const h = `other.test:${origin.httpPort}`;
    const t1 = await echoOver(s1, up(h).replace('GET /ws', `GET http://${h}/ws`));
    expect(t1).toMatch(/^HTTP\/1\.1 101 /);
    s1.destroy();
    // inspected HTTPS
    const t = await connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
    const { connect } = await import('node:tls');
    const s2 = connect({ socket: t.socket, servername: 'other.test', ca: [readFileCa(fx)] });
    await new Promise<void>((r) => s2.once('secureConnect', () => r()));
    const t2 = await echoOver(s2, up(`other.test:${origin.httpsPort}`));
    expect(t2).toMatch(/^HTTP\/1\.1 101 /);
    s2.destroy();
    expect(origin.seen.filter((x) => x.url === '/ws')).toHaveLength(2);
  });

  it('pins binaries on first use; a replaced binary is denied and reported', async () => {
    const exe = '/usr/bin/curl';
    const ok = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/`, { caller: { exe, sha256: 'a'.repeat(64) } });
    expect(ok.status).toBe(200);
    const replaced = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/`, { caller: { exe, sha256: 'b'.repeat(64) } });
    expect(replaced.status).toBe(403);
    expect(JSON.parse(replaced.body)).toMatchObject({ error: 'binary_replaced' });
    expect(fx.events.some((e) => e.type === 'binary_replaced')).toBe(true);
    expect(fx.proxy.pins().get(exe)).toBe('a'.repeat(64));
  });
});

function readFileCa(fx: ProxyFixture): string {
  return readFileSync(fx.proxy.caCertPath, 'utf8');
}

describe('upstream TLS verification', () => {
  it('an inspected request to an origin whose certificate is not trusted fails with 502, not a silent downgrade', async () => {
    const fx = await startProxy(rulesFrom(policy(origin)), origin, { upstreamCa: [] });
    try {
      const before = origin.seen.length;
      const r = await httpsViaTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`, 'other.test', readFileCa(fx));
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'upstream_error' });
      expect(JSON.parse(r.body).reason).toMatch(/CERT|certificate|SELF_SIGNED|UNABLE/i);
      expect(origin.seen.length).toBe(before);
    } finally {
      await fx.close();
    }
  });
});

describe('hot reload', () => {
  it('closes a tunnel whose allowing rule disappeared and keeps the others', async () => {
    let current = rulesFrom(policy(origin));
    const fx = await startProxy(() => current, origin);
    try {
      const keep = await connectTunnel(fx.proxy.socketPath, `a.wild.test:${origin.httpsPort}`);
      const drop = await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`);
      expect(keep.status).toBe(200);
      expect(drop.status).toBe(200);
      const dropped = new Promise<void>((r) => drop.socket.once('close', () => r()));
      current = rulesFrom(policy(origin).replace(/ {2}api_l4:[\s\S]*?(?= {2}wild:)/, ''));
      expect(fx.proxy.reload()).toBe(1);
      await dropped;
      expect(keep.socket.destroyed).toBe(false);
      expect((await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`)).status).toBe(403);
      keep.socket.destroy();
    } finally {
      await fx.close();
    }
  });
});

describe('hot reload of inspected sessions', () => {
  it('closes an inspected TLS session whose endpoint disappeared (kept sessions: test/egress/reload.test.ts)', async () => {
    let current = rulesFrom(policy(origin));
    const fx = await startProxy(() => current, origin);
    try {
      const t = await connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      expect(t.status).toBe(200);
      const { connect } = await import('node:tls');
      const s = connect({ socket: t.socket, servername: 'other.test', ca: [readFileCa(fx)] });
      await new Promise<void>((r) => s.once('secureConnect', () => r()));
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      current = rulesFrom(policy(origin).replace(/ {2}ro:[\s\S]*?(?= {2}paths:)/, ''));
      expect(fx.proxy.reload()).toBe(1);
      await closed;
      expect(fx.events.some((e) => e.type === 'egress_closed_by_reload' && e.host === 'other.test')).toBe(true);
    } finally {
      await fx.close();
    }
  });
});

describe('binary pins across a proxy restart', () => {
  it('pins handed in at start are enforced (a replaced binary stays denied after a restart)', async () => {
    const fx = await startProxy(rulesFrom(policy(origin)), origin, { pins: { '/usr/bin/curl': 'c'.repeat(64) } });
    try {
      const r = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/`);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body)).toMatchObject({ error: 'binary_replaced' });
      const ok = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/`, { caller: { sha256: 'c'.repeat(64) } });
      expect(ok.status).toBe(200);
    } finally {
      await fx.close();
    }
  });

  it('onPin reports each new pin once; unpin(path) forgets it, so the next use pins the binary there now; the 403 names the unpin command', async () => {
    const seen: Array<[string, string]> = [];
    const fx = await startProxy(rulesFrom(policy(origin)), origin, { pins: { '/usr/bin/curl': 'c'.repeat(64) }, onPin: (exe, sha) => seen.push([exe, sha]) });
    try {
      const url = `http://api.test:${origin.httpPort}/`;
      const denied = await forward(fx.proxy.socketPath, url, { caller: { sha256: 'd'.repeat(64) } });
      expect(denied.status).toBe(403);
      expect(JSON.parse(denied.body)).toMatchObject({ error: 'binary_replaced', hint: 'nemoclaw sb1 unpin /usr/bin/curl' });
      expect(fx.events.find((e) => e.type === 'binary_replaced')?.reason).toMatch(/nemoclaw sb1 unpin \/usr\/bin\/curl$/);
      expect(seen).toEqual([]);
      expect(fx.proxy.unpin('/usr/bin/nothing')).toEqual([]);
      expect(fx.proxy.unpin('/usr/bin/curl')).toEqual(['/usr/bin/curl']);
      expect((await forward(fx.proxy.socketPath, url, { caller: { sha256: 'd'.repeat(64) } })).status).toBe(200);
      expect((await forward(fx.proxy.socketPath, url, { caller: { sha256: 'd'.repeat(64) } })).status).toBe(200);
      expect(seen).toEqual([['/usr/bin/curl', 'd'.repeat(64)]]);
      expect(fx.proxy.unpin()).toEqual(['/usr/bin/curl']);
      expect(fx.proxy.pins().size).toBe(0);
    } finally {
      await fx.close();
    }
  });
});

describe('ask without an approval queue', () => {
  it('fails closed: 403 with the reason saying no queue is attached', async () => {
    const fx = await startProxy(rulesFrom('approvals: { unmatched_egress: ask }\n'), origin);
    try {
      const r = await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.response.body).reason).toMatch(/no approval queue/);
    } finally {
      await fx.close();
    }
  });
});

describe('approvals for unmatched egress (ask)', () => {
  const askPolicy = (o: Origin) => `
approvals: { unmatched_egress: ask, timeout: 2s }
network_policies:
  base:
    endpoints:
      - { host: other.test, port: ${o.httpPort}, protocol: rest, rules: [{ allow: { method: GET, path: /ok } }], allowed_ips: [127.0.0.1] }
`;
  it('waits for the operator: allow -> passes, deny -> 403, timeout -> 403; identical requests share one item', async () => {
    const queue = new ApprovalQueue();
    const fx = await startProxy(rulesFrom(askPolicy(origin)), origin, { approvals: queue });
    try {
      // allow (an L7 ask: approvals never widen the SSRF guard, so the host's endpoint lists 127.0.0.1)
      const p1 = forward(fx.proxy.socketPath, `http://other.test:${origin.httpPort}/a`);
      const p2 = forward(fx.proxy.socketPath, `http://other.test:${origin.httpPort}/a`);
      await waitFor(() => queue.list().length === 1 && (queue.list()[0]?.count ?? 0) === 2, 'one pending item asked twice');
      const item = queue.list()[0];
      expect(item).toMatchObject({ kind: 'egress', sandbox: 'sb1', host: 'other.test', port: origin.httpPort, method: 'GET', path: '/a', binary: '/usr/bin/curl' });
      await queue.decide(item?.id ?? '', { verdict: 'allow', always: false, by: { user: 'tester', origin: 'test' } });
      expect((await p1).status).toBe(200);
      expect((await p2).status).toBe(200);
      // deny
      const p3 = connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      await waitFor(() => queue.list().length === 1, 'one pending item');
      await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: false, by: { user: 'tester', origin: 'test' } });
      const denied = await p3;
      expect(denied.status).toBe(403);
      expect(JSON.parse(denied.response.body).reason).toMatch(/denied by tester/);
      // timeout (2s from the policy)
      const p4 = await connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      expect(p4.status).toBe(403);
      expect(JSON.parse(p4.response.body).reason).toMatch(/timeout/);
    } finally {
      queue.close();
      await fx.close();
    }
  });

  it('close() of the queue fails pending connections closed', async () => {
    const queue = new ApprovalQueue();
    const fx = await startProxy(rulesFrom(askPolicy(origin)), origin, { approvals: queue });
    try {
      const p = connectTunnel(fx.proxy.socketPath, `other.test:${origin.httpsPort}`);
      await waitFor(() => queue.list().length === 1, 'one pending item');
      queue.close();
      expect((await p).status).toBe(403);
    } finally {
      await fx.close();
    }
  });
});

describe('audit sink', () => {
  it('writes denials and approvals into the real hash-chained audit log, which then verifies', async () => {
    const { openAuditLog, verifyAudit } = await import('../../src/audit/index.ts');
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const home = mkdtempSync(join(tmpdir(), 'nc-egress-audit-'));
    const log = await openAuditLog({ home, aggregateDenials: false, heartbeatMs: 0 });
    const fx = await startProxy(rulesFrom(policy(origin)), origin, { audit: log });
    try {
      expect((await forward(fx.proxy.socketPath, `http://denied.test:${origin.httpPort}/secret?token=abc`)).status).toBe(403);
      expect((await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/ok`)).status).toBe(200);
    } finally {
      await fx.close();
      await log.close();
    }
    const texts: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else texts.push(readFileSync(join(d, e.name), 'latin1'));
      }
    };
    walk(home);
    const all = texts.join('\n');
    expect(all).toContain('denied.test:');
    expect(all).toContain('egress.denied');
    expect(all).not.toContain('token=abc');
    expect((await verifyAudit({ home })).status).toEqual({ kind: 'ok' });
    rmSync(home, { recursive: true, force: true });
  });
});

// The handoff protocol as the helper's relay speaks it: preamble with handoff:1, the first head
// alone, then one control line from the proxy before anything else (native/PROTOCOL.md, "Handoff").
describe('handoff of byte relays to the helper (the proxy side of the protocol)', () => {
  let fx: ProxyFixture;
  beforeAll(async () => {
    fx = await startProxy(rulesFrom(policy(origin)), origin);
  });
  afterAll(async () => {
    await fx.close();
  });

  /** Connects as a handoff-capable relay, sends one head, returns the socket and a reader of what comes back. */
  async function asRelay(head: string): Promise<{ s: Socket; next: (bytes: number) => Promise<string>; peek: () => string; closed: Promise<void> }> {
    const s = await connectProxy(fx.proxy.socketPath, { handoff: true });
    let buf = '';
    let wake: (() => void) | null = null;
    const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      wake?.();
    });
    s.on('close', () => wake?.());
    s.on('error', () => {});
    s.write(head);
    const next = async (bytes: number): Promise<string> => {
      const until = Date.now() + 5000;
      while (buf.length < bytes && !s.destroyed && Date.now() < until) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50)));
      const out = buf.slice(0, bytes);
      buf = buf.slice(out.length);
      return out;
    };
    return { s, next, peek: () => buf, closed };
  }
  const connectHead = (authority: string) => `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`;

  it('an allowed byte relay gets DIAL with the checked address and nothing else; UP then DONE is reported with the byte counts', async () => {
    const r = await asRelay(connectHead(`api.test:${origin.httpPort}`));
    const dial = `DIAL 127.0.0.1 ${origin.httpPort}\n`;
    expect(await r.next(dial.length)).toBe(dial);
    r.s.write('UP\n');
    expect(fx.proxy.connections()).toBeGreaterThan(0); // the lifeline stays open while the tunnel runs
    r.s.write('DONE 123 4567\n');
    await r.closed;
    expect(await r.next(1)).toBe('');
    const closedEv = fx.events.find((e) => e.type === 'egress_tunnel_closed' && e.port === origin.httpPort);
    expect(closedEv).toMatchObject({ host: 'api.test', address: '127.0.0.1', binary: '/usr/bin/curl', bytes: { up: 123, down: 4567, relay: 'helper' } });
  });

  it('a failed dial (FAIL errno) becomes the 502 JSON answer, after which the proxy closes', async () => {
    const r = await asRelay(connectHead(`api.test:${origin.httpsPort}`));
    expect(await r.next(5)).toBe('DIAL ');
    await r.next(`127.0.0.1 ${origin.httpsPort}\n`.length);
    r.s.write('FAIL 111\n');
    await r.closed;
    const res = parseRaw(await r.next(10_000));
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'upstream_connect_failed', host: 'api.test', reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('refusals, SSRF, inspected tunnels and plain requests are PASS first, then the usual answer; DIAL is never offered for them', async () => {
    const cases: Array<[string, RegExp]> = [
      [connectHead(`evil.test:${origin.httpPort}`), /^PASS\nHTTP\/1\.1 403 /],
      [connectHead('169.254.169.254:80'), /^PASS\nHTTP\/1\.1 403 /],
      [connectHead(`127.0.0.1:${origin.httpPort}`), /^PASS\nHTTP\/1\.1 403 /],
      [connectHead(`other.test:${origin.httpsPort}`), /^PASS\nHTTP\/1\.1 200 Connection Established\r\n\r\n$/],
      [`GET http://api.test:${origin.httpPort}/x HTTP/1.1\r\nHost: api.test:${origin.httpPort}\r\nConnection: close\r\n\r\n`, /^PASS\nHTTP\/1\.1 200 [\s\S]*"url":"\/x"/],
      ['GET /no-absolute-form HTTP/1.1\r\nHost: api.test\r\n\r\n', /^PASS\nHTTP\/1\.1 400 /],
      ['CONNECT api.test HTTP/1.1\nHost: api.test\n\n', /^PASS\nHTTP\/1\.1 400 /],
    ];
    for (const [head, want] of cases) {
      const r = await asRelay(head);
      const got = await waitFor(() => (want.test(r.peek()) ? r.peek() : null), () => `${JSON.stringify(head)} answered ${JSON.stringify(r.peek())}, not ${want}`);
      r.s.destroy();
      expect(got).not.toContain('DIAL');
    }
  });

  it('a reload that removes the rule closes the lifeline (the helper then ends the tunnel); a bad answer to DIAL closes the connection', async () => {
    const reloadable = await startProxy(() => rulesFrom(policy(origin)), origin);
    try {
      const s = await connectProxy(reloadable.proxy.socketPath, { handoff: true });
      const closed = new Promise<void>((resolve) => s.on('close', () => resolve()));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.write(connectHead(`api.test:${origin.httpPort}`));
      await waitFor(() => got.endsWith('\n'), 'the DIAL line');
      s.write('UP\n');
      expect(reloadable.proxy.reload(rulesFrom('network_policies: {}\n'))).toBe(1);
      await closed;
      expect(reloadable.events.some((e) => e.type === 'egress_closed_by_reload' && e.host === 'api.test')).toBe(true);
      expect(reloadable.events.some((e) => e.type === 'egress_tunnel_closed')).toBe(false);

      const bad = await connectProxy(fx.proxy.socketPath, { handoff: true });
      const badClosed = new Promise<void>((resolve) => bad.on('close', () => resolve()));
      let badGot = '';
      bad.on('data', (d: Buffer) => (badGot += d.toString('latin1')));
      bad.write(connectHead(`api.test:${origin.httpPort}`));
      await waitFor(() => badGot.endsWith('\n'), 'the DIAL line');
      bad.write('HTTP/1.1 200 OK\r\n\r\n');
      await badClosed;
      expect(badGot).toBe(`DIAL 127.0.0.1 ${origin.httpPort}\n`);
    } finally {
      await reloadable.close();
    }
  });
});
