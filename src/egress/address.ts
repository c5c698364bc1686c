// The SSRF guard the proxy applies to every resolved address. Its ranges and rules live with the
// policy (src/policy/address.ts: pure tables and functions) so that `policy simulate` and
// `allowed_ips` validation apply exactly what the proxy applies; this file is the egress
// component's door to them.
export type { AddressClass, AddressCheck, AddressInfo, AddressAccess } from '../policy/index.ts';
export {
  parseIPv4,
  parseIPv6,
  parseIp,
  parseCidr,
  embeddedIPv4,
  addressInfo,
  classifyBytes,
  classifyAddress,
  formatIp,
  addressAllowed,
  checkAddress,
} from '../policy/index.ts';
