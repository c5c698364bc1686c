// What the proxy's modules share for one proxy instance: its options, the rule set in force, the
// pins, the event sink, and the connections it holds. Passed explicitly instead of captured in one
// closure, so each module (identity, authorize, tunnel, inspect, forward) can be read on its own.

import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { EgressRuleSet } from '../policy/index.ts';
import type { LeafCache } from './ca.ts';
import type { StreamReader } from './reader.ts';
import type { HeldConnection } from './revalidate.ts';
import type { Target } from './target.ts';
import type { CallerIdentity, EgressEvent, EgressProxyOptions, InferenceRouter } from './types.ts';

export interface ProxyContext {
  /** The sandbox this proxy serves: every decision, ask, audit record and route is keyed on it. */
  sandbox: string;
  /**
   * The id the helper's relay preamble must name: the sandbox id it was started with. The same as
   * `sandbox`, except for a warm-pool sandbox, whose helper keeps its pool id after `adopt()`.
   */
  readonly relayId: string;
  readonly opts: EgressProxyOptions;
  /** The rule set in force now; a reload replaces it whole, so comparing identities detects one. */
  rules(): EgressRuleSet;
  readonly resolver: (host: string) => Promise<string[]>;
  /** exe path -> sha256, pinned on first use. */
  readonly pins: Map<string, string>;
  readonly leaves: LeafCache;
  /** The one secure context for upstream TLS (built on first use). */
  upstreamTls(): SecureContext;
  inference(): InferenceRouter | undefined;
  emit(e: Omit<EgressEvent, 'ts' | 'sandbox'>): void;
  /** Connections that hold something open, for reloads to judge. */
  readonly tracked: Set<Tracked>;
  readonly bodyIdleTimeoutMs: number;
}

/** A client connection and what it currently holds open. */
export interface Tracked {
  identity: CallerIdentity;
  /** The caller's executable when it is trusted (pinned and unchanged); null otherwise. */
  binary: string | null;
  host: string | null;
  port: number | null;
  address: string | null;
  /** Allowed by an operator's once-approval: rule reloads do not revoke it. */
  approvedOnce: boolean;
  /** Bytes pass uninspected (relayed here or handed to the helper). */
  relay: boolean;
  /** The request in flight on a plain or inspected connection, for reloads to judge. */
  request: HeldConnection['request'];
  /** `pending`: the helper holds the client's bytes until this connection's control line (PASS or DIAL). */
  control: 'none' | 'pending' | 'sent';
  destroy(): void;
}

/** What a decision is asked about: a connection (no method) or one request. */
export interface Req {
  method?: string;
  path?: string;
  query?: string;
}

/** A refusal the proxy answers itself, with its JSON body. */
export class Refusal extends Error {
  status: number;
  body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.reason ?? body.error));
    this.status = status;
    this.body = body;
  }
}

const PASS = 'PASS\n';

/** The helper's relay holds a connection's bytes until its control line: PASS means we serve it. */
export function pass(t: { control: 'none' | 'pending' | 'sent' }, stream: Duplex): void {
  if (t.control !== 'pending') return;
  t.control = 'sent';
  stream.write(PASS);
}

/** The fields every event about this connection carries. */
export function baseEvent(t: Tracked, target: Target | null, req?: Req) {
  return {
    pid: t.identity.pid || null,
    binary: t.binary,
    host: target?.host ?? null,
    port: target?.port ?? null,
    method: req?.method ?? null,
    path: req?.path ?? null,
  };
}

/** A CONNECT whose bytes the proxy reads itself (TLS terminated or plain HTTP inside). */
export interface Tunnel {
  target: Target;
  scheme: 'http' | 'https';
  /** `host:port` as the client addressed it through CONNECT (canonical host). */
  authority: string;
}

/** Serves HTTP requests on a stream until it closes (session.ts); passed down so inspect.ts needs no import cycle. */
export type ServeHttp = (t: Tracked, stream: Duplex, reader: StreamReader, tunnel: Tunnel | null) => Promise<void>;
