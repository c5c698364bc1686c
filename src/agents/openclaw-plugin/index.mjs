// nemoclaw's OpenClaw plugin: tool-call approvals (docs/agents.md "Tool-call approvals",
// docs/approvals.md "Tool calls"). The supervisor binds this directory read-only into the sandbox
// and enables it from the config it generates (plugins.load.paths, plugins.entries.nemoclaw), so
// the agent cannot change or drop it. Its before_tool_call hook asks the operator before exec-type
// tools, file writes outside the workspace and the tools the sandbox's policy lists in tools.ask:
// it POSTs the call to http://approvals.nemoclaw.internal/v1/tool-approvals through the sandbox's
// proxy (the only way out; the proxy answers that name itself, nothing is dialled) and waits.
//
// Fail closed: anything but a 200 {"decision":"allow"} blocks the call (deny, timeout, a proxy
// that cannot be reached, a bad answer, an exception); the model receives the block reason as the
// tool's result. OpenClaw's runner also fails this hook closed on a throw or its own timeout,
// which the generated config sets above this plugin's wait.
//
// Plain ESM JavaScript with no dependencies: it runs on the install's Node 24 inside the sandbox.
import { Agent, request } from 'node:http';
import { isAbsolute, relative, resolve } from 'node:path';

export const DEFAULTS = Object.freeze({
  url: 'http://approvals.nemoclaw.internal/v1/tool-approvals',
  /** Tools that run commands: always asked. */
  execTools: ['exec', 'process', 'bash'],
  /** Tools that write files: asked when a target lies outside the workspace. */
  writeTools: ['write', 'edit', 'apply_patch'],
  ask: [],
  workspace: '',
  waitMs: 130_000,
});

const PATCH_MARKERS = ['*** Add File: ', '*** Update File: ', '*** Delete File: ', '*** Move to: '];

/** The paths a file-writing call names (relative ones as written): write/edit `path`, apply_patch headers. */
export function writeTargets(tool, params) {
  const p = params && typeof params === 'object' ? params : {};
  if (tool === 'apply_patch') {
    const text = typeof p.input === 'string' ? p.input : typeof p.patch === 'string' ? p.patch : '';
    const out = [];
    for (const raw of text.split(/\r?\n/)) {
      const line = raw.trim();
      const m = PATCH_MARKERS.find((k) => line.startsWith(k));
      if (m) out.push(line.slice(m.length).trim());
    }
    return out;
  }
  return [p.path, p.file_path, p.filePath].filter((v) => typeof v === 'string');
}

/** Whether a path (as the agent wrote it, relative to `cwd`) lies outside the workspace. */
export function outsideWorkspace(path, workspace, cwd) {
  if (!workspace) return true;
  const p = path.startsWith('@') ? path.slice(1) : path;
  if (p === '' || p.startsWith('~')) return true;
  const abs = resolve(cwd || workspace, p);
  const rel = relative(workspace, abs);
  return rel === '..' || rel.startsWith('../') || isAbsolute(rel);
}

/** Why this call is asked (one line), or null when it runs unasked. Pure. */
export function askReason(cfg, tool, params, cwd) {
  if (cfg.execTools.includes(tool)) return 'runs a command';
  if (cfg.ask.includes(tool)) return "listed in the policy's tools.ask";
  if (cfg.writeTools.includes(tool)) {
    const targets = writeTargets(tool, params);
    if (targets.length === 0) return 'writes a file it does not name';
    if (targets.some((t) => outsideWorkspace(t, cfg.workspace, cwd))) return 'writes outside the workspace';
  }
  return null;
}

function config(raw) {
  const c = raw && typeof raw === 'object' ? raw : {};
  const list = (v, d) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : d);
  return {
    url: typeof c.url === 'string' ? c.url : DEFAULTS.url,
    execTools: list(c.execTools, DEFAULTS.execTools),
    writeTools: list(c.writeTools, DEFAULTS.writeTools),
    ask: list(c.ask, DEFAULTS.ask),
    workspace: typeof c.workspace === 'string' ? c.workspace : DEFAULTS.workspace,
    waitMs: Number.isInteger(c.waitMs) && c.waitMs > 0 ? c.waitMs : DEFAULTS.waitMs,
  };
}

