// Whether a connection the proxy holds open may stay open under a new rule set. Pure: the proxy
// calls it for every held connection on reload, and for a connection that was waiting (on the
// operator or on DNS) when the rules changed.
import { decideEgress } from '../policy/index.ts';
import type { EgressDecision, EgressRuleSet } from '../policy/index.ts';
import { checkAddress } from './address.ts';

export interface HeldConnection {
  host: string;
  port: number;
  binary: string | null;
  /** The address that was checked and dialled; null before the dial. */
  address: string | null;
  /** Bytes pass uninspected (a byte relay, here or in the helper): method/path rules cannot apply. */
  relay: boolean;
  /** The request in flight on an inspected or plain connection (a WebSocket stays in flight). */
  request: { method: string; path: string; query: string } | null;
}

export type Revalidation = { keep: true; decision: EgressDecision } | { keep: false; decision: EgressDecision; reason: string };

const lets = (d: EgressDecision): boolean => d.verdict === 'allow' || d.verdict === 'audit';

export function revalidate(rules: EgressRuleSet, c: HeldConnection): Revalidation {
  const where = `${c.host}:${c.port}`;
  const conn = decideEgress(rules, { host: c.host, port: c.port, binary: c.binary });
  if (!lets(conn)) return { keep: false, decision: conn, reason: `new policy no longer allows ${where}: ${conn.reason}` };
  if (c.relay && conn.inspect) {
    return { keep: false, decision: conn, reason: `new policy puts method/path rules on ${where}, which an uninspected byte relay cannot honour` };
  }
  let d = conn;
  if (c.request !== null) {
    const { method, path, query } = c.request;
    d = decideEgress(rules, { host: c.host, port: c.port, binary: c.binary, method, path, query });
    if (!lets(d)) return { keep: false, decision: d, reason: `new policy no longer allows ${method} ${path} on ${where}: ${d.reason}` };
  }
  if (c.address !== null && !checkAddress(c.address, d.allowedIps).ok) {
    return { keep: false, decision: d, reason: `new policy no longer permits the address ${c.address} for ${where}` };
  }
  return { keep: true, decision: d };
}
