// The egress proxy's public types: what callers configure, what the proxy reports, and the hook
// the inference router plugs into. Shared by every module of the proxy; exported through index.ts.

import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { EgressRuleSet } from '../policy/index.ts';
import type { ApprovalQueue } from '../approvals/index.ts';
import type { AppendOptions, AuditEventInput } from '../audit/index.ts';

/**
 * What NO_PROXY exempts inside every sandbox, supervised or one-shot: its own private loopback,
 * nothing else (docs/egress.md "Loopback"). Here, in the light door, so `sandbox run`'s fast path
 * uses the same value without loading the proxy.
 */
export const SANDBOX_OWN_LOOPBACK = 'localhost,127.0.0.1,::1';

export interface CallerIdentity {
  sandbox: string;
  pid: number;
  exe: string | null;
  sha256: string | null;
  uid: number | null;
  /** The helper's relay can take byte-relay tunnels over (`"handoff":1`): see native/PROTOCOL.md, "Handoff". */
  handoff: boolean;
}

export type EgressEventType =
  | 'egress_allowed'
  | 'egress_audit'
  | 'egress_denied'
  | 'egress_ask'
  | 'egress_error'
  | 'egress_closed_by_reload'
  | 'egress_tunnel_closed'
  | 'egress_request_done'
  | 'binary_pinned'
  | 'binary_replaced'
  | 'preamble_rejected';

export interface EgressEvent {
  type: EgressEventType;
  ts: string;
  sandbox: string;
  pid: number | null;
  binary: string | null;
  host: string | null;
  port: number | null;
  method: string | null;
  path: string | null;
  verdict: string | null;
  rule: string | null;
  reason: string;
  /** The address dialled (after the SSRF guard). */
  address?: string;
  /** connection: CONNECT tunnel; request: one HTTP request (forward or inspected). */
  scope?: 'connection' | 'request';
  approval?: { id: string; by: { user: string; origin: string }; always: boolean; reason: string };
  /**
   * egress_tunnel_closed: bytes a byte-relay tunnel carried each way, and who moved them;
   * egress_request_done: body bytes of one forwarded or inspected request and of its response.
   */
  bytes?: { up: number; down: number; relay: 'helper' | 'proxy' };
  /** egress_request_done: the upstream's status code. */
  status?: number;
}

/** Audit log sink: the AuditLog returned by src/audit's openAuditLog({home}) fits. */
export interface AuditSink {
  append(event: AuditEventInput, opts?: AppendOptions): Promise<unknown>;
}

export interface InferenceRequest {
  sandbox: string;
  binary: string | null;
  method: string;
  /** origin-form target: path and query */
  url: string;
  headers: Array<[string, string]>;
  body: Readable;
}

export interface InferenceResponse {
  writeHead(status: number, headers?: Record<string, string>): void;
  write(chunk: Buffer | string): Promise<void>;
  end(chunk?: Buffer | string): Promise<void>;
}

/** The `inference.local` router (src/inference); until one is configured the proxy answers 503. */
export interface InferenceRouter {
  handle(req: InferenceRequest, res: InferenceResponse): Promise<void> | void;
}

/** The narrowest rule that would have allowed a denied request (a 403's hint). */
export interface SuggestedRule {
  name: string;
  host: string;
  port: number;
  /** The calling program, when it is known (pinned). */
  binary: string | null;
  /** For a request on an inspected endpoint: the access level its method needs. */
  access: 'read-only' | 'read-write' | 'full' | null;
}

export interface EgressProxyOptions {
  /** Unix socket path; its directory is created 0700 (or must already be ours and is tightened to 0700). */
  socketPath: string;
  sandboxId: string;
  /** The current rule set, or a getter read at start and on every `reload()` without an argument. */
  rules: EgressRuleSet | (() => EgressRuleSet);
  approvals?: ApprovalQueue;
  /** Where the inspection CA lives (ca.pem, ca-key.pem, bundle.pem; dir 0711); default: `<socket dir>.ca` beside the socket's directory. */
  caDir?: string;
  /** Extra CA certificates (PEM) trusted for upstream TLS, in addition to the system and bundled roots. */
  upstreamCa?: string[];
  /** Extra CA certificates (PEM) added to the sandbox's trust bundle (e.g. a private origin's CA for byte-relayed TLS). */
  sandboxExtraCa?: string[];
  resolver?: (host: string) => Promise<string[]>;
  /** Binaries already pinned for this sandbox (exe path -> sha256), e.g. persisted by the supervisor across proxy restarts. */
  pins?: ReadonlyMap<string, string> | Record<string, string>;
  /** Called once per new first-use pin (exe path, sha256), after it took effect: the supervisor persists it. */
  onPin?: (exe: string, sha256: string) => void;
  onEvent?: (e: EgressEvent) => void;
  audit?: AuditSink;
  inference?: InferenceRouter;
  /**
   * The hint a policy 403 carries: how to add the rule that would have allowed the request.
   * Default: the `nemoclaw policy add --sandbox ...` line for a supervised sandbox; a one-shot
   * `sandbox run` names its policy file instead (that command edits a supervisor's store).
   */
  ruleHint?: (rule: SuggestedRule) => string;
  /**
   * How long a request body may go without a byte before the request is answered 408 and the
   * connection closed (default 120 s, like an idle head). Tests shorten it.
   */
  bodyIdleTimeoutMs?: number;
}

export interface EgressProxy {
  readonly socketPath: string;
  readonly sandboxId: string;
  /**
   * A warm-pool proxy (issue 23) takes the name of the sandbox that claimed it: decisions, asks,
   * audit records, events and inference routes are keyed on it from now on. The helper's relay
   * keeps naming the pool id it was started with, which stays the one accepted.
   */
  adopt(sandboxId: string): void;
  /** PEM file of the inspection CA alone. */
  readonly caCertPath: string;
  /** Trust bundle for the sandbox (inspection CA + system roots + sandboxExtraCa): bind it read-only. */
  readonly caBundlePath: string;
  /** caEnvironment(caBundlePath) */
  readonly caEnv: Record<string, string>;
  /** Applies a new rule set atomically (or re-reads the getter) and closes connections it no longer allows. Returns how many were closed. */
  reload(next?: EgressRuleSet): number;
  /** Pinned binaries: exe path -> sha256. */
  pins(): Map<string, string>;
  /** Forgets the pin of one exe path (every pin without one): the next use pins again. Returns the paths dropped. */
  unpin(exe?: string): string[];
  /** Open client connections. */
  connections(): number;
  setInferenceRouter(router: InferenceRouter | undefined): void;
  close(): Promise<void>;
  readonly events: EventEmitter<{ event: [EgressEvent] }>;
}
