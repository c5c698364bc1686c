// What an endpoint lets the proxy dial once its host has resolved: the address grant. Shared by
// the egress decision (which hands it to the address guard as `allowedIps`) and by validation
// (which refuses two endpoints that could match one request with different grants).
import { addressInfo, parseCidr, formatIp, parseIp } from './address.ts';
import { HOST_INTERNAL, parseHostPattern } from './host.ts';
import type { Endpoint } from './schema.ts';

/**
 * Kubernetes and etcd control-plane ports. A rule opens one of them on a non-public address, or
 * through `allowed_ips`, only when it names both the exact host and the exact port: never through
 * a wildcard host or a hostless endpoint (OpenShell refuses them through `allowed_ips` outright).
 */
export const CONTROL_PLANE_PORTS: ReadonlyMap<number, string> = new Map([
  [2379, 'etcd client'],
  [2380, 'etcd peer'],
  [2381, 'etcd metrics'],
  [6443, 'Kubernetes API server'],
  [9345, 'RKE2 supervisor API'],
  [10248, 'kubelet health'],
  [10249, 'kube-proxy metrics'],
  [10250, 'kubelet API'],
  [10251, 'kube-scheduler (insecure, legacy)'],
  [10252, 'kube-controller-manager (insecure, legacy)'],
  [10255, 'kubelet read-only API'],
  [10256, 'kube-proxy health'],
  [10257, 'kube-controller-manager'],
  [10259, 'kube-scheduler'],
  [16443, 'MicroK8s API server'],
]);

/**
 * The addresses an endpoint grants (the guard's `allowedIps`): its `allowed_ips`; for an endpoint
 * whose host is a literal IP address and that has none, that address (OpenShell's implicit
 * allowance), except loopback, link-local, metadata and unspecified addresses, which need an
 * explicit `allowed_ips` (or can never be opened); otherwise none (public addresses only).
 */
export function endpointGrants(e: Pick<Endpoint, 'host' | 'allowed_ips'>): string[] {
  if (e.allowed_ips !== undefined && e.allowed_ips.length > 0) return [...e.allowed_ips];
  if (e.host === undefined) return [];
  const p = parseHostPattern(e.host);
  if (!p.ok || p.pattern.kind !== 'exact') return [];
  if (p.pattern.host === HOST_INTERNAL) return ['127.0.0.1']; // the host's loopback, by name only
  const bytes = parseIp(p.pattern.host);
  if (!bytes) return [];
  const info = addressInfo(bytes);
  const implicit = info.access === 'open' || (info.access === 'listed' && info.cls !== 'loopback');
  return implicit ? [p.pattern.host] : [];
}

/** One text per grant set, whatever its spelling or order (`10.0.0.1/8` is `10.0.0.0/8`). */
export function grantKey(grants: readonly string[]): string {
  const out = new Set<string>();
  for (const g of grants) {
    const c = parseCidr(g);
    if (!c) {
      out.add(g);
      continue;
    }
    const net = Uint8Array.from(c.addr, (b, i) => {
      const keep = Math.max(0, Math.min(8, c.bits - i * 8));
      return b & ((0xff << (8 - keep)) & 0xff);
    });
    out.add(`${formatIp(net)}/${c.bits}`);
  }
  return [...out].sort().join(', ');
}
