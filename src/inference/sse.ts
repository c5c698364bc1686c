// Server-sent events on the way back: usage read from the stream (for budgets and the audit
// record), and placeholders restored in streamed text with a hold-back (redact.ts StreamRestorer),
// so a placeholder split across chunks or events still reaches the agent as the original value.
// Event framing is OpenAI's chat/completions and Responses streams and Anthropic's messages
// stream; an event we cannot parse passes through with its placeholders restored as text.
import type { RedactionContext } from './redact.ts';
import { StreamRestorer, restoreText } from './redact.ts';

export interface Usage {
  input: number | null;
  output: number | null;
}

/** Reads token counts from one parsed event or JSON answer, whichever API shape it has. */
export function readUsage(obj: unknown, acc: Usage): void {
  if (obj === null || typeof obj !== 'object') return;
  const o = obj as Record<string, unknown>;
  const take = (u: unknown): void => {
    if (u === null || typeof u !== 'object') return;
    const x = u as Record<string, unknown>;
    const i = x.prompt_tokens ?? x.input_tokens;
    const out = x.completion_tokens ?? x.output_tokens;
    if (typeof i === 'number') acc.input = i;
    if (typeof out === 'number') acc.output = out;
  };
  take(o.usage);
  if (o.message !== null && typeof o.message === 'object') take((o.message as Record<string, unknown>).usage); // anthropic message_start
  if (o.response !== null && typeof o.response === 'object') take((o.response as Record<string, unknown>).usage); // responses: response.completed
}

/** Splits a byte stream of SSE into whole events (CRLF normalised), keeping the partial rest. */
export class SseSplitter {
  private buf = '';
  private readonly decoder = new TextDecoder('utf-8');
  /** Bytes of one event we hold at most: a server that never ends an event is cut, not buffered forever. */
  private readonly maxEvent: number;
  constructor(maxEvent = 4 * 1024 * 1024) {
    this.maxEvent = maxEvent;
  }

  push(chunk: Buffer): string[] {
    this.buf += this.decoder.decode(chunk, { stream: true });
    if (this.buf.includes('\r')) this.buf = this.buf.replace(/\r\n?/g, '\n');
    const out: string[] = [];
    for (let i = this.buf.indexOf('\n\n'); i !== -1; i = this.buf.indexOf('\n\n')) {
      out.push(this.buf.slice(0, i));
      this.buf = this.buf.slice(i + 2);
    }
    if (this.buf.length > this.maxEvent) throw new Error('an upstream event exceeds 4 MiB');
    return out;
  }

  rest(): string {
    const r = this.buf + this.decoder.decode();
    this.buf = '';
    return r;
  }
}

function dataOf(ev: string): { data: string | null; event: string | null } {
  let data: string | null = null;
  let event: string | null = null;
  for (const line of ev.split('\n')) {
    if (line.startsWith('data:')) {
      const v = line.slice(line[5] === ' ' ? 6 : 5);
      data = data === null ? v : `${data}\n${v}`;
    } else if (line.startsWith('event:')) event = line.slice(line[6] === ' ' ? 7 : 6);
  }
  return { data, event };
}

/** Reads usage from a stream without changing it (the pass-through path). */
export class UsageTap {
  private readonly split = new SseSplitter();
  readonly usage: Usage = { input: null, output: null };
  push(chunk: Buffer): void {
    for (const ev of this.split.push(chunk)) {
      if (!ev.includes('"usage"')) continue;
      const { data } = dataOf(ev);
      if (data === null) continue;
      try {
        readUsage(JSON.parse(data), this.usage);
      } catch {
        // not JSON: nothing to count
      }
    }
  }
}

interface Slot {
  restorer: StreamRestorer;
  /** Builds an event carrying `text` in this slot's place. */
  emit: (text: string) => string;
  group: string;
}

function frame(event: string | null, obj: unknown): string {
  return `${event !== null ? `event: ${event}\n` : ''}data: ${JSON.stringify(obj)}\n\n`;
}

/**
 * Rewrites a redacted stream on its way to the agent. Text deltas are restored through one
 * StreamRestorer per slot (choice content, tool-call arguments, content block, output item);
 * whatever a slot still holds is sent as an extra delta before the event that ends it.
 */
export class SseRestorer {
  private readonly split = new SseSplitter();
  private readonly slots = new Map<string, Slot>();
  readonly usage: Usage = { input: null, output: null };

  private readonly ctx: RedactionContext;
  private readonly dropUsage: boolean;
  /** dropUsage: the usage-only chunk is read, then kept from the client (the router asked for it, the client did not). */
  constructor(ctx: RedactionContext, opts: { dropUsage?: boolean } = {}) {
    this.ctx = ctx;
    this.dropUsage = opts.dropUsage ?? false;
  }

  push(chunk: Buffer): string {
    let out = '';
    for (const ev of this.split.push(chunk)) out += this.event(ev);
    return out;
  }

  /** The end of the stream: whatever is held, then an unterminated last event as text. */
  end(): string {
    const rest = this.split.rest();
    return this.flush(null) + (rest.length > 0 ? restoreText(rest, this.ctx) : '');
  }

  private flush(group: string | null): string {
    let out = '';
    for (const [k, s] of this.slots) {
      if (group !== null && s.group !== group) continue;
      const t = s.restorer.flush();
      if (t.length > 0) out += s.emit(t);
      this.slots.delete(k);
    }
    return out;
  }

