// The SSRF address guard: which resolved addresses the proxy may dial for a decision. It lives with
// the policy (pure data and functions) so that `policy simulate`, `allowed_ips` validation and the
// proxy (src/egress/address.ts re-exports it) all apply one set of ranges.
//
// Works on bytes, never on spellings: every address is parsed to 4 or 16 bytes first, and IPv6
// forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are classified by the
// embedded address. Every range is a row in a table: what it is, and how far `allowed_ips` can
// open it (docs/design.md invariant 3; docs/policy-openshell.md for the comparison with OpenShell).

import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv6 } from './host.ts';

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'link_local'
  | 'private'
  | 'cgnat'
  | 'ula'
  | 'metadata'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved';

/**
 * How far `allowed_ips` reaches an address:
 *  - `open`:   public; any endpoint without `allowed_ips` may dial it
 *  - `listed`: only an endpoint whose `allowed_ips` covers it (a CIDR is enough)
 *  - `named`:  only an endpoint whose `allowed_ips` names exactly this one address (never a CIDR):
 *              link-local hosts are few and deliberate, and the range holds cloud metadata services
 *  - `never`:  nothing opens it (cloud metadata services, the unspecified address, which dials the
 *              host itself)
 */
export type AddressAccess = 'open' | 'listed' | 'named' | 'never';

interface Range {
  cidr: string;
  cls: AddressClass;
  /** What the range is, for reasons and docs (IANA special-purpose registry names where they exist). */
  name: string;
  access: AddressAccess;
}

// Most specific first: the first row that contains an address classifies it.
const IPV4_RANGES: readonly Range[] = [
  // Cloud metadata and platform services: credentials live behind these, whatever the range around them says.
  { cidr: '169.254.169.254/32', cls: 'metadata', name: 'cloud instance metadata (AWS, GCP, Azure, OpenStack, Oracle)', access: 'never' },
  { cidr: '169.254.170.2/32', cls: 'metadata', name: 'AWS ECS task metadata', access: 'never' },
  { cidr: '169.254.170.23/32', cls: 'metadata', name: 'AWS EKS pod identity agent', access: 'never' },
  { cidr: '169.254.42.42/32', cls: 'metadata', name: 'Scaleway instance metadata', access: 'never' },
  { cidr: '100.100.100.200/32', cls: 'metadata', name: 'Alibaba Cloud instance metadata', access: 'never' },
  { cidr: '192.0.0.192/32', cls: 'metadata', name: 'Oracle Cloud instance metadata (legacy)', access: 'never' },
  { cidr: '168.63.129.16/32', cls: 'metadata', name: 'Azure WireServer (platform metadata)', access: 'never' },
  { cidr: '0.0.0.0/8', cls: 'unspecified', name: '"this network" (0.0.0.0 dials the host itself)', access: 'never' },
  { cidr: '127.0.0.0/8', cls: 'loopback', name: 'loopback', access: 'listed' },
  { cidr: '169.254.0.0/16', cls: 'link_local', name: 'link-local', access: 'named' },
  { cidr: '10.0.0.0/8', cls: 'private', name: 'private-use (RFC 1918)', access: 'listed' },
  { cidr: '172.16.0.0/12', cls: 'private', name: 'private-use (RFC 1918)', access: 'listed' },
  { cidr: '192.168.0.0/16', cls: 'private', name: 'private-use (RFC 1918)', access: 'listed' },
  { cidr: '100.64.0.0/10', cls: 'cgnat', name: 'shared address space (CGNAT, RFC 6598)', access: 'listed' },
  { cidr: '192.0.0.0/24', cls: 'reserved', name: 'IETF protocol assignments', access: 'listed' },
  { cidr: '192.0.2.0/24', cls: 'documentation', name: 'documentation (TEST-NET-1)', access: 'listed' },
  { cidr: '192.31.196.0/24', cls: 'reserved', name: 'AS112-v4', access: 'listed' },
  { cidr: '192.52.193.0/24', cls: 'reserved', name: 'AMT', access: 'listed' },
  { cidr: '192.88.99.0/24', cls: 'reserved', name: 'deprecated 6to4 relay anycast', access: 'listed' },
  { cidr: '192.175.48.0/24', cls: 'reserved', name: 'direct delegation AS112 service', access: 'listed' },
  { cidr: '198.18.0.0/15', cls: 'reserved', name: 'benchmarking', access: 'listed' },
  { cidr: '198.51.100.0/24', cls: 'documentation', name: 'documentation (TEST-NET-2)', access: 'listed' },
  { cidr: '203.0.113.0/24', cls: 'documentation', name: 'documentation (TEST-NET-3)', access: 'listed' },
  { cidr: '224.0.0.0/4', cls: 'multicast', name: 'multicast', access: 'listed' },
  { cidr: '255.255.255.255/32', cls: 'broadcast', name: 'limited broadcast', access: 'listed' },
  { cidr: '240.0.0.0/4', cls: 'reserved', name: 'reserved (240.0.0.0/4)', access: 'listed' },
];

