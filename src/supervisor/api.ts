// The control API: HTTP/1.1 over run/api.sock (0600 in a 0700 directory). Routes and shapes are
// listed in docs/supervisor-api.md. Handlers only translate; the work is in Lifecycle,
// the bus and the approval queue.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ApprovalQueue } from '../approvals/index.ts';
import { ApprovalRefusedError } from '../approvals/index.ts';
import { credentialRefusal, findCredential } from './credentials.ts';
import type { EventBus } from './bus.ts';
import type { BusEvent } from './events.ts';
import type { ChatService } from './chat.ts';
import { chatRoute } from './chat.ts';
import type { ExecRequest } from './exec.ts';
import { bridgeExec } from './exec.ts';
import { readJsonBody, sendJson } from './http.ts';
import type { Lifecycle } from './lifecycle.ts';
import type { AuditFn, CreateInput } from './types.ts';
import { InvalidRequestError, NotFoundError, NotPinnedError } from './types.ts';
import { readLog } from './logs.ts';
import { isRestartPolicy } from './restart.ts';
import { DuplicateNameError } from './state.ts';
import type { InferenceRouterHandle } from '../inference/index.ts';
import { ProviderError, RouteError } from '../inference/index.ts';
import { loadBlueprint } from '../policy/index.ts';

// node:http through process.getBuiltinModule, not an ESM import, which evaluates every export: its
// lazy WebSocket getters load Node's bundled undici, ~40 ms on each CLI start (issue 23).
const { createServer } = process.getBuiltinModule('node:http');

export interface ApiDeps {
  socketPath: string;
  lifecycle: Lifecycle;
  bus: EventBus;
  approvals: ApprovalQueue;
  audit: AuditFn;
  info: () => Record<string, unknown>;
  /** The inference router: its route store is what `inference set/get` read and write. */
  inference?: InferenceRouterHandle;
  /** Chat turns with a sandbox's agent and their history (chat.ts). */
  chat?: ChatService;
}

export interface ApiServer {
  socketPath: string;
  close(): Promise<void>;
}

function errorReply(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof NotFoundError) return sendJson(res, 404, { error: 'not_found', reason: err.message, suggestions: err.suggestions });
  if (err instanceof NotPinnedError) return sendJson(res, 404, { error: 'not_pinned', reason: err.message });
  if (err instanceof DuplicateNameError) return sendJson(res, 409, { error: 'exists', reason: err.message });
  if (err instanceof ApprovalRefusedError) return sendJson(res, 409, { error: 'refused', reason: err.message });
  if (err instanceof InvalidRequestError || err instanceof SyntaxError || err instanceof RouteError || err instanceof ProviderError) return sendJson(res, 400, { error: 'bad_request', reason: err.message });
  sendJson(res, 500, { error: 'internal', reason: err instanceof Error ? err.message : String(err) });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function parseCreate(body: unknown): CreateInput {
  if (typeof body !== 'object' || body === null) throw new InvalidRequestError('body must be a JSON object');
  const o = body as Record<string, unknown>;
  const name = str(o.name);
  if (name === undefined) throw new InvalidRequestError('name is required');
  const workspace = str(o.workspace);
  if (workspace === undefined) throw new InvalidRequestError('workspace is required');
  const restart = str(o.restart);
  if (restart !== undefined && !isRestartPolicy(restart)) throw new InvalidRequestError('restart must be never, on-failure or always');
  const command = o.command;
  if (command !== undefined && (!Array.isArray(command) || !command.every((c) => typeof c === 'string'))) throw new InvalidRequestError('command must be an array of strings');
  const env = o.env;
  if (env !== undefined && (typeof env !== 'object' || env === null || !Object.values(env).every((v) => typeof v === 'string'))) throw new InvalidRequestError('env must map names to strings');
  return {
    name,
    workspace,
    blueprint: str(o.blueprint),
    policy: str(o.policy),
    command: command as string[] | undefined,
    restart: restart as CreateInput['restart'],
    env: env as Record<string, string> | undefined,
    start: o.start !== false,
    presets: Array.isArray(o.presets) && o.presets.every((p) => typeof p === 'string') ? (o.presets as string[]) : undefined,
    inference: parseInference(o.inference),
  };
}

