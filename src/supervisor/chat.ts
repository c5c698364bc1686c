// Chat with a sandbox's agent, kept by the supervisor (docs/agents.md "Chat"): a turn is the
// agent's own CLI run inside the sandbox through its exec server (the workload's restrictions, no
// port on the host: design.md invariant 2), its events go on the bus (`chat.*`) and into the
// sandbox's history file, so the CLI, the TUI and a headless script see one conversation, and it
// survives a restart of the TUI and of the supervisor.
//
// One turn at a time per sandbox: a second is refused (409 `busy`, naming the turn running), not
// queued. The agent keeps a single session per sandbox, so a queued message would be answered in
// a context its sender has not seen yet; refusing lets each client decide (wait for chat.end, or
// cancel). Cancel sends SIGINT to the agent's CLI inside, then SIGTERM, then hangs up (the exec
// server kills the process group when its client leaves).
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ChatEvent } from '../agents/index.ts';
import { ADAPTERS, agentReady, chatArgv, chatEnv, parseTurn, TURN_TIMEOUT_S } from '../agents/index.ts';
import type { HomePaths } from '../state/index.ts';
import { sandboxPaths, writeFileAtomic } from '../state/index.ts';
import type { EventBus } from './bus.ts';
import type { BusEvent } from './events.ts';
import { FrameParser, frame, openExec, parseExit } from './exec.ts';
import { readJsonBody, sendJson } from './http.ts';
import type { Lifecycle } from './lifecycle.ts';
import { readLog } from './logs.ts';
import type { AuditFn } from './types.ts';
import { InvalidRequestError } from './types.ts';

/** What the bus and the history file carry: the event plus the turn it belongs to. */
export type ChatRecord = ChatEvent & { turn: string; ts: string };

/** Longest message accepted (the exec request that carries it is bounded at 64 KiB). */
export const MAX_MESSAGE = 16 * 1024;
/** The history file is cut to its newest half when it grows past this. */
export const HISTORY_MAX_BYTES = 2 * 1024 * 1024;
/** Longest text kept of one answer, tool argument or notice in the history. */
const MAX_TEXT = 64 * 1024;
/** How long a turn waits for the agent to say it is ready after a (re)start. */
const READY_WITHIN_MS = 120_000;
/** A turn's own bound beyond the agent's --timeout (a wedged CLI is cancelled). */
const TURN_BOUND_MS = (TURN_TIMEOUT_S + 15) * 1000;
/** Distinct notices (asks, answers, denials) recorded per turn. */
const MAX_NOTICES = 50;
/** Output kept from the agent's CLI per turn. */
const OUTPUT_LIMIT = 16 * 1024 * 1024;

export class ChatBusyError extends Error {
  readonly turn: string;
  constructor(name: string, turn: string) {
    super(`sandbox ${name} is already in a turn (${turn}); wait for its chat.end or cancel it: nemoclaw ${name} chat --cancel`);
    this.turn = turn;
  }
}

export class ChatNotRunningError extends Error {}

interface Turn {
  id: string;
  cancelled: boolean;
  socket: Socket | null;
  timers: NodeJS.Timeout[];
  /** Tools already shown with their approval (the --json summary's names are then not repeated). */
  tools: Set<string>;
}

/**
 * One line of a bus event that belongs inline in a turn (an ask, an answer, an egress or exec
 * denial), or null. Syscall denials stay in their own pane: every Node the agent starts is
 * refused io_uring_setup, which says nothing about the turn.
 */
