// CONNECT: decided like any connection, then either inspected (TLS terminated here, each request
// decided: inspect.ts) or a byte relay, which the sandbox helper runs itself when it offered to
// (the handoff: native/PROTOCOL.md) and this process runs otherwise.

import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { Refusal, baseEvent, pass } from './context.ts';
import type { ProxyContext, ServeHttp, Tracked } from './context.ts';
import { authorize, decisionAfterWait, resolveChecked } from './authorize.ts';
import { headerValue, parseAuthority } from './http1.ts';
import type { RequestHead } from './http1.ts';
import { serveInspected } from './inspect.ts';
import type { StreamReader } from './reader.ts';
import { upstreamFailure } from './refusal.ts';
import { canonical, sameAuthority } from './target.ts';
import type { Target } from './target.ts';
import { APPROVALS_HOST } from './approvals-hook.ts';
import { INFERENCE_HOST } from './inference-hook.ts';
import { jsonResponse } from './wire.ts';

const CONNECT_TIMEOUT_MS = 30_000;
const CONTROL_LINE_MAX = 128;
const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
const errnoName = (n: number): string => ERRNO_NAMES.get(n) ?? `errno ${n}`;

export async function handleConnect(ctx: ProxyContext, t: Tracked, sock: Socket, reader: StreamReader, head: RequestHead, serve: ServeHttp): Promise<void> {
  try {
    const a = parseAuthority(head.target);
    if ('error' in a) throw new Refusal(400, { error: 'bad_request', reason: `CONNECT target: ${a.error}` });
    const c = canonical(a.host);
    if ('error' in c) throw new Refusal(400, { error: 'bad_request', reason: `CONNECT host: ${c.error}` });
    const target: Target = { ...c, port: a.port };
    const hostHeader = headerValue(head.headers, 'host');
    if (hostHeader !== undefined && !sameAuthority(hostHeader, target, a.port)) {
      throw new Refusal(400, { error: 'host_mismatch', reason: `Host header ${JSON.stringify(hostHeader)} does not name the CONNECT target ${target.host}:${target.port}` });
    }
    if (target.host === INFERENCE_HOST || target.host === APPROVALS_HOST) {
      // Clients that tunnel every proxied request, http:// included (Node's fetch under
      // NODE_USE_ENV_PROXY, undici's ProxyAgent, so the openai SDK on Node 24), reach the router
      // (or the tool-approval hook) through CONNECT <name>:80 carrying plain HTTP; each request in
      // it goes to the hook (forward.ts). Nothing is dialled; TLS or another port is refused.
      if (target.port !== 80) throw new Refusal(400, { error: 'bad_request', reason: `use plain http://${target.host}/ (port 80, no TLS: the proxy answers it)` });
      pass(t, sock);
      sock.write(ESTABLISHED);
      await serve(t, sock, reader, { target, scheme: 'http', authority: `${target.host}:80` });
      return;
    }
    const auth = await authorize(ctx, t, target, {});
    const { address } = await resolveChecked(ctx, t, target, auth.d.allowedIps);
    const d = decisionAfterWait(ctx, t, target, {}, auth, address);
    t.host = target.host;
    t.port = target.port;
    t.address = address;
    t.approvedOnce = auth.approvedOnce;
    t.relay = !(d.inspect && !auth.approvedOnce);
    if (!t.relay) {
      pass(t, sock);
      sock.write(ESTABLISHED);
      await serveInspected(ctx, t, sock, reader, target, serve);
      return;
    }
    // byte relay: by the helper when it offered (its bytes never reach us), else here
    if (t.control === 'pending' && reader.buffered === 0) {
      await handOff(ctx, t, sock, reader, target, address);
      return;
    }
    pass(t, sock);
    await relayHere(ctx, t, sock, reader, target, address);
  } catch (err) {
    if (err instanceof Refusal) {
      pass(t, sock);
      if (!sock.destroyed) sock.end(jsonResponse(err.status, err.body));
      return;
    }
    throw err;
  }
}

function tunnelClosed(ctx: ProxyContext, t: Tracked, target: Target, address: string, bytes: { up: number; down: number; relay: 'helper' | 'proxy' }): void {
  const who = bytes.relay === 'helper' ? 'the sandbox helper' : 'the proxy';
  ctx.emit({ type: 'egress_tunnel_closed', ...baseEvent(t, target), verdict: null, rule: null, reason: `tunnel closed: ${bytes.up} bytes up, ${bytes.down} bytes down (relayed by ${who})`, address, bytes });
}

