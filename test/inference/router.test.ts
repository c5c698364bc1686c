// The inference router end to end: real clients (curl, Node's fetch) inside real sandboxes, through
// the sandbox's egress proxy to the router, to loopback stand-ins for a cloud provider and a local
// NIM (test/inference/stand-ins.ts). Covers issue 14's cases: key injected and never visible
// inside or in the audit log, aliases and unknown models, local-only never reaching the cloud,
// redaction with restore (split placeholders too), fail closed, stream idle gaps and cuts, 413,
// 400, 404, budgets, two sandboxes with two routes, and a route change on a running sandbox.
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint, openAuditLog } from '../../src/audit/index.ts';
import type { AuditLog } from '../../src/audit/index.ts';
import { createInferenceRouter, ProviderStore, RouteStore } from '../../src/inference/index.ts';
import type { InferenceEvent, InferenceRouterHandle, SetRoute } from '../../src/inference/index.ts';
import type { Origin, ProxyFixture, SandboxRunOptions } from '../egress/harness.ts';
import { rulesFrom, runInSandbox, startProxy } from '../egress/harness.ts';
import { waitFor } from '../helpers/wait.ts';
import type { StandIn } from './stand-ins.ts';
import { startStandIn } from './stand-ins.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE_DIR = join(ROOT, 'node_modules/node');
const CLOUD_KEY = 'fake-cloud-key-0123456789abcdefXYZ';
const NIM_KEY = 'stand-in-nim-key-9876543210';
const NVAPI = `nvapi-${'Qw3rTy7uIo9pAs2dFg5hJk8lZx1cVb4n'.repeat(2)}`;
const CARD = '4111 1111 1111 1111';
const ANTHROPIC_KEY = 'fake-anthropic-key-5555aaaa';
/** A host variable's value the operator marked secret (NEMOCLAW_SECRET_VARS in the supervisor). */
const HOST_SECRET = 'host-db-Passw0rd-value';

let home: string;
let scratch: string;
let cloud: StandIn;
let nim: StandIn;
let log: AuditLog;
let router: InferenceRouterHandle;
let routes: RouteStore;
const events: InferenceEvent[] = [];
let fx1: ProxyFixture;
let fx2: ProxyFixture;

const CLIENT = `
import { readFileSync } from 'node:fs';
const body = process.env.REQ_BODY_FILE ? readFileSync(process.env.REQ_BODY_FILE, 'utf8') : process.env.REQ_BODY || undefined;
const r = await fetch('http://inference.local' + process.env.REQ_PATH, { method: body ? 'POST' : 'GET', headers: { 'content-type': 'application/json', authorization: 'Bearer sandbox-junk' }, body });
process.stdout.write('STATUS ' + r.status + '\\n');
if (process.env.REQ_CHUNKS) { for await (const c of r.body) process.stdout.write('CHUNK ' + JSON.stringify(new TextDecoder().decode(c)) + '\\n'); }
else process.stdout.write(await r.text() + '\\n');
`;

