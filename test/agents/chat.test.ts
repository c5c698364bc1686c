// Chat kept by the supervisor (docs/agents.md "Chat", docs/supervisor-api.md): the real OpenClaw
// (pinned, from the tests' install cache) in an `openclaw` sandbox, a loopback stand-in for a cloud
// model behind the router. A turn through POST /v1/sandboxes/NAME/chat streams its events and puts
// them on the bus and in the sandbox's history; a second turn meanwhile is refused; cancel reaches
// the agent's CLI inside; the history survives a supervisor restart; an agent killed mid-turn ends
// the turn with chat.error and the next turn is answered once the sandbox is back.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient, BusEvent } from '../../src/supervisor/index.ts';
import { ApiError } from '../../src/supervisor/index.ts';
import type { Served } from '../supervisor/harness.ts';
import { cli, events, freshHome, serve, workspace } from '../supervisor/harness.ts';
import { waitFor } from '../helpers/wait.ts';
import { AGENTS_CACHE, cachedOpenClaw } from './cache.ts';
import type { FakeModel } from './fake-cloud-model.ts';
import { startFakeCloudModel } from './fake-cloud-model.ts';

type Rec = Record<string, unknown> & { type: string; turn: string };

/** The turn's own events; denials during it (a starting Node's io_uring_setup, ...) come as chat.notice between them. */
const own = (recs: Rec[]): string[] => recs.filter((r) => r.type !== 'chat.notice').map((r) => r.type);

let sv: Served;
let model: FakeModel;
const savedAgents = process.env.NEMOCLAW_AGENTS_DIR;

/** A turn through the API: every record of its response, in order. */
async function turn(api: ApiClient, name: string, message: string, onRecord?: (r: Rec) => void): Promise<Rec[]> {
  const out: Rec[] = [];
  await api.stream(`/v1/sandboxes/${name}/chat`, (r) => {
    out.push(r as Rec);
    onRecord?.(r as Rec);
  }, { method: 'POST', body: { message } }).done;
  return out;
}

/** The bus's next sequence number (to look only at what follows). */
async function nextSeq(api: ApiClient): Promise<number> {
  return (await api.call<{ bus: { nextSeq: number } }>('GET', '/v1/health')).bus.nextSeq;
}

async function history(api: ApiClient, name: string): Promise<Rec[]> {
  return (await api.call<{ history: Rec[] }>('GET', `/v1/sandboxes/${name}/chat/history`)).history;
}

beforeAll(async () => {
  await cachedOpenClaw(freshHome());
  model = await startFakeCloudModel();
  model.reply = (req) => `answer ${req.body.messages?.length ?? 0}`;
  process.env.NEMOCLAW_AGENTS_DIR = AGENTS_CACHE;
  const home = freshHome();
  sv = await serve(home);
  process.env.NC_TEST_FAKE_CLOUD_KEY = 'fake-cloud-model-key-chat-0123456789';
  const add = await cli(sv.home, ['providers', 'add', 'fake-cloud-model', '--type', 'openai-compatible', '--url', model.url, '--location', 'cloud', '--credential-env', 'NC_TEST_FAKE_CLOUD_KEY']);
  delete process.env.NC_TEST_FAKE_CLOUD_KEY;
  expect(add.code, add.stderr).toBe(0);
  const ob = await cli(sv.home, ['onboard', '--non-interactive', '--name', 'oc', '--blueprint', 'openclaw', '--provider', 'fake-cloud-model', '--model', 'fake-model', '--credential-env', '-', '--workspace', workspace(home)]);
  expect(ob.code, `${ob.stdout}${ob.stderr}`).toBe(0);
}, 300_000);

afterAll(async () => {
  await sv?.stop();
  await model?.close();
  if (savedAgents === undefined) delete process.env.NEMOCLAW_AGENTS_DIR;
  else process.env.NEMOCLAW_AGENTS_DIR = savedAgents;
});

