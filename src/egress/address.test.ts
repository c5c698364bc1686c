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
    // public
    ['8.8.8.8', 'public'],
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

  it('formats addresses canonically (the dialled text)', () => {
    expect(formatIp(parseIp('2001:db8:0:0:0:0:0:1') as Uint8Array)).toBe('2001:db8::1');
    expect(checkAddress('0:0:0:0:0:ffff:7f00:1', ['127.0.0.0/8']).address).toBe('127.0.0.1');
    expect(parseIp('01.2.3.4')).toBeNull();
    expect(parseIp('fe80::1%eth0')).toBeNull();
  });
});
