// Anchor case 54 (docs/peers.md: bulk exfiltration to an allowed host): whatever moves the bytes, the proxy reports
// how many went each way, per forwarded or inspected request and per byte-relay tunnel, and the
// audit record carries the counts (the helper's handed-off tunnels: sandbox.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egressAuditRecord } from '../../src/egress/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectTunnel, forward, rulesFrom, startOrigins, startProxy } from './harness.ts';
import type { Origin, ProxyFixture } from './harness.ts';

let origin: Origin;
let fx: ProxyFixture;
beforeAll(async () => {
  origin = await startOrigins();
  fx = await startProxy(
    rulesFrom(`
network_policies:
  api:
    endpoints:
      - { host: api.test, ports: [${origin.httpPort}, ${origin.httpsPort}], allowed_ips: [127.0.0.1] }
    binaries: [{ path: /usr/bin/curl }]
`),
    origin,
  );
});
afterAll(async () => {
  await fx?.close();
  await origin?.close();
});

describe('bytes each way are reported (anchor case 54)', () => {
  it('a forwarded request: body bytes up and down, with the status, and in its audit record', async () => {
    const r = await forward(fx.proxy.socketPath, `http://api.test:${origin.httpPort}/bytes/5000`, { method: 'POST', body: 'x'.repeat(1234) });
    expect(r.status).toBe(200);
    const done = fx.events.find((e) => e.type === 'egress_request_done' && e.path === '/bytes/5000');
    expect(done).toMatchObject({ method: 'POST', host: 'api.test', port: origin.httpPort, status: 200, bytes: { up: 1234, down: 5000, relay: 'proxy' } });
    const rec = egressAuditRecord(done as NonNullable<typeof done>);
    expect(rec?.event.detail).toMatchObject({ bytes_up: 1234, bytes_down: 5000, status: 200, method: 'POST' });
  });

  it("a tunnel relayed by the proxy itself (a client that did not offer the helper's handoff)", async () => {
    const t = await connectTunnel(fx.proxy.socketPath, `api.test:${origin.httpPort}`);
    expect(t.status).toBe(200);
    const request = `GET /bytes/3000 HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n`;
    let got = 0;
    t.socket.on('data', (d: Buffer) => (got += d.length));
    t.socket.resume();
    t.socket.write(request);
    await new Promise<void>((r) => t.socket.once('close', () => r()));
    await waitFor(() => fx.events.some((e) => e.type === 'egress_tunnel_closed'), 'egress_tunnel_closed');
    const closed = fx.events.find((e) => e.type === 'egress_tunnel_closed');
    expect(closed?.bytes).toEqual({ up: request.length, down: got, relay: 'proxy' });
    expect(got).toBeGreaterThan(3000);
  });
});
