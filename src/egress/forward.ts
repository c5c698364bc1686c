// One HTTP request the proxy reads itself (absolute-form forward, or origin-form inside an
// inspected tunnel): decided on its canonical host, normalised path, method and query; forwarded
// rebuilt from that one parse (upstream-request.ts); the answer framed again on the way back.

import { createHash } from 'node:crypto';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { decideEgress, normalizeRequestPath } from '../policy/index.ts';
import { authorize, decisionAfterWait, resolveChecked } from './authorize.ts';
import { pumpBody } from './body.ts';
import { Refusal, baseEvent } from './context.ts';
import type { ProxyContext, Req, Tracked, Tunnel } from './context.ts';
import { headerTokens, headerValue, parseAbsoluteTarget, parseOriginTarget } from './http1.ts';
import type { RequestHead } from './http1.ts';
import { refuseReplacedBinary } from './identity.ts';
import { APPROVALS_HOST, serveToolApproval } from './approvals-hook.ts';
import { INFERENCE_HOST, serveInference } from './inference-hook.ts';
import type { StreamReader } from './reader.ts';
import { errorCode, upstreamFailure } from './refusal.ts';
import { canonical, hostField, sameAuthority } from './target.ts';
import type { Target } from './target.ts';
import { planUpstreamRequest } from './upstream-request.ts';
import { HOP_BY_HOP, LAST_CHUNK, pairs, serializeHead, writeChunk } from './wire.ts';

// node:http through process.getBuiltinModule, not an ESM import, which evaluates every export: its
// lazy WebSocket getters load Node's bundled undici, ~40 ms on each CLI start (issue 23).
const { Agent: HttpAgent, request: httpRequest } = process.getBuiltinModule('node:http');

/** Keep-alive upstream agents of one client connection (one socket each: requests stay in order). */
export interface UpstreamAgents {
  http?: InstanceType<typeof HttpAgent>;
  https?: HttpsAgent;
}

interface Located {
  target: Target;
  scheme: 'http' | 'https';
  path: string;
  query: string;
}

/** Where the request goes, from its target and Host field; throws the 400/421 for what does not add up. */
function locate(head: RequestHead, tunnel: Tunnel | null): Located {
  const hostHeader = headerValue(head.headers, 'host');
  if (tunnel) {
    const o = parseOriginTarget(head.target);
    if (!o || head.method === 'CONNECT') throw new Refusal(400, { error: 'bad_request', reason: 'inside a tunnel only origin-form requests are accepted' });
    if (hostHeader !== undefined && !sameAuthority(hostHeader, tunnel.target, tunnel.target.port)) {
      throw new Refusal(421, { error: 'host_mismatch', reason: `Host header ${JSON.stringify(hostHeader)} does not name the tunnel target ${tunnel.authority}` });
    }
    return { target: tunnel.target, scheme: tunnel.scheme, path: o.path, query: o.query };
  }
  const abs = parseAbsoluteTarget(head.target);
  if ('error' in abs) {
    throw new Refusal(400, { error: 'bad_request', reason: head.target.startsWith('/') ? 'origin-form request sent to a proxy: use an absolute URL or CONNECT' : abs.error });
  }
  if (abs.scheme !== 'http') throw new Refusal(400, { error: 'bad_request', reason: 'absolute-form https:// requests are not accepted: use CONNECT' });
  const c = canonical(abs.host);
  if ('error' in c) throw new Refusal(400, { error: 'bad_request', reason: `request host: ${c.error}` });
  const target = { ...c, port: abs.port };
  if (hostHeader !== undefined && !sameAuthority(hostHeader, target, 80)) {
    throw new Refusal(400, { error: 'host_mismatch', reason: `Host header ${JSON.stringify(hostHeader)} does not match the request target ${target.host}:${target.port}` });
  }
  return { target, scheme: 'http', path: abs.path, query: abs.query };
}

/**
 * Whether method/path rules decide on this request: inside an inspected tunnel, or on an endpoint
 * with rules. Then the request goes upstream in the normalised form the rules matched, with
 * method-override fields stripped; elsewhere nothing was decided on the path and it goes as written
 * (an S3 key may hold `//`).
 */
function rulesDecide(ctx: ProxyContext, t: Tracked, target: Target, tunnel: Tunnel | null): boolean {
  return tunnel !== null || decideEgress(ctx.rules(), { host: target.host, port: target.port, binary: t.binary }).inspect;
}

function originForm(path: string, query: string): string {
  return query ? `${path}?${query}` : path;
}

