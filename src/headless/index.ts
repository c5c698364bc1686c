// Headless mode (`nemoclaw serve --headless`): the supervisor's event stream as NDJSON on stdout,
// decisions as NDJSON on stdin:
//   {"approve":"<id>"}  {"approve":"<id>","always":true}  {"deny":"<id>"}  {"deny":"<id>","always":true}
// Each decision is answered with one line: {"type":"decision.result","id",...,"ok":bool,"reason"?}.
// Lines that are not decisions get {"type":"decision.error","reason"}. Never imports Ink/React.
// Chat (docs/agents.md "Chat"): {"chat":"<sandbox>","message":"..."} starts a turn, answered by
// {"type":"chat.result","sandbox","ok":true,"turn"} (or "ok":false with a reason); the turn's
// events (chat.user, chat.notice, chat.tool, chat.answer, chat.end | chat.error) follow on the
// stream like every bus event. {"cancel":"<sandbox>"} cancels its turn ("cancelled": id or null).
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ApprovalQueue } from '../approvals/index.ts';
import type { EventBus, Subscription } from '../supervisor/index.ts';

export interface HeadlessOptions {
  bus: EventBus;
  approvals: ApprovalQueue;
  input?: Readable;
  output?: Writable;
  /** Who decides, as recorded in the audit log. */
  user?: string;
  /** Replay from this sequence number (default: everything still buffered). */
  since?: number;
  /** Chat turns (the supervisor's ChatService); without it chat lines are refused. */
  chat?: HeadlessChat;
}

/** What headless needs of the supervisor's chat: start a turn (its id), cancel one (its id or null). Both throw a one-line reason. */
export interface HeadlessChat {
  start(sandbox: string, message: string): { turn: string };
  cancel(sandbox: string): string | null;
}

export type ChatLine = { sandbox: string; message: string } | { sandbox: string; cancel: true };

/** A chat line ({"chat":NAME,"message":TEXT} or {"cancel":NAME}), or null for anything else. */
export function parseChatLine(line: string): ChatLine | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (typeof o.chat === 'string' && typeof o.message === 'string') return { sandbox: o.chat, message: o.message };
  if (typeof o.cancel === 'string') return { sandbox: o.cancel, cancel: true };
  return null;
}

export interface Headless {
  /** Resolves when stdin ends. */
  inputClosed: Promise<void>;
  close(): void;
}

export type Decision = { id: string; verdict: 'allow' | 'deny'; always: boolean };

export function parseDecision(line: string): Decision | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'expected an object';
  const o = v as Record<string, unknown>;
  const always = o.always === true;
  if (typeof o.approve === 'string') return { id: o.approve, verdict: 'allow', always };
  if (typeof o.deny === 'string') return { id: o.deny, verdict: 'deny', always };
  return 'expected {"approve":"<id>"} or {"deny":"<id>"} (optionally "always": true)';
}

export function runHeadless(o: HeadlessOptions): Headless {
  const out = o.output ?? process.stdout;
  const input = o.input ?? process.stdin;
  const user = o.user ?? process.env.USER ?? 'headless';
  const write = (v: unknown): boolean => out.write(`${JSON.stringify(v)}\n`);
  const sub: Subscription = o.bus.subscribe(o.since ?? 0, {
    onEvent: (e) => {
      if (!write(e)) {
        sub.pause();
        out.once('drain', () => sub.resume());
      }
    },
    onDropped: (count, resumeSeq) => write({ type: 'stream.dropped', count, resumeSeq }),
  });
  const rl = createInterface({ input, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const c = parseChatLine(line);
    if (c !== null) {
      try {
        if (o.chat === undefined) throw new Error('this stream has no chat');
        if ('cancel' in c) write({ type: 'chat.result', sandbox: c.sandbox, ok: true, cancelled: o.chat.cancel(c.sandbox) });
        else write({ type: 'chat.result', sandbox: c.sandbox, ok: true, turn: o.chat.start(c.sandbox, c.message).turn });
      } catch (err) {
        write({ type: 'chat.result', sandbox: c.sandbox, ok: false, reason: err instanceof Error ? err.message : String(err) });
      }
      return;
    }
    const d = parseDecision(line);
    if (typeof d === 'string') {
      write({ type: 'decision.error', reason: d });
      return;
    }
    void o.approvals.decide(d.id, { verdict: d.verdict, always: d.always, by: { user, origin: 'headless' } }).then(
      (r) => write(r ? { type: 'decision.result', id: d.id, ok: true, verdict: r.verdict, always: r.always, persisted: r.persisted ?? null, ...(r.persistError !== undefined ? { persistError: r.persistError } : {}) } : { type: 'decision.result', id: d.id, ok: false, reason: 'not pending (unknown, timed out, or already decided)' }),
      (err: unknown) => write({ type: 'decision.result', id: d.id, ok: false, reason: err instanceof Error ? err.message : String(err) }),
    );
  });
  const inputClosed = new Promise<void>((r) => rl.on('close', () => r()));
  return {
    inputClosed,
    close() {
      sub.close();
      rl.close();
    },
  };
}
