// Hot reload against connections the proxy holds or is still deciding: a reload must not leave a
// connection open (or let one open) on a decision the new rules would not make.
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { connectProxy, connectTunnel, parseRaw, rulesFrom, startOrigins, startProxy, testResolver } from './harness.ts';
import type { Origin } from './harness.ts';

let origin: Origin;
beforeAll(async () => {
  origin = await startOrigins();
});
afterAll(async () => {
  await origin.close();
});

const l4 = (o: Origin) => `
network_policies:
  api:
    endpoints:
      - { host: api.test, port: ${o.httpsPort}, allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }]
`;

const closedByReload = (events: { type: string; host: string | null; reason: string }[], host: string) => events.find((e) => e.type === 'egress_closed_by_reload' && e.host === host);

describe('hot reload against held and waiting connections', () => {
  it('a byte relay is closed when its endpoint gains method/path rules: bytes it never inspects cannot honour them', async () => {
    let current = rulesFrom(l4(origin));
    const fx = await startProxy(() => current, origin);
    try {
      const relay = await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`);
      expect(relay.status).toBe(200);
      const closed = new Promise<void>((r) => relay.socket.once('close', () => r()));
      // Same host, port and binary, still allowed for connections, but now read-only.
      current = rulesFrom(l4(origin).replace('allowed_ips: [127.0.0.1] }', 'protocol: rest, access: read-only, allowed_ips: [127.0.0.1] }'));
      expect(fx.proxy.reload()).toBe(1);
      await closed;
      expect(closedByReload(fx.events, 'api.test')?.reason).toMatch(/method\/path rules .* uninspected byte relay/);
      // A new tunnel is inspected from now on (200, then each request is checked).
      const again = await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`);
      expect(again.status).toBe(200);
      again.socket.destroy();
    } finally {
      await fx.close();
    }
  });

  it('an inspected TLS session that a reload keeps sees the new rules on its next request', async () => {
    const rest = (access: string) => `
network_policies:
  api:
    endpoints:
      - { host: api.test, port: ${origin.httpsPort}, protocol: rest, access: ${access}, allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }]
`;
    let current = rulesFrom(rest('read-write'));
    const fx = await startProxy(() => current, origin);
    try {
      const t = await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`);
      expect(t.status).toBe(200);
      const s = tlsConnect({ socket: t.socket, servername: 'api.test', ca: [readFileSync(fx.proxy.caCertPath, 'utf8')] });
      await new Promise<void>((r) => s.once('secureConnect', () => r()));
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      const post = async (): Promise<number> => {
        const from = got.length;
        s.write(`POST /upload HTTP/1.1\r\nHost: api.test:${origin.httpsPort}\r\nContent-Length: 2\r\n\r\nok`);
        await waitFor(() => /\r\n\r\n/.test(got.slice(from)) && /"|\}$/.test(got.slice(from)), () => `a complete response after byte ${from}: ${JSON.stringify(got.slice(from))}`);
        return Number(/^HTTP\/1\.1 (\d{3})/.exec(got.slice(from))?.[1]);
      };
      expect(await post()).toBe(200);
      current = rulesFrom(rest('read-only'));
      expect(fx.proxy.reload()).toBe(0); // between requests, a read-only endpoint still admits the session
      expect(s.destroyed).toBe(false);
      expect(await post()).toBe(403);
      s.destroy();
    } finally {
      await fx.close();
    }
  });

  it('a request in flight whose rule a reload removes ends its connection; the endpoint itself stays', async () => {
    const rest = (paths: string) => `
network_policies:
  uploads:
    endpoints:
      - host: api.test
        port: ${origin.httpPort}
        protocol: rest
        allowed_ips: [127.0.0.1]
        rules:
${paths}
    binaries: [{ path: /usr/bin/curl }]
`;
    let current = rulesFrom(rest(`          - allow: { method: POST, path: "/upload" }\n          - allow: { method: GET, path: "/**" }`));
    const fx = await startProxy(() => current, origin);
    try {
      const s = await connectProxy(fx.proxy.socketPath);
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      s.on('error', () => {});
      // Headers and half the body: the upload is in flight when the policy changes.
      s.write(`POST http://api.test:${origin.httpPort}/upload HTTP/1.1\r\nHost: api.test:${origin.httpPort}\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(500)}`);
      await waitFor(() => fx.events.some((e) => e.type === 'egress_allowed' && e.path === '/upload'), 'egress_allowed for /upload');
      current = rulesFrom(rest(`          - allow: { method: GET, path: "/**" }`));
      expect(fx.proxy.reload()).toBe(1);
      await closed;
      const ev = closedByReload(fx.events, 'api.test');
      expect(ev?.reason).toMatch(/no longer allows POST \/upload/);
      expect(origin.seen.some((r) => r.scheme === 'http' && r.url === '/upload')).toBe(false); // the origin never got a complete upload
    } finally {
      await fx.close();
    }
  });

  it('a reload that lands while a connection waits on DNS is applied before anything is dialled', async () => {
    let current = rulesFrom(l4(origin));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const lookups: string[] = [];
    const plain = testResolver(lookups);
    const fx = await startProxy(() => current, origin, {
      resolver: async (host) => {
        const out = await plain(host);
        await gate;
        return out;
      },
    });
    try {
      const pending = connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`);
      await waitFor(() => lookups.includes('api.test'), 'a DNS lookup of api.test');
      current = rulesFrom('network_policies: {}');
      expect(fx.proxy.reload()).toBe(0); // nothing held yet: the waiting connection has no address
      release();
      const r = await pending;
      expect(r.status).toBe(403);
      const body = JSON.parse(r.response.body) as { error: string; reason: string };
      expect(body.error).toBe('policy_denied');
      expect(body.reason).toMatch(/policy changed while this connection waited/);
      expect(fx.events.some((e) => e.type === 'egress_denied' && /waited/.test(e.reason))).toBe(true);
    } finally {
      release();
      await fx.close();
    }
  });

  it('without a reload, a waiting connection keeps its decision (the check does not refuse by itself)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fx = await startProxy(rulesFrom(l4(origin)), origin, {
      resolver: async () => {
        await gate;
        return ['127.0.0.1'];
      },
    });
    try {
      const pending = connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`);
      setTimeout(release, 50);
      const r = await pending;
      expect(r.status).toBe(200);
      expect(parseRaw(r.response.raw).status).toBe(200);
      r.socket.destroy();
    } finally {
      await fx.close();
    }
  });
});