function parseInference(v: unknown): CreateInput['inference'] {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.provider !== 'string') throw new InvalidRequestError('inference.provider must be a string');
  if (o.credentialEnv !== undefined && o.credentialEnv !== null && (typeof o.credentialEnv !== 'string' || !/^[A-Z_][A-Z0-9_]*$/.test(o.credentialEnv))) throw new InvalidRequestError('inference.credentialEnv must be an environment variable name');
  return { provider: o.provider, credentialEnv: (o.credentialEnv as string | null | undefined) ?? null, model: typeof o.model === 'string' ? o.model : null };
}

/** Streams bus events (seq > after) as NDJSON until the client leaves (follow) or the buffer ends. */
function streamEvents(bus: EventBus, req: IncomingMessage, res: ServerResponse, after: number, follow: boolean, filter: (e: BusEvent) => boolean, map: (e: BusEvent) => unknown = (e) => e): void {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-nemoclaw-next-seq': String(bus.nextSeq), 'x-nemoclaw-oldest-seq': String(bus.oldest()) });
  if (!follow) {
    const end = bus.nextSeq;
    const oldest = bus.oldest();
    if (after + 1 < oldest) res.write(`${JSON.stringify({ type: 'stream.dropped', count: oldest - after - 1, resumeSeq: oldest })}\n`);
    for (const e of bus.since(after)) if (e.seq < end && filter(e)) res.write(`${JSON.stringify(map(e))}\n`);
    res.end();
    return;
  }
  res.flushHeaders();
  const sub = bus.subscribe(
    after,
    {
      onEvent: () => {},
      onBatch: (batch) => {
        let text = '';
        for (const e of batch) text += `${JSON.stringify(map(e))}\n`;
        if (!res.write(text)) {
          sub.pause();
          res.once('drain', () => sub.resume());
        }
      },
      onDropped: (count, resumeSeq) => {
        res.write(`${JSON.stringify({ type: 'stream.dropped', count, resumeSeq })}\n`);
      },
    },
    filter,
  );
  req.on('close', () => sub.close());
  res.on('close', () => sub.close());
}

/**
 * A new sandbox's first route, from `create`'s inference choice or its blueprint's `inference`
 * section (provider, model, routing as the mode), when a stored provider has that name and the
 * sandbox has no route yet (an operator's `inference set` before create wins). Returns whether
 * it wrote one.
 */
async function seedRoute(d: ApiDeps, input: CreateInput): Promise<boolean> {
  const inf = d.inference;
  if (!inf || inf.routes.get(input.name) !== null) return false;
  let provider = input.inference?.provider;
  let model = input.inference?.model ?? undefined;
  let mode: string | undefined;
  if (input.blueprint !== undefined) {
    try {
      const bp = await loadBlueprint(input.blueprint);
      provider ??= bp.spec.inference.provider;
      model ??= bp.spec.inference.model;
      mode = bp.spec.inference.routing;
    } catch {
      return false; // create reports the blueprint's problem
    }
  }
  if (provider === undefined || model === undefined) return false;
  try {
    if (!inf.providers.get(provider)) return false;
    const route = inf.routes.set(input.name, { provider, model, mode, author: input.blueprint !== undefined ? `blueprint ${input.blueprint}` : 'create' });
    d.audit({ kind: 'inference.decision', activity: 'route_set', sandbox: input.name, target: `${provider}/${model}`, decision: route.mode, detail: { rev: route.rev, seeded: true } }, true);
    d.bus.publish(input.name, { type: 'inference.route', rev: route.rev, mode: route.mode, models: route.models, author: route.author });
    return true;
  } catch {
    return false; // a bad name or model: create refuses the name itself
  }
}

/**
 * `inference set`: a new route revision for a sandbox, read by the router on its next request
 * (no restart), audited and published on the bus.
 */
