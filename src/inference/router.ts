// The `inference.local` router (docs/inference.md): the egress proxy hands it every request a
// sandbox sends to http://inference.local/ and frames whatever it writes back. Per request: the
// path allowlist, the body cap and JSON check, the sandbox's route (read from disk each time, so
// `inference set` applies to the next request), the alias mapped to the real model (unknown
// aliases refused), the privacy decision (local-only never dials a cloud provider;
// cloud-with-redaction replaces secrets and PII before anything leaves, failing closed), the
// budget, then one upstream request with the caller's credentials dropped and the provider key
// injected. Streams pass chunk by chunk; an idle gap or a cut ends them with an SSE error event.
// One audit record per request, never with prompt or answer text (docs/design.md, "Audit").
import type { Agent as HttpAgent, IncomingMessage, OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import type { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { InferenceRequest, InferenceResponse, InferenceRouter } from '../egress/index.ts';
import type { AuditEventInput } from '../audit/index.ts';
import type { Provider } from './providers.ts';
import { ProviderStore } from './providers.ts';
import type { RedactionContext } from './redact.ts';
import { redactionContext, restoreJson, unscannablePart } from './redact.ts';
import { Scanner } from './scanner.ts';
import type { Mode, SandboxRoute } from './routes.ts';
import { DEFAULT_IDLE_TIMEOUT_MS, RouteStore } from './routes.ts';
import type { Usage } from './sse.ts';
import { SseRestorer, UsageTap, readUsage } from './sse.ts';

// node:http and node:https through process.getBuiltinModule at the first upstream request, not
// ESM imports: an import of node:http evaluates every export (its lazy WebSocket getters load
// Node's bundled undici, ~40 ms on each CLI start), and node:https loads tls and crypto, ~8 ms of
// every verb that imports this component for its stores (`providers list`, issue 23).
let upstream: { http: HttpAgent; https: HttpsAgent; httpRequest: typeof httpRequest; httpsRequest: typeof httpsRequest } | undefined;
function upstreamClients(): NonNullable<typeof upstream> {
  if (upstream === undefined) {
    const http = process.getBuiltinModule('node:http');
    const https = process.getBuiltinModule('node:https');
    upstream = {
      http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
      https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
      httpRequest: http.request,
      httpsRequest: https.request,
    };
  }
  return upstream;
}

export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** A non-streamed answer larger than this is refused rather than held in memory. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

export type Decision = 'sent' | 'redacted' | 'refused' | 'error';

/** What the TUI and `nemoclaw events` see of one request (never text). */
export interface InferenceEvent {
  type: 'inference';
  sandbox: string;
  /** The calling program inside the sandbox, as the proxy identified it. */
  binary: string | null;
  decision: Decision;
  /** Why it was refused or failed: unknown_model, privacy_local_only, redaction_failed, budget, ... */
  reason: string | null;
  endpoint: string;
  alias: string | null;
  model: string | null;
  provider: string | null;
  location: 'local' | 'cloud' | null;
  mode: Mode | null;
  status: number;
  redactions: number;
  latencyMs: number;
  ttftMs: number | null;
  tokensIn: number | null;
  tokensOut: number | null;
}

export interface RouterOptions {
  /** NEMOCLAW_HOME: providers, keys and routes are read from it. */
  home: string;
  providers?: ProviderStore;
  routes?: RouteStore;
  audit?: (ev: AuditEventInput) => void;
  onEvent?: (e: InferenceEvent) => void;
  /** Keyed fingerprint for the audit record (src/audit fingerprint); redactions are audited only through it. */
  fingerprint?: (value: string) => string;
  /** Values of host variables the operator marked secret: redacted like stored keys. */
  hostSecrets?: () => string[];
  /** Replaces the scanner (tests: a failing scanner must fail closed). */
  scanner?: (body: unknown, ctx: RedactionContext) => unknown;
  /** Bodies over this many bytes are scanned in a worker with a deadline (default 64 KiB). */
  scanInlineMaxBytes?: number;
  /** How long a worker scan may take before the request fails closed (default 5 s). */
  scanDeadlineMs?: number;
  maxBodyBytes?: number;
}

const ENDPOINTS: ReadonlyMap<string, { method: string; anthropic: boolean; openai: boolean }> = new Map([
  ['/v1/chat/completions', { method: 'POST', anthropic: false, openai: true }],
  ['/v1/completions', { method: 'POST', anthropic: false, openai: true }],
  ['/v1/embeddings', { method: 'POST', anthropic: false, openai: true }],
  ['/v1/responses', { method: 'POST', anthropic: false, openai: true }],
  ['/v1/messages', { method: 'POST', anthropic: true, openai: false }],
  ['/v1/models', { method: 'GET', anthropic: true, openai: true }],
]);

/** Caller headers that may travel upstream; everything else (Authorization, x-api-key, cookies) is dropped. */
const BASE_ALLOW = ['content-type', 'accept', 'user-agent'];
const TYPE_ALLOW: Record<Provider['type'], string[]> = {
  nvidia: ['nvcf-poll-seconds'],
  openai: ['openai-organization', 'openai-project', 'openai-beta'],
  'openai-compatible': ['openai-organization', 'openai-project', 'openai-beta'],
  anthropic: ['anthropic-version', 'anthropic-beta'],
  nim: [],
  vllm: [],
};

export function allowedHeaders(type: Provider['type'], headers: ReadonlyArray<[string, string]>): Record<string, string> {
  const allow = new Set([...BASE_ALLOW, ...TYPE_ALLOW[type]]);
  const out: Record<string, string> = {};
  for (const [k, v] of headers) {
    const l = k.toLowerCase();
    if (allow.has(l)) out[l] = v;
  }
  return out;
}

function errorBody(type: string, message: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ error: { message, type, code: type, ...extra } });
}

