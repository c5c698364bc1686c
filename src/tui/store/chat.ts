// The Agent chat pane's data: per sandbox, the conversation the supervisor keeps (its history,
// fetched on attach, then its chat.* events live), bounded. Plain data, no React: the store
// applies `chat` and `chat_history` TuiEvents here and the snapshot carries the result.

/** One entry of a conversation, as the pane shows it. Text is the agent's (or the operator's): shown through inert(). */
export interface ChatEntry {
  ts: number;
  turn: string;
  kind: 'user' | 'answer' | 'tool' | 'notice' | 'error' | 'end';
  text: string;
  /** tool: its arguments (cut); notice: asked | approved | denied; end: its status. */
  detail?: string;
}

export interface ChatView {
  /** Oldest first. */
  entries: readonly ChatEntry[];
  /** The turn running now (an answer is awaited), or null. */
  busy: string | null;
}

/** Entries kept per sandbox (the supervisor holds the whole history; the pane, the recent part). */
export const CHAT_ENTRIES = 500;

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** A record of the supervisor's chat (a bus event or a history line) as an entry; null for anything else. */
export function chatEntry(r: Record<string, unknown>): ChatEntry | null {
  const t = Date.parse(str(r.ts));
  const base = { ts: Number.isFinite(t) ? t : Date.now(), turn: str(r.turn) };
  switch (r.type) {
    case 'chat.user':
      return { ...base, kind: 'user', text: str(r.text) };
    case 'chat.answer':
      return { ...base, kind: 'answer', text: str(r.text) };
    case 'chat.tool': {
      const calls = num(r.calls) ?? 1;
      const who = str(r.approvedBy);
      return { ...base, kind: 'tool', text: `${str(r.name)}${calls > 1 ? ` x${calls}` : ''}${who ? ` (${who})` : ''}`, ...(typeof r.arguments === 'string' ? { detail: r.arguments } : {}) };
    }
    case 'chat.notice':
      return { ...base, kind: 'notice', text: str(r.text), detail: str(r.kind) };
    case 'chat.error':
      return { ...base, kind: 'error', text: str(r.reason) };
    case 'chat.end': {
      const ms = num(r.ms);
      const status = str(r.status);
      return { ...base, kind: 'end', text: `${status}${ms !== null ? ` in ${(ms / 1000).toFixed(1)} s` : ''}${typeof r.model === 'string' ? ` · ${r.model}` : ''}`, detail: status };
    }
    default:
      return null;
  }
}

function same(a: ChatEntry, b: ChatEntry): boolean {
  return a.ts === b.ts && a.turn === b.turn && a.kind === b.kind && a.text === b.text;
}

/** Per-sandbox conversations. */
export class ChatLog {
  readonly #by = new Map<string, { entries: ChatEntry[]; busy: string | null }>();
  readonly #cap: number;

  constructor(cap = CHAT_ENTRIES) {
    this.#cap = Math.max(1, cap);
  }

  #of(sandbox: string): { entries: ChatEntry[]; busy: string | null } {
    let c = this.#by.get(sandbox);
    if (c === undefined) {
      c = { entries: [], busy: null };
      this.#by.set(sandbox, c);
    }
    return c;
  }

  /** A live entry. A user message opens its turn; an end or an error closes it. One already held (a replay) is skipped. */
  add(sandbox: string, e: ChatEntry): void {
    const c = this.#of(sandbox);
    for (let i = c.entries.length - 1; i >= Math.max(0, c.entries.length - 64); i--) if (same(c.entries[i] as ChatEntry, e)) return;
    c.entries.push(e);
    if (c.entries.length > this.#cap) c.entries.splice(0, c.entries.length - this.#cap);
    if (e.kind === 'user') c.busy = e.turn;
    else if ((e.kind === 'end' || e.kind === 'error') && c.busy === e.turn) c.busy = null;
  }

  /**
   * The supervisor's history replaces what was held; live entries newer than its last one (they
   * arrived while it was being read) are kept after it.
   */
  replace(sandbox: string, entries: readonly ChatEntry[], busy: string | null): void {
    const last = entries[entries.length - 1];
    const held = this.#by.get(sandbox);
    const newer = held === undefined ? [] : held.entries.filter((e) => (last === undefined || e.ts >= last.ts) && !entries.some((h) => same(h, e)));
    const all = [...entries, ...newer];
    let b = busy;
    for (const e of newer) if (e.kind === 'user') b = e.turn;
    else if ((e.kind === 'end' || e.kind === 'error') && b === e.turn) b = null;
    this.#by.set(sandbox, { entries: all.slice(-this.#cap), busy: b });
  }

  remove(sandbox: string): void {
    this.#by.delete(sandbox);
  }

  snapshot(): Readonly<Record<string, ChatView>> {
    const out: Record<string, ChatView> = {};
    for (const [name, c] of this.#by) out[name] = Object.freeze({ entries: Object.freeze([...c.entries]), busy: c.busy });
    return Object.freeze(out);
  }
}