function setInferenceRoute(d: ApiDeps, inf: InferenceRouterHandle, name: string, body: unknown): unknown {
  if (typeof body !== 'object' || body === null) throw new InvalidRequestError('body must be a JSON object');
  const b = body as Record<string, unknown>;
  const provider = str(b.provider);
  const model = str(b.model);
  if (provider === undefined || model === undefined) throw new InvalidRequestError('body: {"provider","model","alias"?,"mode"?,"add"?,"idleTimeoutMs"?,"budget"?}');
  const p = inf.providers.get(provider);
  if (!p) throw new InvalidRequestError(`no provider ${provider}: nemoclaw providers add ${provider} --type T --url URL`);
  const num = (v: unknown, what: string): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new InvalidRequestError(`${what} must be a positive integer`);
    return v;
  };
  const bud = b.budget as Record<string, unknown> | undefined;
  const budget = bud !== undefined && bud !== null ? { requestsPerMinute: num(bud.requestsPerMinute, 'budget.requestsPerMinute'), tokensPerMinute: num(bud.tokensPerMinute, 'budget.tokensPerMinute') } : undefined;
  const route = inf.routes.set(name, {
    provider,
    model,
    alias: str(b.alias),
    mode: str(b.mode),
    add: b.add === true,
    idleTimeoutMs: num(b.idleTimeoutMs, 'idleTimeoutMs'),
    budget: budget && JSON.parse(JSON.stringify(budget)),
    sticky: typeof b.sticky === 'boolean' ? b.sticky : undefined,
    author: str(b.author)?.slice(0, 128) ?? 'api',
  });
  d.audit({ kind: 'inference.decision', activity: 'route_set', sandbox: name, target: `${provider}/${model}`, decision: route.mode, detail: { rev: route.rev, aliases: route.models.map((m) => m.alias).join(',').slice(0, 256), location: p.location } }, true);
  d.bus.publish(name, { type: 'inference.route', rev: route.rev, mode: route.mode, models: route.models, author: route.author });
  return route;
}

