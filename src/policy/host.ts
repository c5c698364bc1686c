// Host canonicalisation and host-pattern matching. The egress proxy decides on names before it
// resolves them (docs/design.md, invariant 3), so every spelling of one host must reduce to one string
// here, and anything we cannot reduce with certainty is rejected rather than guessed at.
import { domainToASCII } from 'node:url';

export type CanonicalHost =
  | { ok: true; host: string; kind: 'dns' | 'ipv4' | 'ipv6' }
  | { ok: false; reason: string };

const MAX_NAME = 253;
const MAX_LABEL = 63;
// Letters, digits, hyphen (LDH) plus underscore, which real service names (`_dmarc`, some CDN
// hosts) use and which cannot confuse a matcher.
const LABEL_RE = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/** Characters that never belong in a host and that tend to confuse parsers further down. */
const FORBIDDEN: readonly [RegExp, string][] = [
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  [/[\0-\x1f\x7f]/, 'control character or NUL in host'],
  [/@/, 'userinfo (`user@`) is not allowed in a host'],
  [/%/, 'percent-encoding is not allowed in a host'],
  [/[\s/\\?#]/, 'whitespace, slash, backslash, ? or # in host'],
];

function fail(reason: string): CanonicalHost {
  return { ok: false, reason };
}

// ---------------------------------------------------------------------------------------------
// IPv4: every spelling inet_aton and WHATWG URL accept (1 to 4 parts; decimal, 0x hex, leading-0
// octal; the last part fills the remaining bytes), so that `127.1`, `0x7f.0.0.1`,
// `017700000001` and `2130706433` all become 127.0.0.1.

function parseIpv4Part(part: string): number | null {
  if (part === '') return null;
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    if (digits === '') return 0; // WHATWG treats a bare `0x` as zero
    if (!/^[0-9a-f]+$/i.test(digits)) return null;
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1);
    radix = 8;
    if (!/^[0-7]+$/.test(digits)) return null;
  } else if (!/^[0-9]+$/.test(part)) {
    return null;
  }
  // Long strings of leading zeros are legal; strip them so the precision check below is honest.
  const trimmed = digits.replace(/^0+(?=.)/, '');
  if (trimmed.length > 12) return null;
  const n = parseInt(trimmed, radix);
  return Number.isSafeInteger(n) ? n : null;
}

/** True when the last label looks numeric: then the whole name must be an IPv4 literal. */
function endsInNumber(labels: string[]): boolean {
  const last = labels[labels.length - 1] ?? '';
  return /^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

function parseIpv4(name: string): number[] | null {
  const parts = name.split('.');
  if (parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    const n = parseIpv4Part(p);
    if (n === null) return null;
    nums.push(n);
  }
  const last = nums.pop() as number;
  if (nums.some((n) => n > 255)) return null;
  const lastBytes = 4 - nums.length;
  if (last >= 256 ** lastBytes) return null;
  const out = [...nums];
  for (let i = lastBytes - 1; i >= 0; i--) out.push(Math.floor(last / 256 ** i) % 256);
  return out;
}

// ---------------------------------------------------------------------------------------------
// IPv6: parsed to 8 groups and printed in RFC 5952 form; `::ffff:a.b.c.d` (and its hex spelling)
// is the IPv4 host and is returned as such, so a policy on 127.0.0.1 sees it.

function parseIpv6(text: string): number[] | null {
  if (!/^[0-9a-f:.]+$/.test(text)) return null;
  let head = text;
  let v4: number[] | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    const tail = text.slice(lastColon + 1);
    // Only strict dotted-quad decimal is allowed inside IPv6 (RFC 4291 2.2).
    if (!/^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/.test(tail)) return null;
    v4 = tail.split('.').map(Number);
    head = text.slice(0, lastColon + 1);
    // `::1.2.3.4` keeps its `::`; `::ffff:1.2.3.4` drops the separator before the quad.
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const want = v4 ? 6 : 8;
  const dbl = head.indexOf('::');
  if (dbl !== head.lastIndexOf('::')) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const left = parseGroups(head.slice(0, dbl));
    const right = parseGroups(head.slice(dbl + 2));
    if (!left || !right) return null;
    const fill = want - left.length - right.length;
    if (fill < 1) return null;
    groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (!all || all.length !== want) return null;
    groups = all;
  }
  if (v4) groups.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
  return groups;
}

/** RFC 5952 text for 8 IPv6 groups (16-bit numbers): lower-case hex, no leading zeros, the
 *  longest run (first on ties) of two or more zero groups compressed to `::`. */