/** The SSE error event that ends a stream we cannot finish (never a silently truncated answer). */
export function sseError(type: string, message: string): string {
  return `event: error\ndata: ${errorBody(type, message)}\n\n`;
}

export function upstreamUrl(provider: Provider, path: string): URL {
  const base = provider.url.replace(/\/+$/, '');
  // A base ending in /v1 already names the version; the sandbox's path repeats it.
  return new URL(base.endsWith('/v1') ? base + path.slice(3) : base + path);
}

/** One upstream request; resolves with the response head, or rejects (refused, reset, idle). */
export function sendUpstream(url: URL, method: string, headers: OutgoingHttpHeaders, body: Buffer | null, headTimeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const clients = upstreamClients();
    const opts = { method, headers, agent: url.protocol === 'https:' ? clients.https : clients.http };
    const req = url.protocol === 'https:' ? clients.httpsRequest(url, opts) : clients.httpRequest(url, opts);
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer from the provider within ${headTimeoutMs} ms`), { code: 'IDLE' })), headTimeoutMs);
    req.on('response', (r) => {
      clearTimeout(timer);
      resolve(r);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.setNoDelay(true);
    req.end(body ?? undefined);
  });
}

export function authHeaders(p: Provider, key: string | null): Record<string, string> {
  if (key === null) return {};
  return p.type === 'anthropic' ? { 'x-api-key': key } : { authorization: `Bearer ${key}` };
}

class Budgets {
  private readonly seen = new Map<string, Array<{ t: number; tokens: number }>>();
  private window(sandbox: string, now: number): Array<{ t: number; tokens: number }> {
    const w = (this.seen.get(sandbox) ?? []).filter((e) => now - e.t < 60_000);
    this.seen.set(sandbox, w);
    return w;
  }
  /** Seconds until a request fits, or 0 when it fits now (and is counted). */
  take(sandbox: string, b: SandboxRoute['budget'], now = Date.now()): number {
    const w = this.window(sandbox, now);
    const rpm = b?.requestsPerMinute;
    const tpm = b?.tokensPerMinute;
    const over = (rpm !== undefined && w.length >= rpm) || (tpm !== undefined && w.reduce((s, e) => s + e.tokens, 0) >= tpm);
    if (over) return Math.max(1, Math.ceil((60_000 - (now - (w[0]?.t ?? now))) / 1000));
    w.push({ t: now, tokens: 0 });
    return 0;
  }
  charge(sandbox: string, tokens: number): void {
    const w = this.seen.get(sandbox);
    const last = w?.[w.length - 1];
    if (last) last.tokens += tokens;
  }
}

async function readBody(body: Readable, cap: number): Promise<Buffer | 'too_large'> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > cap) {
      body.resume(); // the rest is drained and dropped, so the connection stays usable
      return 'too_large';
    }
    parts.push(b);
  }
  return Buffer.concat(parts);
}

function scrub(b: Buffer, key: string): Buffer {
  return Buffer.from(b.toString('utf8').split(key).join('[provider key]'));
}

/** write() that gives up when the client stopped reading (its promise would otherwise never settle). */
function writeWithin(res: InferenceResponse, data: Buffer | string, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    res.write(data),
    new Promise<void>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the client stopped reading')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface InferenceRouterHandle extends InferenceRouter {
  readonly providers: ProviderStore;
  readonly routes: RouteStore;
  /** Ends the scan worker, if one runs. */
  close(): Promise<void>;
}

export function createInferenceRouter(opts: RouterOptions): InferenceRouterHandle {
  const providers = opts.providers ?? new ProviderStore(opts.home);
  const routes = opts.routes ?? new RouteStore(opts.home);
  const budgets = new Budgets();
  /** Sandboxes (per route revision) found sensitive under a sticky route: local only from then on. */
  const sensitive = new Set<string>();
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const scanner = new Scanner({ inlineMaxBytes: opts.scanInlineMaxBytes, deadlineMs: opts.scanDeadlineMs });

  async function handle(req: InferenceRequest, res: InferenceResponse): Promise<void> {
    const t0 = performance.now();
    const path = req.url.split('?')[0] ?? '/';
    const ev: InferenceEvent = {
      type: 'inference',
      sandbox: req.sandbox,
      binary: req.binary,
      decision: 'refused',
      reason: null,
      endpoint: path.slice(0, 64),
      alias: null,
      model: null,
      provider: null,
      location: null,
      mode: null,
      status: 0,
      redactions: 0,
      latencyMs: 0,
      ttftMs: null,
      tokensIn: null,
      tokensOut: null,
    };
    const fps: Record<string, string> = {};
    let redaction: RedactionContext | null = null;

    const finish = (): void => {
      ev.latencyMs = Math.round((performance.now() - t0) * 10) / 10;
      opts.onEvent?.(ev);
      if (redaction !== null && opts.fingerprint) redaction.found.forEach((r, i) => (fps[`r${i + 1}_${r.kind.toLowerCase()}`] = opts.fingerprint!(r.value)));
      opts.audit?.({
        kind: 'inference.decision',
        activity: 'request',
        sandbox: req.sandbox,
        ...(req.binary !== null ? { binary: req.binary } : {}),
        ...(ev.provider !== null ? { target: `${ev.provider}/${ev.model ?? ''}` } : {}),
        decision: ev.decision === 'redacted' ? `redacted_${ev.redactions}` : ev.decision,
        severity: ev.decision === 'refused' || ev.decision === 'error' ? 'medium' : 'info',
        ...(Object.keys(fps).length > 0 ? { fingerprints: fps } : {}),
        detail: {
          endpoint: ev.endpoint,
          alias: ev.alias,
          model: ev.model,
          provider: ev.provider,
          location: ev.location,
          mode: ev.mode,
          status: ev.status,
          reason: ev.reason,
          redactions: ev.redactions,
          latency_ms: Math.round(ev.latencyMs),
          ttft_ms: ev.ttftMs !== null ? Math.round(ev.ttftMs) : null,
          usage_in: ev.tokensIn,
          usage_out: ev.tokensOut,
        },
      });
    };

    const refuse = async (status: number, type: string, message: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Promise<void> => {
      ev.status = status;
      ev.reason = type;
      if (ev.decision !== 'error') ev.decision = 'refused';
      const body = errorBody(type, message, extra);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)), ...headers });
      await res.end(body);
      finish();
    };

    const ep = ENDPOINTS.get(path);
    if (!ep || ep.method !== req.method) {
      req.body.resume();
      return refuse(404, 'not_found', `inference.local serves POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses, /v1/messages and GET /v1/models; not ${req.method} ${path.slice(0, 200)}`);
    }
    const raw = await readBody(req.body, maxBody);
    if (raw === 'too_large') return refuse(413, 'request_too_large', `request bodies are capped at ${maxBody} bytes`);

    const route = routes.get(req.sandbox);
    if (!route || route.models.length === 0) return refuse(503, 'no_route', `no inference route for sandbox ${req.sandbox}: nemoclaw inference set --sandbox ${req.sandbox} --provider P --model M`);
    ev.mode = route.mode;

    if (path === '/v1/models') {
      const body = JSON.stringify({ object: 'list', data: route.models.map((m) => ({ id: m.alias, object: 'model', created: 0, owned_by: m.provider })) });
      ev.decision = 'sent';
      ev.status = 200;
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
      await res.end(body);
      finish();
      return;
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      return refuse(400, 'invalid_json', 'the request body is not JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return refuse(400, 'invalid_request', 'the request body must be a JSON object');
    const body = parsed as Record<string, unknown>;
    const alias = typeof body.model === 'string' ? body.model : null;
    const m = route.models.find((x) => x.alias === alias);
    if (!m) {
      ev.alias = alias?.slice(0, 128) ?? null;
      return refuse(404, 'model_not_found', `model ${JSON.stringify(alias?.slice(0, 128) ?? null)} is not allowed for this sandbox; allowed: ${route.models.map((x) => x.alias).join(', ')}`);
    }
    ev.alias = m.alias;
    ev.model = m.model;
    ev.provider = m.provider;
    const provider = providers.get(m.provider);
    if (!provider) return refuse(503, 'provider_missing', `provider ${m.provider} of this route is not configured on the host`);
    ev.location = provider.location;
    if ((provider.type === 'anthropic') !== ep.anthropic && !(ep.anthropic && ep.openai)) {
      return refuse(404, 'not_found', provider.type === 'anthropic' ? `${path} is not served by the anthropic provider ${provider.name}; use /v1/messages` : `/v1/messages needs an anthropic provider; ${provider.name} is ${provider.type}`);
    }

    // Privacy: decided before anything is dialled (docs/inference.md, "Privacy modes").
    if (route.mode === 'local-only' && provider.location !== 'local') {
      return refuse(403, 'privacy_local_only', `this sandbox is local-only and provider ${provider.name} is a cloud provider; nothing was sent`);
    }
    const stickyKey = `${req.sandbox}#${route.rev}`;
    if (route.sticky === true && sensitive.has(stickyKey) && provider.location !== 'local') {
      return refuse(403, 'privacy_sticky_local', `an earlier request of this sandbox was found sensitive and its route is sticky: nothing more goes to the cloud provider ${provider.name} until the route changes; nothing was sent`);
    }
    let outBody: unknown = body;
    if (route.mode === 'cloud-with-redaction' && provider.location === 'cloud') {
      const part = unscannablePart(body);
      if (part !== null) {
        return refuse(403, 'unscannable_content', `the request carries an image, audio or file (${part.slice(0, 80)}) that cannot be scanned for secrets, so it was not sent to the cloud provider ${provider.name}; use a local alias or mode cloud-allowed`);
      }
      try {
        const known = [...providers.allKeys(), ...(opts.hostSecrets?.() ?? [])];
        if (opts.scanner) {
          redaction = redactionContext(known);
          outBody = opts.scanner(body, redaction);
        } else {
          const r = await scanner.scan(body, raw.length, known);
          redaction = r.ctx;
          outBody = r.out;
        }
      } catch (err) {
        // Fail closed: a request we could not scan (an error, a deadline passed) never goes to the cloud.
        ev.decision = 'error';
        redaction = null;
        return refuse(503, 'redaction_failed', `the request could not be scanned for secrets (${err instanceof Error ? err.message : 'scanner error'}), so it was not sent to the cloud provider`);
      }
      ev.redactions = redaction.found.length;
      if (route.sticky === true && redaction.found.length > 0) {
        // Sticky: the sensitive request itself stays home too (the session is local from here on).
        sensitive.add(stickyKey);
        return refuse(403, 'privacy_sticky_local', `this request holds secrets or personal data and the route is sticky: it and the sandbox's next requests go to local providers only; nothing was sent to ${provider.name}`);
      }
    }

    // The window belongs to the route revision: a new `inference set` starts a fresh minute.
    const budgetKey = `${req.sandbox}#${route.rev}`;
    const wait = budgets.take(budgetKey, route.budget);
    if (wait > 0) return refuse(429, 'rate_limit_exceeded', `this sandbox's inference budget is spent for this minute; retry in ${wait} s`, { 'Retry-After': String(wait) });

    // Token budgets need the stream's usage: asked for where the API has it, and the extra chunk
    // kept from a client that did not ask (a client reading choices[0] of every chunk would break).
    let dropUsage = false;
    if (route.budget?.tokensPerMinute !== undefined && body.stream === true && (path === '/v1/chat/completions' || path === '/v1/completions') && provider.type !== 'anthropic' && provider.type !== 'openai-compatible') {
      const so = body.stream_options !== null && typeof body.stream_options === 'object' ? (body.stream_options as Record<string, unknown>) : {};
      if (so.include_usage !== true) {
        outBody = { ...(outBody as Record<string, unknown>), stream_options: { ...so, include_usage: true } };
        dropUsage = true;
      }
    }
    const key = providers.key(provider.name);
    const payload = Buffer.from(JSON.stringify({ ...(outBody as Record<string, unknown>), model: m.model }));
    const headers: OutgoingHttpHeaders = {
      ...allowedHeaders(provider.type, req.headers),
      ...provider.headers,
      ...(provider.type === 'anthropic' && !req.headers.some(([k]) => k.toLowerCase() === 'anthropic-version') ? { 'anthropic-version': '2023-06-01' } : {}),
      ...authHeaders(provider, key),
      'content-type': 'application/json',
      'content-length': payload.length,
      // Identity, so that streamed events can be read (usage) and rewritten (restore) as they pass.
      'accept-encoding': 'identity',
    };
    const idleMs = route.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    let up: IncomingMessage;
    try {
      try {
        up = await sendUpstream(upstreamUrl(provider, path), 'POST', headers, payload, idleMs);
      } catch (err) {
        // One retry, only before the first response byte and only when the connection failed (a
        // stale keep-alive socket, a refused connect); never to another provider.
        const code = (err as { code?: string }).code;
        if (code !== 'ECONNRESET' && code !== 'ECONNREFUSED' && code !== 'EPIPE') throw err;
        up = await sendUpstream(upstreamUrl(provider, path), 'POST', headers, payload, idleMs);
      }
    } catch (err) {
      ev.decision = 'error';
      const idle = (err as { code?: string }).code === 'IDLE';
      return refuse(idle ? 504 : 502, idle ? 'upstream_timeout' : 'upstream_unreachable', idle ? `provider ${provider.name} sent no answer within ${idleMs} ms` : `provider ${provider.name} could not be reached`);
    }
    ev.decision = redaction !== null && redaction.found.length > 0 ? 'redacted' : 'sent';
    ev.status = up.statusCode ?? 502;
    const ctype = String(up.headers['content-type'] ?? 'application/json');
    const usage: Usage = { input: null, output: null };
    const ctx = redaction;

    if (ctype.startsWith('text/event-stream')) {
      res.writeHead(ev.status, { 'Content-Type': ctype, 'Cache-Control': 'no-cache' });
      const restorer = (ctx !== null && ctx.found.length > 0) || dropUsage ? new SseRestorer(ctx ?? redactionContext(), { dropUsage }) : null;
      const tap = restorer === null ? new UsageTap() : null;
      let cut: string | null = null;
      let idleFired = false;
      const timer = setTimeout(() => {
        idleFired = true;
        up.destroy(new Error('idle'));
      }, idleMs);
      try {
        for await (const chunk of up) {
          timer.refresh();
          ev.ttftMs ??= performance.now() - t0;
          const b = chunk as Buffer;
          if (restorer !== null) {
            const text = restorer.push(b);
            if (text.length > 0) await writeWithin(res, text, idleMs);
          } else {
            // A provider that echoes the key in an error event never shows it to the sandbox.
            await writeWithin(res, key !== null && b.includes(key) ? scrub(b, key) : b, idleMs);
            tap!.push(b);
          }
        }
        if (!up.complete) cut = 'the provider cut the stream';
      } catch (err) {
        cut = idleFired ? `the provider sent nothing for ${idleMs} ms` : up.complete ? (err as Error).message : 'the provider cut the stream';
      } finally {
        clearTimeout(timer);
      }
      try {
        if (restorer !== null) {
          const tail = restorer.end();
          if (tail.length > 0) await writeWithin(res, tail, idleMs);
        }
        if (cut !== null) {
          ev.decision = 'error';
          ev.reason = idleFired ? 'upstream_idle' : 'upstream_cut';
          await writeWithin(res, sseError(idleFired ? 'upstream_idle_timeout' : 'upstream_stream_cut', `${cut}; the answer is incomplete`), idleMs);
        }
        await res.end();
      } catch {
        ev.reason ??= 'client_gone';
      }
      Object.assign(usage, restorer?.usage ?? tap!.usage);
    } else {
      const parts: Buffer[] = [];
      let n = 0;
      let failed: string | null = null;
      const timer = setTimeout(() => up.destroy(new Error('idle')), idleMs);
      try {
        for await (const chunk of up) {
          timer.refresh();
          ev.ttftMs ??= performance.now() - t0;
          n += (chunk as Buffer).length;
          if (n > MAX_ANSWER_BYTES) throw new Error('answer too large');
          parts.push(chunk as Buffer);
        }
        if (!up.complete) failed = 'cut';
      } catch {
        failed = 'cut';
      } finally {
        clearTimeout(timer);
      }
      if (failed !== null) {
        ev.decision = 'error';
        return refuse(502, 'upstream_stream_cut', `provider ${provider.name} did not finish its answer`);
      }
      let out: Buffer = Buffer.concat(parts);
      if (key !== null && out.includes(key)) out = scrub(out, key);
      if (ctype.includes('json')) {
        try {
          const obj = JSON.parse(out.toString('utf8')) as unknown;
          readUsage(obj, usage);
          if (ctx !== null && ctx.found.length > 0) out = Buffer.from(JSON.stringify(restoreJson(obj, ctx)));
        } catch {
          // not JSON after all: passed as it came
        }
      }
      res.writeHead(ev.status, { 'Content-Type': ctype, 'Content-Length': String(out.length) });
      await res.end(out);
    }
    ev.tokensIn = usage.input;
    ev.tokensOut = usage.output;
    budgets.charge(budgetKey, (usage.input ?? Math.ceil(payload.length / 4)) + (usage.output ?? 0));
    finish();
  }

  return {
    providers,
    routes,
    async close() {
      await scanner.close();
    },
    handle(req, res) {
      return handle(req, res).catch(async (err: unknown) => {
        // A bug must not leave the agent waiting: answer 500 if nothing was written yet.
        try {
          const body = errorBody('router_error', err instanceof Error ? err.message : String(err));
          res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) });
          await res.end(body);
        } catch {
          // the head was already sent; the proxy closes the connection
        }
      });
    },
  };
}