export async function serveApi(d: ApiDeps): Promise<ApiServer> {
  try {
    // A crashed supervisor's socket (or anything else left at that name): we hold the lock.
    if (!lstatSync(d.socketPath).isDirectory()) unlinkSync(d.socketPath);
  } catch {
    // absent
  }
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://nemoclaw');
    const path = url.pathname;
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (path === '/v1/health' && method === 'GET') return sendJson(res, 200, d.info());
    if (path === '/v1/sandboxes') {
      if (method === 'GET') return sendJson(res, 200, { sandboxes: d.lifecycle.list() });
      if (method === 'POST') {
        const input = parseCreate(await readJsonBody(req));
        // Before the start, so the agent's first model call already has its route.
        const seeded = await seedRoute(d, input);
        try {
          const sandbox = await d.lifecycle.create(input);
          return sendJson(res, 201, { sandbox });
        } catch (err) {
          if (seeded) d.inference?.routes.remove(input.name);
          throw err;
        }
      }
    }
    if (path === '/v1/events' && method === 'GET') {
      const since = Number(q.get('since') ?? '0');
      const sandbox = q.get('sandbox');
      const types = q.get('types')?.split(',') ?? null;
      streamEvents(d.bus, req, res, Number.isFinite(since) ? since : 0, q.get('follow') === '1', (e) => (sandbox === null || e.sandbox === sandbox) && (types === null || types.includes(e.type)));
      return;
    }
    if (path === '/v1/approvals' && method === 'GET') return sendJson(res, 200, { items: d.approvals.list() });
    if (path === '/v1/inference' && method === 'GET') return sendJson(res, 200, { routes: d.inference?.routes.list() ?? [] });
    const ap = /^\/v1\/approvals\/([0-9a-f]{1,32})\/decision$/.exec(path);
    if (ap && method === 'POST') {
      const b = (await readJsonBody(req)) as Record<string, unknown>;
      const by = b.by as Record<string, unknown> | undefined;
      if ((b.verdict !== 'allow' && b.verdict !== 'deny') || !by || typeof by.user !== 'string' || typeof by.origin !== 'string') throw new InvalidRequestError('body: {"verdict":"allow"|"deny","always":bool,"by":{"user","origin"}}');
      const result = await d.approvals.decide(ap[1] as string, { verdict: b.verdict, always: b.always === true, by: { user: by.user.slice(0, 256), origin: by.origin.slice(0, 256) } });
      if (!result) return sendJson(res, 404, { error: 'not_pending', reason: `no pending approval ${ap[1]} (unknown, timed out, or already decided)` });
      return sendJson(res, 200, { result });
    }
    if (d.chat && (await chatRoute(d.chat, req, res, path, method, q))) return;
    const m = /^\/v1\/sandboxes\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
    if (m) {
      const name = decodeURIComponent(m[1] as string);
      const verb = m[2];
      if (verb === undefined && method === 'GET') return sendJson(res, 200, { sandbox: d.lifecycle.view(name) });
      if (verb === undefined && method === 'DELETE') {
        await d.lifecycle.destroy(name);
        d.inference?.routes.remove(name); // a later sandbox of the same name starts without it
        return sendJson(res, 200, { destroyed: name });
      }
      if (method === 'POST' && (verb === 'start' || verb === 'stop' || verb === 'restart')) {
        const sandbox = await d.lifecycle[verb](name);
        return sendJson(res, 200, { sandbox });
      }
      if (verb === 'logs' && method === 'GET') {
        d.lifecycle.get(name);
        const sinceMs = q.has('since') ? Number(q.get('since')) : undefined;
        const tail = q.has('tail') ? Number(q.get('tail')) : undefined;
        const records = readLog(d.lifecycle.logFile(name), { sinceMs, tail });
        if (q.get('follow') !== '1') {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          for (const r of records) res.write(`${JSON.stringify(r)}\n`);
          res.end();
          return;
        }
        // Recorded lines first, then live ones from the bus (from the seq current now).
        const from = d.bus.nextSeq - 1;
        streamEvents(d.bus, req, res, from, true, (e) => e.type === 'log' && e.sandbox === name, (e) => (e.type === 'log' ? { ts: e.ts, stream: e.stream, line: e.line } : e));
        for (const r of records) res.write(`${JSON.stringify(r)}\n`);
        return;
      }
      if (verb === 'pins' && method === 'GET') return sendJson(res, 200, { pins: d.lifecycle.pins(name) });
      if (verb === 'pins' && method === 'DELETE') {
        const exe = q.get('path') ?? undefined;
        if (exe !== undefined && !exe.startsWith('/')) throw new InvalidRequestError('path: the absolute path of a pinned binary, as the sandbox sees it');
        return sendJson(res, 200, await d.lifecycle.unpin(name, exe));
      }
      if (verb === 'inference' && method === 'GET') {
        d.lifecycle.get(name);
        return sendJson(res, 200, { route: d.inference?.routes.get(name) ?? null });
      }
      if (verb === 'inference' && method === 'PUT') {
        d.lifecycle.get(name);
        if (!d.inference) throw new InvalidRequestError('this supervisor has no inference router');
        return sendJson(res, 200, { route: setInferenceRoute(d, d.inference, name, await readJsonBody(req)) });
      }
      if (verb === 'policy' && method === 'GET') return sendJson(res, 200, await d.lifecycle.policy(name));
      if (verb === 'policy' && method === 'PUT') {
        const b = (await readJsonBody(req)) as Record<string, unknown>;
        if (typeof b.text !== 'string') throw new InvalidRequestError('body: {"text": policy YAML, "reason"?, "author"?, "confirm"?}');
        return sendJson(res, 200, await d.lifecycle.setPolicy(name, b.text, { author: str(b.author) ?? 'api', reason: str(b.reason) ?? 'set through the API', confirm: b.confirm === true }));
      }
      // Learning mode (issue 22): POST proposes from the audit log and writes nothing; PUT writes
      // the reviewed text only if the revision it was proposed against is still current.
      if (verb === 'learn' && method === 'POST') {
        const b = (await readJsonBody(req)) as Record<string, unknown>;
        const minutes = b.minutes;
        const sinceSeq = b.sinceSeq;
        const unmatched = b.unmatched;
        if (minutes !== undefined && (typeof minutes !== 'number' || !(minutes > 0) || minutes > 5_256_000)) throw new InvalidRequestError('minutes: a positive number (at most ten years)');
        if (sinceSeq !== undefined && (typeof sinceSeq !== 'number' || !Number.isSafeInteger(sinceSeq) || sinceSeq < 0)) throw new InvalidRequestError('sinceSeq: a non-negative integer');
        if (unmatched !== undefined && unmatched !== 'ask' && unmatched !== 'deny' && unmatched !== 'audit') throw new InvalidRequestError('unmatched: ask, deny or audit');
        const opts: { sinceMs?: number; sinceSeq?: number; unmatched?: 'ask' | 'deny' | 'audit' } = {};
        if (typeof minutes === 'number') opts.sinceMs = Date.now() - minutes * 60_000;
        if (typeof sinceSeq === 'number') opts.sinceSeq = sinceSeq;
        if (unmatched !== undefined) opts.unmatched = unmatched;
        return sendJson(res, 200, { proposal: await d.lifecycle.learn(name, opts) });
      }
      if (verb === 'learn' && method === 'PUT') {
        const b = (await readJsonBody(req)) as Record<string, unknown>;
        if (typeof b.text !== 'string' || typeof b.rev !== 'number' || !Number.isSafeInteger(b.rev) || b.rev < 0) throw new InvalidRequestError('body: {"text": the proposal, "rev": the revision it was proposed against (0: none), "reason"?, "author"?}');
        return sendJson(res, 200, await d.lifecycle.setPolicy(name, b.text, { author: str(b.author) ?? 'api', reason: str(b.reason) ?? 'learned through the API', confirm: false, ifRev: b.rev, source: 'learn' }));
      }
    }
    sendJson(res, 404, { error: 'not_found', reason: `no route ${method} ${path}` });
  };
  const server: Server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => errorReply(res, err));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void upgradeExec(d, req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(d.socketPath, () => resolve());
  });
  chmodSync(d.socketPath, 0o600);
  return {
    socketPath: d.socketPath,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        try {
          unlinkSync(d.socketPath);
        } catch {
          // gone
        }
      }),
  };
}

