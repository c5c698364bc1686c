// One reader for what the product records (issue 22): audit records, bus events, proxy and helper
// events and the trace format all come out as one TraceEvent, and `learn` proposes from what was
// let through, never from what was denied.
import { describe, expect, it } from 'vitest';
import { compileEgressRules, decideEgress, learn, parsePolicy, parseTraceLine, simulate } from './index.ts';

/** An audit record line as the log writes it (docs/audit.md "Record format"). */
function record(seq: number, event: Record<string, unknown>): string {
  return JSON.stringify({ v: 1, seq, ts: '2026-12-06T03:00:00.000Z', prev: '0'.repeat(64), event: { class_uid: 4001, class_name: 'Network Activity', category_uid: 4, severity_id: 1, ...event } });
}

const audited = (seq: number, target: string, method?: string, path?: string, sandbox = 'sb1') =>
  record(seq, { kind: 'egress.allowed', activity: 'audit', sandbox, binary: '/usr/bin/curl', target, decision: 'audit', detail: { reason: 'r', scope: method ? 'request' : 'connection', ...(method ? { method, path } : {}) } });

describe('one reader for every recorded shape', () => {
  it('reads audit records: egress decisions with method and path, exec outside the allowlist, the sandbox named', () => {
    expect(parseTraceLine(audited(7, 'api.example.com:443', 'POST', '/v1/items'))).toEqual({
      ok: true,
      event: { type: 'egress', host: 'api.example.com', port: 443, binary: '/usr/bin/curl', method: 'POST', path: '/v1/items', outcome: 'audit', sandbox: 'sb1' },
    });
    expect(parseTraceLine(record(8, { kind: 'exec.allowed', activity: 'unmatched_allow', sandbox: 'sb1', target: '/usr/bin/id', decision: 'allow', detail: { via: 'unmatched_allow' } }))).toEqual({
      ok: true,
      event: { type: 'exec', path: '/usr/bin/id', outcome: 'audit', sandbox: 'sb1' },
    });
    expect(parseTraceLine(record(9, { kind: 'egress.denied', activity: 'denied', sandbox: 'sb1', target: '[::1]:8080', decision: 'deny', detail: { reason: 'r' } }))).toMatchObject({
      ok: true,
      event: { type: 'egress', host: '::1', port: 8080, outcome: 'deny' },
    });
  });

  it('ignores records that are not decisions, so nothing is counted twice', () => {
    const ignored = [
      record(1, { kind: 'sandbox.lifecycle', activity: 'start', sandbox: 'sb1' }),
      record(2, { kind: 'egress.allowed', activity: 'request_done', sandbox: 'sb1', target: 'a.example.com:80', detail: { method: 'GET', path: '/' } }),
      record(3, { kind: 'egress.allowed', activity: 'tunnel_closed', sandbox: 'sb1', target: 'a.example.com:443' }),
      // The supervisor's own copy of an operator's answer (the proxy writes the request's).
      record(4, { kind: 'approval.decision', activity: 'approve', sandbox: 'sb1', target: 'a.example.com:443', decision: 'allow_once' }),
      record(5, { kind: 'egress.denied', activity: 'direct_connect', sandbox: 'sb1', target: '10.0.0.1:80' }),
      JSON.stringify({ seq: 3, ts: 't', sandbox: 'sb1', type: 'egress', event: { type: 'egress_request_done', host: 'a.example.com', port: 80, method: 'GET', path: '/' } }),
      JSON.stringify({ type: 'exec_ask', id: 1, pid: 2, path: '/usr/bin/id' }),
    ];
    for (const line of ignored) expect(parseTraceLine(line)).toMatchObject({ ok: false, ignore: true });
  });

  it('unwraps bus events (`nemoclaw events --json`) and reads helper events (`sandbox run --events`)', () => {
    const bus = JSON.stringify({ seq: 12, ts: 't', sandbox: 'sb1', type: 'egress', event: { type: 'egress_audit', ts: 't', sandbox: 'sb1', pid: 4, binary: '/usr/bin/curl', host: 'A.Example.com', port: 80, method: 'GET', path: '/x', verdict: 'audit', rule: null, reason: 'r', scope: 'request' } });
    expect(parseTraceLine(bus)).toEqual({ ok: true, event: { type: 'egress', host: 'a.example.com', port: 80, binary: '/usr/bin/curl', method: 'GET', path: '/x', outcome: 'audit', sandbox: 'sb1' } });
    const helper = JSON.stringify({ seq: 13, ts: 't', sandbox: 'sb1', type: 'helper', event: { type: 'exec_allowed', pid: 9, path: '/usr/bin/id', via: 'unmatched_allow' } });
    expect(parseTraceLine(helper)).toEqual({ ok: true, event: { type: 'exec', path: '/usr/bin/id', outcome: 'audit', sandbox: 'sb1' } });
    expect(parseTraceLine('{"type":"exec_allowed","pid":9,"path":"/usr/bin/git","via":"operator"}')).toEqual({ ok: true, event: { type: 'exec', path: '/usr/bin/git', outcome: 'allow' } });
  });

  it('`audit export --format jsonl | policy learn --events -` learns instead of skipping every line', () => {
    const lines = [
      record(1, { kind: 'sandbox.lifecycle', activity: 'start', sandbox: 'sb1' }),
      audited(2, 'api.example.com:80', 'GET', '/a'),
      audited(3, 'api.example.com:80', 'POST', '/b'),
      audited(4, 'other.example.com:443'),
      audited(5, 'elsewhere.example.com:443', undefined, undefined, 'sb2'),
      record(6, { kind: 'egress.denied', activity: 'denied', sandbox: 'sb1', binary: '/usr/bin/curl', target: 'evil.example.com:443', decision: 'deny', detail: { reason: 'r' } }),
    ];
    const res = learn(lines, undefined, { sandbox: 'sb1' });
    expect(res.skipped).toEqual([]);
    expect(res.read).toBe(4);
    expect(res.denied).toBe(1);
    expect(res.rules.map((r) => [r.host, r.port, r.shape])).toEqual([
      ['api.example.com', 80, 'exact'],
      ['other.example.com', 443, 'connection'],
    ]);
    expect(res.policy.network_policies?.['learned_api_example_com_80']?.endpoints[0]?.rules).toEqual([
      { allow: { method: 'GET', path: '/a' } },
      { allow: { method: 'POST', path: '/b' } },
    ]);
    const rules = compileEgressRules(res.policy);
    expect(decideEgress(rules, { host: 'evil.example.com', port: 443, binary: '/usr/bin/curl' }).verdict).toBe('deny');
    expect(decideEgress(rules, { host: 'elsewhere.example.com', port: 443, binary: '/usr/bin/curl' }).verdict).toBe('deny');
    // Simulating the same records against the proposal: everything learned is now allowed.
    const sim = simulate(res.policy, lines.slice(1, 4));
    expect(sim.counts.ALLOWED).toBe(3);
  });
});

