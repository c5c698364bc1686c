// Learning mode (`approvals: { unmatched_egress: audit }`) at the proxy: an unmatched request is
// let through and recorded, reaching the addresses the policy already grants that host (as an
// approve-once would), and the address guard is never widened beyond them (docs/design.md
// invariant 3; issue 22).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTunnel, forward, rulesFrom, startOrigins, startProxy } from './harness.ts';
import type { Origin, ProxyFixture } from './harness.ts';

let origin: Origin;
let fx: ProxyFixture;
beforeAll(async () => {
  origin = await startOrigins();
  fx = await startProxy(
    rulesFrom(`approvals: { unmatched_egress: audit }
network_policies:
  health:
    endpoints:
      - { host: api.test, port: ${origin.httpPort}, protocol: rest, rules: [{ allow: { method: GET, path: /health } }], allowed_ips: [127.0.0.1] }
`),
    origin,
  );
});
afterAll(async () => {
  await fx?.close();
  await origin?.close();
});

describe('unmatched egress in learning mode', () => {
  it('a request outside the rules of a granted host is audited and reaches the origin at the granted address', async () => {
    const before = origin.seen.length;
    const r = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/learn-me`, { method: 'POST', body: 'x' });
    expect(r.status).toBe(200);
    expect(origin.seen.slice(before).map((s) => `${s.method} ${s.url}`)).toEqual(['POST /learn-me']);
    expect(fx.events.find((e) => e.type === 'egress_audit' && e.path === '/learn-me')).toMatchObject({ host: 'api.test', method: 'POST', verdict: 'audit' });
  });

  it('a host no endpoint grants addresses to is audited, then refused by the address guard (loopback)', async () => {
    const before = origin.seen.length;
    const r = await forward(fx.proxy.socketPath, `http://other.test:${origin.httpPort}/x`);
    expect(r.status).toBe(403);
    const t = await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpsPort}`);
    expect(t.status).toBe(403);
    t.socket.destroy();
    expect(origin.seen.length).toBe(before);
    expect(fx.events.filter((e) => e.type === 'egress_audit' && (e.host === 'other.test' || e.port === origin.httpsPort))).toHaveLength(2);
    expect(fx.events.find((e) => e.type === 'egress_denied' && e.host === 'other.test')?.reason).toMatch(/refused addresses/);
  });
});