export function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function canonicalIpv6(text: string): CanonicalHost {
  const groups = parseIpv6(text);
  if (!groups) return fail(`not a valid IPv6 address: ${JSON.stringify(text)}`);
  // ::ffff:0:0/96 is the IPv4-mapped range: the kernel connects to the IPv4 host.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] as number;
    const lo = groups[7] as number;
    return { ok: true, kind: 'ipv4', host: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}` };
  }
  return { ok: true, kind: 'ipv6', host: formatIpv6(groups) };
}

/**
 * Reduces any spelling of a host to one canonical string: lower case, no trailing dot, IDNA
 * A-labels, IPv4 in dotted decimal, IPv6 in RFC 5952 form without brackets (IPv4-mapped IPv6 as
 * the IPv4). Idempotent: canonicalising the output returns it unchanged.
 */
export function canonicalizeHost(input: string): CanonicalHost {
  if (typeof input !== 'string' || input.length === 0) return fail('empty host');
  if (input.length > 1024) return fail('host is too long');
  for (const [re, reason] of FORBIDDEN) if (re.test(input)) return fail(reason);

  let text = input.toLowerCase();
  if (text.startsWith('[') || text.endsWith(']')) {
    if (!(text.startsWith('[') && text.endsWith(']'))) return fail('unbalanced brackets in host');
    return canonicalIpv6(text.slice(1, -1));
  }
  if (text.includes(':')) return canonicalIpv6(text);
  if (text.includes('[') || text.includes(']')) return fail('brackets in host');

  if (/[^\x20-\x7e]/.test(text)) {
    // IDNA (UTS 46) mapping to A-labels; node returns '' for names it refuses.
    const ascii = domainToASCII(text);
    if (ascii === '') return fail(`not a valid internationalised domain name: ${JSON.stringify(input)}`);
    text = ascii.toLowerCase();
    if (text.includes(':')) return canonicalIpv6(text.replace(/^\[|\]$/g, ''));
  }

  if (text.endsWith('.')) text = text.slice(0, -1);
  if (text === '') return fail('empty host');
  const labels = text.split('.');
  if (endsInNumber(labels)) {
    const v4 = parseIpv4(text);
    if (!v4) return fail(`not a valid IPv4 address: ${JSON.stringify(input)}`);
    return { ok: true, kind: 'ipv4', host: v4.join('.') };
  }
  if (text.length > MAX_NAME) return fail(`host name longer than ${MAX_NAME} characters`);
  for (const label of labels) {
    if (label === '') return fail('empty label in host name');
    if (label.length > MAX_LABEL) return fail(`host label longer than ${MAX_LABEL} characters`);
    if (!LABEL_RE.test(label)) return fail(`invalid character in host label ${JSON.stringify(label)}`);
    if (label.startsWith('xn--') && domainToASCII(label) === '') return fail(`invalid punycode label ${JSON.stringify(label)}`);
  }
  return { ok: true, kind: 'dns', host: text };
}

// ---------------------------------------------------------------------------------------------
// Host patterns in policies (OpenShell's shapes): an exact host (canonicalised like requests are),
// `*.x.com` (exactly one more label), `**.x.com` (one or more), a `*` inside the first label
// (`*-aiplatform.googleapis.com`) and `*` as a whole later label (`*.s3.*.amazonaws.com`). A `*`
// matches within one label and never crosses a dot; `**` only as the whole first label. The last
// two labels are always literal, so one rule cannot open a whole top-level domain by accident.

export type HostPattern =
  | { kind: 'exact'; host: string }
  | { kind: 'one' | 'many'; suffix: string }
  /** Any other wildcard shape: `suffix` is the literal labels after the last wildcard label
   *  (the egress matcher's index key); `re` matches the whole canonical host. */
  | { kind: 'glob'; text: string; suffix: string; re: RegExp };

export type HostPatternResult = { ok: true; pattern: HostPattern } | { ok: false; reason: string };

/** Letters, digits, `_`, `-` and the wildcard: what a label of a wildcard pattern may hold. */
const GLOB_LABEL_RE = /^[a-z0-9_*-]+$/;

function labelRegExp(label: string): string {
  if (label === '**') return '(?:[^.]+\\.)*[^.]+';
  if (label === '*') return '[^.]+';
  return label.split('*').join('[^.]*'); // labels hold only [a-z0-9_-] besides `*`: nothing to escape
}

/** Parses a policy `host`; an absent host (an endpoint that names none) is not a pattern. */
export function parseHostPattern(text: string | undefined): HostPatternResult {
  if (typeof text !== 'string' || text === '') return { ok: false, reason: 'empty host' };
  if (text === '*' || text === '**') return { ok: false, reason: 'a bare `*` host would allow every destination; name the hosts' };
  if (!text.includes('*')) {
    const canon = canonicalizeHost(text);
    return canon.ok ? { ok: true, pattern: { kind: 'exact', host: canon.host } } : { ok: false, reason: canon.reason };
  }
  const labels = text.toLowerCase().replace(/\.$/, '').split('.');
  const first = labels[0] as string;
  if (first.includes('**') && first !== '**') return { ok: false, reason: '`**` is only allowed as the whole first label (`**.example.com`)' };
  for (const label of labels.slice(1)) {
    if (label === '**') return { ok: false, reason: '`**` is only allowed as the whole first label (`**.example.com`)' };
    if (label.includes('*') && label !== '*') return { ok: false, reason: 'after the first label a wildcard must be the whole label (`*.s3.*.amazonaws.com`), never part of one' };
  }
  let lastWild = 0;
  labels.forEach((l, i) => {
    if (l.includes('*')) lastWild = i;
  });
  const literal = labels.slice(lastWild + 1);
  if (literal.length < 2) return { ok: false, reason: `wildcard over a top-level domain (${text}) is too broad; name at least two labels after the wildcard` };
  const canon = canonicalizeHost(literal.join('.'));
  if (!canon.ok) return { ok: false, reason: canon.reason };
  if (canon.kind !== 'dns') return { ok: false, reason: 'wildcards cannot be used with IP addresses' };
  if (lastWild === 0 && (first === '*' || first === '**')) return { ok: true, pattern: { kind: first === '*' ? 'one' : 'many', suffix: canon.host } };
  const head = labels.slice(0, lastWild + 1);
  for (const label of head) {
    if (label === '' || !GLOB_LABEL_RE.test(label)) return { ok: false, reason: `invalid label ${JSON.stringify(label)} in a wildcard host (letters, digits, \`-\`, \`_\` and \`*\`; write internationalised names in their xn-- form)` };
  }
  const re = new RegExp(`^${head.map(labelRegExp).join('\\.')}\\.${canon.host.replace(/\./g, '\\.')}$`);
  return { ok: true, pattern: { kind: 'glob', text: `${head.join('.')}.${canon.host}`, suffix: canon.host, re } };
}

