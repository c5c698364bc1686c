// Tool-call approvals end to end (docs/agents.md "Tool-call approvals"), offline: the real OpenClaw
// (pinned, from the tests' install cache) in a real supervised sandbox, a loopback stand-in for a
// cloud model behind the router that scripts an `exec` tool call, and the shipped plugin asking
// approvals.nemoclaw.internal through the sandbox's proxy. The operator answers with the CLI
// (`nemoclaw approvals`): allow once runs the command inside the sandbox (its file appears in the
// workspace), deny and the approval timeout keep it from running and the model reads the refusal
// as the tool's result, allow always writes tools.allow and the next call runs unasked; the TUI
// in a real PTY shows the ask as a tool call and decides it with `a` and `d`; `tui --headless`
// streams it and takes the decision on stdin.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPENCLAW_PLUGIN_DIR } from '../../src/agents/index.ts';
import { waitFor } from '../helpers/wait.ts';
import { spawnOnScreen } from '../tui/helpers/pty.ts';
import type { Served } from '../supervisor/harness.ts';
import { cli, events, freshHome } from '../supervisor/harness.ts';
import { TEST_CACHE, cachedOpenClaw, onboardedAgent, useAgentsCache } from './cache.ts';
import type { FakeModel, SeenRequest } from './fake-cloud-model.ts';
import { currentTurn, startFakeCloudModel } from './fake-cloud-model.ts';

const MARK = /TOOLTEST-([A-Z])/;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/nemoclaw');
let sv: Served;
let ws: string;
let model: FakeModel;
useAgentsCache();

/** The tool result the model was sent in the turn that asked for marker `m`, as text. */
function toolResultFor(m: string): string | undefined {
  for (const req of model.seen) {
    const turn = currentTurn(req);
    const tool = turn.after.find((x) => x.role === 'tool');
    if (turn.user.includes(`TOOLTEST-${m}`) && tool) return JSON.stringify(tool.content);
  }
  return undefined;
}

interface ListedItem {
  id: string;
  kind: string;
  sandbox: string;
  tool?: { name: string; args: string; session: string | null; reason: string | null };
}

/** Starts a chat turn that makes the stand-in call exec, and waits for its ask in the queue (or none). */
async function turnAsking(m: string): Promise<{ turn: ReturnType<typeof cli>; item: ListedItem }> {
  const turn = cli(sv.home, ['oc', 'chat', '--json', `TOOLTEST-${m}: make the marker`]);
  let item: ListedItem | undefined;
  await waitFor(async () => {
    const l = await cli(sv.home, ['approvals', 'list', '--json']);
    item = (JSON.parse(l.stdout || '[]') as ListedItem[]).find((i) => i.kind === 'tool' && i.tool?.args.includes(`marker-${m}`));
    return item !== undefined;
  }, `the exec call for marker ${m} in the approval queue`, { withinMs: 90_000 });
  return { turn, item: item as ListedItem };
}

/** Rewrites the sandbox's policy text (a new revision) and waits until its proxy has reloaded it. */
async function editPolicy(edit: (text: string) => string): Promise<void> {
  const { meta } = JSON.parse((await cli(sv.home, ['policy', 'get', '--sandbox', 'oc', '--json'])).stdout) as { meta: { rev: number } };
  const text = (await cli(sv.home, ['policy', 'get', '--sandbox', 'oc'])).stdout;
  const next = edit(text);
  expect(next).not.toBe(text);
  const file = join(mkdtempSync(join(TEST_CACHE, 'scratch-')), 'policy.yaml');
  writeFileSync(file, next);
  const set = await cli(sv.home, ['policy', 'set', '--sandbox', 'oc', file, '--yes']);
  expect(set.code, set.stderr).toBe(0);
  await waitFor(async () => (await events(sv.api)).some((e) => (e as unknown as { type: string; rev?: number }).type === 'policy.revision' && ((e as unknown as { rev: number }).rev ?? 0) > meta.rev), 'the proxy reloaded the new revision', { withinMs: 10_000 });
}

async function ended(turn: ReturnType<typeof cli>): Promise<Record<string, unknown>> {
  const r = await turn;
  expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return lines.find((e) => e.type === 'chat.end') ?? {};
}