/** The openai npm package inside the sandbox: it reads OPENAI_BASE_URL and OPENAI_API_KEY like any agent. */
const SDK = `
import OpenAI from ${JSON.stringify(join(ROOT, 'node_modules/openai/index.mjs'))};
const client = new OpenAI({ maxRetries: 0 });
const messages = [{ role: 'user', content: process.env.PROMPT }];
const r = await client.chat.completions.create({ model: 'smart', messages });
console.log('ANSWER ' + JSON.stringify(r.choices[0].message.content));
const s = await client.chat.completions.create({ model: 'smart', messages, stream: true });
let t = '';
for await (const c of s) t += c.choices[0]?.delta?.content ?? '';
console.log('STREAM ' + JSON.stringify(t));
const models = await client.models.list();
console.log('MODELS ' + JSON.stringify(models.data.map((m) => m.id)));
try { await client.chat.completions.create({ model: 'nope', messages }); } catch (e) { console.log('UNKNOWN ' + e.status); }
process.env.CUT && await (async () => {
  try {
    const cut = await client.chat.completions.create({ model: 'smart', messages, stream: true });
    for await (const c of cut) void c;
    console.log('CUT none');
  } catch (e) { console.log('CUT ' + JSON.stringify(String(e.message))); }
})();
`;

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'nc-inf-home-'));
  scratch = mkdtempSync(join(tmpdir(), 'nc-inf-scratch-'));
  chmodSync(scratch, 0o755);
  writeFileSync(join(scratch, 'client.mjs'), CLIENT, { mode: 0o644 });
  writeFileSync(join(scratch, 'sdk.mjs'), SDK, { mode: 0o644 });
  cloud = await startStandIn('fake-cloud-provider');
  nim = await startStandIn('stand-in-nim');
  const providers = new ProviderStore(home);
  // A loopback relay standing in for a cloud API: --location cloud, as the operator would say.
  providers.add({ name: 'fake-cloud-provider', type: 'openai', url: cloud.url, location: 'cloud', key: CLOUD_KEY, headers: { 'x-tenant': 'acme' } });
  providers.add({ name: 'stand-in-nim', type: 'nim', url: nim.url, key: NIM_KEY });
  providers.add({ name: 'fake-anthropic', type: 'anthropic', url: cloud.url, location: 'cloud', key: ANTHROPIC_KEY });
  log = await openAuditLog({ home });
  routes = new RouteStore(home);
  router = createInferenceRouter({
    home,
    routes,
    providers,
    audit: (ev) => void log.append(ev),
    onEvent: (e) => events.push(e),
    fingerprint: (v) => fingerprint(v, home),
    hostSecrets: () => [HOST_SECRET],
  });
  const origin = { caPem: '' } as unknown as Origin; // no origin: the router dials the stand-ins itself
  fx1 = await startProxy(rulesFrom('network_policies: {}\n'), origin, { inference: router, sandboxId: 'sb1' });
  fx2 = await startProxy(rulesFrom('network_policies: {}\n'), origin, { inference: router, sandboxId: 'sb2' });
});

afterAll(async () => {
  await fx1?.close();
  await fx2?.close();
  await log?.close();
  await router?.close();
  await cloud?.close();
  await nim?.close();
  if (home) rmSync(home, { recursive: true, force: true });
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  cloud.pick = null;
  nim.pick = null;
  cloud.script = { kind: 'json' };
  nim.script = { kind: 'json' };
});

function route(sandbox: string, r: SetRoute): void {
  routes.set(sandbox, r);
}

function sandboxed(fx: ProxyFixture, script: string, opts: SandboxRunOptions = {}) {
  return runInSandbox(fx, script, {
    ...opts,
    sandboxId: fx === fx2 ? 'sb2' : 'sb1',
    ro: [NODE_DIR, scratch, ...(opts.ro ?? [])],
    env: { PATH: `${join(NODE_DIR, 'bin')}:/usr/bin:/bin`, OPENAI_BASE_URL: 'http://inference.local/v1', OPENAI_API_KEY: 'sandbox-junk', ...opts.env },
  });
}

/** Node's fetch inside the sandbox: STATUS line, then the body (or CHUNK lines). */
async function fetchIn(fx: ProxyFixture, path: string, body?: unknown, chunks = false, extraEnv: Record<string, string> = {}): Promise<{ status: number; text: string; chunks: string[]; stderr: string }> {
  const env: Record<string, string> = { REQ_PATH: path, ...extraEnv };
  if (body !== undefined) env.REQ_BODY = typeof body === 'string' ? body : JSON.stringify(body);
  if (chunks) env.REQ_CHUNKS = '1';
  const r = await sandboxed(fx, `exec node ${join(scratch, 'client.mjs')}`, { env });
  const m = /STATUS (\d+)\n/.exec(r.stdout);
  const rest = m ? r.stdout.slice((m.index ?? 0) + m[0].length) : '';
  const cs = rest
    .split('\n')
    .filter((l) => l.startsWith('CHUNK '))
    .map((l) => JSON.parse(l.slice(6)) as string);
  if (!m) throw new Error(`no status from the client: ${r.stdout} ${r.stderr}`);
  return { status: m ? Number(m[1]) : -1, text: chunks ? cs.join('') : rest.trim(), chunks: cs, stderr: r.stderr };
}

