// The destination of a request as the proxy decides on it: the canonical host (one spelling per
// name or address), the port, and what kind of name it is.

import { canonicalizeHost } from '../policy/index.ts';
import { parseAuthority } from './http1.ts';

export interface Target {
  host: string;
  port: number;
  kind: 'dns' | 'ipv4' | 'ipv6';
}

/** The canonical form of a host as written by a client; the port is filled in by the caller. */
export function canonical(text: string): Target | { error: string } {
  const c = canonicalizeHost(text);
  if (!c.ok) return { error: c.reason };
  return { host: c.host, port: 0, kind: c.kind };
}

/** Whether a Host header names exactly this target (any spelling of the same canonical host and port). */
export function sameAuthority(hostHeader: string, target: Target, defaultPort: number): boolean {
  const h = parseAuthority(hostHeader, defaultPort);
  if ('error' in h) return false;
  const c = canonical(h.host);
  return !('error' in c) && c.host === target.host && h.port === target.port;
}

/**
 * The Host field the proxy writes upstream: the canonical host it decided on (never the client's
 * spelling, which an origin could route differently), the port only when not the scheme's default.
 */
export function hostField(target: Target, scheme: 'http' | 'https'): string {
  const host = target.kind === 'ipv6' ? `[${target.host}]` : target.host;
  return target.port === (scheme === 'https' ? 443 : 80) ? host : `${host}:${target.port}`;
}
