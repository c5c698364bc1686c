import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileEgressRules, decideEgress, defaultPolicy, explainPolicy, learn, parsePolicy, parseTraceLine, renderExplanation, simulate } from './index.ts';

const POLICY = parsePolicy(
  `version: 1
exec: { allow: ["/usr/bin/*"], unmatched: ask }
approvals: { unmatched_egress: deny }
network_policies:
  gh:
    endpoints: [{ host: api.github.com, port: 443, protocol: rest, access: read-only }]
  npm:
    endpoints: [{ host: registry.npmjs.org, port: 443 }]
    binaries: [{ path: /usr/bin/node }]
`,
  'sim.yaml',
);

const TRACE = [
  '# recorded by nemoclaw sandbox run --audit',
  '{"type":"egress","url":"https://api.github.com/user","method":"GET","binary":"/usr/bin/gh"}',
  '{"type":"egress","url":"https://api.github.com/user/repos","method":"post","binary":"/usr/bin/gh"}',
  '{"kind":"egress","host":"REGISTRY.npmjs.org.","port":443,"exe":"/usr/bin/node"}',
  '',
  '{"type":"egress","host":"0x7f.1","port":8080,"binary":"/usr/bin/curl"}',
  '{"type":"exec","path":"/usr/bin/git"}',
  '{"event":"exec","path":"/tmp/x"}',
  'not json',
  '{"type":"egress","host":"bad host","port":443}',
].join('\n');

describe('simulate', () => {
  it('evaluates each line with the rule and reason, counting outcomes', () => {
    const sim = simulate(POLICY, TRACE);
    expect(sim.results.map((r) => [r.line, r.outcome, r.rule])).toEqual([
      [2, 'ALLOWED', 'network_policies.gh.endpoints[0]'],
      [3, 'BLOCKED', 'network_policies.gh.endpoints[0]'],
      [4, 'ALLOWED', 'network_policies.npm.endpoints[0]'],
      [6, 'BLOCKED', null],
      [7, 'ALLOWED', 'exec.allow'],
      [8, 'ASK', null],
      [9, 'ERROR', null],
      [10, 'ERROR', null],
    ]);
    expect(sim.counts).toEqual({ ALLOWED: 3, BLOCKED: 2, ASK: 1, AUDIT: 0, ERROR: 2 });
    expect(sim.results[3]?.summary).toBe('egress 127.0.0.1:8080 (connect) by /usr/bin/curl');
    expect(sim.results[7]?.reason).toContain('host "bad host"');
  });

  it('applies the address guard the proxy applies, when the trace gives the address', () => {
    const policy = parsePolicy(
      `version: 1
network_policies:
  loop:
    endpoints: [{ host: 127.0.0.1, port: 8080 }]
  meta:
    endpoints: [{ port: 80, allowed_ips: [10.0.0.0/8] }]
  meta_by_name:
    endpoints: [{ host: metadata.example.internal, port: 8080, allowed_ips: [10.0.0.0/8] }]
  nas:
    endpoints: [{ host: 192.168.1.20, port: 443 }]
  web:
    endpoints: [{ host: www.example.com, port: 443 }]
`,
      'guard.yaml',
    );
    const sim = simulate(policy, [
      '{"type":"egress","host":"127.0.0.1","port":8080,"binary":"/usr/bin/curl"}',
      '{"type":"egress","host":"0xa9fea9fe","port":80,"binary":"/usr/bin/curl"}',
      '{"type":"egress","host":"metadata.example.internal","port":8080,"address":"169.254.169.254","binary":"/usr/bin/curl"}',
      '{"type":"egress","host":"192.168.1.20","port":443,"binary":"/usr/bin/curl"}',
      '{"type":"egress","host":"www.example.com","port":443,"address":"10.1.2.3","binary":"/usr/bin/curl"}',
      '{"type":"egress","host":"www.example.com","port":443,"address":"203.0.114.8","binary":"/usr/bin/curl"}',
      '{"type":"egress","host":"www.example.com","port":443,"binary":"/usr/bin/curl"}',
    ]);
    expect(sim.results.map((r) => [r.outcome, r.rule])).toEqual([
      ['BLOCKED', 'network_policies.loop.endpoints[0]'],
      ['BLOCKED', 'network_policies.meta.endpoints[0]'],
      ['BLOCKED', 'network_policies.meta_by_name.endpoints[0]'],
      ['ALLOWED', 'network_policies.nas.endpoints[0]'],
      ['BLOCKED', 'network_policies.web.endpoints[0]'],
      ['ALLOWED', 'network_policies.web.endpoints[0]'],
      ['ALLOWED', 'network_policies.web.endpoints[0]'],
    ]);
    expect(sim.results[0]?.reason).toBe('address guard: 127.0.0.1 is loopback 127.0.0.0/8: reachable only through an endpoint whose allowed_ips lists it');
    expect(sim.results[1]?.reason).toMatch(/^address guard: 169\.254\.169\.254 is cloud instance metadata .*never reachable/);
    expect(sim.results[4]?.summary).toBe('egress www.example.com:443 at 10.1.2.3 (connect) by /usr/bin/curl');
  });

  it('marks connection-level events whose requests would be inspected', () => {
    const sim = simulate(POLICY, ['{"type":"egress","host":"api.github.com","port":443,"binary":null}']);
    expect(sim.results[0]).toMatchObject({ outcome: 'ALLOWED', inspect: true });
  });

  it('reads the event streams of sandbox run and the egress proxy as they are', () => {
    const events = [
      '{"type":"ready","ts":"2026-11-22T02:00:00Z","sandbox":"s1","landlockAbi":7}',
      '{"type":"egress_allowed","ts":"t","pid":42,"binary":"/usr/bin/gh","host":"api.github.com","port":443,"method":"GET","path":"/user","verdict":"allow","rule":"x","reason":"r","scope":"request"}',
      '{"type":"egress_denied","ts":"t","pid":42,"binary":"/usr/bin/curl","host":"evil.example.com","port":443,"method":null,"path":null,"verdict":"deny","rule":null,"reason":"r","scope":"connection"}',
      '{"type":"preamble_rejected","pid":null,"binary":null,"host":null,"port":null,"method":null,"path":null,"verdict":"deny","rule":null,"reason":"r"}',
      '{"type":"exec_denied","pid":7,"path":"/tmp/x","reason":"not in exec.allow"}',
      '{"type":"exit","code":0}',
    ];
    const sim = simulate(POLICY, events);
    expect(sim.results.map((r) => [r.line, r.outcome])).toEqual([
      [2, 'ALLOWED'],
      [3, 'BLOCKED'],
      [5, 'ASK'],
    ]);
    expect(sim.ignored).toBe(3);
    expect(learn(events).skipped).toEqual([]);
  });

  it('parses url ports and queries', () => {
    expect(parseTraceLine('{"type":"egress","url":"http://Example.com:8080/a?b=c","method":"GET"}')).toEqual({
      ok: true,
      event: { type: 'egress', host: 'example.com', port: 8080, binary: null, method: 'GET', path: '/a', query: 'b=c' },
    });
  });
});

