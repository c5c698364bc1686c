// A sandbox's binary pins are bounded (issue 19): a workload copying one binary to fresh paths
// cannot grow pins.json without end. At MAX_PINS a binary not pinned yet is refused (403
// pins_full, naming `nemoclaw NAME unpin`) and nothing more is pinned or reported; binaries
// already pinned keep working, and unpinning makes room again. Real proxy, loopback origin.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PINS } from '../../src/egress/identity.ts';
import { forward, rulesFrom, startOrigins, startProxy } from './harness.ts';
import type { Origin } from './harness.ts';

let origin: Origin;
beforeAll(async () => {
  origin = await startOrigins();
});
afterAll(async () => {
  await origin.close();
});

const policy = (o: Origin): string => `
network_policies:
  api:
    endpoints:
      - { host: api.test, port: ${o.httpPort}, allowed_ips: [127.0.0.1] }
`;

describe('binary pins are bounded', () => {
  it(`refuses a new binary once ${MAX_PINS} are pinned, keeps the pinned ones working, and unpin makes room`, async () => {
    const full: Record<string, string> = {};
    for (let i = 0; i < MAX_PINS - 1; i++) full[`/tmp/copy-${i}`] = 'e'.repeat(64);
    full['/usr/bin/curl'] = 'a'.repeat(64);
    const seen: string[] = [];
    const fx = await startProxy(rulesFrom(policy(origin)), origin, { pins: full, onPin: (exe) => seen.push(exe) });
    try {
      const url = `http://api.test:${origin.httpPort}/`;
      const fresh = await forward(fx.proxy.socketPath, url, { caller: { exe: '/tmp/copy-new', sha256: 'f'.repeat(64) } });
      expect(fresh.status).toBe(403);
      expect(JSON.parse(fresh.body)).toMatchObject({ error: 'pins_full', hint: 'nemoclaw sb1 unpin' });
      expect(fx.events.some((e) => e.type === 'egress_denied' && e.reason.includes(`already pins ${MAX_PINS} binaries`))).toBe(true);
      expect(seen).toEqual([]);
      expect(fx.proxy.pins().size).toBe(MAX_PINS);
      // A binary pinned before the table filled is still trusted.
      const pinned = await forward(fx.proxy.socketPath, url, { caller: { exe: '/usr/bin/curl', sha256: 'a'.repeat(64) } });
      expect(pinned.status).toBe(200);
      expect(fx.proxy.unpin('/tmp/copy-0')).toEqual(['/tmp/copy-0']);
      const again = await forward(fx.proxy.socketPath, url, { caller: { exe: '/tmp/copy-new', sha256: 'f'.repeat(64) } });
      expect(again.status).toBe(200);
      expect(seen).toEqual(['/tmp/copy-new']);
    } finally {
      await fx.close();
    }
  });
});
