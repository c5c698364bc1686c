// Chat kept by the supervisor (docs/agents.md "Chat", docs/supervisor-api.md): the real OpenClaw
// (pinned, from the tests' install cache) in an `openclaw` sandbox, a loopback stand-in for a cloud
// model behind the router. A turn through POST /v1/sandboxes/NAME/chat streams its events and puts
// them on the bus and in the sandbox's history; a second turn meanwhile is refused; cancel reaches
// the agent's CLI inside; the history survives a supervisor restart; an agent killed mid-turn ends
// the turn with chat.error and the next turn is answered once the sandbox is back.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient, BusEvent } from '../../src/supervisor/index.ts';
import { ApiError } from '../../src/supervisor/index.ts';
import type { Served } from '../supervisor/harness.ts';
import { MAIN, NODE, ROOT, cli, events, freshHome, serve } from '../supervisor/harness.ts';
import { spawnOnScreen } from '../tui/helpers/pty.ts';
import { waitFor } from '../helpers/wait.ts';
import { cachedOpenClaw, onboardedAgent, useAgentsCache } from './cache.ts';
import type { FakeModel } from './fake-cloud-model.ts';
import { currentTurn, startFakeCloudModel } from './fake-cloud-model.ts';

type Rec = Record<string, unknown> & { type: string; turn: string };

/** The turn's own events; denials during it (a starting Node's io_uring_setup, ...) come as chat.notice between them. */
const own = (recs: Rec[]): string[] => recs.filter((r) => r.type !== 'chat.notice').map((r) => r.type);

let sv: Served;
let model: FakeModel;
useAgentsCache();

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
  model.reply = (req) => {
    const tool = currentTurn(req).after.find((x) => x.role === 'tool');
    if (tool) return 'The tool ran.';
    return currentTurn(req).user.includes('two plus two') ? 'Four, says the stand-in.' : `answer ${req.body.messages?.length ?? 0}`;
  };
  // A message naming TOOLCHAT gets one exec call (the tool-approval plugin asks before it runs).
  model.toolCall = (req) => {
    const turn = currentTurn(req);
    return turn.user.includes('TOOLCHAT') && !turn.after.some((x) => x.role === 'tool') ? { name: 'exec', arguments: { command: 'echo tool-ran-in-chat' } } : null;
  };
  ({ sv } = await onboardedAgent(model.url, 'fake-cloud-model-key-chat-0123456789'));
}, 300_000);