function refuse(socket: Socket, status: number, body: Record<string, unknown>): void {
  const text = `${JSON.stringify(body)}\n`;
  socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 409 ? 'Conflict' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
}

async function upgradeExec(d: ApiDeps, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  socket.on('error', () => {});
  const m = /^\/v1\/sandboxes\/([^/?]+)\/exec$/.exec(req.url ?? '');
  if (!m || req.method !== 'POST' || req.headers.upgrade !== 'nemoclaw-exec') return refuse(socket, 400, { error: 'bad_request', reason: 'exec: POST /v1/sandboxes/<name>/exec with Upgrade: nemoclaw-exec' });
  const name = decodeURIComponent(m[1] as string);
  let er: ExecRequest;
  try {
    const raw = JSON.parse(Buffer.from(String(req.headers['x-nemoclaw-exec'] ?? ''), 'base64').toString('utf8')) as Record<string, unknown>;
    if (!Array.isArray(raw.argv) || raw.argv.length === 0 || !raw.argv.every((a) => typeof a === 'string')) throw new Error('argv must be a non-empty array of strings');
    const env = raw.env ?? {};
    if (typeof env !== 'object' || env === null || Array.isArray(env) || !Object.values(env).every((v) => typeof v === 'string')) throw new Error('env must map names to strings');
    const secret = findCredential(env as Record<string, string>);
    if (secret) throw new Error(credentialRefusal(secret));
    er = { argv: raw.argv as string[], tty: raw.tty === true, cols: Number(raw.cols) || 80, rows: Number(raw.rows) || 24, env: env as Record<string, string> };
  } catch (err) {
    return refuse(socket, 400, { error: 'bad_request', reason: `x-nemoclaw-exec: ${(err as Error).message}` });
  }
  try {
    if (!d.lifecycle.isRunning(name)) return refuse(socket, 409, { error: 'not_running', reason: `sandbox ${name} is not running (start it: nemoclaw ${name} start)` });
  } catch (err) {
    if (err instanceof NotFoundError) return refuse(socket, 404, { error: 'not_found', reason: err.message, suggestions: err.suggestions });
    return refuse(socket, 400, { error: 'bad_request', reason: String(err) });
  }
  const argv0 = er.argv[0] as string;
  d.audit({ kind: 'sandbox.lifecycle', activity: 'exec', sandbox: name, binary: argv0, detail: { argc: er.argv.length, tty: er.tty } }, true);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: nemoclaw-exec\r\nconnection: Upgrade\r\n\r\n');
  try {
    await bridgeExec(socket, head, d.lifecycle.execSocket(name), er, {
      started: (pid) => d.bus.publish(name, { type: 'sandbox.exec', argv0, argc: er.argv.length, tty: er.tty, pid }),
      exited: (e) => d.bus.publish(name, { type: 'sandbox.exec_exit', argv0, code: e?.code ?? null, signal: e?.signal !== null && e?.signal !== undefined ? String(e.signal) : null }),
    });
  } catch (err) {
    const msg = `exec socket unavailable: ${(err as Error).message}`;
    const p = Buffer.from(msg);
    const h = Buffer.alloc(5);
    h.write('f', 0, 'latin1');
    h.writeUInt32BE(p.length, 1);
    socket.end(Buffer.concat([h, p]));
  }
}