describe('learn', () => {
  it('proposes exact rules with hit counts and binaries, only for what the base did not allow', () => {
    const base = parsePolicy('version: 1\nnetwork_policies:\n  gh:\n    endpoints: [{ host: api.github.com, port: 443 }]\n', 'base.yaml');
    const res = learn(
      [
        '{"type":"egress","url":"https://api.github.com/user","method":"GET","binary":"/usr/bin/gh"}',
        '{"type":"egress","url":"https://pypi.org/simple/requests/","method":"GET","binary":"/usr/bin/python3"}',
        '{"type":"egress","url":"https://pypi.org/simple/requests/","method":"GET","binary":"/usr/bin/python3"}',
        '{"type":"egress","url":"https://pypi.org/simple/idna/","method":"GET","binary":"/usr/bin/pip"}',
        '{"type":"egress","host":"files.pythonhosted.org","port":443,"binary":"/usr/bin/python3"}',
        '{"type":"exec","path":"/usr/bin/git"}',
        'oops',
      ],
      base,
    );
    expect(res.alreadyAllowed).toBe(2);
    expect(res.skipped).toEqual([{ line: 7, error: 'not a JSON object' }]);
    expect(res.rules).toEqual([
      { name: 'learned_files_pythonhosted_org_443', host: 'files.pythonhosted.org', port: 443, hits: 1, binaries: [{ path: '/usr/bin/python3', hits: 1 }], shape: 'connection' },
      {
        name: 'learned_pypi_org_443',
        host: 'pypi.org',
        port: 443,
        hits: 3,
        binaries: [
          { path: '/usr/bin/python3', hits: 2 },
          { path: '/usr/bin/pip', hits: 1 },
        ],
        shape: 'exact',
      },
    ]);
    expect(res.policy.network_policies?.['learned_pypi_org_443']?.endpoints[0]?.rules).toEqual([
      { allow: { method: 'GET', path: '/simple/idna/' } },
      { allow: { method: 'GET', path: '/simple/requests/' } },
    ]);
    expect(res.yaml).toContain('# learned: 3 hits; exact requests seen; by /usr/bin/python3 (2), /usr/bin/pip (1)');
    // The YAML is a valid policy and equals the structured one.
    expect(parsePolicy(res.yaml, 'learned.yaml')).toEqual(res.policy);
    expect(res.exec).toEqual([]); // the default base lets anything Landlock permits execute
  });

  it('collapses many distinct requests into the narrowest access preset and says so', () => {
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ type: 'egress', url: `https://api.example.com/items/${i}`, method: i === 0 ? 'POST' : 'GET' }));
    const res = learn(lines);
    expect(res.rules[0]?.shape).toBe('read-write');
    expect(res.yaml).toContain('more than 16 distinct requests: read-write access');
    expect(res.policy.network_policies?.['learned_api_example_com_443']?.binaries).toBeUndefined();
  });

  it('what it learns allows everything seen and nothing else (property)', () => {
    const host = fc.constantFrom('a.example.com', 'b.example.com', 'api.example.org', '10.0.0.5');
    const event = fc.record({
      host,
      port: fc.constantFrom(443, 8080),
      binary: fc.constantFrom('/usr/bin/curl', '/usr/bin/node', null),
      method: fc.option(fc.constantFrom('GET', 'POST', 'DELETE'), { nil: undefined }),
      path: fc.constantFrom('/', '/x', '/a/b', '/weird[1]*', '/%7Euser'),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 30 }), (events) => {
        const lines = events.map((e) => JSON.stringify({ type: 'egress', ...e }));
        const res = learn(lines);
        const sim = simulate(res.policy, lines);
        expect(sim.counts.ALLOWED).toBe(events.length);
        const rules = compileEgressRules(res.policy);
        expect(decideEgress(rules, { host: 'unseen.example.com', port: 443, binary: '/usr/bin/curl' }).verdict).toBe('deny');
        for (const e of events) {
          // No wildcard broader than what was seen: a sibling host is still denied.
          expect(decideEgress(rules, { host: `x.${e.host}`, port: e.port, binary: e.binary }).verdict).toBe('deny');
        }
      }),
      { numRuns: 150 },
    );
  });

  it('learns exec paths when the base restricts exec', () => {
    const base = parsePolicy('version: 1\nexec: { allow: ["/usr/bin/*"], unmatched: deny }\n', 'b.yaml');
    const res = learn(['{"type":"exec","path":"/opt/tool/run"}', '{"type":"exec","path":"/opt/tool/run"}', '{"type":"exec","path":"/usr/bin/ls"}'], base);
    expect(res.exec).toEqual([{ path: '/opt/tool/run', hits: 2 }]);
    expect(res.policy.exec).toEqual({ allow: ['/usr/bin/*', '/opt/tool/run'], unmatched: 'deny' });
  });
});

