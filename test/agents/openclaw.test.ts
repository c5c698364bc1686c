// The real OpenClaw (pinned, from the tests' install cache) run by the `openclaw` blueprint in a
// supervised sandbox: onboard from a stored provider to an agent that says it is ready, a chat
// turn answered by a loopback stand-in for a cloud model through inference.local (the router adds
// the provider key; the agent holds a placeholder), over the exec path only; the install and the
// generated config read-only inside, the agent's state kept across a restart; and onboard's
// one-line reason when the agent is not installed (docs/agents.md). Each turn takes ~3-14 s here.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Served } from '../supervisor/harness.ts';
import { cli, freshHome, serve, workspace } from '../supervisor/harness.ts';
import { AGENTS_CACHE, TEST_CACHE, addStandInProvider, cachedOpenClaw, useAgentsCache } from './cache.ts';
import type { FakeModel } from './fake-cloud-model.ts';
import { lastUserText, startFakeCloudModel } from './fake-cloud-model.ts';

const PROVIDER_KEY = 'fake-cloud-model-key-0123456789abcdef';
let sv: Served;
let ws: string;
let model: FakeModel;
let installDir: string;
useAgentsCache();

beforeAll(async () => {
  installDir = (await cachedOpenClaw(freshHome())).install.dir;
  model = await startFakeCloudModel();
  const home = freshHome();
  ws = workspace(home);
  sv = await serve(home);
  await addStandInProvider(sv.home, model.url, PROVIDER_KEY);
}, 300_000);

afterAll(async () => {
  await sv?.stop();
  await model?.close();
});

describe('OpenClaw in a sandbox (real agent, stand-in model)', () => {
  it('onboard ends with a ready agent, and chat gets the stand-in\'s answer through the router', async () => {
    const t0 = Date.now();
    const ob = await cli(sv.home, ['onboard', '--non-interactive', '--name', 'oc', '--blueprint', 'openclaw', '--provider', 'fake-cloud-model', '--model', 'fake-model', '--credential-env', '-', '--workspace', ws]);
    const onboardMs = Date.now() - t0;
    expect(ob.code, `${ob.stdout}${ob.stderr}`).toBe(0);
    expect(ob.stdout).toMatch(/nemoclaw: sandbox oc is running, openclaw ready \(\d+\.\d s\)/);
    expect(ob.stdout).toContain('nemoclaw oc chat');

    const turn = await cli(sv.home, ['oc', 'chat', '--json', 'Say hello']);
    expect(turn.code, turn.stderr).toBe(0);
    // Asks and denials during the turn come as chat.notice between these. None may be OpenClaw
    // reaching for OpenAI itself (its memory search embeds through the router: src/agents/run.ts).
    const all = turn.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(JSON.stringify(all.filter((e) => e.type === 'chat.notice'))).not.toContain('api.openai.com');
    const events = all.filter((e) => e.type !== 'chat.notice');
    expect(events[0]).toEqual({ type: 'chat.user', sandbox: 'oc', text: 'Say hello' });
    expect(events[1]).toEqual({ type: 'chat.answer', sandbox: 'oc', text: 'Hello from fake-cloud-model.' });
    expect(events[2]).toMatchObject({ type: 'chat.end', sandbox: 'oc', status: 'ok', model: 'fake-model', provider: 'nemoclaw' });
    // One model call, through the router: the provider's key added, the agent's placeholder dropped.
    expect(model.seen).toHaveLength(1);
    const req = model.seen[0]!;
    expect(req.url).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(req.body.stream).toBe(true);
    expect(lastUserText(req)).toContain('Say hello');
    process.stderr.write(`[openclaw.test] onboard to ready: ${onboardMs} ms; first turn: ${String(events[2]?.ms)} ms\n`);

    const human = await cli(sv.home, ['oc', 'chat', 'Say hello again']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toBe('Hello from fake-cloud-model.\n');
    expect(model.seen).toHaveLength(2);
  }, 200_000);

  it('the install and the generated config are read-only inside; the config holds only the placeholder key', async () => {
    const cfg = `${sv.home}/sandboxes/oc/agent/openclaw.json`;
    const probe = await cli(sv.home, ['oc', 'exec', '--', '/bin/sh', '-c', `echo "$OPENCLAW_CONFIG_PATH"; cat "$OPENCLAW_CONFIG_PATH"; echo; if echo x >> "$OPENCLAW_CONFIG_PATH"; then echo CONFIG-WRITABLE; fi; if touch '${installDir}/planted'; then echo INSTALL-WRITABLE; fi; echo "key=$OPENAI_API_KEY"; touch "$HOME/.openclaw/state-writable" && echo STATE-OK`]);
    expect(probe.stdout).not.toContain('WRITABLE');
    expect(probe.stdout).toContain('STATE-OK');
    expect(probe.stdout).toContain('key=nemoclaw-placeholder');
    expect(probe.stdout).toContain(cfg);
    expect(probe.stdout).toContain('"baseUrl": "http://inference.local/v1"');
    expect(probe.stdout).toContain('"apiKey": "nemoclaw-placeholder"');
    expect(probe.stdout).not.toContain(PROVIDER_KEY);
  }, 60_000);

  it('the agent\'s session and state survive a restart of its sandbox', async () => {
    const before = await cli(sv.home, ['oc', 'chat', '--json', 'first']);
    const session = (before.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; session?: string }).find((e) => e.type === 'chat.end'))?.session;
    expect(session).toMatch(/^[0-9a-f-]{36}$/);
    const r = await cli(sv.home, ['oc', 'restart']);
    expect(r.code, r.stderr).toBe(0);
    const after = await cli(sv.home, ['oc', 'chat', '--json', 'second']);
    expect(after.code, after.stderr).toBe(0);
    const end = after.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; session?: string }).find((e) => e.type === 'chat.end');
    expect(end?.session).toBe(session);
    // The stand-in saw the earlier turn in the history the agent sent.
    expect(JSON.stringify(model.seen.at(-1)?.body.messages)).toContain('first');
  }, 200_000);

  it('onboard without the agent installed ends with one line naming the command that fixes it', async () => {
    const empty = mkdtempSync(join(TEST_CACHE, 'scratch-'));
    process.env.NEMOCLAW_AGENTS_DIR = empty;
    const bare = await serve(freshHome());
    try {
      const ob = await cli(bare.home, ['onboard', '--non-interactive', '--name', 'none', '--blueprint', 'openclaw', '--provider', 'none', '--credential-env', '-', '--restart', 'never', '--workspace', workspace(bare.home)]);
      expect(ob.code).toBe(1);
      expect(ob.stdout).not.toContain('running');
      expect(ob.stderr).toBe(`nemoclaw: sandbox none did not start: openclaw@2026.9.6 is not installed (${empty}/openclaw/2026.9.6); run: nemoclaw agents install openclaw\n`);
    } finally {
      await bare.stop();
      process.env.NEMOCLAW_AGENTS_DIR = AGENTS_CACHE;
      rmSync(empty, { recursive: true, force: true });
    }
  }, 60_000);
});