export function noticeOf(e: BusEvent): { kind: 'asked' | 'approved' | 'denied'; text: string } | null {
  const target = (i: { kind?: string; binary?: string | null; host?: string | null; port?: number | null; method?: string | null; path?: string | null }): string => {
    const bin = i.binary ? `${i.binary.slice(i.binary.lastIndexOf('/') + 1)} ` : '';
    if (i.host) return `${bin}-> ${i.host}:${i.port ?? '?'}${i.method ? ` ${i.method} ${i.path ?? '/'}` : ''}`;
    return `${bin}${i.kind ?? '?'} ${i.path ?? ''}`.trim();
  };
  if (e.type === 'approval.pending') return { kind: 'asked', text: e.item.tool ? `asked: tool ${e.item.tool.name} ${e.item.tool.args.slice(0, 200)}` : `asked: ${e.item.kind} ${target(e.item)}` };
  if (e.type === 'approval.decided') return { kind: e.verdict === 'allow' ? 'approved' : 'denied', text: `${e.verdict === 'allow' ? 'approved' : 'denied'}${e.always ? ' always' : ''} ${e.id} by ${e.reason === 'timeout' ? 'timeout' : e.by}` };
  if (e.type === 'egress' && (e.event.type === 'egress_denied' || e.event.type === 'egress_closed_by_reload')) {
    const ev = e.event;
    return { kind: 'denied', text: `egress denied: ${target({ binary: ev.binary ?? null, host: ev.host ?? null, port: ev.port ?? null, method: ev.method ?? null, path: ev.path ?? null })}${ev.reason ? ` (${ev.reason})` : ''}` };
  }
  if (e.type === 'helper') {
    const h = e.event as unknown as Record<string, unknown>;
    if (h.type === 'exec_denied') return { kind: 'denied', text: `exec denied: ${String(h.path ?? '?')}` };
  }
  return null;
}

/** Parses the history file; a torn last line (a crash mid-append) is skipped. */
export function parseHistory(text: string): ChatRecord[] {
  const out: ChatRecord[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const r = JSON.parse(line) as ChatRecord;
      if (typeof r.type === 'string' && r.type.startsWith('chat.') && typeof r.turn === 'string') out.push(r);
    } catch {
      // torn
    }
  }
  return out;
}

function clipText<T extends ChatEvent>(e: T): T {
  const o = { ...e } as Record<string, unknown>;
  for (const k of ['text', 'reason', 'arguments', 'result']) {
    const v = o[k];
    if (typeof v === 'string' && v.length > MAX_TEXT) o[k] = `${v.slice(0, MAX_TEXT)}… [${v.length - MAX_TEXT} more characters]`;
  }
  return o as T;
}

export interface ChatDeps {
  paths: HomePaths;
  lifecycle: Lifecycle;
  bus: EventBus;
  audit: AuditFn;
}

export class ChatService {
  private readonly d: ChatDeps;
  private readonly turns = new Map<string, Turn>();
  /** Sandboxes whose agent said it is ready, keyed on their start time (a restart clears it). */
  private readonly ready = new Map<string, string>();

  constructor(d: ChatDeps) {
    this.d = d;
  }

  historyFile(name: string): string {
    return join(sandboxPaths(this.d.paths, name).dir, 'chat', 'history.ndjson');
  }

  /** The newest `tail` records (oldest first). */
  history(name: string, tail = 500): ChatRecord[] {
    this.d.lifecycle.get(name);
    let text: string;
    try {
      text = readFileSync(this.historyFile(name), 'utf8');
    } catch {
      return [];
    }
    const all = parseHistory(text);
    return all.slice(Math.max(0, all.length - Math.max(0, tail)));
  }

  /** The turn in progress for a sandbox, if any. */
  current(name: string): string | null {
    return this.turns.get(name)?.id ?? null;
  }

  private record(name: string, turn: string, e: ChatEvent): ChatRecord {
    const body = clipText(e);
    const published = this.d.bus.publish(name, { ...body, turn });
    const rec = { ...body, turn, ts: published.ts } as ChatRecord;
    const file = this.historyFile(name);
    try {
      mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
      appendFileSync(file, `${JSON.stringify(rec)}\n`, { mode: 0o600 });
      if (statSync(file).size > HISTORY_MAX_BYTES) {
        // Bounded: keep the newest half (whole lines), written to a temporary file and renamed.
        const text = readFileSync(file, 'utf8');
        const cut = text.indexOf('\n', text.length - HISTORY_MAX_BYTES / 2);
        writeFileAtomic(file, cut >= 0 ? text.slice(cut + 1) : '');
      }
    } catch {
      // A sandbox destroyed mid-turn (its directory is gone): the bus still had the event.
    }
    return rec;
  }