// Single addresses, classified before the IPv4 embeddings below (`::/96` would swallow :: and ::1).
const IPV6_SINGLE: readonly Range[] = [
  { cidr: 'fd00:ec2::254/128', cls: 'metadata', name: 'AWS instance metadata (IPv6)', access: 'never' },
  { cidr: 'fd00:ec2::23/128', cls: 'metadata', name: 'AWS EKS pod identity agent (IPv6)', access: 'never' },
  { cidr: 'fd20:ce::254/128', cls: 'metadata', name: 'GCP instance metadata (IPv6)', access: 'never' },
  { cidr: '::/128', cls: 'unspecified', name: 'unspecified', access: 'never' },
  { cidr: '::1/128', cls: 'loopback', name: 'loopback', access: 'listed' },
];

const IPV6_RANGES: readonly Range[] = [
  { cidr: '100::/64', cls: 'reserved', name: 'discard-only', access: 'listed' },
  { cidr: '100:0:0:1::/64', cls: 'reserved', name: 'dummy IPv6 prefix', access: 'listed' },
  // Teredo (2001::/32, an obfuscated IPv4 inside), benchmarking, ORCHID, AMT, AS112 ...
  { cidr: '2001::/23', cls: 'reserved', name: 'IETF protocol assignments (incl. Teredo)', access: 'listed' },
  { cidr: '2001:db8::/32', cls: 'documentation', name: 'documentation', access: 'listed' },
  { cidr: '2620:4f:8000::/48', cls: 'reserved', name: 'AS112-v6', access: 'listed' },
  { cidr: '3fff::/20', cls: 'documentation', name: 'documentation', access: 'listed' },
  { cidr: '5f00::/16', cls: 'reserved', name: 'segment routing (SRv6) SIDs', access: 'listed' },
  { cidr: 'fc00::/7', cls: 'ula', name: 'unique local (ULA)', access: 'listed' },
  { cidr: 'fe80::/10', cls: 'link_local', name: 'link-local', access: 'named' },
  { cidr: 'fec0::/10', cls: 'private', name: 'site-local (deprecated)', access: 'listed' },
  { cidr: 'ff00::/8', cls: 'multicast', name: 'multicast', access: 'listed' },
];

/** Where an IPv6 address carries an IPv4 address. A non-public embedded address classifies the
 *  whole address; `whenPublic` says what the wrapper is when the embedded address is public. */
interface Embedding {
  cidr: string;
  /** Byte offset of the IPv4 address. */
  at: number;
  name: string;
  whenPublic: 'public' | 'reserved';
}

const EMBEDDINGS: readonly Embedding[] = [
  { cidr: '::ffff:0:0/96', at: 12, name: 'IPv4-mapped', whenPublic: 'public' },
  { cidr: '::ffff:0:0:0/96', at: 12, name: 'IPv4-translated (SIIT)', whenPublic: 'reserved' },
  { cidr: '64:ff9b::/96', at: 12, name: 'NAT64 well-known prefix', whenPublic: 'public' },
  { cidr: '64:ff9b:1::/48', at: 12, name: 'local-use NAT64', whenPublic: 'reserved' },
  { cidr: '2002::/16', at: 2, name: '6to4', whenPublic: 'public' },
  // ::a.b.c.d (deprecated IPv4-compatible); :: and ::1 are classified before this table.
  { cidr: '::/96', at: 12, name: 'IPv4-compatible (deprecated)', whenPublic: 'reserved' },
];