const chat = (model: string, content: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content }], ...extra });

/** The text of a chat answer, JSON or SSE. */
function answerText(text: string): string {
  if (text.startsWith('{')) return ((JSON.parse(text) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content) ?? '';
  return text
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => (JSON.parse(e.slice(6)) as { choices?: Array<{ delta?: { content?: string } }> }).choices?.[0]?.delta?.content ?? '')
    .join('');
}

function auditBytes(): string {
  const dir = join(home, 'audit');
  let all = '';
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    try {
      if (statSync(p).isFile()) all += readFileSync(p, 'latin1');
    } catch {
      // gone between the listing and the read (the audit LOCK comes and goes)
    }
  }
  return all;
}

describe('inference.local through the proxy', () => {
  it('curl: alias mapped, caller credentials and stray headers dropped, the key injected, never visible inside', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'cloud-allowed' });
    const before = cloud.seen.length;
    const r = await sandboxed(
      fx1,
      `curl -sS -H 'content-type: application/json' -H 'Authorization: Bearer sandbox-junk' -H 'x-api-key: junk2' -H 'x-forward-me: no' -H 'openai-organization: org-1' -d '{"model":"smart","messages":[{"role":"user","content":"hello"}]}' "$OPENAI_BASE_URL/chat/completions"; echo; echo ENV; env; echo PROC; cat /proc/*/environ 2>/dev/null | tr '\\0' '\\n'; echo END`,
    );
    expect(r.code).toBe(0);
    const answer = r.stdout.slice(0, r.stdout.indexOf('\nENV'));
    expect(answerText(answer)).toBe('fake-cloud-provider got: hello');
    expect(cloud.seen.length).toBe(before + 1);
    const seen = cloud.seen.at(-1)!;
    expect(seen.url).toBe('/v1/chat/completions');
    expect(seen.body?.model).toBe('real-cloud-model-1');
    expect(seen.headers.authorization).toBe(`Bearer ${CLOUD_KEY}`);
    expect(seen.headers['x-api-key']).toBeUndefined();
    expect(seen.headers['x-forward-me']).toBeUndefined();
    expect(seen.headers['openai-organization']).toBe('org-1');
    expect(seen.headers['x-tenant']).toBe('acme');
    expect(r.stdout).toContain('OPENAI_BASE_URL=http://inference.local/v1');
    expect(r.stdout).not.toContain(CLOUD_KEY);
    expect(r.stdout + r.stderr).not.toContain(NIM_KEY);
    const e = events.at(-1)!;
    expect(e).toMatchObject({ sandbox: 'sb1', decision: 'sent', alias: 'smart', model: 'real-cloud-model-1', provider: 'fake-cloud-provider', status: 200, tokensIn: 11, tokensOut: 7 });
  });

  it('fetch: GET /v1/models lists the allowed aliases; an unknown model is refused without dialling', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'cloud-allowed' });
    routes.set('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'local', add: true });
    const models = await fetchIn(fx1, '/v1/models');
    expect(models.status).toBe(200);
    expect((JSON.parse(models.text) as { data: Array<{ id: string }> }).data.map((d) => d.id)).toEqual(['smart', 'local']);
    const before = cloud.seen.length + nim.seen.length;
    const r = await fetchIn(fx1, '/v1/chat/completions', chat('real-cloud-model-1', 'hi'));
    expect(r.status).toBe(404);
    expect(r.text).toContain('model_not_found');
    expect(cloud.seen.length + nim.seen.length).toBe(before);
  });

  it('completions, embeddings and responses are routed on the same path with the model mapped', async () => {
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed' });
    const before = nim.seen.length;
    for (const [path, body] of [
      ['/v1/completions', { model: 'smart', prompt: 'once upon' }],
      ['/v1/embeddings', { model: 'smart', input: 'embed me' }],
      ['/v1/responses', { model: 'smart', input: 'respond' }],
    ] as const) {
      const r = await fetchIn(fx1, path, body);
      expect(r.status, path).toBe(200);
    }
    expect(nim.seen.slice(before).map((s) => [s.url, s.body?.model])).toEqual([
      ['/v1/completions', 'llama-local'],
      ['/v1/embeddings', 'llama-local'],
      ['/v1/responses', 'llama-local'],
    ]);
  });

  it('local-only never reaches the cloud stand-in, and does reach the local one', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'local-only' });
    const cloudBefore = cloud.seen.length;
    const refused = await fetchIn(fx1, '/v1/chat/completions', chat('smart', `secret ${NVAPI}`));
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('privacy_local_only');
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'local-only' });
    const ok = await fetchIn(fx1, '/v1/chat/completions', chat('smart', `secret ${NVAPI}`));
    expect(ok.status).toBe(200);
    expect(answerText(ok.text)).toBe(`stand-in-nim got: secret ${NVAPI}`);
    expect(nim.seen.at(-1)?.headers.authorization).toBe(`Bearer ${NIM_KEY}`);
    expect(cloud.seen.length).toBe(cloudBefore);
  });

  it('cloud-with-redaction: a secret and a card in a user message and a tool-call argument go as placeholders and come back restored (JSON and SSE, placeholders split across events)', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'cloud-with-redaction' });
    const body = {
      model: 'smart',
      messages: [
        { role: 'user', content: `deploy with ${NVAPI} and pay with ${CARD}` },
        { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'pay', arguments: JSON.stringify({ card: CARD, note: `also ${CLOUD_KEY}` }) } }] },
        { role: 'tool', tool_call_id: 'c1', content: `paid; db ${HOST_SECRET}` },
      ],
    };
    const json = await fetchIn(fx1, '/v1/chat/completions', body);
    expect(json.status).toBe(200);
    const sent = cloud.seen.at(-1)!.raw;
    for (const v of [NVAPI, CARD, CLOUD_KEY, '4111111111111111', HOST_SECRET]) expect(sent).not.toContain(v);
    expect(sent).toContain('[[SECRET_');
    expect(sent).toContain('[[CARD_');
    const expected = `fake-cloud-provider got: deploy with ${NVAPI} and pay with ${CARD} | ${JSON.stringify({ card: CARD, note: `also ${CLOUD_KEY}` })} | paid; db ${HOST_SECRET}`;
    expect(answerText(json.text)).toBe(expected);

    for (const piece of [1, 3, 5]) {
      cloud.script = { kind: 'sse', piece };
      const sse = await fetchIn(fx1, '/v1/chat/completions', { ...body, stream: true }, true);
      expect(sse.status).toBe(200);
      expect(answerText(sse.text)).toBe(expected);
      expect(sse.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    }
    const e = events.at(-1)!;
    expect(e.decision).toBe('redacted');
    expect(e.redactions).toBe(4);
  });

  it('the openai npm package: chat, a redacted stream restored, models, unknown model, a cut stream raises', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'cloud-with-redaction' });
    const prompt = `card ${CARD} key ${NVAPI}`;
    const before = cloud.seen.length;
    // JSON for the plain call; the first stream whole, the second cut after two events.
    let streams = 0;
    cloud.pick = (seen) => (seen.body?.stream !== true ? { kind: 'json' } : streams++ === 0 ? { kind: 'sse', piece: 4 } : { kind: 'sse', piece: 4, end: 'cut', after: 2 });
    try {
      const r = await sandboxed(fx1, `exec node ${join(scratch, 'sdk.mjs')}`, { ro: [join(ROOT, 'node_modules/openai')], env: { PROMPT: prompt, CUT: '1' } });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(`ANSWER ${JSON.stringify(`fake-cloud-provider got: ${prompt}`)}`);
      expect(r.stdout).toContain(`STREAM ${JSON.stringify(`fake-cloud-provider got: ${prompt}`)}`);
      expect(r.stdout).toContain('MODELS ["smart"]');
      expect(r.stdout).toContain('UNKNOWN 404');
      expect(r.stdout).toMatch(/CUT ".*cut the stream/);
      expect(streams).toBe(2);
    } finally {
      cloud.pick = null;
    }
    for (const seen of cloud.seen.slice(before)) {
      expect(seen.raw).not.toContain(NVAPI);
      expect(seen.raw).not.toContain(CARD);
    }
  });

  it('an image cannot be scanned: refused for the cloud under redaction, sent to a local provider', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'cloud-with-redaction' });
    routes.set('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'local', add: true });
    const withImage = (model: string) => ({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] });
    const before = cloud.seen.length;
    const r = await fetchIn(fx1, '/v1/chat/completions', withImage('smart'));
    expect(r.status).toBe(403);
    expect(r.text).toContain('unscannable_content');
    expect(cloud.seen.length).toBe(before);
    expect((await fetchIn(fx1, '/v1/chat/completions', withImage('local'))).status).toBe(200);
  });

  it('a scanner failure fails closed: nothing reaches the cloud', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'cloud-with-redaction' });
    const failing = createInferenceRouter({
      home,
      scanner: () => {
        throw new Error('scanner broke');
      },
      onEvent: (e) => events.push(e),
    });
    const before = cloud.seen.length;
    fx1.proxy.setInferenceRouter(failing);
    try {
      const r = await fetchIn(fx1, '/v1/chat/completions', chat('smart', 'hello'));
      expect(r.status).toBe(503);
      expect(r.text).toContain('redaction_failed');
    } finally {
      fx1.proxy.setInferenceRouter(router);
    }
    expect(cloud.seen.length).toBe(before);
  });

  it('a large request is scanned in a worker: redacted and restored; past the deadline it fails closed', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'cloud-with-redaction' });
    const content = `${'log line 42 ok; '.repeat(40_000)}key ${NVAPI}`;
    writeFileSync(join(scratch, 'big.json'), JSON.stringify(chat('smart', content)));
    const viaWorker = createInferenceRouter({ home, scanInlineMaxBytes: 64 * 1024 });
    const tooSlow = createInferenceRouter({ home, scanInlineMaxBytes: 64 * 1024, scanDeadlineMs: 1 });
    const before = cloud.seen.length;
    try {
      fx1.proxy.setInferenceRouter(viaWorker);
      const ok = await fetchIn(fx1, '/v1/chat/completions', undefined, false, { REQ_BODY_FILE: join(scratch, 'big.json') });
      expect(ok.status).toBe(200);
      expect(cloud.seen.length).toBe(before + 1);
      expect(cloud.seen.at(-1)?.raw).not.toContain(NVAPI);
      expect(answerText(ok.text)).toBe(`fake-cloud-provider got: ${content}`);
      fx1.proxy.setInferenceRouter(tooSlow);
      const refused = await fetchIn(fx1, '/v1/chat/completions', undefined, false, { REQ_BODY_FILE: join(scratch, 'big.json') });
      expect(refused.status).toBe(503);
      expect(refused.text).toContain('redaction_failed');
      expect(refused.text).toContain('did not finish within 1 ms');
    } finally {
      fx1.proxy.setInferenceRouter(router);
      await viaWorker.close();
      await tooSlow.close();
    }
    expect(cloud.seen.length).toBe(before + 1);
  });

  it('streams pass chunk by chunk; an idle gap or a cut ends the stream with an SSE error event', async () => {
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed', idleTimeoutMs: 10_000 });
    nim.script = { kind: 'sse', reply: 'abcdefghijkl', piece: 2, delayMs: 30 };
    const ok = await fetchIn(fx1, '/v1/chat/completions', chat('smart', 'x', { stream: true }), true);
    expect(answerText(ok.text)).toBe('abcdefghijkl');

    // No buffering: the first pieces reach the client while the stand-in is still silent, long
    // before the idle timeout ends the stream (a buffering router would deliver both together).
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed', idleTimeoutMs: 3000 });
    nim.script = { kind: 'sse', reply: 'abcdefghijkl', piece: 2, end: 'stall', after: 2 };
    let live = '';
    const stalledRun = sandboxed(fx1, `exec node ${join(scratch, 'client.mjs')}`, { env: { REQ_PATH: '/v1/chat/completions', REQ_BODY: JSON.stringify(chat('smart', 'x', { stream: true })), REQ_CHUNKS: '1' }, onStdout: (o) => (live = o) });
    await waitFor(() => live.includes('CHUNK'), () => `a first chunk: ${live}`);
    expect(live).not.toContain('event: error');
    const stalled = await stalledRun;
    const text = stalled.stdout
      .split('\n')
      .filter((l) => l.startsWith('CHUNK '))
      .map((l) => JSON.parse(l.slice(6)) as string)
      .join('');
    expect(answerText(text)).toBe('abcd');
    expect(text).toContain('event: error');
    expect(text).toContain('upstream_idle_timeout');

    nim.script = { kind: 'sse', reply: 'abcdefghijkl', piece: 2, end: 'cut', after: 3 };
    const cut = await fetchIn(fx1, '/v1/chat/completions', chat('smart', 'x', { stream: true }), true);
    expect(answerText(cut.text)).toBe('abcdef');
    expect(cut.text).toContain('event: error');
    expect(cut.text).toContain('upstream_stream_cut');
    expect(events.at(-1)).toMatchObject({ decision: 'error', reason: 'upstream_cut' });
  });

  it('413 over 10 MiB, 400 on malformed JSON, 404 elsewhere (curl)', async () => {
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed' });
    const before = nim.seen.length;
    const r = await sandboxed(
      fx1,
      [
        `head -c 10485800 /dev/zero | tr '\\0' 'a' | curl -sS -o /dev/null -w 'A %{http_code}\\n' -H 'content-type: application/json' --data-binary @- http://inference.local/v1/chat/completions`,
        `curl -sS -w '\\nB %{http_code}\\n' -H 'content-type: application/json' -d '{"model":' http://inference.local/v1/chat/completions`,
        `curl -sS -w '\\nC %{http_code}\\n' http://inference.local/v1/files`,
        `curl -sS -w '\\nD %{http_code}\\n' -X DELETE http://inference.local/v1/models`,
      ].join('; '),
      { timeoutMs: 60_000 },
    );
    expect(r.stdout).toContain('A 413');
    expect(r.stdout).toContain('B 400');
    expect(r.stdout).toContain('invalid_json');
    expect(r.stdout).toContain('C 404');
    expect(r.stdout).toMatch(/"type":"not_found"/);
    expect(r.stdout).toContain('D 404');
    expect(nim.seen.length).toBe(before);
  });

  it('budget: requests per minute beyond the limit get 429 with Retry-After', async () => {
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed', budget: { requestsPerMinute: 2 } });
    const body = JSON.stringify(chat('smart', 'x'));
    const r = await sandboxed(fx1, `for i in 1 2 3; do curl -sS -o /dev/null -D - -w 'S %{http_code}\\n' -H 'content-type: application/json' -d '${body}' http://inference.local/v1/chat/completions | grep -i -e '^S ' -e '^retry-after'; done`);
    const codes = r.stdout.split('\n').filter((l) => l.startsWith('S '));
    expect(codes).toEqual(['S 200', 'S 200', 'S 429']);
    expect(r.stdout).toMatch(/retry-after: \d+/i);
    // Tokens: the stand-in reports 18 per answer; with 20 a minute the second request is refused.
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed', budget: { tokensPerMinute: 20 } });
    const t = await sandboxed(fx1, `for i in 1 2 3; do curl -sS -o /dev/null -w 'S %{http_code}\\n' -H 'content-type: application/json' -d '${body}' http://inference.local/v1/chat/completions; done`);
    expect(t.stdout.split('\n').filter((l) => l.startsWith('S '))).toEqual(['S 200', 'S 200', 'S 429']);
    // Streams: the router asks for usage (the stand-in reports 11 in, one per piece out) and keeps
    // the extra usage chunk from this client, which did not ask for it.
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed', budget: { tokensPerMinute: 1000 } });
    nim.script = { kind: 'sse', reply: 'abcdefgh', piece: 2 };
    const s = await fetchIn(fx1, '/v1/chat/completions', chat('smart', 'x', { stream: true }), true);
    expect(answerText(s.text)).toBe('abcdefgh');
    expect(nim.seen.at(-1)?.body?.stream_options).toEqual({ include_usage: true });
    expect(s.text).not.toContain('"usage":{');
    expect(s.text).not.toContain('"choices":[]');
    expect(events.at(-1)).toMatchObject({ tokensIn: 11, tokensOut: 4 });
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed', budget: {} });
  });

  it('sticky: once a request is found sensitive, nothing more of this sandbox goes to the cloud', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'real-cloud-model-1', alias: 'smart', mode: 'cloud-with-redaction', sticky: true });
    routes.set('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'local', add: true });
    const before = cloud.seen.length;
    expect((await fetchIn(fx1, '/v1/chat/completions', chat('smart', 'harmless'))).status).toBe(200);
    expect(cloud.seen.length).toBe(before + 1);
    const sensitive = await fetchIn(fx1, '/v1/chat/completions', chat('smart', `card ${CARD}`));
    expect(sensitive.status).toBe(403);
    expect(sensitive.text).toContain('privacy_sticky_local');
    const after = await fetchIn(fx1, '/v1/chat/completions', chat('smart', 'harmless again'));
    expect(after.status).toBe(403);
    expect(cloud.seen.length).toBe(before + 1);
    const local = await fetchIn(fx1, '/v1/chat/completions', chat('local', `card ${CARD}`));
    expect(answerText(local.text)).toBe(`stand-in-nim got: card ${CARD}`);
  });

  it('a connection that fails before the first byte is retried once, on the same provider', async () => {
    route('sb1', { provider: 'stand-in-nim', model: 'llama-local', alias: 'smart', mode: 'cloud-allowed' });
    let n = 0;
    nim.pick = () => (n++ === 0 ? { kind: 'drop' } : { kind: 'json' });
    const before = nim.seen.length;
    try {
      const r = await fetchIn(fx1, '/v1/chat/completions', chat('smart', 'again'));
      expect(r.status).toBe(200);
      expect(answerText(r.text)).toBe('stand-in-nim got: again');
    } finally {
      nim.pick = null;
    }
    expect(nim.seen.length).toBe(before + 2);
  });

  it('anthropic: /v1/messages with x-api-key injected; the OpenAI paths are not offered for it', async () => {
    route('sb1', { provider: 'fake-anthropic', model: 'claude-real', alias: 'claude', mode: 'cloud-allowed' });
    const before = cloud.seen.length;
    const r = await sandboxed(
      fx1,
      `curl -sS -w '\\nA %{http_code}\\n' -H 'content-type: application/json' -H 'x-api-key: sandbox-junk' -H 'anthropic-version: 2023-06-01' -d '{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}' http://inference.local/v1/messages; curl -sS -w '\\nB %{http_code}\\n' -H 'content-type: application/json' -d '{"model":"claude","messages":[]}' http://inference.local/v1/chat/completions`,
    );
    expect(r.stdout).toContain('A 200');
    expect(r.stdout).toContain('B 404');
    expect(cloud.seen.length).toBe(before + 1);
    const seen = cloud.seen.at(-1)!;
    expect(seen.url).toBe('/v1/messages');
    expect(seen.headers['x-api-key']).toBe(ANTHROPIC_KEY);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen.body?.model).toBe('claude-real');
    expect(r.stdout).not.toContain(ANTHROPIC_KEY);
  });

  it('two sandboxes with two different routes at once', async () => {
    route('sb1', { provider: 'fake-cloud-provider', model: 'cloud-model-a', alias: 'm', mode: 'cloud-allowed' });
    route('sb2', { provider: 'stand-in-nim', model: 'nim-model-b', alias: 'm', mode: 'local-only' });
    const cloudBefore = cloud.seen.length;
    const nimBefore = nim.seen.length;
    const [a, b] = await Promise.all([fetchIn(fx1, '/v1/chat/completions', chat('m', 'one')), fetchIn(fx2, '/v1/chat/completions', chat('m', 'two'))]);
    expect(answerText(a.text)).toBe('fake-cloud-provider got: one');
    expect(answerText(b.text)).toBe('stand-in-nim got: two');
    expect(cloud.seen.slice(cloudBefore).map((s) => s.body?.model)).toEqual(['cloud-model-a']);
    expect(nim.seen.slice(nimBefore).map((s) => s.body?.model)).toEqual(['nim-model-b']);
  });

  it('a route changed while the sandbox runs applies to its next request', async () => {
    route('sb1', { provider: 'stand-in-nim', model: 'first-model', alias: 'm', mode: 'cloud-allowed' });
    const gate = mkdtempSync(join(tmpdir(), 'nc-inf-gate-'));
    chmodSync(gate, 0o777);
    try {
      const body = JSON.stringify(chat('m', 'x'));
      const call = `curl -sS -H 'content-type: application/json' -d '${body}' http://inference.local/v1/chat/completions; echo`;
      let out = '';
      const run = sandboxed(fx1, `${call}; echo FIRST; i=0; while [ ! -e ${gate}/go ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done; ${call}; echo SECOND`, { rw: [gate], onStdout: (s) => (out = s) });
      await waitFor(() => out.includes('FIRST'), () => `the first request: ${out}`);
      routes.set('sb1', { provider: 'fake-cloud-provider', model: 'second-model', alias: 'm', mode: 'cloud-allowed' });
      writeFileSync(join(gate, 'go'), '');
      const r = await run;
      expect(r.stdout).toContain('SECOND');
      const models = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as { model: string }).model);
      expect(models).toEqual(['first-model', 'second-model']);
    } finally {
      rmSync(gate, { recursive: true, force: true });
    }
  });

  it('the audit log has one record per request, redactions only as fingerprints, never a key or a prompt', async () => {
    await log.flush();
    await waitFor(() => auditBytes().includes('inference.decision'), 'inference records in the audit log');
    const bytes = auditBytes();
    for (const v of [CLOUD_KEY, NIM_KEY, ANTHROPIC_KEY, HOST_SECRET, NVAPI, '4111111111111111', CARD, 'deploy with']) expect(bytes).not.toContain(v);
    expect(bytes).toMatch(/"decision":"redacted_4"/);
    expect(bytes).toMatch(/"r1_secret":"fp1:[0-9a-f]{32}"/);
    expect(bytes).toContain('"decision":"refused"');
    expect(existsSync(join(home, 'keys', 'providers', 'fake-cloud-provider.key'))).toBe(true);
    expect(statSync(join(home, 'keys', 'providers', 'fake-cloud-provider.key')).mode & 0o777).toBe(0o600);
  });
});
