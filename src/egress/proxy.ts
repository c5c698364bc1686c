// The per-sandbox egress proxy: its lifecycle. It serves a unix socket that the helper's relay
// connects to; each connection starts with the relay preamble (who is calling), then speaks
// HTTP/1.1 proxy protocol: CONNECT (byte relay, or TLS termination when the matched endpoint has
// L7 rules) and absolute-form forward requests. Policy decides on the canonical name before any
// DNS lookup; the address that passed the SSRF guard is the one dialled.
//
// The work is split by concern, sharing one ProxyContext (context.ts):
//   session.ts    preamble, request loop         identity.ts  preamble parsing, binary pins
//   authorize.ts  policy, asks, DNS + SSRF guard refusal.ts   the 403/502 answers
//   tunnel.ts     CONNECT, byte relays, handoff   inspect.ts   TLS termination
//   forward.ts    one request, upgrade, response  upstream-request.ts  the rebuilt head (pure)
//   body.ts       request bodies                  inference-hook.ts    inference.local
//                                                 approvals-hook.ts    approvals.nemoclaw.internal
// This file keeps the server, reload and close.

import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { dirname } from 'node:path';
import { createSecureContext, getCACertificates, rootCertificates } from 'node:tls';
import type { SecureContext } from 'node:tls';
import type { EgressRuleSet } from '../policy/index.ts';
import { egressAuditRecord } from './audit-record.ts';
import { LeafCache, caEnvironment, loadOrCreateCa, writeTrustBundle } from './ca.ts';
import type { ProxyContext, Tracked } from './context.ts';
import { revalidate } from './revalidate.ts';
import { handleClient } from './session.ts';
import type { EgressEvent, EgressProxy, EgressProxyOptions, InferenceRouter } from './types.ts';

export { INFERENCE_HOST } from './inference-hook.ts';
export { APPROVALS_HOST, TOOL_APPROVALS_PATH } from './approvals-hook.ts';

const BODY_IDLE_TIMEOUT_MS = 120_000;

function defaultResolver(host: string): Promise<string[]> {
  return lookup(host, { all: true, verbatim: true }).then((r) => r.map((a) => a.address));
}

function prepareSocketDir(socketPath: string): void {
  const dir = dirname(socketPath);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new Error(`proxy socket directory ${dir} is owned by uid ${st.uid}, not by us`);
  }
  chmodSync(dir, 0o700);
  try {
    const l = lstatSync(socketPath);
    if (!l.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
    unlinkSync(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function safeSystemCas(): string[] {
  try {
    return getCACertificates('system');
  } catch {
    return [];
  }
}

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  prepareSocketDir(opts.socketPath);
  const getter = typeof opts.rules === 'function' ? opts.rules : null;
  let rules: EgressRuleSet = typeof opts.rules === 'function' ? opts.rules() : opts.rules;
  // Not inside the socket's 0700 directory: the helper must be able to reach the bundle to bind it.
  const caDir = opts.caDir ?? `${dirname(opts.socketPath)}.ca`;
  const { ca, certPath } = loadOrCreateCa(caDir, opts.sandboxId);
  const bundlePath = writeTrustBundle(caDir, ca.certPem, opts.sandboxExtraCa);
  // One secure context for every upstream TLS connection (bundled + system roots + test CAs), built
  // on first use: parsing ~150 roots per connection would cost milliseconds and megabytes.
  let upstreamContext: SecureContext | null = null;
  const events = new EventEmitter<{ event: [EgressEvent] }>();
  let inference: InferenceRouter | undefined = opts.inference;
  const sandbox = opts.sandboxId;

  const ctx: ProxyContext = {
    sandbox,
    relayId: sandbox,
    opts,
    rules: () => rules,
    resolver: opts.resolver ?? defaultResolver,
    pins: new Map<string, string>(opts.pins instanceof Map ? opts.pins : Object.entries(opts.pins ?? {})),
    leaves: new LeafCache(ca),
    upstreamTls: () => (upstreamContext ??= createSecureContext({ ca: [...new Set([...rootCertificates, ...safeSystemCas(), ...(opts.upstreamCa ?? [])])], minVersion: 'TLSv1.2' })),
    inference: () => inference,
    tracked: new Set<Tracked>(),
    bodyIdleTimeoutMs: opts.bodyIdleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS,
    emit(e) {
      const ev: EgressEvent = { ts: new Date().toISOString(), sandbox: ctx.sandbox, ...e };
      opts.onEvent?.(ev);
      events.emit('event', ev);
      const rec = opts.audit ? egressAuditRecord(ev) : null;
      if (!rec || !opts.audit) return;
      try {
        opts.audit.append(rec.event, { durable: rec.durable }).catch(() => {});
      } catch {
        // the audit component reports its own failures
      }
    },
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer({ pauseOnConnect: false, allowHalfOpen: true }, (sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    void handleClient(ctx, sock).catch(() => sock.destroy());
  });
  server.maxConnections = 4096;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(opts.socketPath, 0o600);

  return {
    socketPath: opts.socketPath,
    get sandboxId() {
      return ctx.sandbox;
    },
    adopt(name: string): void {
      ctx.sandbox = name;
    },
    caCertPath: certPath,
    caBundlePath: bundlePath,
    caEnv: caEnvironment(bundlePath),
    events,
    reload(next?: EgressRuleSet): number {
      rules = next ?? (getter ? getter() : rules);
      let closed = 0;
      for (const t of [...ctx.tracked]) {
        if (t.host === null || t.port === null || t.approvedOnce) continue;
        const r = revalidate(rules, { host: t.host, port: t.port, binary: t.binary, address: t.address, relay: t.relay, request: t.request });
        if (r.keep) continue;
        closed++;
        ctx.tracked.delete(t);
        const { verdict, rule } = r.decision;
        ctx.emit({ type: 'egress_closed_by_reload', pid: t.identity.pid || null, binary: t.binary, host: t.host, port: t.port, method: t.request?.method ?? null, path: t.request?.path ?? null, verdict, rule, reason: r.reason });
        t.destroy();
      }
      return closed;
    },
    pins: () => new Map(ctx.pins),
    unpin(exe?: string): string[] {
      const dropped = exe === undefined ? [...ctx.pins.keys()] : ctx.pins.has(exe) ? [exe] : [];
      for (const p of dropped) ctx.pins.delete(p);
      return dropped;
    },
    connections: () => sockets.size,
    setInferenceRouter(router) {
      inference = router;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      try {
        unlinkSync(opts.socketPath);
      } catch {
        // already gone
      }
    },
  };
}
