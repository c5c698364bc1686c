// One client connection from the helper's relay: the preamble (who is calling), then HTTP/1.1
// proxy requests until it closes, or until a CONNECT turns it into a tunnel.

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Refusal, pass } from './context.ts';
import type { ProxyContext, Tracked, Tunnel } from './context.ts';
import { handleRequest } from './forward.ts';
import type { UpstreamAgents } from './forward.ts';
import { parseRequestHead } from './http1.ts';
import { parsePreamble, trustedBinary } from './identity.ts';
import { StreamReader } from './reader.ts';
import { handleConnect } from './tunnel.ts';
import { jsonResponse } from './wire.ts';

const PREAMBLE_MAX = 4096;
const PREAMBLE_TIMEOUT_MS = 10_000;
const HEAD_IDLE_TIMEOUT_MS = 120_000;

export async function handleClient(ctx: ProxyContext, sock: Socket): Promise<void> {
  const reader = new StreamReader(sock);
  sock.on('error', () => {});
  const timer = setTimeout(() => sock.destroy(), PREAMBLE_TIMEOUT_MS);
  const line = await reader.readLine(PREAMBLE_MAX);
  clearTimeout(timer);
  const identity = line === null ? null : parsePreamble(line);
  if (!identity || identity.sandbox !== ctx.relayId) {
    const reason = !identity ? 'missing or malformed relay preamble' : `preamble names sandbox ${JSON.stringify(identity.sandbox)}, this proxy serves ${JSON.stringify(ctx.relayId)}`;
    ctx.emit({ type: 'preamble_rejected', pid: identity?.pid ?? null, binary: identity?.exe ?? null, host: null, port: null, method: null, path: null, verdict: 'deny', rule: null, reason });
    if (identity?.handoff) pass({ control: 'pending' }, sock);
    sock.end(jsonResponse(403, { error: 'proxy_refused', reason }));
    return;
  }
  const t: Tracked = {
    identity,
    binary: trustedBinary(ctx, identity),
    host: null,
    port: null,
    address: null,
    approvedOnce: false,
    relay: false,
    request: null,
    control: identity.handoff ? 'pending' : 'none',
    destroy: () => sock.destroy(),
  };
  ctx.tracked.add(t);
  sock.once('close', () => ctx.tracked.delete(t));
  try {
    await serveHttp(ctx, t, sock, reader, null);
  } catch (err) {
    if (!sock.destroyed) sock.destroy(err instanceof Error ? err : undefined);
  }
}

/** Reads and serves requests until the connection closes or is handed to a relay. */
export async function serveHttp(ctx: ProxyContext, t: Tracked, stream: Duplex, reader: StreamReader, tunnel: Tunnel | null): Promise<void> {
  const agents: UpstreamAgents = {};
  const serve = (t2: Tracked, s: Duplex, r: StreamReader, tn: Tunnel | null) => serveHttp(ctx, t2, s, r, tn);
  try {
    for (;;) {
      let parsed = parseRequestHead(reader.peek());
      let idle: NodeJS.Timeout | null = null;
      while (parsed.kind === 'incomplete') {
        idle ??= setTimeout(() => stream.destroy(), HEAD_IDLE_TIMEOUT_MS);
        if (!(await reader.more())) {
          if (idle) clearTimeout(idle);
          stream.end();
          return;
        }
        parsed = parseRequestHead(reader.peek());
      }
      if (idle) clearTimeout(idle);
      if (parsed.kind === 'error' || parsed.head.method !== 'CONNECT') pass(t, stream);
      if (parsed.kind === 'error') {
        stream.end(jsonResponse(parsed.status, { error: 'bad_request', reason: parsed.reason }));
        return;
      }
      reader.consume(parsed.consumed);
      const head = parsed.head;
      if (!tunnel && head.method === 'CONNECT') {
        await handleConnect(ctx, t, stream as Socket, reader, head, serve);
        return;
      }
      let keep: boolean | 'upgraded';
      try {
        keep = await handleRequest(ctx, t, stream, reader, head, tunnel, agents);
        if (keep !== 'upgraded') t.request = null;
      } catch (err) {
        if (err instanceof Refusal) {
          // The body (if any) has not been read: close after the answer.
          if (!stream.destroyed) stream.end(jsonResponse(err.status, err.body));
          return;
        }
        throw err;
      }
      if (keep === 'upgraded') return; // the connection is now a WebSocket relay
      if (!keep) {
        stream.end();
        return;
      }
    }
  } finally {
    agents.http?.destroy();
    agents.https?.destroy();
  }
}
