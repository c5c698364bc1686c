// `nemoclaw NAME chat [MESSAGE] [--json]`: a turn with the agent the sandbox runs (docs/agents.md
// "Chat"). The turn runs inside the sandbox through the supervisor's exec path (the agent's own
// CLI talking to its gateway on the sandbox's private loopback), never through a port on the
// host. Without MESSAGE, lines from standard input are sent one turn each.
import type { Command } from 'commander';
import type { ChatEvent } from '../agents/index.ts';
import type { SandboxView } from '../supervisor/index.ts';
import { jsonText, showOn } from './output.ts';
import { client, runVerb, svExit } from './supervisor-client.ts';

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv in the sandbox without a terminal; collects its output (bounded) and exit status. */
async function execCapture(name: string, argv: string[]): Promise<Captured> {
  const { FrameParser, frame, parseExit } = await import('../supervisor/index.ts');
  const c = await client();
  const { socket, head } = await c.exec(name, { argv, tty: false, cols: 80, rows: 24, env: {} });
  const LIMIT = 16 * 1024 * 1024;
  let stdout = '';
  let stderr = '';
  let code: number | null = null;
  const parser = new FrameParser((f) => {
    if (f.type === 'o' && stdout.length < LIMIT) stdout += f.payload.toString('utf8');
    else if (f.type === 'r' && stderr.length < LIMIT) stderr += f.payload.toString('utf8');
    else if (f.type === 'x') {
      const e = parseExit(f.payload);
      code = e.code ?? 128 + (e.signal ?? 0);
    } else if (f.type === 'f') {
      stderr += `exec failed in the sandbox: ${f.payload.toString('utf8')}\n`;
      code = 125;
    }
  });
  socket.write(frame('e'));
  if (head.length > 0) parser.push(head);
  socket.on('data', (chunk: Buffer) => parser.push(chunk));
  // Ctrl-C cancels the turn: the signal goes to the agent's CLI inside the sandbox.
  const cancel = (): void => {
    socket.write(frame('k', Buffer.from([2])));
  };
  process.on('SIGINT', cancel);
  await new Promise<void>((done) => {
    socket.on('close', () => done());
    socket.on('error', () => done());
  });
  process.off('SIGINT', cancel);
  return { code: code ?? svExit.failure, stdout, stderr };
}

/** The sandbox once its agent said it is ready since its last start, or why it is not (one line). */
export async function waitAgentReady(name: string, withinMs = 120_000): Promise<{ ok: true; sandbox: SandboxView; ms: number } | { ok: false; sandbox: SandboxView; reason: string }> {
  const { ADAPTERS } = await import('../agents/index.ts');
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
    if (lines.some((l) => adapter.readyLine.test(l))) return { ok: true, sandbox: s, ms: Date.now() - t0 };
    if (Date.now() - t0 > withinMs) return { ok: false, sandbox: s, reason: `runs, but ${adapter.name} did not say it was ready within ${Math.round(withinMs / 1000)} s; see: nemoclaw ${name} logs` };
    await new Promise((res) => setTimeout(res, 250));
    s = await get();
  }
}

async function turn(name: string, agent: string, message: string, emit: (e: ChatEvent) => void): Promise<boolean> {
  const a = await import('../agents/index.ts');
  emit({ type: 'chat.user', sandbox: name, text: message });
  const t0 = Date.now();
  const r = await execCapture(name, a.chatArgv(agent, message));
  const events = a.parseTurn(agent, name, r.stdout, r.stderr, r.code, Date.now() - t0);
  for (const e of events) emit(e);
  return !events.some((e) => e.type === 'chat.error' || (e.type === 'chat.end' && e.status !== 'ok'));
}

export function registerChat(cmd: Command, name: string): void {
  cmd
    .command('chat')
    .description("talk to the sandbox's agent (one turn per MESSAGE, or per line of standard input)")
    .argument('[message...]', 'the message (without it: read lines from standard input)')
    .option('--json', 'print each turn as NDJSON events (chat.user, chat.answer, chat.end | chat.error)')
    .action((words: string[], flags: { json?: boolean }) =>
      runVerb({}, async () => {
        const c = await client();
        const { sandbox } = await c.call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${encodeURIComponent(name)}`);
        if (sandbox.agent === null) {
          process.stderr.write(`nemoclaw: ${name} runs its own command, not an installed agent; chat needs a sandbox from the openclaw or dev blueprint\n`);
          return svExit.failure;
        }
        // A turn sent before the gateway listens would fail: wait for the agent (bounded).
        const ready = await waitAgentReady(name);
        if (!ready.ok) {
          process.stderr.write(`nemoclaw: sandbox ${name} ${ready.reason}${ready.sandbox.state !== 'running' ? `; start it: nemoclaw ${name} start` : ''}\n`);
          return ready.sandbox.state !== 'running' ? svExit.conflict : svExit.failure;
        }
        const out = showOn(process.stdout);
        const emit = (e: ChatEvent): void => {
          if (flags.json) process.stdout.write(`${jsonText(e)}\n`);
          else if (e.type === 'chat.answer') process.stdout.write(`${out(e.text, { newlines: true, tabs: 'keep' })}\n`);
          else if (e.type === 'chat.error') process.stderr.write(`nemoclaw: ${showOn(process.stderr)(e.reason)}\n`);
          else if (e.type === 'chat.end' && e.status !== 'ok') process.stderr.write(`nemoclaw: the turn ended ${e.status}\n`);
        };
        const agent = sandbox.agent.name;
        if (words.length > 0) return (await turn(name, agent, words.join(' '), emit)) ? svExit.ok : svExit.failure;
        const { createInterface } = await import('node:readline');
        const tty = process.stdin.isTTY === true;
        const rl = createInterface({ input: process.stdin, output: tty ? process.stderr : undefined, terminal: tty });
        if (tty) rl.setPrompt(`${name}> `);
        let ok = true;
        if (tty) rl.prompt();
        for await (const line of rl) {
          if (line.trim() !== '') ok = (await turn(name, agent, line, emit)) && ok;
          if (tty) rl.prompt();
        }
        return ok ? svExit.ok : svExit.failure;
      }),
    );
}