/** Parses a dotted-quad IPv4 address (strict: 4 decimal parts, no leading zeros). */
export function parseIPv4(text: string): Uint8Array | null {
  // Digits and dots first: a host name fails here without compiling Node's address regexes
  // (milliseconds on the first call; every policy host is checked, issue 23).
  if (!/^[\d.]+$/.test(text) || !isIPv4(text)) return null;
  const parts = text.split('.');
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (p.length > 1 && p.startsWith('0')) return null;
    out[i] = Number(p);
  }
  return out;
}

/** Parses an IPv6 address (optionally bracketed, no zone id) into 16 bytes. */
export function parseIPv6(input: string): Uint8Array | null {
  let text = input;
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (!text.includes(':') || text.includes('%') || !isIPv6(text)) return null;
  const out = new Uint8Array(16);
  let tail4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    tail4 = parseIPv4(last);
    if (!tail4) return null;
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups: number[] = [];
  for (const g of head) groups.push(parseInt(g, 16));
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2) for (let i = 0; i < missing; i++) groups.push(0);
  for (const g of tail) groups.push(parseInt(g, 16));
  if (groups.length !== 8) return null;
  for (let i = 0; i < 8; i++) {
    const g = groups[i] ?? 0;
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  }
  if (tail4) out.set(tail4, 12);
  return out;
}

/** 4 or 16 bytes for a literal address, or null when the text is not one. */
export function parseIp(text: string): Uint8Array | null {
  return parseIPv4(text) ?? parseIPv6(text);
}

function inPrefix(addr: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  if (addr.length !== prefix.length) return false;
  for (let i = 0; i < bits; i += 8) {
    const a = addr[i / 8] ?? 0;
    const p = prefix[i / 8] ?? 0;
    const n = Math.min(8, bits - i);
    const mask = (0xff << (8 - n)) & 0xff;
    if ((a & mask) !== (p & mask)) return false;
  }
  return true;
}

/** Parses `addr` or `addr/bits` (IPv4 or IPv6). */
export function parseCidr(text: string): { addr: Uint8Array; bits: number } | null {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIp(addrText.trim());
  if (!addr) return null;
  const max = addr.length * 8;
  if (slash < 0) return { addr, bits: max };
  const bitsText = text.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  return bits <= max ? { addr, bits } : null;
}

interface ParsedRange extends Range {
  addr: Uint8Array;
  bits: number;
}

function parseRanges(rows: readonly Range[]): ParsedRange[] {
  return rows.map((r) => {
    const c = parseCidr(r.cidr);
    if (!c) throw new Error(`bad range ${r.cidr}`);
    return { ...r, ...c };
  });
}

/**
 * The tables parsed on first use, not at import: every verb that loads the policy component
 * (`policy validate` of a file with no address in it) would otherwise pay for parsing them and
 * for loading node:net (issue 23).
 */
let parsed:
  | { V4: ParsedRange[]; V6_SINGLE: ParsedRange[]; V6: ParsedRange[]; EMB: (Embedding & { addr: Uint8Array; bits: number })[]; GLOBAL_UNICAST: { addr: Uint8Array; bits: number } }
  | undefined;
function tables(): NonNullable<typeof parsed> {
  parsed ??= {
    V4: parseRanges(IPV4_RANGES),
    V6_SINGLE: parseRanges(IPV6_SINGLE),
    V6: parseRanges(IPV6_RANGES),
    EMB: EMBEDDINGS.map((e) => ({ ...e, ...(parseCidr(e.cidr) as { addr: Uint8Array; bits: number }) })),
    GLOBAL_UNICAST: parseCidr('2000::/3') as { addr: Uint8Array; bits: number },
  };
  return parsed;
}

/** What the guard knows about an address: its class, the range it lies in, and how far
 *  `allowed_ips` can open it. */
export interface AddressInfo {
  cls: AddressClass;
  /** The range, e.g. `documentation (TEST-NET-2) 198.51.100.0/24`; `public` for public addresses. */
  range: string;
  access: AddressAccess;
}

const PUBLIC: AddressInfo = { cls: 'public', range: 'public', access: 'open' };