beforeAll(async () => {
  await cachedOpenClaw(freshHome());
  model = await startFakeCloudModel();
  // The stand-in's script: a user message naming TOOLTEST-X gets one exec call that touches
  // marker-X in the workspace; once this turn holds a tool result, it answers with that result.
  model.toolCall = (req: SeenRequest) => {
    const turn = currentTurn(req);
    const m = MARK.exec(turn.user);
    if (!m || turn.after.some((x) => x.role === 'tool')) return null;
    return { name: 'exec', arguments: { command: `touch ${ws}/marker-${m[1]}` } };
  };
  model.reply = (req: SeenRequest) => {
    const tool = currentTurn(req).after.find((x) => x.role === 'tool');
    return tool ? `The tool said: ${JSON.stringify(tool.content).slice(0, 300)}` : 'Hello from fake-cloud-model.';
  };
  ({ sv, ws } = await onboardedAgent(model.url, 'fake-cloud-model-key-tools'));
  // The blueprint's own policy (unmatched egress asked): nothing but the router is reached during
  // these turns since memory search embeds through it too (src/agents/run.ts).
}, 300_000);

afterAll(async () => {
  await sv?.stop();
  await model?.close();
});

describe('tool-call approvals with the real OpenClaw in a sandbox', () => {
  it('the plugin is loaded from its read-only copy, enabled by the generated config', async () => {
    const copy = join(sv.home, 'sandboxes', 'oc', 'agent', 'openclaw-plugin');
    const probe = await cli(sv.home, ['oc', 'exec', '--', '/bin/sh', '-c', `grep -c '"${copy}"' "$OPENCLAW_CONFIG_PATH"; if touch '${copy}/planted' || echo x >> '${copy}/index.mjs'; then echo PLUGIN-WRITABLE; fi; cmp '${copy}/index.mjs' '${OPENCLAW_PLUGIN_DIR}/index.mjs' 2>/dev/null; test -f '${copy}/index.mjs' && echo PLUGIN-THERE`]);
    expect(probe.stdout).toMatch(/^1\n/);
    expect(probe.stdout).toContain('PLUGIN-THERE');
    expect(probe.stdout).not.toContain('PLUGIN-WRITABLE');
    // OpenClaw skips a plugin it does not trust (owner, mode) with only a warning: it must say it loaded it.
    const log = join(sv.home, 'sandboxes', 'oc', 'logs', 'output.ndjson');
    await waitFor(() => readFileSync(log, 'utf8').includes('nemoclaw: tool approvals on'), 'the plugin\'s start line in the agent\'s output', { withinMs: 30_000 });
    expect(readFileSync(log, 'utf8')).not.toContain('blocked plugin candidate');
  }, 60_000);

  it('exec waits in the queue; approve (CLI) runs it inside the sandbox: its file appears in the workspace', async () => {
    const { turn, item } = await turnAsking('A');
    expect(item).toMatchObject({ sandbox: 'oc', kind: 'tool', tool: { name: 'exec' } });
    expect(item.tool?.args).toContain(`"command":"touch ${ws}/marker-A"`);
    expect(item.tool?.session).toMatch(/main/);
    const human = await cli(sv.home, ['approvals', 'list']);
    expect(human.stdout).toMatch(new RegExp(`${item.id}  tool\\s+oc  .* -> tool exec \\{"command":"touch ${ws}/marker-A"`));
    expect(existsSync(join(ws, 'marker-A'))).toBe(false);
    const ok = await cli(sv.home, ['approvals', 'approve', item.id]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(await ended(turn)).toMatchObject({ status: 'ok' });
    expect(existsSync(join(ws, 'marker-A'))).toBe(true);
    expect(toolResultFor('A')).toBeDefined();
    expect(toolResultFor('A')).not.toContain('nemoclaw: the exec call was denied');
  }, 200_000);

  it('deny (CLI): the command does not run, and the stand-in\'s next request carries the refusal as the tool result', async () => {
    const { turn, item } = await turnAsking('B');
    const no = await cli(sv.home, ['approvals', 'deny', item.id]);
    expect(no.code, no.stderr).toBe(0);
    expect(await ended(turn)).toMatchObject({ status: 'ok' });
    expect(existsSync(join(ws, 'marker-B'))).toBe(false);
    expect(toolResultFor('B')).toContain('nemoclaw: the exec call was denied: denied by');
  }, 200_000);

  it('the TUI in a real PTY: the ask shows as a tool call; a runs it, d refuses it', async () => {
    const tui = spawnOnScreen(BIN, ['tui', '--layout', 'approvals-first'], 220, 50, { cwd: ROOT, env: { ...process.env, NEMOCLAW_HOME: sv.home, CI: 'true', TERM: 'xterm-256color', NEMOCLAW_NVIDIA_SMI: join(ROOT, 'test/tui/fixtures/fake-nvidia-smi') } as Record<string, string> });
    const see = (re: RegExp) => waitFor(() => re.test(tui.screen.text()), () => `${String(re)} on the screen:\n${tui.screen.text()}`, { withinMs: 90_000 });
    try {
      await see(/Approvals/);
      const allowed = cli(sv.home, ['oc', 'chat', '--json', 'TOOLTEST-F: make the marker']);
      // The pending row leads with its kind (`tool exec {...}`); what follows the arguments (sandbox,
      // kind column) is cut when the workspace path is long, as under a container's test tmpfs.
      await see(/▶ \S+ +\d+s left tool exec \{"command":"touch [^ ]*marker-F"\}/);
      tui.p.write('a');
      expect(await ended(allowed)).toMatchObject({ status: 'ok' });
      expect(existsSync(join(ws, 'marker-F'))).toBe(true);
      const refused = cli(sv.home, ['oc', 'chat', '--json', 'TOOLTEST-G: make the marker']);
      await see(/tool exec \{"command":"touch [^ ]*marker-G"\}/);
      tui.p.write('d');
      expect(await ended(refused)).toMatchObject({ status: 'ok' });
      expect(existsSync(join(ws, 'marker-G'))).toBe(false);
      expect(toolResultFor('G')).toContain('nemoclaw: the exec call was denied: denied by');
      tui.p.write('q');
      expect((await tui.exit).exitCode).toBe(0);
    } finally {
      if (!tui.exited) tui.p.kill('SIGKILL');
      tui.screen.dispose();
    }
  }, 300_000);

  it('tui --headless attached to the supervisor: the ask streams as kind tool; {"approve": id} on stdin runs it', async () => {
    const client = spawn(BIN, ['tui', '--headless'], { env: { ...process.env, NEMOCLAW_HOME: sv.home }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    client.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const lines = (): Array<Record<string, unknown>> => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    try {
      const turn = cli(sv.home, ['oc', 'chat', '--json', 'TOOLTEST-H: make the marker']);
      const pending = await waitFor(() => lines().find((l) => l.type === 'approval.pending' && JSON.stringify(l.item).includes('marker-H')), () => `the tool ask on the headless stream:\n${out.slice(-2000)}`, { withinMs: 90_000 });
      expect(pending.item).toMatchObject({ kind: 'tool', sandbox: 'oc', tool: { name: 'exec', args: `{"command":"touch ${ws}/marker-H"}` } });
      client.stdin.write(`${JSON.stringify({ approve: (pending.item as { id: string }).id })}\n`);
      await waitFor(() => lines().find((l) => l.type === 'decision.result'), () => `the decision's result:\n${out.slice(-2000)}`, { withinMs: 30_000 });
      expect(lines().find((l) => l.type === 'decision.result')).toMatchObject({ ok: true, verdict: 'allow' });
      expect(await ended(turn)).toMatchObject({ status: 'ok' });
      expect(existsSync(join(ws, 'marker-H'))).toBe(true);
    } finally {
      client.kill('SIGTERM');
    }
  }, 200_000);

  it('no decision within the approval timeout: denied, not run, and the model is told why', async () => {
    await editPolicy((text) => text.replace(/(approvals:[\s\S]*?timeout: )\S+/, '$14s'));
    const { turn } = await turnAsking('C');
    expect(await ended(turn)).toMatchObject({ status: 'ok' });
    expect(existsSync(join(ws, 'marker-C'))).toBe(false);
    expect(toolResultFor('C')).toContain('nemoclaw: the exec call was denied: no operator decision before the approval timeout');
  }, 200_000);

  it('approve --always writes tools.allow as a revision; the next exec runs without asking', async () => {
    const { turn, item } = await turnAsking('D');
    const ok = await cli(sv.home, ['approvals', 'approve', item.id, '--always']);
    expect(ok.code, `${ok.stdout}${ok.stderr}`).toBe(0);
    expect(ok.stdout).toContain('allow always');
    expect(await ended(turn)).toMatchObject({ status: 'ok' });
    expect(existsSync(join(ws, 'marker-D'))).toBe(true);
    const pol = JSON.parse((await cli(sv.home, ['policy', 'get', '--sandbox', 'oc', '--json'])).stdout) as { policy: { tools?: { allow?: string[] } } };
    expect(pol.policy.tools?.allow).toEqual(['exec']);
    // Unasked now: with the 4 s timeout in force, an ask nobody answers would have been denied.
    const next = cli(sv.home, ['oc', 'chat', '--json', 'TOOLTEST-E: make the marker']);
    expect(await ended(next)).toMatchObject({ status: 'ok' });
    expect(existsSync(join(ws, 'marker-E'))).toBe(true);
  }, 200_000);
});