  /**
   * Starts a turn; events go to the bus, the history and `onEvent` (the API's response). Resolves
   * with the turn's id once it has started; `done` settles when its chat.end or chat.error is out.
   */
  start(name: string, message: string, onEvent: (r: ChatRecord) => void = () => {}): { turn: string; done: Promise<void> } {
    const view = this.d.lifecycle.view(name);
    if (typeof message !== 'string' || message.trim() === '') throw new InvalidRequestError('message: the text to send (not empty)');
    if (message.length > MAX_MESSAGE) throw new InvalidRequestError(`message: at most ${MAX_MESSAGE} characters`);
    if (message.includes('\0')) throw new InvalidRequestError('message: may not contain NUL');
    if (view.agent === null) throw new InvalidRequestError(`${name} runs its own command, not an installed agent; chat needs a sandbox from the openclaw or dev blueprint`);
    // Starting (or backing off before a restart): the turn waits for the agent to be ready.
    if (view.state !== 'running' && view.state !== 'starting' && view.state !== 'backoff') throw new ChatNotRunningError(`sandbox ${name} is not running (${view.state}); start it: nemoclaw ${name} start`);
    const busy = this.turns.get(name);
    if (busy) throw new ChatBusyError(name, busy.id);
    const agent = view.agent.name;
    const turn: Turn = { id: `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`, cancelled: false, socket: null, timers: [], tools: new Set() };
    this.turns.set(name, turn);
    const emit = (e: ChatEvent): void => onEvent(this.record(name, turn.id, e));
    // Asks, answers and denials of this sandbox while the turn runs, inline by time.
    // Each distinct notice once per turn, at most MAX_NOTICES (a flood of one denial says
    // nothing the first did not).
    const seen = new Set<string>();
    // Tool calls the operator (or a timeout) decided: name, arguments and who, as chat.tool.
    const asked = new Map<string, { name: string; args: string }>();
    const tap = this.d.bus.tap((e) => {
      if (e.sandbox !== name) return;
      if (e.type === 'approval.pending' && e.item.tool) asked.set(e.item.id, { name: e.item.tool.name, args: e.item.tool.args });
      if (e.type === 'approval.decided' && asked.has(e.id)) {
        const t = asked.get(e.id) as { name: string; args: string };
        asked.delete(e.id);
        turn.tools.add(t.name);
        const who = `${e.verdict === 'allow' ? 'allowed' : 'denied'}${e.always ? ' always' : ''} by ${e.reason === 'timeout' ? 'timeout' : e.by}`;
        queueMicrotask(() => this.turns.get(name) === turn && emit({ type: 'chat.tool', sandbox: name, name: t.name.slice(0, 128), calls: 1, arguments: t.args.slice(0, 4096), result: null, approvedBy: who }));
      }
      const n = noticeOf(e);
      if (n === null || seen.has(n.text) || seen.size >= MAX_NOTICES) return;
      seen.add(n.text);
      queueMicrotask(() => this.turns.get(name) === turn && emit({ type: 'chat.notice', sandbox: name, ...n }));
    });
    emit({ type: 'chat.user', sandbox: name, text: message });
    this.d.audit({ kind: 'sandbox.lifecycle', activity: 'chat_turn', sandbox: name, binary: agent, detail: { turn: turn.id, chars: message.length } });
    const done = this.run(name, agent, message, turn, emit).finally(() => {
      tap();
      for (const t of turn.timers) clearTimeout(t);
      this.turns.delete(name);
    });
    return { turn: turn.id, done };
  }

