// The head of a request as the proxy forwards it, rebuilt from the one parse it decided on (see
// docs/design.md, "Security invariants": the proxy forwards what it decided). Pure, so the rules
// that keep the proxy and the origin reading the same request are testable without sockets:
// - framing is the proxy's: exactly one of Content-Length or Transfer-Encoding: chunked, from
//   the parsed body, whatever the client wrote; the Host field is the decided target's;
// - `Connection` may drop end-to-end fields (RFC 9110 7.6.1) but never framing or routing
//   fields: naming one is refused, because dropping Content-Length while the body still flows
//   turns the body into a second, undecided request on the upstream connection;
// - a name with `_` that reads as a framing, routing or method field where `_` means `-`
//   (`Transfer_Encoding`) is refused: it parses two ways;
// - method-override fields are stripped where rules decide on the method, so the method the
//   origin acts on is the one that was decided.

import { headerTokens, headerValue } from './http1.ts';
import type { RequestHead } from './http1.ts';
import { HOP_BY_HOP } from './wire.ts';

/** Fields that say where a request ends or where it goes: never droppable via Connection. */
const FRAMING_OR_ROUTING: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host']);

/** Fields many frameworks read as the real method. */
export const METHOD_OVERRIDE: ReadonlySet<string> = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);

/** Names whose `_` twin is refused (some servers fold `_` into `-`). */
const NO_UNDERSCORE_TWIN: ReadonlySet<string> = new Set([...FRAMING_OR_ROUTING, ...HOP_BY_HOP, ...METHOD_OVERRIDE]);

export interface UpstreamPlan {
  /** Flat [name, value, name, value, ...] in the client's order, then the proxy's own fields. */
  headers: string[];
  /** Sec-WebSocket-Key of a WebSocket upgrade (its answer is checked against it); null otherwise. */
  websocketKey: string | null;
  expectContinue: boolean;
}

export type UpstreamPlanResult = ({ ok: true } & UpstreamPlan) | { ok: false; status: 400; reason: string };

const refuse = (reason: string): UpstreamPlanResult => ({ ok: false, status: 400, reason });

/** A valid Sec-WebSocket-Key: base64 of 16 bytes (RFC 6455 4.1). */
const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{22}==$/;

export function planUpstreamRequest(head: RequestHead, o: { host: string; l7: boolean }): UpstreamPlanResult {
  const named = new Set(headerTokens(head.headers, 'connection'));
  const upgradeHeader = headerValue(head.headers, 'upgrade');
  for (const n of named) {
    if (FRAMING_OR_ROUTING.has(n)) return refuse(`Connection names ${n}, a framing or routing field: the request would be read two ways`);
  }
  if (named.has('upgrade') && upgradeHeader === undefined) return refuse('Connection names upgrade, but the request has no Upgrade field');
  const te = headerTokens(head.headers, 'te');
  if (te.some((c) => c !== 'trailers')) return refuse(`TE ${JSON.stringify(te.join(', '))}: only "trailers" is accepted`);
  for (const [k] of head.headers) {
    if (!k.includes('_')) continue;
    const twin = k.toLowerCase().replaceAll('_', '-');
    if (NO_UNDERSCORE_TWIN.has(twin)) return refuse(`header ${JSON.stringify(k)} reads as ${twin} on servers that treat _ as -`);
  }

  const websocket = head.method === 'GET' && head.body.kind === 'none' && named.has('upgrade') && (upgradeHeader ?? '').toLowerCase() === 'websocket';
  let websocketKey: string | null = null;
  if (websocket) {
    websocketKey = headerValue(head.headers, 'sec-websocket-key') ?? null;
    if (websocketKey === null || !WEBSOCKET_KEY.test(websocketKey)) return refuse('WebSocket upgrade without a valid Sec-WebSocket-Key');
  }

  const headers: string[] = [];
  let clientLength = false;
  for (const [k, v] of head.headers) {
    const l = k.toLowerCase();
    if (l === 'content-length') clientLength = true;
    if (HOP_BY_HOP.has(l) || named.has(l) || FRAMING_OR_ROUTING.has(l)) continue;
    if (o.l7 && METHOD_OVERRIDE.has(l)) continue;
    headers.push(k, v);
  }
  headers.push('Host', o.host);
  if (head.body.kind === 'length') headers.push('Content-Length', String(head.body.length));
  else if (head.body.kind === 'chunked') headers.push('Transfer-Encoding', 'chunked');
  else if (clientLength) headers.push('Content-Length', '0');
  if (websocket) headers.push('Connection', 'Upgrade', 'Upgrade', 'websocket');
  return { ok: true, headers, websocketKey, expectContinue: headerTokens(head.headers, 'expect').includes('100-continue') };
}