/** Serves one non-CONNECT request; returns whether the connection stays open. */
export async function handleRequest(ctx: ProxyContext, t: Tracked, stream: Duplex, reader: StreamReader, head: RequestHead, tunnel: Tunnel | null, agents: UpstreamAgents): Promise<boolean | 'upgraded'> {
  const loc = locate(head, tunnel);
  const { target, scheme, path, query } = loc;
  if (target.host === INFERENCE_HOST && (!tunnel || tunnel.scheme === 'http')) {
    refuseReplacedBinary(ctx, t, target, { method: head.method, path, query });
    return serveInference(ctx, t, stream, reader, head, originForm(path, query));
  }
  if (target.host === APPROVALS_HOST && (!tunnel || tunnel.scheme === 'http')) {
    // The agent plugin's tool asks: answered by the proxy itself, nothing dialled (approvals-hook.ts).
    refuseReplacedBinary(ctx, t, target, { method: head.method, path, query });
    return serveToolApproval(ctx, t, stream, reader, head, path, target.port);
  }

  const req = { method: head.method, path, query };
  const auth = await authorize(ctx, t, target, req);
  const { address } = await resolveChecked(ctx, t, target, auth.d.allowedIps, req);
  decisionAfterWait(ctx, t, target, req, auth, address);
  if (!tunnel) {
    t.host = target.host;
    t.port = target.port;
    t.address = address;
    t.approvedOnce = false;
  }
  // An operator's once-approval covers this request whatever a reload says; otherwise a reload
  // that takes away this request's rule ends the connection mid-response.
  t.request = auth.approvedOnce ? null : req;

  const l7 = rulesDecide(ctx, t, target, tunnel);
  const forwardPath = (l7 && normalizeRequestPath(path, true)) || path;
  const plan = planUpstreamRequest(head, { host: hostField(target, scheme), l7 });
  if (!plan.ok) {
    ctx.emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: null, reason: plan.reason, scope: 'request' });
    throw new Refusal(plan.status, { error: 'bad_request', reason: plan.reason });
  }
  const common = { host: address, port: target.port, method: head.method, path: originForm(forwardPath, query), headers: plan.headers, setHost: false };
  const tlsOptions = { servername: target.kind === 'dns' ? target.host : '' };
  if (plan.websocketKey !== null) {
    // a fresh upstream connection that leaves the agent once upgraded
    const upstreamReq =
      scheme === 'https'
        ? httpsRequest({ ...common, ...tlsOptions, agent: false, secureContext: ctx.upstreamTls() } as HttpsRequestOptions)
        : httpRequest({ ...common, agent: false });
    return serveUpgrade(ctx, t, stream, reader, upstreamReq, head, target, address, req, plan.websocketKey);
  }
  let upstreamReq: ClientRequest;
  if (scheme === 'https') {
    agents.https ??= new HttpsAgent({ keepAlive: true, maxSockets: 1, secureContext: ctx.upstreamTls() } as ConstructorParameters<typeof HttpsAgent>[0]);
    upstreamReq = httpsRequest({ ...common, ...tlsOptions, agent: agents.https });
  } else {
    agents.http ??= new HttpAgent({ keepAlive: true, maxSockets: 1 });
    upstreamReq = httpRequest({ ...common, agent: agents.http });
  }

  const responded = new Promise<IncomingMessage>((resolve, reject) => {
    upstreamReq.once('response', resolve);
    upstreamReq.once('error', reject);
  });
  responded.catch(() => {});
  const onClientClose = () => upstreamReq.destroy();
  stream.once('close', onClientClose);
  try {
    if (plan.expectContinue && head.minor === 1) stream.write('HTTP/1.1 100 Continue\r\n\r\n');
    let sent = 0;
    try {
      await pumpBody(
        reader,
        head,
        {
          write: (b) => ((sent += b.length), upstreamReq.write(b)),
          end: () => upstreamReq.end(),
          once: (ev, cb) => upstreamReq.once(ev, cb),
        },
        ctx.bodyIdleTimeoutMs,
      );
    } catch (err) {
      upstreamReq.destroy(); // the origin must not act on a body that never finished
      throw err;
    }
    let res: IncomingMessage;
    try {
      res = await responded;
    } catch (err) {
      throw upstreamFailure(ctx, t, target, address, 'exchange', errorCode(err), req);
    }
    const received = { bytes: 0 };
    const keep = await pumpResponse(stream, head, res, received);
    const bytes = { up: sent, down: received.bytes, relay: 'proxy' as const };
    const status = res.statusCode ?? 0;
    ctx.emit({ type: 'egress_request_done', ...baseEvent(t, target, req), verdict: null, rule: null, reason: `${req.method} ${req.path}: ${status}, ${bytes.up} body bytes up, ${bytes.down} down${keep ? '' : ' (connection closed)'}`, address, bytes, status });
    return keep;
  } finally {
    stream.off('close', onClientClose);
  }
}