/** The sandbox's proxy (HTTP_PROXY, set by the supervisor), or null. */
function proxyOf(env) {
  const raw = env.HTTP_PROXY || env.http_proxy || '';
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' ? { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 80) } : null;
  } catch {
    return null;
  }
}

// Its own agent: the request goes to the proxy as written (absolute-form), never through a global
// agent that NODE_USE_ENV_PROXY may have configured.
const direct = new Agent({ keepAlive: false });

/** Asks the supervisor through the proxy; resolves {allow, reason}, never rejects. */
export function askSupervisor(cfg, body, { env = process.env, signal } = {}) {
  return new Promise((done) => {
    let settled = false;
    let timer = null;
    const finish = (allow, reason) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done({ allow, reason });
    };
    const proxy = proxyOf(env);
    if (!proxy) return finish(false, 'no proxy is set (HTTP_PROXY), so the operator cannot be asked');
    const url = new URL(cfg.url);
    const data = JSON.stringify(body);
    const req = request({
      host: proxy.host,
      port: proxy.port,
      method: 'POST',
      path: url.href,
      agent: direct,
      headers: { host: url.host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
    });
    timer = setTimeout(() => {
      req.destroy();
      finish(false, `no answer within ${Math.round(cfg.waitMs / 1000)} s`);
    }, cfg.waitMs);
    signal?.addEventListener?.('abort', () => {
      req.destroy();
      finish(false, 'the tool call was cancelled');
    }, { once: true });
    req.on('error', (err) => finish(false, `the approval could not be asked (${err.code || err.message})`));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        if (text.length < 64 * 1024) text += c;
      });
      res.on('error', (err) => finish(false, `the answer was cut (${err.message})`));
      res.on('end', () => {
        let v = null;
        try {
          v = JSON.parse(text);
        } catch {
          // below
        }
        const reason = v && typeof v.reason === 'string' ? v.reason : `HTTP ${res.statusCode}`;
        finish(res.statusCode === 200 && v !== null && v.decision === 'allow', reason);
      });
    });
    req.end(data);
  });
}

const str = (v) => (typeof v === 'string' && v !== '' ? v : undefined);

/** The hook: null lets the call run; otherwise OpenClaw's block result. Never throws. */
export async function decideToolCall(cfg, event, ctx, opts = {}) {
  try {
    // A deferred tool called through `tool_call` needs nothing here: OpenClaw wraps the tools of
    // its catalog with this hook too, so the call comes back under the deferred tool's own name.
    const tool = String(event?.toolName ?? '');
    const params = event?.params ?? {};
    const why = askReason(cfg, tool, params, str(ctx?.cwd) ?? str(ctx?.workspaceDir) ?? cfg.workspace);
    if (why === null) return null;
    const p = params && typeof params === 'object' ? params : {};
    const body = {
      tool,
      params,
      sessionKey: str(ctx?.sessionKey),
      sessionId: str(ctx?.sessionId),
      runId: str(event?.runId) ?? str(ctx?.runId),
      toolCallId: str(event?.toolCallId),
      reason: str(p.reason) ?? str(p.title) ?? str(p.description) ?? why,
    };
    const r = await askSupervisor(cfg, body, { ...opts, signal: opts.signal ?? ctx?.abortSignal });
    if (r.allow) return null;
    return { block: true, blockReason: `nemoclaw: the ${tool} call was denied: ${r.reason}. It did not run.` };
  } catch (err) {
    return { block: true, blockReason: `nemoclaw: the tool call was denied: the approval failed (${err?.message ?? String(err)}). It did not run.` };
  }
}

export default {
  id: 'nemoclaw',
  name: 'nemoclaw tool approvals',
  description: 'Asks the nemoclaw operator before exec-type tools, writes outside the workspace and tools.ask',
  register(api) {
    const cfg = config(api.pluginConfig);
    api.on('before_tool_call', async (event, ctx) => (await decideToolCall(cfg, event, ctx)) ?? undefined, { timeoutMs: cfg.waitMs + 5_000 });
    api.logger?.info?.(`nemoclaw: tool approvals on (asks before ${[...cfg.execTools, ...cfg.ask].join(', ')}; writes outside ${cfg.workspace || '(no workspace)'})`);
  },
};