/** If a 16-byte address embeds an IPv4 address (mapped, translated, compatible, NAT64, 6to4), returns it. */
export function embeddedIPv4(addr: Uint8Array): Uint8Array | null {
  if (addr.length !== 16) return null;
  if (addr.subarray(0, 15).every((b) => b === 0) && (addr[15] ?? 0) <= 1) return null; // :: and ::1
  for (const e of tables().EMB) if (inPrefix(addr, e.addr, e.bits)) return addr.slice(e.at, e.at + 4);
  return null;
}

/** Classifies 4 or 16 address bytes. */
export function addressInfo(addr: Uint8Array): AddressInfo {
  const { V4, V6_SINGLE, EMB, V6, GLOBAL_UNICAST } = tables();
  if (addr.length === 4) {
    for (const r of V4) if (inPrefix(addr, r.addr, r.bits)) return { cls: r.cls, range: `${r.name} ${r.cidr}`, access: r.access };
    return PUBLIC;
  }
  for (const r of V6_SINGLE) if (inPrefix(addr, r.addr, r.bits)) return { cls: r.cls, range: `${r.name} ${r.cidr}`, access: r.access };
  for (const e of EMB) {
    if (!inPrefix(addr, e.addr, e.bits)) continue;
    const inner = addressInfo(addr.slice(e.at, e.at + 4));
    if (inner.cls !== 'public') return { ...inner, range: `${inner.range} inside ${e.name} ${e.cidr}` };
    if (e.whenPublic === 'public') return PUBLIC;
    return { cls: 'reserved', range: `${e.name} ${e.cidr}`, access: 'listed' };
  }
  for (const r of V6) if (inPrefix(addr, r.addr, r.bits)) return { cls: r.cls, range: `${r.name} ${r.cidr}`, access: r.access };
  if (!inPrefix(addr, GLOBAL_UNICAST.addr, GLOBAL_UNICAST.bits)) return { cls: 'reserved', range: 'not global unicast (outside 2000::/3)', access: 'listed' };
  return PUBLIC;
}

/** Classifies 4 or 16 address bytes. */
export function classifyBytes(addr: Uint8Array): AddressClass {
  return addressInfo(addr).cls;
}

/** Classifies a textual address; anything that is not a literal address is 'reserved' (refused). */
export function classifyAddress(text: string): AddressClass {
  const bytes = parseIp(text);
  return bytes ? classifyBytes(bytes) : 'reserved';
}

/** Canonical text for an address: IPv4-mapped IPv6 becomes dotted IPv4; IPv6 is compressed. */
export function formatIp(addr: Uint8Array): string {
  if (addr.length === 4) return addr.join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((addr[i] ?? 0) << 8) | (addr[i + 1] ?? 0));
  return formatIpv6(groups);
}

function isMappedForm(addr: Uint8Array): boolean {
  return addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
}

/** Whether `addr` (4 or 16 bytes) lies in one of the CIDRs; an IPv4-mapped address matches IPv4
 *  CIDRs (it is that IPv4 destination); NAT64 and 6to4 forms do not (they are other destinations). */
export function addressAllowed(addr: Uint8Array, cidrs: readonly string[]): boolean {
  return cidrs.some((c) => covers(c, addr, false));
}

function covers(text: string, addr: Uint8Array, exactOnly: boolean): boolean {
  const cidr = parseCidr(text);
  if (!cidr) return false;
  if (exactOnly && cidr.bits !== cidr.addr.length * 8) return false;
  if (inPrefix(addr, cidr.addr, cidr.bits)) return true;
  return addr.length === 16 && cidr.addr.length === 4 && isMappedForm(addr) && inPrefix(addr.subarray(12), cidr.addr, cidr.bits);
}

export interface AddressCheck {
  ok: boolean;
  /** Canonical text of the address that was checked (and must be dialled). */
  address: string;
  family: 4 | 6;
  cls: AddressClass;
  /** The range the address lies in (`public` for public addresses). */
  range: string;
  /** Why it is refused; absent when ok. */
  reason?: string;
}