  /** Cancels the sandbox's turn: SIGINT to the agent's CLI inside, SIGTERM after 2 s, hang up after 5 s. */
  cancel(name: string): string | null {
    this.d.lifecycle.get(name);
    const t = this.turns.get(name);
    if (!t) return null;
    t.cancelled = true;
    const s = t.socket;
    if (s) {
      s.write(frame('k', Buffer.from([2])));
      t.timers.push(setTimeout(() => s.write(frame('k', Buffer.from([15]))), 2000));
      t.timers.push(setTimeout(() => s.destroy(), 5000));
    }
    return t.id;
  }

  private async run(name: string, agent: string, message: string, turn: Turn, emit: (e: ChatEvent) => void): Promise<void> {
    const t0 = Date.now();
    try {
      const why = await this.waitReady(name, agent, turn);
      if (why !== null) {
        emit({ type: 'chat.error', sandbox: name, reason: why });
        return;
      }
      const r = await this.exec(name, chatArgv(agent, message), chatEnv(agent), turn);
      // Denials published just before the CLI exited are emitted (queued microtasks) before the end.
      await new Promise((res) => setImmediate(res));
      if (turn.cancelled) {
        emit({ type: 'chat.error', sandbox: name, reason: 'cancelled' });
        return;
      }
      for (const e of parseTurn(agent, name, r.stdout, r.stderr, r.code, Date.now() - t0)) if (e.type !== 'chat.tool' || !turn.tools.has(e.name)) emit(e);
    } catch (err) {
      emit({ type: 'chat.error', sandbox: name, reason: err instanceof Error ? err.message : String(err) });
    }
  }

