import { describe, expect, it } from 'vitest';
import { compileEgressRules, parsePolicy } from '../policy/index.ts';
import { revalidate } from './revalidate.ts';
import type { HeldConnection } from './revalidate.ts';

const rules = (endpoint: string) => compileEgressRules(parsePolicy(`version: 1\nnetwork_policies:\n  p:\n    endpoints:\n      - ${endpoint}\n`, 't.yaml'));
const held = (o: Partial<HeldConnection> = {}): HeldConnection => ({ host: 'api.example.com', port: 443, binary: null, address: '93.184.216.34', relay: true, request: null, ...o });

describe('revalidate (what a reload does to a held connection)', () => {
  const cases: Array<[string, string, Partial<HeldConnection>, boolean, RegExp?]> = [
    ['same L4 rule keeps a relay', '{ host: api.example.com, port: 443 }', {}, true],
    ['rule gone closes', '{ host: other.example.com, port: 443 }', {}, false, /no longer allows api\.example\.com:443/],
    ['read-only closes an uninspected relay', '{ host: api.example.com, port: 443, protocol: rest, access: read-only }', {}, false, /uninspected byte relay/],
    ['read-only keeps an inspected session between requests', '{ host: api.example.com, port: 443, protocol: rest, access: read-only }', { relay: false }, true],
    ['read-only closes an inspected session mid-POST', '{ host: api.example.com, port: 443, protocol: rest, access: read-only }', { relay: false, request: { method: 'POST', path: '/x', query: '' } }, false, /no longer allows POST \/x/],
    ['read-only keeps an inspected session mid-GET', '{ host: api.example.com, port: 443, protocol: rest, access: read-only }', { relay: false, request: { method: 'GET', path: '/x', query: '' } }, true],
    ['allowed_ips withdrawn closes a loopback dial', '{ host: api.example.com, port: 443 }', { address: '127.0.0.1' }, false, /no longer permits the address 127\.0\.0\.1/],
    ['allowed_ips kept keeps it', '{ host: api.example.com, port: 443, allowed_ips: [127.0.0.0/8] }', { address: '127.0.0.1' }, true],
  ];
  it.each(cases)('%s', (_name, endpoint, conn, keep, why) => {
    const r = revalidate(rules(endpoint), held(conn));
    expect(r.keep).toBe(keep);
    if (!r.keep && why) expect(r.reason).toMatch(why);
  });
});
