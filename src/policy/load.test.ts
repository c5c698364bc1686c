import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { defaultPolicy, parsePolicy, PolicyError } from './index.ts';

function errorsOf(text: string, file = 'p.yaml'): string[] {
  try {
    parsePolicy(text, file);
  } catch (err) {
    if (err instanceof PolicyError) return err.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
    throw err;
  }
  return [];
}

const y = (lines: string[]) => `${lines.join('\n')}\n`;

describe('parsePolicy errors carry file:line:col', () => {
  it.each<[string, string, string[]]>([
    ['YAML syntax: unclosed flow sequence', y(['version: 1', 'filesystem_policy:', '  read_only: [/usr, /bin', 'landlock: {}']), ['p.yaml:4:']],
    ['YAML syntax: bad indentation', y(['version: 1', 'filesystem_policy:', '  read_only:', '   - /usr', '  - /bin']), ['p.yaml:5:1: A block sequence may not be used as an implicit map key']],
    ['duplicate key', y(['version: 1', 'landlock: { compatibility: best_effort }', 'landlock: { compatibility: best_effort }']), ['p.yaml:3:1: Map keys must be unique']],
    ['unknown top-level key', y(['version: 1', 'filesystem:', '  read_only: [/usr]']), ['p.yaml:2:1: filesystem: unknown key `filesystem`']],
    ['unknown nested key', y(['version: 1', 'network_policies:', '  gh:', '    endpoints:', '      - host: api.github.com', '        port: 443', '        acess: read-only']), ['p.yaml:7:9: network_policies.gh.endpoints[0].acess: unknown key `acess`']],
    ['wrong version', y(['version: 2']), ['p.yaml:1:10: version: Invalid input: expected 1']],
    ['missing version', y(['landlock: { compatibility: best_effort }']), ['p.yaml:1:1: version: missing required key']],
    ['wrong type', y(['version: 1', 'limits:', '  pids: many']), ['p.yaml:3:9: limits.pids: Invalid input: expected number, received string']],
    ['relative path', y(['version: 1', 'filesystem_policy:', '  read_only: [/usr, lib]']), ['p.yaml:3:21: filesystem_policy.read_only[1]: path must be absolute: "lib"']],
    ['dot-dot path', y(['version: 1', 'filesystem_policy:', '  read_write:', '    - /tmp/../etc']), ['p.yaml:4:7: filesystem_policy.read_write[0]: path must not contain `.` or `..` segments: "/tmp/../etc"']],
    ['root writable', y(['version: 1', 'filesystem_policy:', '  read_write: [/]']), ['p.yaml:3:16: filesystem_policy.read_write[0]: `/` can never be writable']],
    ['TLD wildcard', y(['version: 1', 'network_policies:', '  a:', '    endpoints: [{ host: "*.com", port: 443 }]']), ['p.yaml:4:25: network_policies.a.endpoints[0].host: host "*.com": wildcard over a top-level domain (*.com) is too broad; name at least two labels after the wildcard']],
    ['bare star', y(['version: 1', 'network_policies:', '  a:', '    endpoints: [{ host: "*", port: 443 }]']), ['p.yaml:4:25: network_policies.a.endpoints[0].host: host "*": a bare `*` host would allow every destination; name the hosts']],
    ['port out of range', y(['version: 1', 'network_policies:', '  a:', '    endpoints: [{ host: a.example.com, port: 70000 }]']), ['p.yaml:4:46: network_policies.a.endpoints[0].port: Too big: expected number to be <=65535']],
    ['no port', y(['version: 1', 'network_policies:', '  a:', '    endpoints:', '      - host: a.example.com']), ['p.yaml:5:9: network_policies.a.endpoints[0]: endpoint needs `port` or `ports`']],
    ['bad CIDR', y(['version: 1', 'network_policies:', '  a:', '    endpoints:', '      - { host: db.internal.example, port: 5432, allowed_ips: [10.0.0.0/33] }']), ['p.yaml:5:64: network_policies.a.endpoints[0].allowed_ips[0]: bad prefix length /33']],
    ['bad duration', y(['version: 1', 'approvals: { timeout: soon }']), ['p.yaml:2:23: approvals.timeout: not a duration: "soon" (examples: 0, 250ms, 60s, 5m, 1h30m)']],
    ['bad size', y(['version: 1', 'limits: { memory: 2 gigs }']), ['p.yaml:2:19: limits.memory: not a size: "2 gigs" (examples: 4096, 512MiB, 2GiB)']],
    ['root user', y(['version: 1', 'process: { run_as_user: root }']), ['p.yaml:2:25: process.run_as_user: the workload never runs as root']],
    ['access and rules together', y(['version: 1', 'network_policies:', '  a:', '    endpoints:', '      - host: a.example.com', '        port: 443', '        protocol: rest', '        access: read-only', '        rules: [{ allow: { method: GET } }]']), ['p.yaml:9:16: network_policies.a.endpoints[0].rules: `access` and `rules` are mutually exclusive']],
    ['rules without protocol rest', y(['version: 1', 'network_policies:', '  a:', '    endpoints:', '      - host: a.example.com', '        port: 443', '        access: read-only']), ['p.yaml:7:17: network_policies.a.endpoints[0].access: method/path rules need `protocol: rest` (requests are only visible when inspected)']],
    ['bad binary glob', y(['version: 1', 'network_policies:', '  a:', '    endpoints: [{ host: a.example.com, port: 443 }]', '    binaries: [{ path: "/usr/bin/[ab" }]']), ['p.yaml:5:24: network_policies.a.binaries[0].path: unclosed `[` in glob']],
    ['bad rule name', y(['version: 1', 'network_policies:', '  "bad name":', '    endpoints: [{ host: a.example.com, port: 443 }]']), ['p.yaml:3:3: network_policies.bad name: rule names use letters, digits, `_`, `.` and `-` (max 63)']],
    ['empty document', '', ['p.yaml:1:1: empty document: expected a mapping starting with `version: 1`']],
    ['not a mapping', '- a\n- b\n', ['p.yaml:1:1: the document must be a mapping (Invalid input: expected object, received array)']],
    ['two documents', y(['version: 1', '---', 'version: 1']), ['p.yaml:2:1:']],
  ])('%s', (_name, text, expected) => {
    const got = errorsOf(text);
    expect(got.length).toBeGreaterThan(0);
    expected.forEach((e, i) => expect(got[i]).toContain(e));
  });

  it('reports every error, not just the first, each at its own position', () => {
    const got = errorsOf(y(['version: 1', 'colour: red', 'filesystem_policy:', '  read_only: [etc]', 'approvals: { unmatched_egress: maybe }']));
    expect(got).toEqual([
      'p.yaml:2:1: colour: unknown key `colour`',
      'p.yaml:4:15: filesystem_policy.read_only[0]: path must be absolute: "etc"',
      'p.yaml:5:32: approvals.unmatched_egress: Invalid option: expected one of "ask"|"deny"|"audit"',
    ]);
  });

  it('the error message is the file:line:col lines and diagnostics carry the snippet', () => {
    try {
      parsePolicy('version: 1\nbogus: 1\n', 'x/y.yaml');
      expect.unreachable();
    } catch (err) {
      const e = err as PolicyError;
      expect(e).toBeInstanceOf(PolicyError);
      expect(e.message).toBe('x/y.yaml:2:1: bogus: unknown key `bogus`');
      expect(e.diagnostics).toEqual([{ file: 'x/y.yaml', line: 2, col: 1, message: 'bogus: unknown key `bogus`', snippet: 'bogus: 1' }]);
    }
  });

  it('refuses alias bombs quickly with a positioned error', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 12; i++) lines.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`);
    const got = errorsOf(y(lines));
    expect(got[0]).toMatch(/^p\.yaml:1:1: /);
  });
});

describe('OpenShell vocabulary: validation with positions', () => {
  const ep = (...lines: string[]) => y(['version: 1', 'network_policies:', '  a:', '    endpoints:', ...lines.map((l) => `      ${l}`)]);
  it.each<[string, string, string[]]>([
    ['protocol: rest with neither rules nor access', ep('- host: a.example.com', '  port: 443', '  protocol: rest'), ['p.yaml:7:19: network_policies.a.endpoints[0].protocol: `protocol: rest` needs `access` or `rules` (what may pass); omit `protocol` for a plain tunnel']],
    ['protocol: websocket with neither', ep('- { host: a.example.com, port: 443, protocol: websocket }'), ['p.yaml:5:53: network_policies.a.endpoints[0].protocol: `protocol: websocket` needs']],
    [
      'deny_rules without rules or access',
      ep('- host: a.example.com', '  port: 443', '  protocol: rest', '  deny_rules: [{ method: GET, path: /admin }]'),
      ['p.yaml:7:19: network_policies.a.endpoints[0].protocol: `protocol: rest` needs', 'p.yaml:8:21: network_policies.a.endpoints[0].deny_rules: `deny_rules` need `access` or `rules` beside them'],
    ],
    ['empty deny_rules', ep('- { host: a.example.com, port: 443, protocol: rest, access: read-only, deny_rules: [] }'), ['p.yaml:5:90: network_policies.a.endpoints[0].deny_rules: `deny_rules: []` denies nothing']],
    ['protocol: graphql', ep('- { host: a.example.com, port: 443, protocol: graphql, access: read-only }'), ['p.yaml:5:53: network_policies.a.endpoints[0].protocol: GraphQL inspection (`protocol: graphql`, operation_type/fields rules, persisted queries) is OpenShell\'s and is not supported here']],
    ['protocol: mcp', ep('- { host: a.example.com, port: 443, protocol: mcp }'), ['p.yaml:5:53: network_policies.a.endpoints[0].protocol: MCP inspection (`protocol: mcp`) is not supported here']],
    ['GraphQL rule keys', ep('- host: a.example.com', '  port: 443', '  protocol: rest', '  rules:', '    - allow: { operation_type: query, fields: [viewer] }'), ['p.yaml:9:22: network_policies.a.endpoints[0].rules[0].allow.operation_type: `operation_type` is an OpenShell GraphQL rule field; GraphQL inspection is not supported here', 'p.yaml:9:45: network_policies.a.endpoints[0].rules[0].allow.fields: `fields` is an OpenShell GraphQL rule field']],
    ['GraphQL endpoint keys', ep('- { host: a.example.com, port: 443, persisted_queries: deny }'), ['p.yaml:5:43: network_policies.a.endpoints[0].persisted_queries: `persisted_queries` is OpenShell\'s GraphQL persisted-query policy; GraphQL inspection is not supported here']],
    ['ancestor matching', y(['version: 1', 'network_policies:', '  a:', '    endpoints: [{ host: a.example.com, port: 443 }]', '    binaries: [{ path: /usr/bin/claude, ancestors: true }]']), ['p.yaml:5:52: network_policies.a.binaries[0].ancestors: `ancestors: true` is not supported: the relay names only the calling process (native/PROTOCOL.md)']],
    ['an endpoint with neither host nor allowed_ips', ep('- { port: 443 }'), ['p.yaml:5:9: network_policies.a.endpoints[0]: endpoint needs `host`, or `allowed_ips`']],
    ['a hostless tcp endpoint', ep('- { port: 5432, protocol: tcp, allowed_ips: [10.0.0.0/8] }'), ['p.yaml:5:33: network_policies.a.endpoints[0].protocol: `protocol: tcp` needs a `host`']],
    ['allowed_ips over link-local', ep('- { host: a.example.com, port: 80, allowed_ips: [169.254.0.0/16] }'), ['p.yaml:5:56: network_policies.a.endpoints[0].allowed_ips[0]: 169.254.0.0/16 reaches into link-local 169.254.0.0/16: link-local addresses are opened one by one']],
    ['allowed_ips naming metadata', ep('- { host: a.example.com, port: 80, allowed_ips: [169.254.169.254] }'), ['p.yaml:5:56: network_policies.a.endpoints[0].allowed_ips[0]: 169.254.169.254 is cloud instance metadata']],
    ['allowed_ips naming IPv6 metadata', ep('- { host: a.example.com, port: 80, allowed_ips: ["fd00:ec2::254"] }'), ['allowed_ips[0]: fd00:ec2::254 is AWS instance metadata (IPv6)']],
    ['a literal metadata host', ep('- { host: 169.254.169.254, port: 80 }'), ['p.yaml:5:17: network_policies.a.endpoints[0].host: 169.254.169.254 is cloud instance metadata (AWS, GCP, Azure, OpenStack, Oracle) 169.254.169.254/32, which is never reachable from a sandbox']],
    ['allowed_ips over 0.0.0.0', ep('- { host: a.example.com, port: 80, allowed_ips: [0.0.0.0/8] }'), ['allowed_ips[0]: 0.0.0.0/8 reaches into "this network" (0.0.0.0 dials the host itself) 0.0.0.0/8, which is never reachable from a sandbox']],
    ['a wide CIDR containing link-local', ep('- { host: a.example.com, port: 80, allowed_ips: [128.0.0.0/1] }'), ['allowed_ips[0]: 128.0.0.0/1 reaches into link-local 169.254.0.0/16']],
    ['IPv6 link-local CIDR', ep('- { host: a.example.com, port: 80, allowed_ips: ["fe80::/64"] }'), ['allowed_ips[0]: fe80::/64 reaches into link-local fe80::/10']],
    ['mapped link-local CIDR', ep('- { host: a.example.com, port: 80, allowed_ips: ["::ffff:169.254.0.0/112"] }'), ['reaches into link-local 169.254.0.0/16']],
    ['a request path without a leading slash', ep('- { host: a.example.com, port: 443, protocol: rest, rules: [{ allow: { path: "v1/*" } }] }'), ['rules[0].allow.path: request path must start with / (or be `**`, every path): "v1/*"']],
    ['a partial wildcard after the first label', ep('- { host: "foo.us-*.example.com", port: 443 }'), ['host "foo.us-*.example.com": after the first label a wildcard must be the whole label']],
    [
      'two rules for one host, port and program with different allowed_ips',
      y(['version: 1', 'network_policies:', '  db_a:', '    endpoints: [{ host: db.example.com, port: 5432, allowed_ips: [10.0.0.0/8] }]', '  db_b:', '    endpoints:', '      - host: db.example.com', '        port: 5432', '        allowed_ips: [10.1.0.0/16]', '    binaries: [{ path: /usr/bin/psql }]']),
      [
        'p.yaml:4:66: network_policies.db_a.endpoints[0].allowed_ips: conflicts with network_policies.db_b.endpoints[0] (p.yaml:9:22): both match db.example.com:5432 for /usr/bin/psql, with allowed_ips [10.0.0.0/8] vs [10.1.0.0/16]; give them the same allowed_ips',
        'p.yaml:9:22: network_policies.db_b.endpoints[0].allowed_ips: conflicts with network_policies.db_a.endpoints[0] (p.yaml:4:66): both match',
      ],
    ],
    [
      'a wildcard and an exact host that overlap, one without allowed_ips',
      y(['version: 1', 'network_policies:', '  wide:', '    endpoints: [{ host: "*.example.com", port: 443 }]', '  db:', '    endpoints: [{ host: db.example.com, port: 443, allowed_ips: [10.0.0.0/8] }]']),
      [
        'p.yaml:4:17: network_policies.wide.endpoints[0].allowed_ips: conflicts with network_policies.db.endpoints[0] (p.yaml:6:65): both match *.example.com / db.example.com:443 for any program, with allowed_ips [] vs [10.0.0.0/8]',
        'p.yaml:6:65: network_policies.db.endpoints[0].allowed_ips: conflicts with network_policies.wide.endpoints[0] (p.yaml:4:17)',
      ],
    ],
  ])('%s', (_name, text, expected) => {
    const got = errorsOf(text);
    expect(got.length).toBe(expected.length);
    expected.forEach((e, i) => expect(got[i]).toContain(e));
  });

  it.each<[string, string]>([
    ['access with deny_rules', 'ep'],
    ['hostless endpoint with allowed_ips', '- { port: 443, allowed_ips: [10.0.0.0/8] }'],
    ['intra-label and middle-label wildcards', '- { host: "*-aiplatform.googleapis.com", port: 443 }\n      - { host: "*.s3.*.amazonaws.com", port: 443 }'],
    ['path ** (every path)', '- { host: a.example.com, port: 443, protocol: rest, rules: [{ allow: { method: GET, path: "**" } }] }'],
    ['a link-local address named exactly', '- { host: a.example.com, port: 80, allowed_ips: [169.254.1.2, "fe80::1"] }'],
    ['a private CIDR holding a metadata address (refused at run time, not here)', '- { host: a.example.com, port: 80, allowed_ips: [100.64.0.0/10] }'],
    ['rules: [] beside deny_rules (what deny-always writes)', '- { host: a.example.com, port: 443, protocol: rest, rules: [], deny_rules: [{ method: GET, path: /x }] }'],
    ['ancestors: false', 'BIN'],
    ['the same allowed_ips spelled differently on two rules', 'SAME'],
    ['different allowed_ips for different programs', 'DISJOINT'],
  ])('accepts %s', (_name, body) => {
    const texts: Record<string, string> = {
      ep: ep('- { host: a.example.com, port: 443, protocol: rest, access: read-only, deny_rules: [{ method: GET, path: /admin }] }'),
      BIN: y(['version: 1', 'network_policies:', '  a:', '    endpoints: [{ host: a.example.com, port: 443 }]', '    binaries: [{ path: /usr/bin/claude, ancestors: false }]']),
      SAME: y(['version: 1', 'network_policies:', '  a:', '    endpoints: [{ host: db.example.com, port: 5432, allowed_ips: [10.0.0.0/8, 192.168.1.0/24] }]', '  b:', '    endpoints: [{ host: db.example.com, port: 5432, allowed_ips: [192.168.1.7/24, 10.1.2.3/8] }]']),
      DISJOINT: y(['version: 1', 'network_policies:', '  a:', '    endpoints: [{ host: db.example.com, port: 5432, allowed_ips: [10.0.0.0/8] }]', '    binaries: [{ path: /usr/bin/psql }]', '  b:', '    endpoints: [{ host: db.example.com, port: 5432 }]', '    binaries: [{ path: /usr/bin/curl }]']),
    };
    expect(errorsOf(texts[body] ?? ep(...body.split('\n      ')))).toEqual([]);
  });
});

describe('parsePolicy accepts', () => {
  it('the default policy written as YAML', () => {
    expect(parsePolicy(stringify(defaultPolicy()), 'd.yaml')).toEqual(defaultPolicy());
  });

  it('the OpenShell structure sketch (keys we share)', () => {
    const p = parsePolicy(
      y([
        'version: 1',
        'filesystem_policy: { include_workdir: true, read_only: [/usr, /lib, /etc, /proc, /dev/urandom], read_write: [/tmp, /dev/null] }',
        'landlock: { compatibility: best_effort }',
        'process:  { run_as_user: sandbox, run_as_group: sandbox }',
        'network_policies:',
        '  gh_readonly:',
        '    endpoints:',
        '      - { host: api.github.com, port: 443, protocol: rest, enforcement: enforce, access: read-only,',
        '          deny_rules: [{ method: "*", path: "/repos/*/rulesets" }] }',
        '    binaries: [{ path: /usr/bin/gh }, { path: /usr/bin/curl }]',
        '  npm_l4:',
        '    endpoints: [{ host: registry.npmjs.org, port: 443, access: full, tls: skip }]',
        '    binaries:  [{ path: "/usr/bin/node*" }]',
      ]),
      'openshell.yaml',
    );
    expect(Object.keys(p.network_policies ?? {})).toEqual(['gh_readonly', 'npm_l4']);
  });
});

describe('loader robustness (property)', () => {
  const check = (text: string) => {
    try {
      parsePolicy(text, 'fuzz.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyError);
      const e = err as PolicyError;
      expect(e.diagnostics.length).toBeGreaterThan(0);
      const lines = text.split(/\r?\n/).length;
      for (const d of e.diagnostics) {
        expect(d.file).toBe('fuzz.yaml');
        expect(d.line).toBeGreaterThanOrEqual(1);
        expect(d.line).toBeLessThanOrEqual(lines + 1);
        expect(d.col).toBeGreaterThanOrEqual(1);
        expect(d.message.length).toBeGreaterThan(0);
      }
    }
  };

  it('any string loads or yields positioned errors, never a crash', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), check), { numRuns: 1500 });
  });

  it('any YAML-shaped value loads or yields positioned errors', () => {
    const key = fc.constantFrom('version', 'filesystem_policy', 'read_only', 'read_write', 'network_policies', 'endpoints', 'host', 'port', 'binaries', 'path', 'access', 'rules', 'approvals', 'limits', 'x');
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.constantFrom(1, 443, '/usr', '*.com', 'a.example.com', 'read-only', true, null), fc.string(), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), fc.boolean(), (obj, withVersion) => {
        check(stringify(withVersion ? { version: 1, ...obj } : obj));
      }),
      { numRuns: 1500 },
    );
  });

  it('mutated copies of a valid policy load or yield positioned errors', () => {
    const base = stringify(defaultPolicy());
    fc.assert(
      fc.property(fc.nat(base.length), fc.nat(20), fc.string({ maxLength: 8 }), (at, del, ins) => {
        check(base.slice(0, at) + ins + base.slice(at + del));
      }),
      { numRuns: 1500 },
    );
  });
});
