import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalizeHost, compileEgressRules, decideEgress, hostMatches, parseHostPattern, parsePolicy } from './index.ts';
import { hostPatternsOverlap } from './host.ts';

describe('canonicalizeHost', () => {
  it.each([
    ['Example.COM', 'example.com', 'dns'],
    ['example.com.', 'example.com', 'dns'],
    ['EXAMPLE.com.', 'example.com', 'dns'],
    ['bücher.de', 'xn--bcher-kva.de', 'dns'],
    ['BÜCHER.de', 'xn--bcher-kva.de', 'dns'],
    ['ＥＸＡＭＰＬＥ.com', 'example.com', 'dns'],
    ['xn--bcher-kva.de', 'xn--bcher-kva.de', 'dns'],
    ['_dmarc.example.com', '_dmarc.example.com', 'dns'],
    ['127.0.0.1', '127.0.0.1', 'ipv4'],
    ['127.1', '127.0.0.1', 'ipv4'],
    ['127.0.1', '127.0.0.1', 'ipv4'],
    ['0x7f.0.0.1', '127.0.0.1', 'ipv4'],
    ['0X7F.1', '127.0.0.1', 'ipv4'],
    ['0177.0.0.1', '127.0.0.1', 'ipv4'],
    ['017700000001', '127.0.0.1', 'ipv4'],
    ['2130706433', '127.0.0.1', 'ipv4'],
    ['0x7f000001', '127.0.0.1', 'ipv4'],
    ['127.0.0.1.', '127.0.0.1', 'ipv4'],
    ['１２７.0.0.1', '127.0.0.1', 'ipv4'],
    ['169.254.169.254', '169.254.169.254', 'ipv4'],
    ['0', '0.0.0.0', 'ipv4'],
    ['[::1]', '::1', 'ipv6'],
    ['::1', '::1', 'ipv6'],
    ['0:0:0:0:0:0:0:1', '::1', 'ipv6'],
    ['[2001:DB8:0:0:0:0:0:1]', '2001:db8::1', 'ipv6'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 'ipv6'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0', 'ipv6'],
    ['[::ffff:127.0.0.1]', '127.0.0.1', 'ipv4'],
    ['::ffff:7f00:1', '127.0.0.1', 'ipv4'],
    ['[0:0:0:0:0:ffff:7f00:0001]', '127.0.0.1', 'ipv4'],
    ['::FFFF:169.254.169.254', '169.254.169.254', 'ipv4'],
  ])('%s -> %s (%s)', (input, host, kind) => {
    expect(canonicalizeHost(input)).toEqual({ ok: true, host, kind });
  });

  it.each([
    ['', 'empty'],
    ['a\0b.com', 'NUL'],
    ['user@example.com', 'userinfo'],
    ['ex%61mple.com', 'percent'],
    ['exa mple.com', 'whitespace'],
    ['a..b.com', 'empty label'],
    ['.example.com', 'empty label'],
    ['example.com..', 'empty label'],
    [`${'a'.repeat(64)}.com`, 'label longer'],
    [`${'a.'.repeat(130)}com`, 'longer than 253'],
    ['exa$mple.com', 'invalid character'],
    ['-lead.example.com', 'invalid character'],
    ['256.0.0.1', 'IPv4'],
    ['1.2.3.4.5', 'IPv4'],
    ['4294967296', 'IPv4'],
    ['0x1.0x100.1.1', 'IPv4'],
    ['example.123', 'IPv4'],
    ['09.1.1.1', 'IPv4'],
    ['[::1', 'brackets'],
    ['::1]', 'brackets'],
    ['[fe80::1%eth0]', 'percent'],
    ['1:2:3:4:5:6:7:8:9', 'IPv6'],
    ['1::2::3', 'IPv6'],
    ['example.com:443', 'IPv6'],
    ['a/b.com', 'slash'],
    ['a\\b.com', 'backslash'],
  ])('rejects %j (%s)', (input, why) => {
    const r = canonicalizeHost(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.toLowerCase()).toContain(why.toLowerCase());
  });

  it('is idempotent on any string (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.domain(), fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (s) => {
        const a = canonicalizeHost(s);
        if (!a.ok) return;
        expect(canonicalizeHost(a.host)).toEqual(a);
      }),
      { numRuns: 2000 },
    );
  });

  it('maps every IPv4 spelling fast-check knows to the dotted-quad form', () => {
    fc.assert(
      fc.property(fc.ipV4Extended(), (s) => {
        const r = canonicalizeHost(s);
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.host).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      }),
    );
  });

  it('every inet_aton spelling of an address canonicalises to that address (property)', () => {
    const spell = (n: number, style: number, width: number) => {
      if (style === 0) return String(n);
      if (style === 1) return `0x${n.toString(16)}`;
      if (style === 2) return `0X${n.toString(16).toUpperCase()}`;
      return `0${n.toString(8)}`.padStart(width, '0');
    };
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 6 }), (bytes, parts, styles, width) => {
        const [a, b, c, d] = bytes as [number, number, number, number];
        // 1 part: a 32-bit number; 2: a.(24 bits); 3: a.b.(16 bits); 4: a.b.c.d.
        const nums = parts === 1 ? [((a << 24) >>> 0) + (b << 16) + (c << 8) + d] : parts === 2 ? [a, (b << 16) + (c << 8) + d] : parts === 3 ? [a, b, (c << 8) + d] : [a, b, c, d];
        const text = nums.map((n, i) => spell(n, styles[i] as number, width)).join('.');
        expect(canonicalizeHost(text)).toEqual({ ok: true, kind: 'ipv4', host: `${a}.${b}.${c}.${d}` });
        expect(canonicalizeHost(`[::ffff:${a}.${b}.${c}.${d}]`)).toEqual({ ok: true, kind: 'ipv4', host: `${a}.${b}.${c}.${d}` });
      }),
      { numRuns: 2000 },
    );
  });

  it('never crashes and never returns a host with forbidden characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        const r = canonicalizeHost(s);
        if (r.ok) expect(r.host).toMatch(/^[a-z0-9_.:-]+$/);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('host patterns', () => {
  it.each(['*', '**', '*.com', '**.com', '*.', 'a.*.com', '*-x.com', '*.s3.*.com', 'foo.us-*.example.com', 'foo.**.example.com', 'foo**.example.com', '***.example.com', '*.127.0.0.1', '*.[::1]', '*.ex ample.com', 'b\u00fc*.example.com'])('rejects %j', (p) => {
    expect(parseHostPattern(p).ok).toBe(false);
  });

  // [pattern, host, matches]
  it.each<[string, string, boolean]>([
    ['*-aiplatform.googleapis.com', 'us-central1-aiplatform.googleapis.com', true],
    ['*-aiplatform.googleapis.com', 'aiplatform.googleapis.com', false],
    ['*-aiplatform.googleapis.com', 'a.us-aiplatform.googleapis.com', false],
    ['*-aiplatform.googleapis.com', 'us-aiplatform.googleapis.com.evil.com', false],
    ['api-*.example.com', 'api-eu.example.com', true],
    ['api-*.example.com', 'api.example.com', false],
    ['*.s3.*.amazonaws.com', 'bucket.s3.us-east-1.amazonaws.com', true],
    ['*.s3.*.amazonaws.com', 'bucket.s3.amazonaws.com', false],
    ['*.s3.*.amazonaws.com', 'a.bucket.s3.us-east-1.amazonaws.com', false],
    ['*.s3.*.amazonaws.com', 'bucket.s3.us.east.amazonaws.com', false],
    ['**.s3.*.amazonaws.com', 'a.bucket.s3.us-east-1.amazonaws.com', true],
    ['*.*.example.com', 'a.b.example.com', true],
    ['*.*.example.com', 'a.example.com', false],
    ['A*.Example.COM.', 'ab.example.com', true],
  ])('%s matches %s: %s', (pattern, host, want) => {
    const r = parseHostPattern(pattern);
    if (!r.ok) throw new Error(r.reason);
    expect(hostMatches(r.pattern, host)).toBe(want);
  });

  // [a, b, can one host match both]
  it.each<[string, string, boolean]>([
    ['api.example.com', 'api.example.com', true],
    ['api.example.com', 'API.example.com.', true],
    ['api.example.com', 'web.example.com', false],
    ['*.example.com', 'api.example.com', true],
    ['*.example.com', 'a.b.example.com', false],
    ['**.example.com', 'a.b.example.com', true],
    ['**.example.com', '*.example.com', true],
    ['**.example.com', '**.other.com', false],
    ['**.a.example.com', '**.example.com', true],
    ['**.a.example.com', '**.b.example.com', false],
    ['*-a.example.com', '*-b.example.com', false],
    ['*-a.example.com', 'x-*.example.com', true],
    ['*.s3.*.amazonaws.com', 'b.s3.eu.amazonaws.com', true],
    ['*.s3.*.amazonaws.com', '*.s4.*.amazonaws.com', false],
    ['**.amazonaws.com', '*.s3.*.amazonaws.com', true],
  ])('%s and %s overlap: %s', (a, b, want) => {
    const pa = parseHostPattern(a);
    const pb = parseHostPattern(b);
    if (!pa.ok || !pb.ok) throw new Error('bad pattern');
    expect(hostPatternsOverlap(pa.pattern, pb.pattern)).toBe(want);
    expect(hostPatternsOverlap(pb.pattern, pa.pattern)).toBe(want);
  });

  it('matches exact, one-label and many-label patterns', () => {
    const pat = (t: string) => {
      const r = parseHostPattern(t);
      if (!r.ok) throw new Error(r.reason);
      return r.pattern;
    };
    expect(hostMatches(pat('Api.GitHub.com.'), 'api.github.com')).toBe(true);
    expect(hostMatches(pat('*.x.com'), 'a.x.com')).toBe(true);
    expect(hostMatches(pat('*.x.com'), 'a.b.x.com')).toBe(false);
    expect(hostMatches(pat('*.x.com'), 'x.com')).toBe(false);
    expect(hostMatches(pat('*.x.com'), 'evilx.com')).toBe(false);
    expect(hostMatches(pat('**.x.com'), 'a.b.x.com')).toBe(true);
    expect(hostMatches(pat('**.x.com'), 'a.x.com')).toBe(true);
    expect(hostMatches(pat('**.x.com'), 'x.com')).toBe(false);
    expect(hostMatches(pat('**.x.com'), 'ax.com')).toBe(false);
  });
});

describe('every spelling of a host gets the same decision', () => {
  const policy = parsePolicy(
    `version: 1
approvals: { unmatched_egress: ask }
network_policies:
  loopback_blocked:
    action: deny
    endpoints: [{ host: 127.0.0.1, port: 8080 }]
  books:
    endpoints: [{ host: bücher.de, port: 443 }]
  v6:
    endpoints: [{ host: "[2001:db8::1]", port: 443 }]
  ex:
    endpoints: [{ host: "*.example.com", port: 443 }]
`,
    'spellings.yaml',
  );
  const rules = compileEgressRules(policy);
  const decide = (spelling: string, port: number) => {
    const c = canonicalizeHost(spelling);
    if (!c.ok) throw new Error(c.reason);
    return decideEgress(rules, { host: c.host, port, binary: null });
  };

  it.each([
    [['127.0.0.1', '127.1', '0x7f.0.0.1', '017700000001', '2130706433', '[::ffff:127.0.0.1]', '::ffff:7f00:1', '127.0.0.1.'], 8080, 'deny'],
    [['bücher.de', 'BÜCHER.DE', 'xn--bcher-kva.de', 'XN--BCHER-KVA.DE.', 'bücher.de.'], 443, 'allow'],
    [['2001:db8::1', '[2001:DB8:0::1]', '2001:0db8:0000:0000:0000:0000:0000:0001'], 443, 'allow'],
    [['www.example.com', 'WWW.Example.Com.', 'ｗｗｗ.example.com'], 443, 'allow'],
  ] as const)('%j', (spellings, port, verdict) => {
    for (const s of spellings) expect(decide(s, port).verdict, s).toBe(verdict);
  });

  it('random case and trailing dots never change the decision (property)', () => {
    fc.assert(
      fc.property(fc.domain(), fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }), fc.boolean(), (domain, flips, dot) => {
        const spelled = [...domain].map((ch, i) => (flips[i % flips.length] ? ch.toUpperCase() : ch)).join('') + (dot ? '.' : '');
        const a = canonicalizeHost(domain);
        const b = canonicalizeHost(spelled);
        expect(b).toEqual(a);
        if (a.ok && b.ok) expect(decideEgress(rules, { host: b.host, port: 443, binary: null })).toEqual(decideEgress(rules, { host: a.host, port: 443, binary: null }));
      }),
    );
  });
});