/**
 * The SSRF guard. `allowedIps` is what the decision grants (the matched endpoint's `allowed_ips`,
 * or its literal IP host):
 *  - empty: public addresses only;
 *  - not empty: only addresses inside it, public ones included (as in OpenShell, `allowed_ips` is
 *    the endpoint's complete address list, which is what makes an endpoint without a host safe);
 *    link-local only where an entry names exactly that address, never through a CIDR;
 *  - cloud metadata services and the unspecified address: never, whatever the list says.
 * An IPv4-mapped IPv6 address is dialled as IPv4.
 */
export function checkAddress(text: string, allowedIps: readonly string[]): AddressCheck {
  const bytes = parseIp(text);
  if (!bytes) return { ok: false, address: text, family: 4, cls: 'reserved', range: 'not an address', reason: `${text} is not an IP address` };
  const dial = bytes.length === 16 && isMappedForm(bytes) ? bytes.slice(12) : bytes;
  const info = addressInfo(bytes);
  const address = formatIp(dial);
  const family = dial.length === 4 ? 4 : 6;
  const base = { address, family, cls: info.cls, range: info.range } as const;
  const refuse = (reason: string): AddressCheck => ({ ok: false, ...base, reason });
  if (info.access === 'never') return refuse(`${address} is ${info.range}: never reachable, whatever allowed_ips says`);
  if (allowedIps.length === 0) {
    return info.access === 'open' ? { ok: true, ...base } : refuse(`${address} is ${info.range}: reachable only through an endpoint whose allowed_ips lists it`);
  }
  if (info.access === 'named') {
    return allowedIps.some((c) => covers(c, bytes, true)) ? { ok: true, ...base } : refuse(`${address} is ${info.range}: reachable only when allowed_ips names this exact address, never through a CIDR`);
  }
  return addressAllowed(bytes, allowedIps) ? { ok: true, ...base } : refuse(`${address} is not in the endpoint's allowed_ips (${allowedIps.join(', ')})`);
}

/**
 * Why an `allowed_ips` entry can never do what it says, or null: a CIDR that reaches into the
 * link-local range (link-local opens only address by address), an entry that is or contains the
 * unspecified address, or one naming a cloud metadata address. Metadata addresses inside a wider
 * private CIDR (100.100.100.200 in 100.64.0.0/10) stay refused at run time; that CIDR is fine.
 */
export function allowedIpsEntryError(text: string): string | null {
  const cidr = parseCidr(text);
  if (!cidr) return null; // the syntax check reports it
  const max = cidr.addr.length * 8;
  const { V4, V6_SINGLE, V6 } = tables();
  const rows = cidr.addr.length === 4 ? V4 : [...V6_SINGLE, ...V6];
  if (cidr.bits === max) {
    const info = addressInfo(cidr.addr);
    if (info.access === 'never') return `${text} is ${info.range}, which is never reachable from a sandbox`;
    return null;
  }
  for (const r of rows) {
    if (r.access !== 'never' && r.access !== 'named') continue;
    if (r.cls === 'metadata') continue; // single addresses: checked at run time, see above
    // Two prefixes overlap when the shorter one contains the longer one's network address.
    const overlap = cidr.bits <= r.bits ? inPrefix(r.addr, cidr.addr, cidr.bits) : inPrefix(cidr.addr, r.addr, r.bits);
    if (overlap) {
      return r.access === 'named'
        ? `${text} reaches into ${r.name} ${r.cidr}: link-local addresses are opened one by one (list the exact address), never through a CIDR`
        : `${text} reaches into ${r.name} ${r.cidr}, which is never reachable from a sandbox`;
    }
  }
  // IPv6 CIDRs over the IPv4-mapped space reach the IPv4 ranges too.
  if (cidr.addr.length === 16 && cidr.bits >= 96 && isMappedForm(cidr.addr)) return allowedIpsEntryError(`${formatIp(cidr.addr.subarray(12))}/${cidr.bits - 96}`);
  if (cidr.addr.length === 16 && cidr.bits < 96 && inPrefix(parseIPv6('::ffff:0:0') as Uint8Array, cidr.addr, cidr.bits)) {
    return `${text} contains the whole IPv4-mapped range ::ffff:0:0/96, including link-local and 0.0.0.0; name the IPv4 ranges you need instead`;
  }
  return null;
}