/**
 * The reserved name for the host's own loopback services (issue 13): the proxy dials 127.0.0.1
 * for it, never a resolver. Only an endpoint naming it exactly grants it (a wildcard or hostless
 * endpoint never matches it, see egress.ts candidatesFor), and that endpoint needs no
 * allowed_ips (grants.ts): naming it is the grant. docs/egress.md "Host services".
 */
export const HOST_INTERNAL = 'host.nemoclaw.internal';

/** Whether a canonical host matches a parsed pattern (used by tests, learn and validation; the
 *  egress matcher uses precompiled maps instead). */
export function hostMatches(pattern: HostPattern, host: string): boolean {
  if (pattern.kind === 'exact') return pattern.host === host;
  if (pattern.kind === 'glob') return pattern.re.test(host);
  if (!host.endsWith(`.${pattern.suffix}`)) return false;
  const prefix = host.slice(0, host.length - pattern.suffix.length - 1);
  return pattern.kind === 'many' ? prefix.length > 0 : prefix.length > 0 && !prefix.includes('.');
}

/**
 * Whether two host patterns can match one host (for refusing ambiguous policies at validation).
 * Exact: compared label by label from the right, where a label glob meets a literal label or
 * another glob by intersecting their languages; `**` takes one or more labels.
 */
export function hostPatternsOverlap(a: HostPattern, b: HostPattern): boolean {
  return labelListsOverlap(patternLabels(a), patternLabels(b));
}

function patternLabels(p: HostPattern): string[] {
  if (p.kind === 'exact') return p.host.split('.');
  if (p.kind === 'glob') return p.text.split('.');
  return [p.kind === 'one' ? '*' : '**', ...p.suffix.split('.')];
}

function labelListsOverlap(a: readonly string[], b: readonly string[]): boolean {
  // `**` is only ever the whole first label and takes one or more labels.
  if (a[0] === '**' && b[0] === '**') {
    // Each side's `**` can absorb whatever the other side has in front of the common tail.
    const [ra, rb] = [a.slice(1), b.slice(1)];
    const n = Math.min(ra.length, rb.length);
    return ra.slice(ra.length - n).every((l, i) => globsIntersect(l, rb[rb.length - n + i] as string));
  }
  if (a[0] === '**' || b[0] === '**') {
    const [many, other] = a[0] === '**' ? [a, b] : [b, a];
    const rest = many.slice(1);
    const taken = other.length - rest.length;
    return taken >= 1 && other.slice(taken).every((l, i) => globsIntersect(rest[i] as string, l));
  }
  return a.length === b.length && a.every((l, i) => globsIntersect(l, b[i] as string));
}

/** Whether two label globs (`*` = any run of characters) can match one string. */
export function globsIntersect(p: string, q: string): boolean {
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const key = i * 1024 + j;
    const hit = memo.get(key);
    if (hit !== undefined) return hit;
    let r = false;
    if (i === p.length && j === q.length) r = true;
    else if (i < p.length && p[i] === '*' && go(i + 1, j)) r = true;
    else if (j < q.length && q[j] === '*' && go(i, j + 1)) r = true;
    else if (i < p.length && j < q.length) {
      if (p[i] === '*') r = go(i, j + 1);
      else if (q[j] === '*') r = go(i + 1, j);
      else r = p[i] === q[j] && go(i + 1, j + 1);
    }
    memo.set(key, r);
    return r;
  };
  return go(0, 0);
}
