// approvals.nemoclaw.internal, the reserved name the agent's plugin asks about tool calls through
// (src/egress/approvals-hook.ts; docs/egress.md "Reserved names"): served by the proxy itself on
// the real proxy socket, never resolved or dialled, only POST /v1/tool-approvals on port 80; the
// policy's tools.allow/deny answer first (hot on reload), otherwise the call waits in the queue as
// kind `tool`. Last, the shipped plugin itself (src/agents/openclaw-plugin/index.mjs) on Node 24
// in a real sandbox whose only way out is the relay to this proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalQueue } from '../../src/approvals/index.ts';
import { OPENCLAW_PLUGIN_DIR } from '../../src/agents/index.ts';
import { compileEgressRules } from '../../src/policy/index.ts';
import type { Policy } from '../../src/policy/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectProxy, connectTunnel, exchangeOn, forward, parseRaw, rawExchange, runInSandbox, startOrigins, startProxy } from './harness.ts';
import type { Origin, ProxyFixture } from './harness.ts';

const URL_ = 'http://approvals.nemoclaw.internal/v1/tool-approvals';
const by = { user: 'op', origin: 'test' };
const json = { 'Content-Type': 'application/json' };
const ask = (body: unknown, extra: { method?: string; url?: string; headers?: Record<string, string> } = {}) =>
  forward(fx.proxy.socketPath, extra.url ?? URL_, { method: extra.method ?? 'POST', body: JSON.stringify(body), headers: { ...json, ...extra.headers }, caller: { exe: '/opt/openclaw/runtime/bin/node' } });

const policy: Policy = { version: 1, approvals: { unmatched_egress: 'deny', timeout: '2s' } };
let origin: Origin;
let fx: ProxyFixture;
let queue: ApprovalQueue;
beforeAll(async () => {
  origin = await startOrigins();
  queue = new ApprovalQueue();
  fx = await startProxy(compileEgressRules(policy), origin, { approvals: queue });
});
afterAll(async () => {
  queue.close();
  await fx?.close();
  await origin?.close();
});

describe('approvals.nemoclaw.internal on the proxy', () => {
  it('a tool ask waits in the queue as kind tool, with the call, the session and the reason; the operator\'s allow answers 200 allow', async () => {
    const pending = ask({ tool: 'exec', params: { command: 'touch /w/marker\u001b[2J' }, sessionKey: 'agent:main:main', runId: 'r1', toolCallId: 'c1', reason: 'make the marker' });
    await waitFor(() => queue.list().length === 1, 'the tool ask in the queue', { withinMs: 5000 });
    const item = queue.list()[0];
    expect(item).toMatchObject({ sandbox: 'sb1', kind: 'tool', binary: '/opt/openclaw/runtime/bin/node', host: null, tool: { name: 'exec', args: '{"command":"touch /w/marker\\u001b[2J"}', session: 'agent:main:main', reason: 'make the marker' } });
    await queue.decide(item?.id ?? '', { verdict: 'allow', always: false, by });
    const r = await pending;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ decision: 'allow', id: item?.id, by });
    expect(fx.lookups).toEqual([]); // never resolved
  });

  it('a deny and a timeout both answer 200 deny with the reason', async () => {
    const denied = ask({ tool: 'exec', params: { command: 'echo FORBIDDEN' } });
    await waitFor(() => queue.list().length === 1, 'the tool ask in the queue', { withinMs: 5000 });
    await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: false, by });
    expect(JSON.parse((await denied).body)).toMatchObject({ decision: 'deny', reason: 'denied by op (test)' });
    // approvals.timeout: 2s in the policy in force
    const late = await ask({ tool: 'exec', params: { command: 'sleep' } });
    expect(JSON.parse(late.body)).toMatchObject({ decision: 'deny', reason: 'no operator decision before the approval timeout' });
    expect(queue.list()).toEqual([]);
  });

  it('the policy\'s tools.deny and tools.allow answer without asking, and a reload applies at once', async () => {
    fx.proxy.reload(compileEgressRules({ ...policy, tools: { allow: ['exec'], deny: ['write'] } }));
    expect(JSON.parse((await ask({ tool: 'exec', params: {} })).body)).toEqual({ decision: 'allow', reason: "the policy's tools.allow lists exec" });
    expect(JSON.parse((await ask({ tool: 'write', params: {} })).body)).toEqual({ decision: 'deny', reason: "the policy's tools.deny lists write" });
    expect(queue.list()).toEqual([]);
    fx.proxy.reload(compileEgressRules(policy));
  });

  it.each([
    ['GET', URL_, json, 405, 'method_not_allowed'],
    ['POST', 'http://approvals.nemoclaw.internal/v1/other', json, 404, 'not_found'],
    ['POST', 'http://approvals.nemoclaw.internal:8080/v1/tool-approvals', json, 400, 'bad_request'],
    ['POST', URL_, { 'Content-Type': 'text/plain' }, 415, 'unsupported_media_type'],
  ])('%s %s (%j) is refused %i', async (method, url, headers, status, error) => {
    const r = await forward(fx.proxy.socketPath, url, { method, body: '{"tool":"exec"}', headers });
    expect(r.status).toBe(status);
    expect(JSON.parse(r.body)).toMatchObject({ error });
  });

  it('a body that is not a tool ask is refused 400 with the reason; nothing is queued', async () => {
    const r = await ask({ tool: 'rm -rf', params: {} });
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).reason).toMatch(/"tool" must be a tool name/);
    const big = await forward(fx.proxy.socketPath, URL_, { method: 'POST', body: JSON.stringify({ tool: 'exec', params: { x: 'y'.repeat(300 * 1024) } }), headers: json });
    expect(big.status).toBe(413);
    expect(queue.list()).toEqual([]);
  });

  it('CONNECT approvals.nemoclaw.internal:80 carries plain HTTP to the same hook; port 443 (TLS) is refused', async () => {
    const t = await connectTunnel(fx.proxy.socketPath, 'approvals.nemoclaw.internal:80');
    expect(t.status).toBe(200);
    const body = JSON.stringify({ tool: 'exec', params: {} });
    const answering = exchangeOn(t.socket, `POST /v1/tool-approvals HTTP/1.1\r\nHost: approvals.nemoclaw.internal\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    t.socket.resume(); // connectTunnel hands the socket over paused
    await waitFor(() => queue.list().length === 1, 'the tunnelled ask in the queue', { withinMs: 5000 });
    await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'allow', always: false, by });
    expect(JSON.parse(parseRaw(await answering).body)).toMatchObject({ decision: 'allow' });
    const tls = parseRaw(await rawExchange(fx.proxy.socketPath, 'CONNECT approvals.nemoclaw.internal:443 HTTP/1.1\r\nHost: approvals.nemoclaw.internal:443\r\n\r\n'));
    expect(tls.status).toBe(400);
    expect(fx.lookups).toEqual([]);
  });

  it('a tool ask whose connection closes (the agent gave up) is withdrawn from the queue', async () => {
    const s = await connectProxy(fx.proxy.socketPath, { exe: '/opt/openclaw/runtime/bin/node' });
    const body = JSON.stringify({ tool: 'exec', params: { command: 'abandoned' } });
    s.write(`POST ${URL_} HTTP/1.1\r\nHost: approvals.nemoclaw.internal\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await waitFor(() => queue.list().length === 1, 'the ask in the queue', { withinMs: 5000 });
    s.destroy();
    await waitFor(() => queue.list().length === 0, 'the ask withdrawn', { withinMs: 5000 });
  });

  it('without an approval queue a tool ask is denied, never allowed', async () => {
    const bare = await startProxy(compileEgressRules(policy), origin);
    try {
      const r = await forward(bare.proxy.socketPath, URL_, { method: 'POST', body: JSON.stringify({ tool: 'exec' }), headers: json });
      expect(JSON.parse(r.body)).toMatchObject({ decision: 'deny' });
    } finally {
      await bare.close();
    }
  });
});