  private slot(key: string, group: string, emit: (text: string) => string): StreamRestorer {
    let s = this.slots.get(key);
    if (!s) {
      s = { restorer: new StreamRestorer(this.ctx), emit, group };
      this.slots.set(key, s);
    }
    return s.restorer;
  }

  private event(ev: string): string {
    const { data, event } = dataOf(ev);
    if (data === null) return `${ev}\n\n`; // comments, retry lines
    if (data === '[DONE]') return `${this.flush(null)}${ev}\n\n`;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return `${this.flush(null)}${restoreText(ev, this.ctx)}\n\n`;
    }
    if (obj === null || typeof obj !== 'object') return `${this.flush(null)}${restoreText(ev, this.ctx)}\n\n`;
    readUsage(obj, this.usage);
    if (Array.isArray(obj.choices)) return this.openai(obj, event);
    const type = typeof obj.type === 'string' ? obj.type : '';
    // Anthropic content_block_delta: {index, delta:{type:text_delta,text}|{type:input_json_delta,partial_json}}
    if (type === 'content_block_delta' && obj.delta !== null && typeof obj.delta === 'object') {
      const d = obj.delta as Record<string, unknown>;
      const field = typeof d.text === 'string' ? 'text' : typeof d.partial_json === 'string' ? 'partial_json' : null;
      if (field !== null) {
        const r = this.slot(`a${String(obj.index)}`, `a${String(obj.index)}`, (t) => frame(event, { ...obj, delta: { ...d, [field]: t } }));
        const text = r.push(d[field] as string);
        return text.length > 0 ? frame(event, { ...obj, delta: { ...d, [field]: text } }) : '';
      }
    }
    // Responses API: response.output_text.delta, response.function_call_arguments.delta, ...
    if (type.endsWith('.delta') && typeof obj.delta === 'string') {
      const key = `r${String(obj.item_id ?? obj.output_index)}.${String(obj.content_index ?? '')}`;
      const r = this.slot(key, key, (t) => frame(event, { ...obj, delta: t }));
      const text = r.push(obj.delta);
      return text.length > 0 ? frame(event, { ...obj, delta: text }) : '';
    }
    // Anything else ends what was pending, and may itself carry text (done events, message_start).
    const held = type === 'content_block_stop' ? this.flush(`a${String(obj.index)}`) : this.flush(null);
    return held + frame(event, restoreDeep(obj, this.ctx));
  }

  private openai(obj: Record<string, unknown>, event: string | null): string {
    let before = '';
    const choices = (obj.choices as unknown[]).map((c) => {
      if (c === null || typeof c !== 'object') return c;
      const ch = c as Record<string, unknown>;
      const idx = String(ch.index ?? 0);
      const base = { ...obj, usage: undefined };
      const one = (patch: Record<string, unknown>) => frame(event, { ...base, choices: [{ index: ch.index ?? 0, finish_reason: null, ...patch }] });
      const out: Record<string, unknown> = { ...ch };
      if (typeof ch.text === 'string') {
        out.text = this.slot(`x${idx}`, idx, (t) => one({ text: t })).push(ch.text); // completions
      }
      if (ch.delta !== null && typeof ch.delta === 'object') {
        const d = { ...(ch.delta as Record<string, unknown>) };
        if (typeof d.content === 'string') d.content = this.slot(`c${idx}`, idx, (t) => one({ delta: { content: t } })).push(d.content);
        if (Array.isArray(d.tool_calls)) {
          d.tool_calls = d.tool_calls.map((tc: unknown) => {
            if (tc === null || typeof tc !== 'object') return tc;
            const call = tc as Record<string, unknown>;
            const fn = call.function as Record<string, unknown> | undefined;
            if (!fn || typeof fn.arguments !== 'string') return call;
            const j = call.index;
            const r = this.slot(`t${idx}.${String(j)}`, idx, (t) => one({ delta: { tool_calls: [{ index: j, function: { arguments: t } }] } }));
            return { ...call, function: { ...fn, arguments: r.push(fn.arguments) } };
          });
        }
        out.delta = d;
      }
      if (ch.message !== undefined) out.message = restoreDeep(ch.message, this.ctx);
      if (ch.finish_reason !== null && ch.finish_reason !== undefined) {
        // Held text goes out before the event that finishes its choice.
        before += this.flushInto(idx, out);
      }
      return out;
    });
    if (choices.length === 0) {
      before += this.flush(null); // the usage chunk comes last
      if (this.dropUsage && obj.usage !== null && obj.usage !== undefined) return before;
    }
    return before + frame(event, { ...obj, choices });
  }

  /** Appends a finishing choice's held content to its own delta; other held slots go out first. */
  private flushInto(idx: string, out: Record<string, unknown>): string {
    const c = this.slots.get(`c${idx}`);
    if (c && out.delta !== null && typeof out.delta === 'object') {
      const d = out.delta as Record<string, unknown>;
      d.content = (typeof d.content === 'string' ? d.content : '') + c.restorer.flush();
      this.slots.delete(`c${idx}`);
    }
    const x = this.slots.get(`x${idx}`);
    if (x && typeof out.text === 'string') {
      out.text += x.restorer.flush();
      this.slots.delete(`x${idx}`);
    }
    return this.flush(idx);
  }
}

export function restoreDeep(v: unknown, ctx: RedactionContext): unknown {
  if (typeof v === 'string') return restoreText(v, ctx);
  if (Array.isArray(v)) return v.map((x) => restoreDeep(x, ctx));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = restoreDeep(x, ctx);
    return out;
  }
  return v;
}
