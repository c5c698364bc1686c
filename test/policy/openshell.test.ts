// Issue 21: decisions in OpenShell's policy vocabulary (network_policies, endpoints, host, port,
// protocol: rest, access, rules/allow, deny_rules, allowed_ips, binaries), run the way the proxy
// runs them: canonicalise the host, decideEgress on the name, then (for a verdict that lets the
// connection through) the address guard (src/egress/address.ts checkAddress) on the resolved
// address with the decision's allowedIps; a request that is allowed is forwarded with the path
// normalizeRequestPath returns. Rows written for this suite from OpenShell's documented rules
// (docs/policy-openshell.md says where nemoclaw differs, and why).
import { describe, expect, it } from 'vitest';
import { checkAddress } from '../../src/egress/address.ts';
import { canonicalizeHost, compileEgressRules, decideEgress, normalizeRequestPath, parsePolicy, PolicyError } from '../../src/policy/index.ts';
import type { EgressRuleSet } from '../../src/policy/index.ts';

interface Req {
  host: string;
  port?: number;
  binary?: string | null;
  method?: string;
  path?: string;
  /** What the name resolved to; the guard runs only when given. */
  address?: string;
}

/** `allow`, `deny` (the decision), `refused` (the address guard), plus the forwarded path. */
type Outcome = 'allow' | 'deny' | 'refused';

function policyOf(fragment: string): EgressRuleSet {
  return compileEgressRules(parsePolicy(`version: 1\nnetwork_policies:\n${fragment}\n`, 'row.yaml'));
}

function asTheProxy(rules: EgressRuleSet, r: Req): { outcome: Outcome; forwarded?: string; reason: string } {
  const c = canonicalizeHost(r.host);
  if (!c.ok) throw new Error(c.reason);
  const req = { host: c.host, port: r.port ?? 443, binary: r.binary === undefined ? '/usr/bin/curl' : r.binary };
  const d = decideEgress(rules, r.method === undefined ? req : { ...req, method: r.method, path: r.path ?? '/', query: '' });
  if (d.verdict !== 'allow' && d.verdict !== 'audit') return { outcome: 'deny', reason: d.reason };
  if (r.address !== undefined) {
    const g = checkAddress(r.address, d.allowedIps);
    if (!g.ok) return { outcome: 'refused', reason: g.reason ?? '' };
  }
  const forwarded = r.method === undefined ? undefined : (normalizeRequestPath(r.path ?? '/', false) ?? undefined);
  return { outcome: 'allow', reason: d.reason, ...(forwarded === undefined ? {} : { forwarded }) };
}

const PUBLIC_PATHS = `  public_read:
    endpoints:
      - host: api.example.com
        port: 443
        protocol: rest
        rules:
          - allow: { method: GET, path: "/public/**" }
          - allow: { method: GET, path: /login }
        deny_rules:
          - { method: GET, path: "/public/secret/**" }
    binaries: [{ path: /usr/bin/curl }]`;

// [issue item, policy fragment, request, outcome, forwarded path (allowed requests)]
type Row = [string, string, Req, Outcome, string?];