describe('the shipped plugin, on Node 24 in a real sandbox, through the relay to this proxy', () => {
  // decideToolCall as OpenClaw's hook calls it: null lets the tool run, otherwise the block result.
  const script = (event: unknown) =>
    `exec "$NODE24" --input-type=module -e 'import("${OPENCLAW_PLUGIN_DIR}/index.mjs").then(async (m) => { const cfg = { ...m.DEFAULTS, workspace: "/w", waitMs: 20000 }; console.log("RESULT " + JSON.stringify(await m.decideToolCall(cfg, ${JSON.stringify(JSON.stringify(event))}.length ? JSON.parse(${JSON.stringify(JSON.stringify(event))}) : {}, { sessionKey: "agent:main:main" }))); })'`;
  const node24 = `${process.cwd()}/node_modules/node/bin`;
  const run = (event: unknown) => runInSandbox(fx, script(event), { ro: [node24, OPENCLAW_PLUGIN_DIR], env: { NODE24: `${node24}/node` } });

  it('exec waits for the operator: allow lets it run (null), deny blocks it with a reason the model can read', async () => {
    const allowed = run({ toolName: 'exec', params: { command: 'touch /w/approved-marker' }, runId: 'r', toolCallId: 'c' });
    await waitFor(() => queue.list().length === 1, 'the plugin\'s ask in the queue', { withinMs: 20_000 });
    expect(queue.list()[0]).toMatchObject({ kind: 'tool', tool: { name: 'exec', args: '{"command":"touch /w/approved-marker"}', session: 'agent:main:main', reason: 'runs a command' } });
    await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'allow', always: false, by });
    const a = await allowed;
    expect(a.stdout, a.stderr).toContain('RESULT null');

    const denied = run({ toolName: 'exec', params: { command: 'echo FORBIDDEN > /w/blocked' } });
    await waitFor(() => queue.list().length === 1, 'the plugin\'s second ask', { withinMs: 20_000 });
    await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: false, by });
    const d = await denied;
    const result = JSON.parse(d.stdout.split('RESULT ')[1] ?? 'null') as { block: boolean; blockReason: string };
    expect(result).toEqual({ block: true, blockReason: 'nemoclaw: the exec call was denied: denied by op (test). It did not run.' });
  }, 60_000);

  it('a write inside the workspace runs unasked; one outside is asked; with no proxy the call is blocked (fail closed)', async () => {
    const inside = await run({ toolName: 'write', params: { path: 'notes/a.txt', content: 'x' } });
    expect(inside.stdout, inside.stderr).toContain('RESULT null');
    const outside = run({ toolName: 'write', params: { path: '../etc/x', content: 'x' } });
    await waitFor(() => queue.list().length === 1, 'the outside write asked', { withinMs: 20_000 });
    expect(queue.list()[0]?.tool).toMatchObject({ name: 'write', reason: 'writes outside the workspace' });
    await queue.decide(queue.list()[0]?.id ?? '', { verdict: 'deny', always: false, by });
    expect((await outside).stdout).toContain('"block":true');
    const noProxy = await runInSandbox(fx, `HTTP_PROXY= http_proxy= ${script({ toolName: 'exec', params: { command: 'true' } })}`, { ro: [node24, OPENCLAW_PLUGIN_DIR], env: { NODE24: `${node24}/node` } });
    expect(noProxy.stdout).toContain('nemoclaw: the exec call was denied: no proxy is set (HTTP_PROXY)');
  }, 60_000);
});
