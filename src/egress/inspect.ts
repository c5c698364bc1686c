// An inspected CONNECT: the proxy reads the requests inside the tunnel and decides each one.
// TLS (detected by its first byte) is terminated with a leaf for the CONNECT target, issued by the
// sandbox's own CA; an SNI naming anything else is refused.

import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { canonicalizeHost } from '../policy/index.ts';
import { baseEvent } from './context.ts';
import type { ProxyContext, ServeHttp, Tracked } from './context.ts';
import { StreamReader } from './reader.ts';
import type { Target } from './target.ts';

const TLS_HANDSHAKE = 0x16;

export async function serveInspected(ctx: ProxyContext, t: Tracked, sock: Socket, reader: StreamReader, target: Target, serve: ServeHttp): Promise<void> {
  while (reader.buffered === 0) if (!(await reader.more())) return;
  const first = reader.peek()[0];
  const authority = target.kind === 'ipv6' ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
  if (first !== TLS_HANDSHAKE) {
    await serve(t, sock, reader, { target, scheme: 'http', authority });
    return;
  }
  const rest = reader.detach();
  sock.unshift(rest);
  const leaf = ctx.leaves.context(target.host);
  let sniError: string | null = null;
  const tlsSock = new TLSSocket(sock, {
    isServer: true,
    secureContext: leaf,
    ALPNProtocols: ['http/1.1'],
    SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
      const s = canonicalizeHost(servername);
      if (!s.ok || s.host !== target.host) {
        sniError = `TLS SNI ${JSON.stringify(servername)} does not match the CONNECT target ${target.host}`;
        cb(new Error(sniError));
        return;
      }
      cb(null, leaf);
    },
  });
  tlsSock.on('error', () => {
    if (sniError) ctx.emit({ type: 'egress_denied', ...baseEvent(t, target), verdict: 'deny', rule: null, reason: sniError, scope: 'connection' });
    sock.destroy();
  });
  const ok = await new Promise<boolean>((resolve) => {
    tlsSock.once('secure', () => resolve(true));
    tlsSock.once('close', () => resolve(false));
    tlsSock.once('error', () => resolve(false));
  });
  if (!ok) return;
  t.destroy = () => {
    tlsSock.destroy();
    sock.destroy();
  };
  await serve(t, tlsSock, new StreamReader(tlsSock), { target, scheme: 'https', authority });
}
