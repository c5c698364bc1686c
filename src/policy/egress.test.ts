import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileEgressRules, decideEgress, normalizeRequestPath, parsePolicy } from './index.ts';
import type { EgressRequest } from './index.ts';

const POLICY = `version: 1
approvals: { unmatched_egress: ask, timeout: 30s }
network_policies:
  gh_ro:
    endpoints:
      - host: api.github.com
        port: 443
        protocol: rest
        access: read-only
        deny_rules:
          - { method: "*", path: "/repos/*/*/rulesets/**" }
          - { method: GET, path: "/search/**", query: { q: "*secret*" } }
    binaries: [{ path: /usr/bin/gh }, { path: "/usr/lib/git-core/git-remote-*" }]
  gh_rw_for_bot:
    endpoints:
      - { host: api.github.com, port: 443, protocol: rest, access: read-write }
    binaries: [{ path: /opt/bot/bin/bot }]
  npm:
    endpoints: [{ host: "**.npmjs.org", port: 443 }]
  cdn:
    endpoints: [{ host: "*.cdn.example.com", ports: [80, 443] }]
  items:
    endpoints:
      - host: items.example.com
        port: 443
        protocol: rest
        rules:
          - allow: { method: GET, path: "/v1/items/*", query: { page: "[0-9]*", sort: { any: [asc, desc] } } }
          - allow: { method: POST, path: /v1/items }
  audited:
    endpoints:
      - { host: audit.example.com, port: 443, protocol: rest, access: read-only, enforcement: audit }
  local_db:
    endpoints: [{ host: db.internal.example, port: 5432, allowed_ips: [10.0.0.0/8] }]
  blocked:
    action: deny
    endpoints: [{ host: "*.npmjs.org", port: 443 }]
    binaries: [{ path: /usr/bin/evil }]
`;

const rules = compileEgressRules(parsePolicy(POLICY, 'egress.yaml'));
const decide = (req: Partial<EgressRequest> & { host: string }) => decideEgress(rules, { port: 443, binary: null, ...req });