/** Byte relay through this process (clients that did not offer the handoff). */
async function relayHere(ctx: ProxyContext, t: Tracked, sock: Socket, reader: StreamReader, target: Target, address: string): Promise<void> {
  const { upstream, attach } = dialRelay(address, target.port);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      upstream.destroy();
      reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' }));
    }, CONNECT_TIMEOUT_MS);
    upstream.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    upstream.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw upstreamFailure(ctx, t, target, address, 'connect', err.code ?? err.message);
  });
  if (sock.destroyed) {
    // the client went away while we decided, asked or dialled
    upstream.destroy();
    return;
  }
  const rest = reader.detach();
  sock.setNoDelay(true);
  sock.write(ESTABLISHED);
  upstream.once('close', () => tunnelClosed(ctx, t, target, address, { up: upstream.bytesWritten, down: upstream.bytesRead, relay: 'proxy' }));
  if (rest.length) upstream.write(rest);
  relay(sock, upstream);
  attach(sock);
  sock.resume();
}

/**
 * The helper dials the address we checked and moves the tunnel's bytes itself. This connection
 * stays open as the tunnel's lifeline: destroying it (reload, close) ends the tunnel.
 */
async function handOff(ctx: ProxyContext, t: Tracked, sock: Socket, reader: StreamReader, target: Target, address: string): Promise<void> {
  t.control = 'sent';
  sock.write(`DIAL ${address} ${target.port}\n`);
  const answer = await reader.readLine(CONTROL_LINE_MAX, CONNECT_TIMEOUT_MS);
  if (answer === 'UP') {
    const done = await reader.readLine(CONTROL_LINE_MAX);
    const m = done === null ? null : /^DONE (\d+) (\d+)$/.exec(done);
    if (m) tunnelClosed(ctx, t, target, address, { up: Number(m[1]), down: Number(m[2]), relay: 'helper' });
    sock.destroy();
    return;
  }
  const failed = answer === null ? null : /^FAIL (\d+)$/.exec(answer);
  if (failed) throw upstreamFailure(ctx, t, target, address, 'connect', errnoName(Number(failed[1])));
  if (answer === null && !sock.destroyed && !reader.isEnded) {
    sock.write('ABORT\n');
    throw upstreamFailure(ctx, t, target, address, 'connect', 'ETIMEDOUT');
  }
  sock.destroy(); // the helper went away, or broke the protocol
}

// Read buffers for byte relays. A buffer is owned by one read until that read's write to the
// client has completed: synchronously in the common case (returned at once), or later, when the
// client is slower (returned from the write callback while the upstream is paused). So buffers in
// use are bounded by the tunnels with a write in flight, and bulk transfers allocate nothing per
// chunk — which matters in the supervisor's large heap, where pipe()'s fresh buffer per chunk cost
// 3x the CPU (external-memory-driven full GCs) and +70 MB RSS.
const RELAY_BUFFER = 256 * 1024;
const relayPool: Buffer[] = [];
const takeRelayBuffer = (): Buffer => relayPool.pop() ?? Buffer.allocUnsafe(RELAY_BUFFER);
const giveRelayBuffer = (b: Buffer): void => {
  if (relayPool.length < 16) relayPool.push(b);
};

/**
 * Dials the upstream of a byte relay: its reads land in pooled buffers (net's `onread`) that are
 * written straight to the client; while a write is still queued, reading pauses until it completes,
 * so a buffer is never reused under a pending write. Bytes that arrive before `attach`
 * (server-first protocols) are held and sent after the 200.
 */
function dialRelay(host: string, port: number): { upstream: Socket; attach(client: Socket): void } {
  let client: Socket | null = null;
  const early: Buffer[] = [];
  const upstream: Socket = netConnect({
    host,
    port,
    noDelay: true,
    allowHalfOpen: true,
    onread: {
      buffer: takeRelayBuffer,
      callback: (n: number, buf: Uint8Array): boolean => {
        const owner = buf as Buffer;
        const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
        if (client === null || client.destroyed) {
          if (client === null) early.push(Buffer.from(chunk));
          giveRelayBuffer(owner);
          return false;
        }
        let pending = false;
        client.write(chunk, () => {
          if (!pending) return;
          giveRelayBuffer(owner);
          upstream.resume();
        });
        if (client.writableLength > 0) {
          pending = true;
          return false;
        }
        giveRelayBuffer(owner);
        return true;
      },
    },
  });
  return {
    upstream,
    attach(c: Socket) {
      client = c;
      for (const e of early.splice(0)) c.write(e);
      upstream.resume();
    },
  };
}

/**
 * Byte relay between the client and the upstream, half-close aware: an end in one direction ends
 * the other side's writable after its queued bytes are flushed, errors tear both down, and a side
 * left open after the other closed is ended, then destroyed if it lingers. Client -> upstream is a
 * pipe; upstream -> client is written by dialRelay's read callback.
 */
function relay(a: Socket, b: Socket): void {
  const linger = (s: Socket) => {
    if (s.destroyed) return;
    if (!s.writableEnded) s.end();
    setTimeout(() => s.destroy(), 30_000).unref();
  };
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', (hadError) => (hadError ? b.destroy() : linger(b)));
  b.on('close', (hadError) => (hadError ? a.destroy() : linger(a)));
  b.on('end', () => {
    if (!a.destroyed && !a.writableEnded) a.end();
  });
  a.pipe(b);
}
