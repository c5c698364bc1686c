import { describe, expect, it } from 'vitest';
import { canonicalizeHost } from '../policy/index.ts';
import { addressAllowed, checkAddress, classifyAddress, formatIp, parseIp } from './address.ts';

/** What the proxy does: canonicalise the spelling (policy), then classify the address. */
function classOf(spelling: string): string {
  const c = canonicalizeHost(spelling);
  if (!c.ok) return `invalid: ${c.reason}`;
  return classifyAddress(c.host);
}

describe('address classification', () => {
  it.each([
    // loopback, every IPv4 spelling
    ['127.0.0.1', 'loopback'],
    ['127.1', 'loopback'],
    ['127.0.1', 'loopback'],
    ['0x7f.0.0.1', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['2130706433', 'loopback'],
    ['017700000001', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['[::1]', 'loopback'],
    ['[0:0:0:0:0:0:0:1]', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'],
    ['[::ffff:7f00:1]', 'loopback'],
    ['[0:0:0:0:0:ffff:7f00:0001]', 'loopback'],
    // unspecified
    ['0.0.0.0', 'unspecified'],
    ['0', 'unspecified'],
    ['[::]', 'unspecified'],
    ['[::ffff:0.0.0.0]', 'unspecified'],
    // private
    ['10.0.0.1', 'private'],
    ['012.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['3232235777', 'private'],
    ['[::ffff:192.168.1.1]', 'private'],
    // CGNAT, link-local, metadata
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['169.254.1.1', 'link_local'],
    ['169.254.169.254', 'metadata'],
    ['0xa9.0xfe.0xa9.0xfe', 'metadata'],
    ['2852039166', 'metadata'],
    ['[::ffff:169.254.169.254]', 'metadata'],
    ['[fd00:ec2::254]', 'metadata'],
    ['[fe80::1]', 'link_local'],
    ['[febf::1]', 'link_local'],
    // ULA, multicast, broadcast
    ['[fc00::1]', 'ula'],
    ['[fd12:3456::1]', 'ula'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['[ff02::1]', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    // embedded IPv4 in IPv6: NAT64, 6to4, compatible
    ['[64:ff9b::7f00:1]', 'loopback'],
    ['[64:ff9b::a9fe:a9fe]', 'metadata'],
    ['[2002:7f00:1::]', 'loopback'],
    ['[2002:c0a8:101::1]', 'private'],
    ['[::127.0.0.1]', 'loopback'],
    ['[::a00:1]', 'private'],
    ['[2001:0:4136:e378:8000:63bf:3fff:fdd2]', 'reserved'],
    // the rest of the IANA special-purpose registries
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.31.196.1', 'reserved'],
    ['192.52.193.1', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['192.175.48.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['0.1.2.3', 'unspecified'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['[fd20:ce::254]', 'metadata'],
    ['[fd00:ec2::23]', 'metadata'],
    ['[2001:db8::1]', 'documentation'],
    ['[3fff::1]', 'documentation'],
    ['[2001:2::1]', 'reserved'],
    ['[2001:20::1]', 'reserved'],
    ['[2620:4f:8000::1]', 'reserved'],
    ['[100::1]', 'reserved'],
    ['[5f00::1]', 'reserved'],
    ['[4000::1]', 'reserved'],
    ['[fec0::1]', 'private'],
    ['[64:ff9b::a00:1]', 'private'],
    ['[64:ff9b::c633:6401]', 'documentation'],
    ['[64:ff9b:1::808:808]', 'reserved'],
    ['[64:ff9b:1::a00:1]', 'private'],
    ['[::ffff:0:a00:1]', 'private'],
    ['[::ffff:0:808:808]', 'reserved'],
    ['[2002:a9fe:a9fe::]', 'metadata'],
    ['[2002:6440:1::]', 'cgnat'],
    ['[::8.8.8.8]', 'reserved'],
    // public
    ['8.8.8.8', 'public'],
    ['[64:ff9b::808:808]', 'public'],
    ['192.0.3.1', 'public'],
    ['198.20.0.1', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['[2606:4700::1111]', 'public'],
    ['[::ffff:8.8.8.8]', 'public'],
    ['[2002:808:808::]', 'public'],
  ])('%s -> %s', (spelling, cls) => {
    expect(classOf(spelling)).toBe(cls);
  });

  it('never accepts a name as an address', () => {
    expect(classifyAddress('localhost')).toBe('reserved');
    expect(checkAddress('example.com', []).ok).toBe(false);
  });

  it('allowed_ips covers exact addresses and CIDRs, and mapped forms of them', () => {
    expect(checkAddress('127.0.0.1', ['127.0.0.1']).ok).toBe(true);
    expect(checkAddress('127.0.0.2', ['127.0.0.1']).ok).toBe(false);
    expect(checkAddress('10.2.3.4', ['10.0.0.0/8']).ok).toBe(true);
    expect(checkAddress('::ffff:10.2.3.4', ['10.0.0.0/8'])).toMatchObject({ ok: true, address: '10.2.3.4', family: 4 });
    expect(checkAddress('fd00::5', ['fd00::/64']).ok).toBe(true);
    expect(checkAddress('fd00:0:0:1::5', ['fd00::/64']).ok).toBe(false);
    expect(checkAddress('169.254.169.254', ['10.0.0.0/8']).ok).toBe(false);
    // A 6to4 or NAT64 wrapping does not satisfy an IPv4 allowance (it is a different destination).
    expect(addressAllowed(parseIp('2002:7f00:1::') as Uint8Array, ['127.0.0.1'])).toBe(false);
  });

  // [address, allowed_ips of the decision, dialled?]
  it.each<[string, string[], boolean]>([
    // no allowed_ips: public only
    ['8.8.8.8', [], true],
    ['10.1.2.3', [], false],
    ['198.51.100.7', [], false],
    ['100.64.0.1', [], false],
    // allowed_ips is the complete list: public addresses outside it are refused too
    ['10.1.2.3', ['10.0.0.0/8'], true],
    ['8.8.8.8', ['10.0.0.0/8'], false],
    ['8.8.8.8', ['8.8.8.0/24'], true],
    ['198.51.100.7', ['198.51.100.0/24'], true],
    // link-local: only an entry naming exactly that address, never a CIDR
    ['169.254.1.2', ['169.254.0.0/16'], false],
    ['169.254.1.2', ['169.254.1.0/24'], false],
    ['169.254.1.2', ['169.254.1.2'], true],
    ['169.254.1.2', ['169.254.1.2/32'], true],
    ['::ffff:169.254.1.2', ['169.254.1.2'], true],
    ['fe80::1', ['fe80::/10'], false],
    ['fe80::1', ['fe80::1'], true],
    ['64:ff9b::a9fe:102', ['64:ff9b::/96'], false],
    // metadata and the unspecified address: never, whatever the list says
    ['169.254.169.254', ['169.254.0.0/16'], false],
    ['169.254.169.254', ['169.254.169.254'], false],
    ['169.254.169.254', ['169.254.169.254/32'], false],
    ['::ffff:169.254.169.254', ['169.254.169.254'], false],
    ['64:ff9b::a9fe:a9fe', ['64:ff9b::/96'], false],
    ['fd00:ec2::254', ['fd00::/8'], false],
    ['fd00:ec2::254', ['fd00:ec2::254'], false],
    ['100.100.100.200', ['100.64.0.0/10'], false],
    ['100.100.100.201', ['100.64.0.0/10'], true],
    ['168.63.129.16', ['168.63.129.0/24'], false],
    ['0.0.0.0', ['0.0.0.0/8'], false],
    ['::', ['::/8'], false],
    // loopback: ours opens it through allowed_ips (test origins, the demo); see docs/policy-openshell.md
    ['127.0.0.1', ['127.0.0.1'], true],
    ['127.0.0.1', [], false],
  ])('guard: %s with allowed_ips %j -> %s', (address, allowed, ok) => {
    const c = checkAddress(address, allowed);
    expect(c.ok).toBe(ok);
    if (!ok) expect(c.reason).toMatch(/never|only|not in/);
  });

  it('formats addresses canonically (the dialled text)', () => {
    expect(formatIp(parseIp('2001:db8:0:0:0:0:0:1') as Uint8Array)).toBe('2001:db8::1');
    expect(checkAddress('0:0:0:0:0:ffff:7f00:1', ['127.0.0.0/8']).address).toBe('127.0.0.1');
    expect(parseIp('01.2.3.4')).toBeNull();
    expect(parseIp('fe80::1%eth0')).toBeNull();
  });
});