export interface ProviderTest {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  models: string[];
  error: string | null;
}

/** `providers test`: one real GET /models with the stored key; the key itself is never shown. */
export async function testProvider(providers: ProviderStore, name: string, timeoutMs = 15_000): Promise<ProviderTest> {
  const p = providers.get(name);
  if (!p) return { ok: false, status: null, latencyMs: 0, models: [], error: `no provider ${name}` };
  const t0 = performance.now();
  try {
    const up = await sendUpstream(upstreamUrl(p, '/v1/models'), 'GET', { ...p.headers, ...authHeaders(p, providers.key(name)), ...(p.type === 'anthropic' ? { 'anthropic-version': '2023-06-01' } : {}) }, null, timeoutMs);
    const parts: Buffer[] = [];
    for await (const c of up) parts.push(c as Buffer);
    const latencyMs = Math.round(performance.now() - t0);
    let models: string[] = [];
    try {
      const j = JSON.parse(Buffer.concat(parts).toString('utf8')) as { data?: Array<{ id?: unknown }> };
      models = (j.data ?? []).map((d) => String(d.id)).slice(0, 200);
    } catch {
      // not a model list
    }
    const ok = (up.statusCode ?? 500) < 300;
    return { ok, status: up.statusCode ?? null, latencyMs, models, error: ok ? null : `HTTP ${up.statusCode}` };
  } catch (err) {
    return { ok: false, status: null, latencyMs: Math.round(performance.now() - t0), models: [], error: (err as Error).message };
  }
}
