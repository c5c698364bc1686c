// Endpoints that can match one request (an overlapping host, a shared port, a program both rules
// cover) must agree on what they let the proxy dial; otherwise which one wins would depend on rule
// order. Validation refuses such pairs (schema.ts), and decideEgress fails closed on any it meets
// in a policy built in code.
import { globToRegExp } from './glob.ts';
import { endpointGrants, grantKey } from './grants.ts';
import { HOST_INTERNAL, hostPatternsOverlap, parseHostPattern } from './host.ts';
import type { HostPattern } from './host.ts';
import type { NetworkPolicy } from './schema.ts';

export interface GrantConflict {
  /** Data paths (under network_policies) of the two endpoints, in policy order. */
  left: (string | number)[];
  right: (string | number)[];
  leftGrant: string;
  rightGrant: string;
  /** What both match, e.g. `api.example.com:443 for /usr/bin/curl`. */
  overlap: string;
}

interface Ref {
  path: (string | number)[];
  host: HostPattern | null;
  hostText: string;
  ports: number[];
  binaries: string[] | null;
  grant: string;
}

/** Whether two binary globs can name one executable. Exact for literal paths; for two globs an
 *  approximation (each tested against the other's text), which decideEgress backs by failing
 *  closed on any disagreement it still meets. */
function binariesOverlap(a: string[] | null, b: string[] | null): string | null {
  if (a === null && b === null) return 'any program';
  if (a === null) return b?.join(', ') ?? null;
  if (b === null) return a.join(', ');
  for (const x of a) {
    for (const y of b) {
      if (x === y || globToRegExp(x).test(y) || globToRegExp(y).test(x)) return x === y ? x : `${x} / ${y}`;
    }
  }
  return null;
}

function reserved(r: Ref): boolean {
  return r.host !== null && r.host.kind === 'exact' && r.host.host === HOST_INTERNAL;
}

export function networkPolicyConflicts(nps: Readonly<Record<string, NetworkPolicy>>): GrantConflict[] {
  const refs: Ref[] = [];
  for (const [name, np] of Object.entries(nps)) {
    if (np.action === 'deny' || !Array.isArray(np.endpoints)) continue;
    const binaries = np.binaries && np.binaries.length > 0 ? np.binaries.map((b) => b.path) : null;
    np.endpoints.forEach((e, i) => {
      // `rules: []` allows nothing (ours: what "deny always" writes beside its deny_rules), so
      // its addresses are never dialled and cannot conflict.
      if (e.rules !== undefined && e.rules.length === 0) return;
      let host: HostPattern | null = null;
      if (e.host !== undefined) {
        const p = parseHostPattern(e.host);
        if (!p.ok) return; // reported by the host check
        host = p.pattern;
      }
      const ports = e.ports ?? (e.port === undefined ? [] : [e.port]);
      refs.push({ path: [name, 'endpoints', i], host, hostText: e.host ?? '<any host>', ports, binaries, grant: grantKey(endpointGrants(e)) });
    });
  }
  const out: GrantConflict[] = [];
  for (let i = 0; i < refs.length; i++) {
    for (let j = i + 1; j < refs.length; j++) {
      const [l, r] = [refs[i] as Ref, refs[j] as Ref];
      if (l.grant === r.grant) continue;
      const ports = l.ports.filter((p) => r.ports.includes(p));
      if (ports.length === 0) continue;
      if (l.host !== null && r.host !== null && !hostPatternsOverlap(l.host, r.host)) continue;
      // host.nemoclaw.internal is matched only by an endpoint naming it exactly (egress.ts).
      if (reserved(l) !== reserved(r)) continue;
      const programs = binariesOverlap(l.binaries, r.binaries);
      if (programs === null) continue;
      const host = l.hostText === r.hostText ? l.hostText : `${l.hostText} / ${r.hostText}`;
      out.push({ left: l.path, right: r.path, leftGrant: l.grant, rightGrant: r.grant, overlap: `${host}:${ports.join(',')} for ${programs}` });
    }
  }
  return out;
}

/** `network_policies.a.endpoints[0]` for a path under network_policies. */
export function endpointLabel(path: readonly (string | number)[]): string {
  return `network_policies.${path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('').slice(1)}`;
}
