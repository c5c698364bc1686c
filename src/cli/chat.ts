// `nemoclaw NAME chat [MESSAGE] [--json]`: a turn with the agent the sandbox runs (docs/agents.md
// "Chat"). The turn runs inside the sandbox through the supervisor's exec path (the agent's own
// CLI talking to its gateway on the sandbox's private loopback), never through a port on the
// host. Without MESSAGE, lines from standard input are sent one turn each.
import type { Command } from 'commander';
import type { ChatEvent } from '../agents/index.ts';
import type { SandboxView } from '../supervisor/index.ts';
import { jsonText, showOn } from './output.ts';
import { client, runVerb, svExit } from './supervisor-client.ts';

/** The sandbox once its agent said it is ready since its last start, or why it is not (one line). */
export async function waitAgentReady(name: string, withinMs = 120_000): Promise<{ ok: true; sandbox: SandboxView; ms: number } | { ok: false; sandbox: SandboxView; reason: string }> {
  const { ADAPTERS, agentReady } = await import('../agents/index.ts');
  const c = await client();
  const get = async (): Promise<SandboxView> => (await c.call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${encodeURIComponent(name)}`)).sandbox;
  let s = await get();
  const t0 = Date.now();
  if (s.state !== 'running') return { ok: false, sandbox: s, reason: `did not start: ${s.startError ?? s.lastExit?.reason ?? s.state}` };
  const adapter = s.agent !== null ? ADAPTERS[s.agent.name] : undefined;
  if (adapter === undefined) return { ok: true, sandbox: s, ms: 0 };
  const restarts = s.restarts;
  const since = Date.parse(s.startedAt ?? new Date(t0).toISOString());
  for (;;) {
    const lines: string[] = [];
    // eslint-disable-next-line no-control-regex
    await c.stream(`/v1/sandboxes/${encodeURIComponent(name)}/logs?since=${since}`, (rec) => lines.push(String(rec.line ?? '').replace(/\x1b\[[0-9;]*m/g, ''))).done.catch(() => undefined);
    if (s.state !== 'running' || s.restarts !== restarts) {
      const last = lines.filter((l) => l.trim() !== '').slice(-1)[0] ?? '';
      return { ok: false, sandbox: s, reason: `is not running its agent (${s.state}, ${s.restarts - restarts} restart(s), last exit ${s.lastExit?.code ?? s.lastExit?.signal ?? '-'}): ${last.slice(0, 200) || s.startError || 'no output'}; see: nemoclaw ${name} logs` };
    }
    if (agentReady(adapter, lines)) return { ok: true, sandbox: s, ms: Date.now() - t0 };
    if (Date.now() - t0 > withinMs) return { ok: false, sandbox: s, reason: `runs, but ${adapter.name} did not say it was ready within ${Math.round(withinMs / 1000)} s; see: nemoclaw ${name} logs` };
    await new Promise((res) => setTimeout(res, 250));
    s = await get();
  }
}

/** A bus/history record as the CLI prints it: the ChatEvent alone (--json's shape predates the supervisor's turn ids). */
function asEvent(r: Record<string, unknown>): ChatEvent {
  const { seq: _seq, ts: _ts, turn: _turn, ...e } = r;
  return e as unknown as ChatEvent;
}

/** One turn through the supervisor (its history is the TUI's too); Ctrl-C cancels it inside. */
async function turn(name: string, message: string, emit: (e: ChatEvent) => void): Promise<boolean> {
  const c = await client();
  let ok = true;
  const cancel = (): void => {
    void c.call('POST', `/v1/sandboxes/${encodeURIComponent(name)}/chat/cancel`).catch(() => undefined);
  };
  process.on('SIGINT', cancel);
  try {
    await c.stream(`/v1/sandboxes/${encodeURIComponent(name)}/chat`, (r) => {
      const e = asEvent(r);
      if (e.type === 'chat.error' || (e.type === 'chat.end' && e.status !== 'ok')) ok = false;
      emit(e);
    }, { method: 'POST', body: { message } }).done;
  } finally {
    process.off('SIGINT', cancel);
  }
  return ok;
}

export function registerChat(cmd: Command, name: string): void {
  cmd
    .command('chat')
    .description("talk to the sandbox's agent (one turn per MESSAGE, or per line of standard input)")
    .argument('[message...]', 'the message (without it: read lines from standard input)')
    .option('--json', 'print each turn as NDJSON events (chat.user, chat.notice, chat.tool, chat.answer, chat.end | chat.error)')
    .option('--history [N]', 'print the last N records of the conversation (default 50) and exit')
    .option('--cancel', 'cancel the turn in progress (from any client) and exit')
    .action((words: string[], flags: ChatFlags) => sandboxChat(name, words, flags));
}

export interface ChatFlags {
  json?: boolean;
  history?: boolean | string;
  cancel?: boolean;
}

/** `nemoclaw NAME chat` as its commander action runs it (commands.ts's fast path calls it too, issue 23). */
export function sandboxChat(name: string, words: string[], flags: ChatFlags): Promise<void> {
  return runVerb({}, async () => {
    const c = await client();
    const path = `/v1/sandboxes/${encodeURIComponent(name)}`;
    const { sandbox } = await c.call<{ sandbox: SandboxView }>('GET', path);
    if (sandbox.agent === null) {
      process.stderr.write(`nemoclaw: ${name} runs its own command, not an installed agent; chat needs a sandbox from the openclaw or dev blueprint\n`);
      return svExit.failure;
    }
    const out = showOn(process.stdout);
    const err = showOn(process.stderr);
    if (flags.cancel) {
      const r = await c.call<{ cancelled: string | null }>('POST', `${path}/chat/cancel`);
      if (flags.json) process.stdout.write(`${jsonText(r)}\n`);
      else process.stderr.write(r.cancelled ? `nemoclaw: cancelling turn ${r.cancelled}\n` : `nemoclaw: ${name} has no turn in progress\n`);
      return svExit.ok;
    }
    if (flags.history !== undefined) {
      const n = flags.history === true ? 50 : Number(flags.history);
      if (!Number.isSafeInteger(n) || n < 0) {
        process.stderr.write('nemoclaw: --history N: a non-negative number of records\n');
        return svExit.usage;
      }
      const r = await c.call<{ history: Array<Record<string, unknown>> }>('GET', `${path}/chat/history?tail=${n}`);
      for (const rec of r.history) {
        const e = asEvent(rec);
        if (flags.json) process.stdout.write(`${jsonText(rec)}\n`);
        else if (e.type === 'chat.user') process.stdout.write(`> ${out(e.text, { newlines: true, tabs: 'keep' })}\n`);
        else if (e.type === 'chat.answer') process.stdout.write(`${out(e.text, { newlines: true, tabs: 'keep' })}\n`);
        else if (e.type === 'chat.error') process.stdout.write(`! ${out(e.reason)}\n`);
        else if (e.type === 'chat.notice') process.stdout.write(`  ${e.kind}: ${out(e.text)}\n`);
        else if (e.type === 'chat.tool') process.stdout.write(`  tool ${out(e.name)}${e.calls > 1 ? ` x${e.calls}` : ''}\n`);
      }
      return svExit.ok;
    }
    const emit = (e: ChatEvent): void => {
      if (flags.json) process.stdout.write(`${jsonText(e)}\n`);
      else if (e.type === 'chat.answer') process.stdout.write(`${out(e.text, { newlines: true, tabs: 'keep' })}\n`);
      else if (e.type === 'chat.error') process.stderr.write(`nemoclaw: ${err(e.reason)}\n`);
      else if (e.type === 'chat.end' && e.status !== 'ok') process.stderr.write(`nemoclaw: the turn ended ${e.status}\n`);
      else if (e.type === 'chat.notice') process.stderr.write(`nemoclaw: ${e.kind === 'asked' ? '' : `${e.kind}: `}${err(e.text)}\n`);
      else if (e.type === 'chat.tool') process.stderr.write(`nemoclaw: tool ${err(e.name)}${e.calls > 1 ? ` x${e.calls}` : ''}\n`);
    };
    // A refusal before the turn starts (not running, busy) is runVerb's: one line, exit 5.
    const send = (message: string): Promise<boolean> => turn(name, message, emit);
    if (words.length > 0) return (await send(words.join(' '))) ? svExit.ok : svExit.failure;
    const { createInterface } = await import('node:readline');
    const tty = process.stdin.isTTY === true;
    const rl = createInterface({ input: process.stdin, output: tty ? process.stderr : undefined, terminal: tty });
    if (tty) rl.setPrompt(`${name}> `);
    let ok = true;
    if (tty) rl.prompt();
    for await (const line of rl) {
      if (line.trim() !== '') ok = (await send(line)) && ok;
      if (tty) rl.prompt();
    }
    return ok ? svExit.ok : svExit.failure;
  });
}