const LOOSER_THAN_OPENSHELL_BEFORE: Row[] = [
  // (a) path parameters hiding traversal, encoded control bytes
  ['(a) ..; climbs out of an allowed prefix', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/..;/secret' }, 'deny'],
  ['(a) %2e%2e; climbs out', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/%2e%2e;/secret' }, 'deny'],
  ['(a) ..%3B climbs out', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/..%3B/secret' }, 'deny'],
  ['(a) .;x is a dot segment too', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/.;x/a' }, 'deny'],
  ['(a) encoded NUL', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/a%00b' }, 'deny'],
  ['(a) encoded CR LF', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/a%0d%0aX:1' }, 'deny'],
  ['(a) overlong UTF-8 dot', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/%c0%ae%c0%ae/secret' }, 'deny'],
  ['(a) double-encoded dot', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/%252e%252e/secret' }, 'deny'],
  ['(a) a plain .. resolves first, then is decided where it lands', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/../secret' }, 'deny'],
  ['(a) ;params cannot dodge a deny rule', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/secret;x/key' }, 'deny'],
  // (b) allowed_ips never opens metadata or link-local through a CIDR
  ['(b) metadata inside an allowed private CIDR', '  tailnet:\n    endpoints: [{ host: svc.corp.example, port: 80, allowed_ips: [100.64.0.0/10] }]', { host: 'svc.corp.example', port: 80, address: '100.100.100.200' }, 'refused'],
  ['(b) the rest of that CIDR stays reachable', '  tailnet:\n    endpoints: [{ host: svc.corp.example, port: 80, allowed_ips: [100.64.0.0/10] }]', { host: 'svc.corp.example', port: 80, address: '100.64.1.2' }, 'allow'],
  ['(b) metadata as an IPv4-mapped address', '  db:\n    endpoints: [{ host: db.corp.example, port: 80, allowed_ips: [10.0.0.0/8] }]', { host: 'db.corp.example', port: 80, address: '::ffff:169.254.169.254' }, 'refused'],
  ['(b) metadata through NAT64', '  nat:\n    endpoints: [{ host: v6.corp.example, port: 80, allowed_ips: ["64:ff9b::/96"] }]', { host: 'v6.corp.example', port: 80, address: '64:ff9b::a9fe:a9fe' }, 'refused'],
  ['(b) IPv6 metadata inside an allowed ULA CIDR', '  ula:\n    endpoints: [{ host: v6.corp.example, port: 80, allowed_ips: ["fd00::/8"] }]', { host: 'v6.corp.example', port: 80, address: 'fd00:ec2::254' }, 'refused'],
  ['(b) link-local needs its exact address named (the named exception)', '  gw:\n    endpoints: [{ host: gw.corp.example, port: 80, allowed_ips: [169.254.1.2] }]', { host: 'gw.corp.example', port: 80, address: '169.254.1.2' }, 'allow'],
  ['(b) and only that address', '  gw:\n    endpoints: [{ host: gw.corp.example, port: 80, allowed_ips: [169.254.1.2] }]', { host: 'gw.corp.example', port: 80, address: '169.254.169.254' }, 'refused'],
  ['(b) a literal metadata request through a hostless endpoint', '  lan:\n    endpoints: [{ port: 80, allowed_ips: [10.0.0.0/8] }]', { host: '0xa9fea9fe', port: 80, address: '169.254.169.254' }, 'refused'],
  // (c) control-plane ports
  ['(c) a wildcard host cannot open 6443 through allowed_ips', '  k8s:\n    endpoints: [{ host: "*.corp.example", port: 6443, allowed_ips: [10.0.0.0/8] }]', { host: 'api.corp.example', port: 6443, address: '10.0.0.5' }, 'deny'],
  ['(c) nor a public address through allowed_ips', '  k8s:\n    endpoints: [{ host: "*.corp.example", port: 6443, allowed_ips: [203.0.114.0/24] }]', { host: 'api.corp.example', port: 6443, address: '203.0.114.7' }, 'deny'],
  ['(c) a hostless endpoint cannot open etcd', '  any_internal:\n    endpoints: [{ port: 2379, allowed_ips: [10.0.0.0/8] }]', { host: 'etcd.corp.example', port: 2379, address: '10.0.0.6' }, 'deny'],
  ['(c) kubelet on a private address without allowed_ips', '  nodes:\n    endpoints: [{ host: "*.nodes.example", port: 10250 }]', { host: 'n1.nodes.example', port: 10250, address: '10.0.0.9' }, 'refused'],
  ['(c) kubelet on a public address (public stays public)', '  nodes:\n    endpoints: [{ host: "*.nodes.example", port: 10250 }]', { host: 'n1.nodes.example', port: 10250, address: '203.0.114.9' }, 'allow'],
  ['(c) a rule naming the exact host and port opens it', '  kubectl:\n    endpoints: [{ host: api.k8s.example, port: 6443, allowed_ips: [10.0.0.0/8] }]\n    binaries: [{ path: /usr/bin/kubectl }]', { host: 'api.k8s.example', port: 6443, binary: '/usr/bin/kubectl', address: '10.0.0.5' }, 'allow'],
  ['(c) a literal IP host names its address and port', '  kubelet:\n    endpoints: [{ host: 10.0.0.9, port: 10250 }]', { host: '10.0.0.9', port: 10250, address: '10.0.0.9' }, 'allow'],
  ['(c) an exact rule beside a wildcard one still opens it', '  k8s:\n    endpoints:\n      - { host: "*.corp.example", port: 6443, allowed_ips: [10.0.0.0/8] }\n      - { host: api.corp.example, port: 6443, allowed_ips: [10.0.0.0/8] }', { host: 'api.corp.example', port: 6443, address: '10.0.0.5' }, 'allow'],
  // (d) IANA special-purpose ranges are not public
  ...(
    [
      ['TEST-NET-1', '192.0.2.10'],
      ['TEST-NET-2', '198.51.100.7'],
      ['TEST-NET-3', '203.0.113.5'],
      ['benchmarking', '198.18.0.1'],
      ['shared address space (CGNAT)', '100.64.0.1'],
      ['IETF protocol assignments', '192.0.0.8'],
      ['reserved 240/4', '240.0.0.1'],
      ['multicast', '224.0.0.251'],
      ['this network', '0.1.2.3'],
      ['IPv6 documentation', '2001:db8::1'],
      ['NAT64 of a private address', '64:ff9b::a00:1'],
      ['IPv4-mapped private', '::ffff:10.0.0.1'],
      ['6to4 of a private address', '2002:a00:1::1'],
      ['Teredo', '2001:0:4136:e378:8000:63bf:3fff:fdd2'],
      ['IPv6 multicast', 'ff02::1'],
    ] as const
  ).map(([name, address]): Row => [`(d) ${name} ${address} is refused without allowed_ips`, '  web:\n    endpoints: [{ host: www.example.com, port: 443 }]', { host: 'www.example.com', address }, 'refused']),
  ['(d) ... and reachable when allowed_ips lists it', '  lab:\n    endpoints: [{ host: lab.example.com, port: 443, allowed_ips: [198.51.100.0/24] }]', { host: 'lab.example.com', address: '198.51.100.7' }, 'allow'],
  ['(d) a public address passes without allowed_ips', '  web:\n    endpoints: [{ host: www.example.com, port: 443 }]', { host: 'www.example.com', address: '203.0.114.5' }, 'allow'],
];

const STRICTER_NOW_ACCEPTED: Row[] = [
  // HEAD where GET is allowed (and denied where GET is denied)
  ['HEAD where a rule allows GET', PUBLIC_PATHS, { host: 'api.example.com', method: 'HEAD', path: '/public/a' }, 'allow', '/public/a'],
  ['HEAD where a deny rule names GET (read-only access would allow HEAD)', '  ro:\n    endpoints: [{ host: api.example.com, port: 443, protocol: rest, access: read-only, deny_rules: [{ method: GET, path: "/admin/**" }] }]', { host: 'api.example.com', method: 'HEAD', path: '/admin/users' }, 'deny'],
  ['POST is still not GET', PUBLIC_PATHS, { host: 'api.example.com', method: 'POST', path: '/public/a' }, 'deny'],
  // hostless endpoints: any name that resolves inside allowed_ips
  ['hostless: any name resolving inside allowed_ips', '  internal:\n    endpoints: [{ port: 8080, allowed_ips: [10.0.0.0/8] }]', { host: 'anything.corp.example', port: 8080, address: '10.9.8.7' }, 'allow'],
  ['hostless: a name resolving outside is refused, public or not', '  internal:\n    endpoints: [{ port: 8080, allowed_ips: [10.0.0.0/8] }]', { host: 'www.example.com', port: 8080, address: '203.0.114.5' }, 'refused'],
  ['hostless: another port is not covered', '  internal:\n    endpoints: [{ port: 8080, allowed_ips: [10.0.0.0/8] }]', { host: 'anything.corp.example', port: 8081 }, 'deny'],
  // intra-label and middle-label wildcards
  ['intra-label wildcard', '  vertex:\n    endpoints: [{ host: "*-aiplatform.googleapis.com", port: 443 }]', { host: 'us-central1-aiplatform.googleapis.com' }, 'allow'],
  ['intra-label wildcard needs its fixed part', '  vertex:\n    endpoints: [{ host: "*-aiplatform.googleapis.com", port: 443 }]', { host: 'aiplatform.googleapis.com' }, 'deny'],
  ['intra-label wildcard never crosses a dot', '  vertex:\n    endpoints: [{ host: "*-aiplatform.googleapis.com", port: 443 }]', { host: 'evil.us-aiplatform.googleapis.com' }, 'deny'],
  ['middle-label wildcard', '  s3:\n    endpoints: [{ host: "*.s3.*.amazonaws.com", port: 443 }]', { host: 'bucket.s3.us-east-1.amazonaws.com' }, 'allow'],
  ['middle-label wildcard is exactly one label', '  s3:\n    endpoints: [{ host: "*.s3.*.amazonaws.com", port: 443 }]', { host: 'bucket.s3.amazonaws.com' }, 'deny'],
  ['middle-label wildcard never spans two labels', '  s3:\n    endpoints: [{ host: "*.s3.*.amazonaws.com", port: 443 }]', { host: 'bucket.s3.us.east.amazonaws.com' }, 'deny'],
  // path ** means every path
  ['path: "**" is every path', '  any_get:\n    endpoints: [{ host: api.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET, path: "**" } }] }]', { host: 'api.example.com', method: 'GET', path: '/a/b/c' }, 'allow', '/a/b/c'],
  // a literal IP host is its own allowed_ips
  ['a literal private IP host reaches that address', '  nas:\n    endpoints: [{ host: 192.168.1.20, port: 443 }]', { host: '192.168.1.20', address: '192.168.1.20' }, 'allow'],
  ['every spelling of that literal', '  nas:\n    endpoints: [{ host: 192.168.1.20, port: 443 }]', { host: '0xc0.0xa8.1.20', address: '192.168.1.20' }, 'allow'],
  ['a literal loopback host still needs allowed_ips (ours: loopback is the host)', '  self:\n    endpoints: [{ host: 127.0.0.1, port: 443 }]', { host: '127.0.0.1', address: '127.0.0.1' }, 'refused'],
  ['...and reaches it with them', '  self:\n    endpoints: [{ host: 127.0.0.1, port: 443, allowed_ips: [127.0.0.1] }]', { host: '127.0.0.1', address: '127.0.0.1' }, 'allow'],
  // ;jsessionid= stripped, /./ resolved: decided and forwarded without them
  [';jsessionid= is stripped before matching', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/login;jsessionid=0123ABC' }, 'allow', '/login'],
  ['/./ resolves', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/./a/./b' }, 'allow', '/public/a/b'],
  ['.. inside the allowed prefix resolves', PUBLIC_PATHS, { host: 'api.example.com', method: 'GET', path: '/public/a/../b' }, 'allow', '/public/b'],
  // ancestors: only the calling program counts
  ['a rule for the agent does not cover the program it spawns', '  agent:\n    endpoints: [{ host: api.example.com, port: 443 }]\n    binaries: [{ path: /usr/local/bin/claude }]', { host: 'api.example.com', binary: '/usr/bin/python3' }, 'deny'],
];

describe('OpenShell decisions, looser before issue 21 (now refused)', () => {
  it.each(LOOSER_THAN_OPENSHELL_BEFORE)('%s', (_item, fragment, req, outcome, forwarded) => {
    const got = asTheProxy(policyOf(fragment), req);
    expect(got.outcome, got.reason).toBe(outcome);
    if (forwarded !== undefined) expect(got.forwarded).toBe(forwarded);
  });
});

describe('OpenShell decisions, stricter before issue 21 (now as OpenShell, or documented)', () => {
  it.each(STRICTER_NOW_ACCEPTED)('%s', (_item, fragment, req, outcome, forwarded) => {
    const got = asTheProxy(policyOf(fragment), req);
    expect(got.outcome, got.reason).toBe(outcome);
    if (forwarded !== undefined) expect(got.forwarded).toBe(forwarded);
  });
});

function validationErrors(fragment: string): string[] {
  try {
    parsePolicy(`version: 1\nnetwork_policies:\n${fragment}\n`, 'row.yaml');
    return [];
  } catch (err) {
    if (err instanceof PolicyError) return err.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
    throw err;
  }
}

describe('OpenShell validation (positions are file:line:col)', () => {
  // [issue item, policy fragment, the errors (prefix match, in order)]
  it.each<[string, string, string[]]>([
    ['(e) same host, port and program with conflicting allowed_ips', '  a:\n    endpoints: [{ host: db.example.com, port: 5432, allowed_ips: [10.0.0.0/8] }]\n  b:\n    endpoints: [{ host: db.example.com, port: 5432, allowed_ips: [10.2.0.0/16] }]', [
      'row.yaml:4:66: network_policies.a.endpoints[0].allowed_ips: conflicts with network_policies.b.endpoints[0] (row.yaml:6:66)',
      'row.yaml:6:66: network_policies.b.endpoints[0].allowed_ips: conflicts with network_policies.a.endpoints[0] (row.yaml:4:66)',
    ]],
    ['(e) a hostless endpoint conflicts with a named one on its port', '  a:\n    endpoints: [{ port: 443, allowed_ips: [10.0.0.0/8] }]\n  b:\n    endpoints: [{ host: api.example.com, port: 443 }]', [
      'row.yaml:4:43: network_policies.a.endpoints[0].allowed_ips: conflicts with network_policies.b.endpoints[0] (row.yaml:6:17)',
      'row.yaml:6:17: network_policies.b.endpoints[0].allowed_ips: conflicts with network_policies.a.endpoints[0] (row.yaml:4:43)',
    ]],
    ['(b) a CIDR over link-local', '  a:\n    endpoints: [{ host: a.example.com, port: 80, allowed_ips: [169.254.0.0/16] }]', ['row.yaml:4:64: network_policies.a.endpoints[0].allowed_ips[0]: 169.254.0.0/16 reaches into link-local']],
    ['(b) a literal metadata host', '  a:\n    endpoints: [{ host: 169.254.169.254, port: 80 }]', ['row.yaml:4:25: network_policies.a.endpoints[0].host: 169.254.169.254 is cloud instance metadata']],
    ['(b) the metadata address itself', '  a:\n    endpoints: [{ host: a.example.com, port: 80, allowed_ips: [169.254.169.254/32] }]', ['row.yaml:4:64: network_policies.a.endpoints[0].allowed_ips[0]: 169.254.169.254/32 is cloud instance metadata']],
    ['ancestor matching is refused, with why', '  a:\n    endpoints: [{ host: a.example.com, port: 443 }]\n    binaries: [{ path: /usr/local/bin/claude, ancestors: true }]', ['row.yaml:5:58: network_policies.a.binaries[0].ancestors: `ancestors: true` is not supported: the relay names only the calling process']],
    ['protocol: rest with neither rules nor access', '  a:\n    endpoints: [{ host: a.example.com, port: 443, protocol: rest }]', ['row.yaml:4:61: network_policies.a.endpoints[0].protocol: `protocol: rest` needs `access` or `rules`']],
    ['deny_rules without rules or access', '  a:\n    endpoints:\n      - host: a.example.com\n        port: 443\n        protocol: rest\n        deny_rules: [{ method: POST }]', ['row.yaml:7:19:', 'row.yaml:8:21: network_policies.a.endpoints[0].deny_rules: `deny_rules` need `access` or `rules`']],
    ['empty deny_rules', '  a:\n    endpoints: [{ host: a.example.com, port: 443, protocol: rest, access: read-only, deny_rules: [] }]', ['row.yaml:4:98: network_policies.a.endpoints[0].deny_rules: `deny_rules: []` denies nothing']],
    ['GraphQL: protocol', '  a:\n    endpoints: [{ host: a.example.com, port: 443, protocol: graphql, rules: [{ allow: { method: POST, path: /graphql } }] }]', ['row.yaml:4:61: network_policies.a.endpoints[0].protocol: GraphQL inspection (`protocol: graphql`, operation_type/fields rules, persisted queries) is OpenShell\'s and is not supported here']],
    ['GraphQL: operation rules', '  a:\n    endpoints:\n      - host: a.example.com\n        port: 443\n        protocol: rest\n        rules: [{ allow: { operation_type: mutation } }]', ['row.yaml:8:28: network_policies.a.endpoints[0].rules[0].allow.operation_type: `operation_type` is an OpenShell GraphQL rule field']],
    ['GraphQL: persisted queries', '  a:\n    endpoints: [{ host: a.example.com, port: 443, graphql_persisted_queries: {} }]', ['row.yaml:4:51: network_policies.a.endpoints[0].graphql_persisted_queries: `graphql_persisted_queries` is OpenShell\'s GraphQL persisted-query registry']],
  ])('%s', (_item, fragment, expected) => {
    const got = validationErrors(fragment);
    expect(got.length, got.join('\n')).toBe(expected.length);
    expected.forEach((e, i) => expect(got[i]).toContain(e));
  });

  it('(e) the conflict does not depend on which rule comes first', () => {
    const a = '  a:\n    endpoints: [{ host: db.example.com, port: 5432, allowed_ips: [10.0.0.0/8] }]';
    const b = '  b:\n    endpoints: [{ host: db.example.com, port: 5432, allowed_ips: [10.2.0.0/16] }]';
    expect(validationErrors(`${a}\n${b}`)).toHaveLength(2);
    expect(validationErrors(`${b}\n${a}`)).toHaveLength(2);
  });

  it('(e) a policy built in code that skips validation fails closed, in either order', () => {
    const one = { host: 'db.example.com', port: 5432, allowed_ips: ['10.0.0.0/8'] };
    const two = { host: 'db.example.com', port: 5432, allowed_ips: ['10.2.0.0/16'] };
    for (const [x, y] of [[one, two], [two, one]]) {
      const rules = compileEgressRules({ version: 1, network_policies: { a: { endpoints: [x as typeof one] }, b: { endpoints: [y as typeof one] } } });
      const d = decideEgress(rules, { host: 'db.example.com', port: 5432, binary: '/usr/bin/psql' });
      expect(d.verdict).toBe('deny');
      expect(d.reason).toMatch(/different allowed_ips/);
    }
  });
});
