// host.nemoclaw.internal (issue 13, part 3): the host's loopback services, granted only by an
// endpoint naming the reserved name exactly; that endpoint needs no allowed_ips (the name is the
// grant, 127.0.0.1); wildcard and hostless endpoints never match it.
import { describe, expect, it } from 'vitest';
import { HOST_INTERNAL, compileEgressRules, decideEgress, parsePolicy } from './index.ts';

const policy = (endpoints: string, extra = ''): ReturnType<typeof compileEgressRules> =>
  compileEgressRules(parsePolicy(`version: 1\n${extra}network_policies:\n  p:\n    endpoints:\n${endpoints}`, 'p.yaml'));

describe(`${HOST_INTERNAL}`, () => {
  it('an exact endpoint grants the host loopback for its port only', () => {
    const rules = policy('      - { host: host.nemoclaw.internal, port: 8000 }\n');
    expect(decideEgress(rules, { host: HOST_INTERNAL, port: 8000, binary: null })).toMatchObject({ verdict: 'allow', allowedIps: ['127.0.0.1'] });
    expect(decideEgress(rules, { host: HOST_INTERNAL, port: 8001, binary: null }).verdict).toBe('deny');
  });

  it('an explicit allowed_ips replaces the implicit 127.0.0.1', () => {
    const rules = policy('      - { host: host.nemoclaw.internal, port: 8000, allowed_ips: ["::1"] }\n');
    expect(decideEgress(rules, { host: HOST_INTERNAL, port: 8000, binary: null }).allowedIps).toEqual(['::1']);
  });

  it('wildcards and hostless endpoints never match it; other names get no loopback grant', () => {
    const rules = policy('      - { host: "*.nemoclaw.internal", port: 8000 }\n      - { host: "**.nemoclaw.internal", port: 8000 }\n');
    expect(decideEgress(rules, { host: HOST_INTERNAL, port: 8000, binary: null })).toMatchObject({ verdict: 'deny', rule: null });
    expect(decideEgress(rules, { host: 'other.nemoclaw.internal', port: 8000, binary: null })).toMatchObject({ verdict: 'allow', allowedIps: [] });
    const hostless = policy('      - { port: 8000, allowed_ips: [10.0.0.0/8] }\n');
    expect(decideEgress(hostless, { host: HOST_INTERNAL, port: 8000, binary: null })).toMatchObject({ verdict: 'deny', rule: null });
  });

  it('beside a wildcard for the same port it validates: they can never both match', () => {
    const rules = policy('      - { host: host.nemoclaw.internal, port: 8000 }\n      - { host: "*.nemoclaw.internal", port: 8000 }\n');
    expect(decideEgress(rules, { host: HOST_INTERNAL, port: 8000, binary: null })).toMatchObject({ verdict: 'allow', allowedIps: ['127.0.0.1'] });
  });

  it('unmatched, it is asked like any host (an approval carries no loopback grant)', () => {
    const rules = policy('      - { host: api.example.com, port: 443 }\n', 'approvals: { unmatched_egress: ask }\n');
    expect(decideEgress(rules, { host: HOST_INTERNAL, port: 8000, binary: null })).toMatchObject({ verdict: 'ask', allowedIps: [] });
  });
});