  /** null once the agent said it is ready since its sandbox's last start; else why the turn cannot run. */
  private async waitReady(name: string, agent: string, turn: Turn): Promise<string | null> {
    const adapter = ADAPTERS[agent];
    if (adapter === undefined) return null;
    const t0 = Date.now();
    for (let i = 0; ; i++) {
      if (turn.cancelled) return 'cancelled';
      let v;
      try {
        v = this.d.lifecycle.view(name);
      } catch {
        return `sandbox ${name} was destroyed`;
      }
      if (v.state !== 'running' && v.state !== 'starting' && v.state !== 'backoff') return `sandbox ${name} is not running (${v.state}); start it: nemoclaw ${name} start`;
      if (v.state === 'running' && v.startedAt !== null) {
        if (this.ready.get(name) === v.startedAt) return null;
        const since = Date.parse(v.startedAt);
        // eslint-disable-next-line no-control-regex
        const lines = readLog(this.d.lifecycle.logFile(name), { sinceMs: since }).map((r) => r.line.replace(/\x1b\[[0-9;]*m/g, ''));
        if (agentReady(adapter, lines)) {
          this.ready.set(name, v.startedAt);
          return null;
        }
      }
      if (Date.now() - t0 > READY_WITHIN_MS || i > READY_WITHIN_MS / 250 + 10) return `${adapter.name} in ${name} did not say it was ready within ${READY_WITHIN_MS / 1000} s; see: nemoclaw ${name} logs`;
      await new Promise((res) => setTimeout(res, 250));
    }
  }

  /** Runs argv in the sandbox without a terminal (stdin closed), bounded in output and time. */
  private async exec(name: string, argv: string[], env: Record<string, string>, turn: Turn): Promise<{ code: number; stdout: string; stderr: string }> {
    const socket = await openExec(this.d.lifecycle.execSocket(name), { argv, tty: false, env });
    turn.socket = socket;
    if (turn.cancelled) socket.write(frame('k', Buffer.from([2])));
    const argv0 = argv[0] as string;
    let stdout = '';
    let stderr = '';
    let code: number | null = null;
    const parser = new FrameParser((f) => {
      if (f.type === 'p' && f.payload.length >= 4) this.d.bus.publish(name, { type: 'sandbox.exec', argv0, argc: argv.length, tty: false, pid: f.payload.readUInt32BE(0) });
      else if (f.type === 'o' && stdout.length < OUTPUT_LIMIT) stdout += f.payload.toString('utf8');
      else if (f.type === 'r' && stderr.length < OUTPUT_LIMIT) stderr += f.payload.toString('utf8');
      else if (f.type === 'x' && f.payload.length >= 8) {
        const e = parseExit(f.payload);
        code = e.code ?? 128 + (e.signal ?? 0);
        this.d.bus.publish(name, { type: 'sandbox.exec_exit', argv0, code: e.code, signal: e.signal !== null ? String(e.signal) : null });
      } else if (f.type === 'f') stderr += `exec failed in the sandbox: ${f.payload.toString('utf8')}\n`;
    });
    socket.write(frame('e'));
    socket.on('data', (c: Buffer) => {
      try {
        parser.push(c);
      } catch {
        socket.destroy();
      }
    });
    const bound = setTimeout(() => {
      stderr += `the turn took longer than ${TURN_BOUND_MS / 1000} s and was cancelled\n`;
      this.cancel(name);
    }, TURN_BOUND_MS);
    turn.timers.push(bound);
    await new Promise<void>((done) => {
      socket.on('close', () => done());
      socket.on('error', () => done());
    });
    if (code === null) stderr += 'the agent\'s process ended without an exit status (its sandbox stopped or restarted)\n';
    return { code: code ?? 125, stdout, stderr };
  }
}

/**
 * The chat routes of the control API (docs/supervisor-api.md): POST .../chat starts a turn and
 * streams its records as NDJSON until chat.end or chat.error (`?wait=0`: 202 {turn} at once, the
 * events on the bus only); GET .../chat/history; POST .../chat/cancel. Returns false for any
 * other path.
 */
export async function chatRoute(chat: ChatService, req: IncomingMessage, res: ServerResponse, path: string, method: string, q: URLSearchParams): Promise<boolean> {
  const m = /^\/v1\/sandboxes\/([^/]+)\/chat(?:\/(history|cancel))?$/.exec(path);
  if (!m) return false;
  const name = decodeURIComponent(m[1] as string);
  const sub = m[2];
  try {
    if (sub === 'history' && method === 'GET') {
      const tail = q.has('tail') ? Number(q.get('tail')) : 500;
      if (!Number.isSafeInteger(tail) || tail < 0) throw new InvalidRequestError('tail: a non-negative integer');
      sendJson(res, 200, { turn: chat.current(name), history: chat.history(name, tail) });
      return true;
    }
    if (sub === 'cancel' && method === 'POST') {
      sendJson(res, 200, { cancelled: chat.cancel(name) });
      return true;
    }
    if (sub === undefined && method === 'POST') {
      const b = (await readJsonBody(req)) as Record<string, unknown>;
      if (typeof b !== 'object' || b === null || typeof b.message !== 'string') throw new InvalidRequestError('body: {"message": the text to send}');
      if (q.get('wait') === '0') {
        const { turn } = chat.start(name, b.message);
        sendJson(res, 202, { turn });
        return true;
      }
      const queued: ChatRecord[] = [];
      let started = false;
      const { turn, done } = chat.start(name, b.message, (r) => {
        if (started) res.write(`${JSON.stringify(r)}\n`);
        else queued.push(r);
      });
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'x-nemoclaw-turn': turn });
      started = true;
      for (const r of queued) res.write(`${JSON.stringify(r)}\n`);
      await done;
      res.end();
      return true;
    }
  } catch (err) {
    if (err instanceof ChatBusyError) {
      sendJson(res, 409, { error: 'busy', reason: err.message, turn: err.turn });
      return true;
    }
    if (err instanceof ChatNotRunningError) {
      sendJson(res, 409, { error: 'not_running', reason: err.message });
      return true;
    }
    throw err;
  }
  return false;
}