describe('explain', () => {
  it('summarises files, programs and network in plain language', () => {
    const text = renderExplanation(explainPolicy(POLICY));
    expect(text).toContain('Can execute: /usr/bin/*');
    expect(text).toContain('Any other program is asked of the operator.');
    expect(text).toContain('api.github.com:443: read-only: GET/HEAD/OPTIONS [gh]');
    expect(text).toContain('registry.npmjs.org:443: any traffic (only /usr/bin/node) [npm]');
    expect(text).toContain('Anything else is denied without asking.');
    expect(text).toContain('Programs are matched on the one that connects, never on the program that started it.');
    const def = renderExplanation(explainPolicy(defaultPolicy()));
    expect(def).toContain('Can write: the workspace, /tmp (private to the sandbox)');
    expect(def).toContain('Can reach no network destination by rule.');
    expect(def).not.toContain('Programs are matched');
  });

  it('explains hostless endpoints, allowed_ips and literal IP hosts by the addresses they reach', () => {
    const text = renderExplanation(
      explainPolicy(
        parsePolicy('version: 1\nnetwork_policies:\n  lan:\n    endpoints: [{ port: 8080, allowed_ips: [10.0.0.0/8] }, { host: 192.168.1.20, port: 443 }]\n', 'x.yaml'),
      ),
    );
    expect(text).toContain('any host:8080: any traffic; only at addresses 10.0.0.0/8 (private ones included) [lan]');
    expect(text).toContain('192.168.1.20:443: any traffic; only at 192.168.1.20 [lan]');
    expect(text).toContain('Never reachable, whatever the rules: cloud metadata services and 0.0.0.0');
  });
});