/** The Sec-WebSocket-Accept an origin must answer to this key (RFC 6455 4.2.2). */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/**
 * Passes a WebSocket upgrade through: the upstream's 101 goes back, then bytes are relayed. A 101
 * whose Sec-WebSocket-Accept does not answer the key sent is not a WebSocket handshake (something
 * that says 101 to anything): it is refused, and nothing is relayed.
 */
async function serveUpgrade(ctx: ProxyContext, t: Tracked, stream: Duplex, reader: StreamReader, upstreamReq: ClientRequest, head: RequestHead, target: Target, address: string, req: Req, key: string): Promise<boolean | 'upgraded'> {
  const outcome = new Promise<{ kind: 'upgrade'; res: IncomingMessage; socket: Duplex; first: Buffer } | { kind: 'response'; res: IncomingMessage }>((resolve, reject) => {
    upstreamReq.once('upgrade', (res: IncomingMessage, socket: Duplex, first: Buffer) => resolve({ kind: 'upgrade', res, socket, first }));
    upstreamReq.once('response', (res: IncomingMessage) => resolve({ kind: 'response', res }));
    upstreamReq.once('error', reject);
  });
  outcome.catch(() => {});
  upstreamReq.end();
  let o: Awaited<typeof outcome>;
  try {
    o = await outcome;
  } catch (err) {
    throw upstreamFailure(ctx, t, target, address, 'exchange', errorCode(err), req);
  }
  if (o.kind === 'response') return pumpResponse(stream, head, o.res);
  if (o.res.headers['sec-websocket-accept'] !== websocketAccept(key)) {
    o.socket.destroy();
    throw upstreamFailure(ctx, t, target, address, 'exchange', 'answered 101 without a valid Sec-WebSocket-Accept for the key sent', req);
  }
  stream.write(serializeHead(101, o.res.statusMessage ?? 'Switching Protocols', pairs(o.res.rawHeaders)));
  if (o.first.length) stream.write(o.first);
  const rest = reader.detach();
  if (rest.length) o.socket.write(rest);
  const up = o.socket;
  up.on('error', () => stream.destroy());
  stream.on('error', () => up.destroy());
  up.on('close', () => stream.destroy());
  stream.on('close', () => up.destroy());
  stream.pipe(up);
  up.pipe(stream);
  stream.resume();
  return 'upgraded';
}

/**
 * Writes the upstream response back with framing of the proxy's own (Content-Length or chunked,
 * never the origin's framing fields, whatever its Connection names); returns whether to keep the
 * client connection.
 */
async function pumpResponse(stream: Duplex, head: RequestHead, res: IncomingMessage, received: { bytes: number } = { bytes: 0 }): Promise<boolean> {
  const status = res.statusCode ?? 502;
  const noBody = head.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  const fields = pairs(res.rawHeaders);
  const named = new Set(headerTokens(fields, 'connection'));
  const lengthText = res.headers['content-length'];
  const hasTe = res.headers['transfer-encoding'] !== undefined;
  const length = !hasTe && typeof lengthText === 'string' && /^\d+$/.test(lengthText) ? lengthText : null;
  let mode: 'none' | 'length' | 'chunked' | 'close';
  if (noBody) mode = 'none';
  else if (length !== null) mode = 'length';
  else if (head.minor === 1) mode = 'chunked';
  else mode = 'close';
  const keep = head.keepAlive && mode !== 'close' && !named.has('close');
  const out: Array<[string, string]> = [];
  for (const [k, v] of fields) {
    const l = k.toLowerCase();
    if (HOP_BY_HOP.has(l) || named.has(l) || l === 'content-length') continue;
    out.push([k, v]);
  }
  // HEAD and 304 answers may state the length of the body they do not carry.
  if (length !== null && (mode === 'length' || mode === 'none')) out.push(['Content-Length', length]);
  if (mode === 'chunked') out.push(['Transfer-Encoding', 'chunked']);
  out.push(['Connection', keep ? 'keep-alive' : 'close']);
  const headText = serializeHead(status, res.statusMessage ?? '', out);
  if (mode === 'none') {
    res.resume();
    stream.write(headText);
    await new Promise<void>((r) => (res.complete ? r() : res.once('end', r).once('close', r)));
    return keep;
  }
  stream.write(headText);
  for await (const chunk of res as AsyncIterable<Buffer>) {
    received.bytes += chunk.length;
    const ok = mode === 'chunked' ? writeChunk(stream, chunk) : stream.write(chunk);
    if (!ok && !stream.destroyed) await new Promise<void>((r) => { stream.once('drain', r); stream.once('close', r); });
    if (stream.destroyed) return false;
  }
  if (!res.complete) {
    stream.destroy();
    return false;
  }
  if (mode === 'chunked') stream.write(LAST_CHUNK);
  return keep;
}