afterAll(async () => {
  await sv?.stop();
  await model?.close();
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
    // --history reads the same conversation back: records with --json, the exchange for a person.
    const hj = await cli(sv.home, ['oc', 'chat', '--history', '--json']);
    expect(hj.code, hj.stderr).toBe(0);
    expect(hj.stdout.trim().split('\n').map((l) => (JSON.parse(l) as Rec).turn)).toEqual((await history(sv.api, 'oc')).slice(-50).map((r) => r.turn));
    const hh = await cli(sv.home, ['oc', 'chat', '--history', '2']);
    expect(hh.stdout).toMatch(/^answer \d+\n$/); // the last two records: the answer, then its chat.end (not printed)
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

  it('a tool call the operator approves shows in the turn: the ask inline, then the tool with its arguments and who allowed it', async () => {
    let approved: unknown = null;
    const recs = await turn(sv.api, 'oc', 'TOOLCHAT: run something', (r) => {
      // OpenClaw also asks for api.openai.com at times (an egress ask): only the tool's ask is answered here.
      if (r.type !== 'chat.notice' || r.kind !== 'asked' || !String(r.text).includes('tool exec') || approved !== null) return;
      approved = 'pending';
      void (async () => {
        const items = (await sv.api.call<{ items: Array<{ id: string; kind: string }> }>('GET', '/v1/approvals')).items;
        const item = items.find((i) => i.kind === 'tool');
        approved = item ? await sv.api.call('POST', `/v1/approvals/${item.id}/decision`, { verdict: 'allow', always: false, by: { user: 'alice', origin: 'test' } }) : 'no tool item';
      })();
    });
    expect(approved).toMatchObject({ result: { verdict: 'allow' } });
    const asked = recs.find((r) => r.type === 'chat.notice' && r.kind === 'asked' && String(r.text).startsWith('asked: tool exec'));
    expect(String(asked?.text)).toContain('tool-ran-in-chat');
    const tools = recs.filter((r) => r.type === 'chat.tool');
    expect(tools).toHaveLength(1);
    expect(tools[0]).toMatchObject({ name: 'exec', approvedBy: 'allowed by alice (test)' });
    expect(String(tools[0]?.arguments)).toContain('echo tool-ran-in-chat');
    expect(recs.find((r) => r.type === 'chat.notice' && r.kind === 'approved')).toBeDefined();
    expect(recs.at(-1)).toMatchObject({ type: 'chat.end', status: 'ok' });
    expect(recs.find((r) => r.type === 'chat.answer')?.text).toBe('The tool ran.');
  }, 200_000);

  it('the TUI: the chat pane shows the history the supervisor kept; a question typed there is answered on screen', async () => {
    const tui = spawnOnScreen(join(ROOT, 'bin/nemoclaw'), ['tui', '--layout', 'overview'], 150, 44, {
      cwd: ROOT,
      env: { ...process.env, NEMOCLAW_HOME: sv.home, CI: 'true', TERM: 'xterm-256color', NEMOCLAW_NVIDIA_SMI: join(ROOT, 'test/tui/fixtures/fake-nvidia-smi') } as Record<string, string>,
    });
    const t0 = Date.now();
    const see = async (what: string | RegExp, withinMs = 60_000): Promise<void> => {
      await waitFor(() => (typeof what === 'string' ? tui.screen.text().includes(what) : what.test(tui.screen.text())), () => `${String(what)} on the screen:\n${tui.screen.text()}\nexited: ${JSON.stringify(tui.exited)}`, { withinMs });
      process.stderr.write(`[chat.test tui] ${String(what)} after ${Date.now() - t0} ms\n`);
    };
    if ((await history(sv.api, 'oc')).length === 0) await turn(sv.api, 'oc', 'before the TUI');
    const lastAsked = String((await history(sv.api, 'oc')).filter((r) => r.type === 'chat.user').at(-1)?.text);
    try {
      await see('8 Agent chat', 150_000); // a loaded 2-core host has taken a minute to draw the first frame
      await see(/oc +running/);
      tui.p.write('8');
      // Kept by the supervisor, not the TUI: this TUI never saw that turn.
      await see(`> ${lastAsked}`);
      await see('oc · ');
      tui.p.write('i');
      await see('type a message, Enter sends');
      tui.p.write('What is two plus two?');
      await see('What is two plus two?');
      tui.p.write('\r');
      await see('> What is two plus two?');
      await see('Four, says the stand-in.', 180_000);
      tui.p.write('\x1b');
      await see('i type · k/j scroll');
      tui.p.write('q');
      // OpenClaw's own egress asks (api.openai.com) may be pending: q then asks first.
      await waitFor(() => tui.exited !== null || tui.screen.text().includes('Quit anyway?'), 'the TUI quits or asks', { withinMs: 30_000 });
      if (tui.exited === null) tui.p.write('y');
      expect((await tui.exit).exitCode).toBe(0);
    } finally {
      if (!tui.exited) tui.p.kill('SIGTERM');
      tui.screen.dispose();
    }
    expect((await history(sv.api, 'oc')).filter((r) => r.type === 'chat.answer').at(-1)?.text).toBe('Four, says the stand-in.');
  }, 420_000);

  it('headless: a script starts a turn with a line on stdin and reads its events on stdout', async () => {
    const p = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, 'tui', '--headless'], { env: { ...process.env, NEMOCLAW_HOME: sv.home }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const lines = (): Array<Record<string, unknown>> => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      p.stdin.write('{"chat":"oc","message":"from a script"}\n');
      const started = await waitFor(() => lines().find((l) => l.type === 'chat.result'), () => `chat.result in:\n${out}`, { withinMs: 30_000 });
      expect(started).toMatchObject({ sandbox: 'oc', ok: true, turn: expect.any(String) });
      const end = await waitFor(() => lines().find((l) => (l.type === 'chat.end' || l.type === 'chat.error') && l.turn === started.turn), () => `the turn's end in:\n${out}`, { withinMs: 150_000 });
      expect(end).toMatchObject({ type: 'chat.end', status: 'ok', sandbox: 'oc' });
      expect(lines().find((l) => l.type === 'chat.user' && l.turn === started.turn)).toMatchObject({ text: 'from a script', seq: expect.any(Number) });
      p.stdin.write('{"chat":"nope","message":"hi"}\n{"cancel":"oc"}\n');
      await waitFor(() => lines().filter((l) => l.type === 'chat.result').length === 3, () => `two more results in:\n${out}`, { withinMs: 30_000 });
      const [, refused, cancel] = lines().filter((l) => l.type === 'chat.result');
      expect(refused).toMatchObject({ sandbox: 'nope', ok: false, reason: expect.stringContaining('no sandbox named nope') });
      expect(cancel).toMatchObject({ sandbox: 'oc', ok: true, cancelled: null });
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
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