describe('chat kept by the supervisor (real OpenClaw, stand-in model)', () => {
  it('a turn streams chat.user, chat.answer, chat.end; the bus and the history file carry the same turn', async () => {
    const recs = await turn(sv.api, 'oc', 'Say hello');
    expect(own(recs)).toEqual(['chat.user', 'chat.answer', 'chat.end']);
    for (const n of recs.filter((r) => r.type === 'chat.notice')) expect(n).toMatchObject({ kind: expect.stringMatching(/^(asked|approved|denied)$/), text: expect.any(String) });
    expect(new Set(recs.filter((r) => r.type === 'chat.notice').map((r) => r.text)).size).toBe(recs.filter((r) => r.type === 'chat.notice').length);
    expect(recs[0]).toMatchObject({ type: 'chat.user', sandbox: 'oc', text: 'Say hello' });
    expect(recs.find((r) => r.type === 'chat.answer')?.text).toMatch(/^answer \d+$/);
    expect(recs.at(-1)).toMatchObject({ status: 'ok', model: 'fake-model' });
    const id = recs[0]?.turn;
    expect(new Set(recs.map((r) => r.turn))).toEqual(new Set([id]));
    const onBus = (await events(sv.api)).filter((e: BusEvent) => e.type.startsWith('chat.'));
    expect(onBus.map((e) => e.type)).toEqual(recs.map((r) => r.type));
    expect(onBus.every((e) => e.sandbox === 'oc' && (e as unknown as Rec).turn === id)).toBe(true);
    const h = await history(sv.api, 'oc');
    expect(h.map((r) => [r.type, r.turn])).toEqual(recs.map((r) => [r.type, r.turn]));
    // On disk under the sandbox's state directory, outside the sandbox's writable HOME.
    expect(readFileSync(`${sv.home}/sandboxes/oc/chat/history.ndjson`, 'utf8').trim().split('\n')).toHaveLength(recs.length);
    // The CLI goes through the same API: its turn lands in the same history.
    const c = await cli(sv.home, ['oc', 'chat', 'again']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/^answer \d+\n$/);
    expect((await history(sv.api, 'oc')).filter((r) => r.type === 'chat.user').map((r) => r.text)).toEqual(['Say hello', 'again']);
  }, 120_000);

  it('a second turn while one runs is refused (409 busy, naming it); cancel ends the running one with chat.error', async () => {
    let first: string | null = null;
    let refused: unknown = null;
    let cancelled: unknown = null;
    const from = await nextSeq(sv.api);
    const recs = await turn(sv.api, 'oc', 'a long question', (r) => {
      if (r.type !== 'chat.user' || first !== null) return;
      first = r.turn;
      void (async () => {
        refused = await turn(sv.api, 'oc', 'me too').catch((e: unknown) => e);
        // The agent's CLI has started inside (its exec is on the bus) before the cancel goes.
        await waitFor(async () => (await events(sv.api, from - 1)).some((e) => e.type === 'sandbox.exec' && e.argv0 === 'openclaw'), 'the agent CLI started', { withinMs: 30_000 });
        cancelled = await sv.api.call('POST', '/v1/sandboxes/oc/chat/cancel');
      })();
    });
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(409);
    expect((refused as ApiError).body).toMatchObject({ error: 'busy', turn: first });
    expect(cancelled).toEqual({ cancelled: first });
    expect(recs.at(-1)).toMatchObject({ type: 'chat.error', reason: 'cancelled', turn: first });
    // Nothing is running now: cancel says so, and the next turn is answered.
    expect(await sv.api.call('POST', '/v1/sandboxes/oc/chat/cancel')).toEqual({ cancelled: null });
    const next = await turn(sv.api, 'oc', 'after the cancel');
    expect(next.at(-1)).toMatchObject({ type: 'chat.end', status: 'ok' });
  }, 120_000);

  it('the history survives a restart of the supervisor, and the agent answers again once back', async () => {
    const before = await history(sv.api, 'oc');
    expect(before.length).toBeGreaterThan(5);
    await sv.stop();
    sv = await serve(sv.home);
    expect(await history(sv.api, 'oc')).toEqual(before);
    // The sandbox comes back by its restart policy; the turn waits for the agent to be ready.
    await waitFor(async () => (await sv.api.call<{ sandbox: { state: string } }>('GET', '/v1/sandboxes/oc')).sandbox.state === 'running', 'oc running again', { withinMs: 60_000 });
    const recs = await turn(sv.api, 'oc', 'still there?');
    expect(recs.at(-1)).toMatchObject({ type: 'chat.end', status: 'ok' });
    expect((await history(sv.api, 'oc')).length).toBe(before.length + recs.length);
  }, 200_000);

  it('an agent killed mid-turn ends the turn with chat.error; the next turn is answered after its restart', async () => {
    const { sandbox } = await sv.api.call<{ sandbox: { pid: number; restarts: number } }>('GET', '/v1/sandboxes/oc');
    let killed = false;
    const from = await nextSeq(sv.api);
    const recs = await turn(sv.api, 'oc', 'you will not finish this', (r) => {
      if (r.type !== 'chat.user' || killed) return;
      killed = true;
      void waitFor(async () => (await events(sv.api, from - 1)).some((e) => e.type === 'sandbox.exec' && e.argv0 === 'openclaw'), 'the agent CLI started', { withinMs: 30_000 }).then(() => process.kill(sandbox.pid, 'SIGKILL'));
    });
    expect(killed).toBe(true);
    const last = recs.at(-1);
    expect(last?.type).toBe('chat.error');
    expect(String(last?.reason)).toMatch(/answered nothing|without an exit status/);
    await waitFor(async () => {
      const v = (await sv.api.call<{ sandbox: { state: string; restarts: number } }>('GET', '/v1/sandboxes/oc')).sandbox;
      return v.state === 'running' && v.restarts > sandbox.restarts;
    }, 'oc restarted by its policy', { withinMs: 60_000 });
    const next = await turn(sv.api, 'oc', 'are you back?');
    expect(own(next)).toEqual(['chat.user', 'chat.answer', 'chat.end']);
  }, 200_000);

  it('bad requests get one clear line: empty message, a sandbox that is not running', async () => {
    await expect(sv.api.call('POST', '/v1/sandboxes/oc/chat', { message: '  ' })).rejects.toMatchObject({ status: 400 });
    await expect(sv.api.call('POST', '/v1/sandboxes/nope/chat', { message: 'hi' })).rejects.toMatchObject({ status: 404 });
    const stop = await cli(sv.home, ['oc', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    const r = await cli(sv.home, ['oc', 'chat', 'hello?']);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/^nemoclaw: sandbox oc is not running \(stopped\); start it: nemoclaw oc start\n$/);
  }, 60_000);
});