describe('decideEgress', () => {
  it.each<[string, Partial<EgressRequest> & { host: string }, string, string | null, boolean]>([
    // [name, request, verdict, rule (prefix), inspect]
    ['L4 wildcard ** one label', { host: 'registry.npmjs.org' }, 'allow', 'network_policies.npm.endpoints[0]', false],
    ['L4 wildcard ** two labels', { host: 'a.b.npmjs.org', binary: '/usr/bin/node' }, 'allow', 'network_policies.npm.endpoints[0]', false],
    ['** does not match the apex', { host: 'npmjs.org' }, 'ask', null, false],
    ['* matches one label', { host: 'img.cdn.example.com', port: 80 }, 'allow', 'network_policies.cdn.endpoints[0]', false],
    ['* does not match two labels', { host: 'a.img.cdn.example.com' }, 'ask', null, false],
    ['port must match', { host: 'registry.npmjs.org', port: 80 }, 'ask', null, false],
    ['binary-scoped rule, wrong binary', { host: 'api.github.com', binary: '/usr/bin/curl' }, 'ask', null, false],
    ['binary-scoped rule, null binary never matches', { host: 'api.github.com', binary: null }, 'ask', null, false],
    ['binary glob', { host: 'api.github.com', binary: '/usr/lib/git-core/git-remote-https' }, 'allow', 'network_policies.gh_ro.endpoints[0]', true],
    ['L7 connection level asks for inspection', { host: 'api.github.com', binary: '/usr/bin/gh' }, 'allow', 'network_policies.gh_ro.endpoints[0]', true],
    ['read-only GET', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/user' }, 'allow', 'network_policies.gh_ro.endpoints[0]', false],
    ['read-only HEAD lower-case method', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'head', path: '/user' }, 'allow', 'network_policies.gh_ro.endpoints[0]', false],
    ['read-only POST falls to unmatched', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'POST', path: '/user/repos' }, 'ask', 'network_policies.gh_ro.endpoints[0]', false],
    ['read-write POST for the bot', { host: 'api.github.com', binary: '/opt/bot/bin/bot', method: 'POST', path: '/user/repos' }, 'allow', 'network_policies.gh_rw_for_bot.endpoints[0]', false],
    ['read-write has no DELETE', { host: 'api.github.com', binary: '/opt/bot/bin/bot', method: 'DELETE', path: '/repos/a/b' }, 'ask', 'network_policies.gh_rw_for_bot.endpoints[0]', false],
    ['deny rule wins over allow', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/repos/o/r/rulesets/1' }, 'deny', 'network_policies.gh_ro.endpoints[0].deny_rules[0]', false],
    ['deny rule with percent-encoded path', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/repos/o/r/%72ulesets/1' }, 'deny', 'network_policies.gh_ro.endpoints[0].deny_rules[0]', false],
    ['deny rule with doubled slashes', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/repos//o/r/rulesets/1' }, 'deny', 'network_policies.gh_ro.endpoints[0].deny_rules[0]', false],
    ['deny rule on query (any value)', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/search/code', query: 'q=ok&q=my+secret+key' }, 'deny', 'network_policies.gh_ro.endpoints[0].deny_rules[1]', false],
    ['dot segments resolve before matching', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/user/../repos/o/r/rulesets/1' }, 'deny', 'network_policies.gh_ro.endpoints[0].deny_rules[0]', false],
    ['a dot segment hidden behind ;params is refused', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/user/..;/repos/o/r/rulesets/1' }, 'deny', 'network_policies.gh_ro.endpoints[0]', false],
    ['an encoded NUL is refused', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/user%00' }, 'deny', 'network_policies.gh_ro.endpoints[0]', false],
    ['encoded slash is refused', { host: 'api.github.com', binary: '/usr/bin/gh', method: 'GET', path: '/repos/o%2Fr' }, 'deny', 'network_policies.gh_ro.endpoints[0]', false],
    ['REST rule with query', { host: 'items.example.com', method: 'GET', path: '/v1/items/7', query: 'page=2&sort=asc' }, 'allow', 'network_policies.items.endpoints[0].rules[0]', false],
    ['REST rule query value must match', { host: 'items.example.com', method: 'GET', path: '/v1/items/7', query: 'page=x&sort=asc' }, 'ask', 'network_policies.items.endpoints[0]', false],
    ['REST rule repeated parameter cannot smuggle', { host: 'items.example.com', method: 'GET', path: '/v1/items/7', query: 'page=1&page=evil&sort=asc' }, 'ask', 'network_policies.items.endpoints[0]', false],
    ['REST rule missing parameter', { host: 'items.example.com', method: 'GET', path: '/v1/items/7', query: 'page=1' }, 'ask', 'network_policies.items.endpoints[0]', false],
    ['REST rule * stays in one segment', { host: 'items.example.com', method: 'GET', path: '/v1/items/7/owner', query: 'page=1&sort=asc' }, 'ask', 'network_policies.items.endpoints[0]', false],
    ['REST rule exact path', { host: 'items.example.com', method: 'POST', path: '/v1/items' }, 'allow', 'network_policies.items.endpoints[0].rules[1]', false],
    ['audit enforcement lets violations through', { host: 'audit.example.com', method: 'POST', path: '/x' }, 'audit', 'network_policies.audited.endpoints[0]', false],
    ['audit enforcement allows what it allows', { host: 'audit.example.com', method: 'GET', path: '/x' }, 'allow', 'network_policies.audited.endpoints[0]', false],
    ['action: deny beats a wildcard allow', { host: 'registry.npmjs.org', binary: '/usr/bin/evil' }, 'deny', 'network_policies.blocked.endpoints[0]', false],
    ['action: deny only for its binaries', { host: 'registry.npmjs.org', binary: '/usr/bin/node' }, 'allow', 'network_policies.npm.endpoints[0]', false],
    ['unknown host', { host: 'exfil.example.net' }, 'ask', null, false],
  ])('%s', (_name, req, verdict, rule, inspect) => {
    const d = decide(req);
    expect(d.verdict).toBe(verdict);
    expect(d.rule).toBe(rule);
    expect(d.inspect).toBe(inspect);
    expect(d.reason.length).toBeGreaterThan(10);
  });

  it('says why in one sentence', () => {
    expect(decide({ host: 'api.github.com', binary: '/usr/bin/gh', method: 'POST', path: '/x' }).reason).toBe(
      'POST not permitted by read-only access on api.github.com:443 (gh_ro); unmatched egress is asked',
    );
  });

  it('returns allowed_ips of the matched endpoint', () => {
    expect(decide({ host: 'db.internal.example', port: 5432 }).allowedIps).toEqual(['10.0.0.0/8']);
  });

  it('uses approvals.unmatched_egress, default deny', () => {
    const none = compileEgressRules(parsePolicy('version: 1\n', 'x.yaml'));
    expect(decideEgress(none, { host: 'a.example.com', port: 443, binary: null }).verdict).toBe('deny');
    const audit = compileEgressRules(parsePolicy('version: 1\napprovals: { unmatched_egress: audit }\n', 'x.yaml'));
    expect(decideEgress(audit, { host: 'a.example.com', port: 443, binary: null }).verdict).toBe('audit');
    expect(rules.approvalTimeoutMs).toBe(30_000);
    expect(none.approvalTimeoutMs).toBe(60_000);
  });

  it('a request-level decision is never more permissive than a deny at connection level (property)', () => {
    const hosts = ['api.github.com', 'registry.npmjs.org', 'items.example.com', 'x.cdn.example.com', 'nowhere.example'];
    const bins = [null, '/usr/bin/gh', '/usr/bin/evil', '/opt/bot/bin/bot'];
    fc.assert(
      fc.property(fc.constantFrom(...hosts), fc.constantFrom(...bins), fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH'), fc.string({ maxLength: 30 }), (host, binary, method, path) => {
        const conn = decideEgress(rules, { host, port: 443, binary });
        const req = decideEgress(rules, { host, port: 443, binary, method, path: `/${path}` });
        if (conn.verdict === 'deny') expect(req.verdict).toBe('deny');
        if (!conn.inspect) expect(req.verdict).toBe(conn.verdict);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('normalizeRequestPath', () => {
  // [input, allow_encoded_slash, canonical path or null (refused)]
  it.each<[string, boolean, string | null]>([
    // plain and collapsed
    ['/', false, '/'],
    ['/a/b', false, '/a/b'],
    ['/a//b', false, '/a/b'],
    ['//a', false, '/a'],
    ['/a/', false, '/a/'],
    ['/a//', false, '/a/'],
    // unreserved escapes decoded, others upper-cased
    ['/%61%62c', false, '/abc'],
    ['/%7e%2D%5f', false, '/~-_'],
    ['/a%20b', false, '/a%20b'],
    ['/a%3a%40', false, '/a%3A%40'],
    ['/caf%c3%a9', false, '/caf%C3%A9'],
    // stray printable characters escaped, so both spellings are one path
    ['/{x}', false, '/%7Bx%7D'],
    ['/a|b', false, '/a%7Cb'],
    // dot segments resolve (what the origin would do)
    ['/a/./b', false, '/a/b'],
    ['/a/b/../c', false, '/a/c'],
    ['/a/..', false, '/'],
    ['/a/b/..', false, '/a/'],
    ['/a/.', false, '/a/'],
    ['/a/%2e/b', false, '/a/b'],
    ['/public/%2e%2e/secret', false, '/secret'],
    ['/public/%2E%2e/secret', false, '/secret'],
    // ... but never above the root
    ['/..', false, null],
    ['/../a', false, null],
    ['/a/../..', false, null],
    ['/%2e%2e/a', false, null],
    // ;params are stripped from every segment
    ['/a;jsessionid=1/b', false, '/a/b'],
    ['/login;jsessionid=ABC', false, '/login'],
    ['/a/;x/b', false, '/a/b'],
    ['/a;x;y', false, '/a'],
    ['/a%3Bb', false, '/a%3Bb'],
    // ... and a segment that is a dot segment once they are gone is refused (Tomcat, Jetty)
    ['/public/..;/secret', false, null],
    ['/public/..;x=1/secret', false, null],
    ['/public/.;x/secret', false, null],
    ['/public/%2e%2e;/secret', false, null],
    ['/public/%2e;/secret', false, null],
    ['/public/..%3B/secret', false, null],
    ['/public/..%3b/secret', false, null],
    ['/public/.%3Bx/secret', false, null],
    ['/public/%2e%2e%3b/secret', false, null],
    // encoded control bytes and raw controls
    ['/public/a%00b', false, null],
    ['/a%0d%0aX-Injected:%201', false, null],
    ['/a%09', false, null],
    ['/a%1f', false, null],
    ['/a%7f', false, null],
    ['/a\u0000b', false, null],
    ['/a\tb', false, null],
    ['/a b', false, null],
    ['/a\u007f', false, null],
    ['/caf\u00e9', false, null],
    // invalid UTF-8 in escapes: overlong (%C0%AE is an overlong `.`), %C1, surrogates, truncated
    ['/%c0%ae%c0%ae/secret', false, null],
    ['/%C0%AF', false, null],
    ['/%c1%9c', false, null],
    ['/%e0%80%ae', false, null],
    ['/%ed%a0%80', false, null],
    ['/%f5%80%80%80', false, null],
    ['/%ff', false, null],
    ['/%c3', false, null],
    ['/%c3x', false, null],
    ['/%e2%82', false, null],
    // double encoding of dot, slash, backslash, percent (any case)
    ['/a/%252e%252e/b', false, null],
    ['/a%252fb', true, null],
    ['/a%252Fb', false, null],
    ['/a%255cb', false, null],
    ['/a%2525', false, null],
    ['/a%25', false, '/a%25'],
    ['/100%25off', false, '/100%25off'],
    ['/a%2541', false, '/a%2541'],
    // backslash, raw or encoded, and malformed escapes
    ['/a\\b', false, null],
    ['/a%5cb', false, null],
    ['/a%5Cb', true, null],
    ['/a%zz', false, null],
    ['/a%2', false, null],
    ['/a%', false, null],
    // encoded slash only where the endpoint allows it, and never hiding a dot segment
    ['/a%2fb', false, null],
    ['/a%2fb', true, '/a%2Fb'],
    ['/@scope%2Fname', true, '/@scope%2Fname'],
    ['/a/..%2F..%2Fetc', true, null],
    ['/a/%2e%2e%2fb', true, null],
    ['/a/x%2F.', true, null],
    // not an origin-form path
    ['a/b', false, null],
    ['', false, null],
    ['*', false, null],
    ['/a?b', false, null],
    ['/a#b', false, null],
  ])('%j (encoded slash allowed: %s) -> %j', (input, slash, out) => {
    expect(normalizeRequestPath(input, slash)).toBe(out);
  });

  it('is idempotent, and its output is a valid origin-form path (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'Z', '.', '..', '/', '%2e', '%2E', '%41', '%2f', '%3B', ';', ';x=1', '%25', '%c3%a9', '{', '~', '//'), { maxLength: 12 }), fc.boolean(), (parts, slash) => {
        const out = normalizeRequestPath(`/${parts.join('')}`, slash);
        if (out === null) return;
        expect(out).toMatch(/^\/(?:[A-Za-z0-9\-._~!$&'()*+,=:@/]|%[0-9A-F]{2})*$/);
        expect(out).not.toMatch(/(?:^|\/)\.\.?(?:\/|$)/);
        expect(out).not.toMatch(/\/\//);
        expect(normalizeRequestPath(out, slash)).toBe(out);
      }),
      { numRuns: 3000 },
    );
  });
});
