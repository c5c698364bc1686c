// Address classification for the SSRF guard: which resolved addresses the proxy refuses to dial
// unless the matched endpoint lists them in `allowed_ips`. Works on bytes, never on spellings:
// every address (whatever its textual form) is parsed to 4 or 16 bytes first, and IPv6 forms that
// embed an IPv4 address (mapped, compatible, NAT64, 6to4) are classified by the embedded address.

import { isIPv4, isIPv6 } from 'node:net';
import { formatIpv6 } from '../policy/index.ts';

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
  | 'reserved';

/** Parses a dotted-quad IPv4 address (strict: 4 decimal parts, no leading zeros). */
export function parseIPv4(text: string): Uint8Array | null {
  if (!isIPv4(text)) return null;
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
  if (text.includes('%') || !isIPv6(text)) return null;
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

const v4 = (a: number, b: number, c: number, d: number) => Uint8Array.of(a, b, c, d);

const IPV4_CLASSES: Array<[Uint8Array, number, AddressClass]> = [
  [v4(169, 254, 169, 254), 32, 'metadata'],
  [v4(0, 0, 0, 0), 8, 'unspecified'],
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(169, 254, 0, 0), 16, 'link_local'],
  [v4(10, 0, 0, 0), 8, 'private'],
  [v4(172, 16, 0, 0), 12, 'private'],
  [v4(192, 168, 0, 0), 16, 'private'],
  [v4(100, 64, 0, 0), 10, 'cgnat'],
  [v4(192, 0, 0, 0), 24, 'reserved'], // IETF protocol assignments
  [v4(198, 18, 0, 0), 15, 'reserved'], // benchmarking
  [v4(255, 255, 255, 255), 32, 'broadcast'],
  [v4(224, 0, 0, 0), 4, 'multicast'],
  [v4(240, 0, 0, 0), 4, 'reserved'],
];

/** If a 16-byte address embeds an IPv4 address (mapped, compatible, NAT64, 6to4), returns it. */
export function embeddedIPv4(addr: Uint8Array): Uint8Array | null {
  if (addr.length !== 16) return null;
  const zero = (from: number, to: number) => addr.subarray(from, to).every((b) => b === 0);
  // ::ffff:a.b.c.d (mapped) and ::ffff:0:a.b.c.d (SIIT translated)
  if (zero(0, 10) && addr[10] === 0xff && addr[11] === 0xff) return addr.slice(12, 16);
  if (zero(0, 8) && addr[8] === 0xff && addr[9] === 0xff && addr[10] === 0 && addr[11] === 0) return addr.slice(12, 16);
  // ::a.b.c.d (deprecated compatible form), excluding :: and ::1
  if (zero(0, 12) && !(zero(12, 15) && (addr[15] === 0 || addr[15] === 1))) return addr.slice(12, 16);
  // 64:ff9b::/96 and 64:ff9b:1::/48 (NAT64)
  if (addr[0] === 0 && addr[1] === 0x64 && addr[2] === 0xff && addr[3] === 0x9b) return addr.slice(12, 16);
  // 2002:AABB:CCDD::/48 (6to4)
  if (addr[0] === 0x20 && addr[1] === 0x02) return addr.slice(2, 6);
  return null;
}

/** Classifies 4 or 16 address bytes. */
export function classifyBytes(addr: Uint8Array): AddressClass {
  if (addr.length === 4) {
    for (const [prefix, bits, cls] of IPV4_CLASSES) if (inPrefix(addr, prefix, bits)) return cls;
    return 'public';
  }
  const inner = embeddedIPv4(addr);
  if (inner) {
    const c = classifyBytes(inner);
    if (c !== 'public') return c;
  }
  if (addr.every((b) => b === 0)) return 'unspecified';
  if (addr.subarray(0, 15).every((b) => b === 0) && addr[15] === 1) return 'loopback';
  const ec2 = parseIPv6('fd00:ec2::254');
  if (ec2 && inPrefix(addr, ec2, 128)) return 'metadata';
  if (addr[0] === 0xfe && ((addr[1] ?? 0) & 0xc0) === 0x80) return 'link_local';
  if (addr[0] === 0xfe && ((addr[1] ?? 0) & 0xc0) === 0xc0) return 'private'; // site-local (deprecated)
  if (((addr[0] ?? 0) & 0xfe) === 0xfc) return 'ula';
  if (addr[0] === 0xff) return 'multicast';
  // Teredo (2001::/32) hides an obfuscated IPv4 address; 100::/64 is discard-only.
  if (addr[0] === 0x20 && addr[1] === 0x01 && addr[2] === 0 && addr[3] === 0) return 'reserved';
  if (addr[0] === 0x01 && addr.subarray(1, 8).every((b) => b === 0)) return 'reserved';
  return 'public';
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

/** Whether `addr` (4 or 16 bytes) lies in one of the CIDRs; an IPv4-mapped address matches IPv4 CIDRs. */
export function addressAllowed(addr: Uint8Array, cidrs: readonly string[]): boolean {
  const mapped = addr.length === 16 ? embeddedIPv4(addr) : null;
  for (const c of cidrs) {
    const cidr = parseCidr(c);
    if (!cidr) continue;
    if (inPrefix(addr, cidr.addr, cidr.bits)) return true;
    if (mapped && cidr.addr.length === 4 && isMappedForm(addr) && inPrefix(mapped, cidr.addr, cidr.bits)) return true;
  }
  return false;
}

function isMappedForm(addr: Uint8Array): boolean {
  return addr.subarray(0, 10).every((b) => b === 0) && addr[10] === 0xff && addr[11] === 0xff;
}

export interface AddressCheck {
  ok: boolean;
  /** Canonical text of the address that was checked (and must be dialled). */
  address: string;
  family: 4 | 6;
  cls: AddressClass;
}

/**
 * The SSRF guard: a public address passes; anything else passes only when `allowedIps` covers it.
 * An IPv4-mapped IPv6 address is dialled as IPv4.
 */
export function checkAddress(text: string, allowedIps: readonly string[]): AddressCheck {
  const bytes = parseIp(text);
  if (!bytes) return { ok: false, address: text, family: 4, cls: 'reserved' };
  const dial = bytes.length === 16 && isMappedForm(bytes) ? bytes.slice(12) : bytes;
  const cls = classifyBytes(bytes);
  const address = formatIp(dial);
  const family = dial.length === 4 ? 4 : 6;
  if (cls === 'public') return { ok: true, address, family, cls };
  return { ok: addressAllowed(bytes, allowedIps), address, family, cls };
}