describe('learn on top of a revision', () => {
  const baseText = `# the team's policy
version: 1
exec: { allow: ["/usr/bin/curl"], unmatched: allow }   # learning exec too
approvals: { unmatched_egress: audit }
network_policies:
  # health checks only
  origin:
    endpoints:
      - { host: 127.0.0.1, port: 8080, protocol: rest, rules: [{ allow: { method: GET, path: /health } }], allowed_ips: [127.0.0.1] }
`;

  it('keeps the base text and its comments, copies the allowed_ips the base grants, sets the unmatched verdict', () => {
    const lines = [
      audited(1, '127.0.0.1:8080', 'GET', '/a'),
      audited(2, '127.0.0.1:8080', 'PUT', '/a'),
      record(3, { kind: 'exec.allowed', activity: 'unmatched_allow', sandbox: 'sb1', target: '/usr/bin/id', detail: { via: 'unmatched_allow' } }),
    ];
    const base = parsePolicy(baseText, 'base.yaml');
    const res = learn(lines, base, { baseText, sandbox: 'sb1', unmatched: 'deny' });
    expect(res.yaml).toContain("# the team's policy");
    expect(res.yaml).toContain('# health checks only');
    expect(res.yaml).toContain('# learned: 2 hits; exact requests seen; by /usr/bin/curl (2)');
    expect(res.policy.approvals?.unmatched_egress).toBe('deny');
    // `--unmatched deny` also ends exec's learning mode (`unmatched: allow`).
    expect(res.policy.exec).toEqual({ allow: ['/usr/bin/curl', '/usr/bin/id'], unmatched: 'deny' });
    const ep = res.policy.network_policies?.['learned_127_0_0_1_8080']?.endpoints[0];
    // The same addresses the base already grants 127.0.0.1:8080, and no others (a different list
    // for one destination would not even validate).
    expect(ep?.allowed_ips).toEqual(['127.0.0.1']);
    const rules = compileEgressRules(res.policy);
    expect(decideEgress(rules, { host: '127.0.0.1', port: 8080, binary: '/usr/bin/curl', method: 'PUT', path: '/a', query: '' })).toMatchObject({ verdict: 'allow', allowedIps: ['127.0.0.1'] });
    expect(decideEgress(rules, { host: '127.0.0.1', port: 8080, binary: '/usr/bin/curl', method: 'DELETE', path: '/a', query: '' }).verdict).toBe('deny');
  });

  it('does not propose exec paths that name no program (execvp tries every PATH directory)', () => {
    const lines = ['/usr/local/bin/id', '/usr/bin/id'].map((t, i) => record(i + 1, { kind: 'exec.allowed', activity: 'unmatched_allow', sandbox: 'sb1', target: t, detail: { via: 'unmatched_allow' } }));
    const res = learn(lines, parsePolicy(baseText, 'base.yaml'), { execExists: (p) => p === '/usr/bin/id' });
    expect(res.exec).toEqual([{ path: '/usr/bin/id', hits: 1 }]);
    expect(res.execNotFound).toEqual(['/usr/local/bin/id']);
    expect(res.policy.exec?.allow).toEqual(['/usr/bin/curl', '/usr/bin/id']);
  });

  it('never widens the address guard: a destination the base grants no addresses gets none', () => {
    const res = learn([audited(1, '127.0.0.1:9090', 'GET', '/')], parsePolicy(baseText, 'base.yaml'), { baseText });
    expect(res.policy.network_policies?.['learned_127_0_0_1_9090']?.endpoints[0]?.allowed_ips).toBeUndefined();
  });
});
