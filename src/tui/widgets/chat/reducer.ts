// The Agent chat pane's pure half: which sandbox it follows, and a conversation as wrapped lines.
import type { UiState } from '../../input/types.ts';
import type { ChatEntry, ChatView } from '../../store/chat.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { inert } from '../../../text/index.ts';
import { seg, type Line } from '../../text/line.ts';
import type { Token } from '../../theme/theme.ts';
import { charWidth } from '../../text/cells.ts';
import { clamp, hhmmss } from '../common.ts';
import { sandboxRows } from '../sandboxes/reducer.ts';

/**
 * The sandbox the chat follows: the one being typed to, else the one Logs is limited to (`l`),
 * else the one under the Sandboxes pane's cursor.
 */
export function chatSandbox(snapshot: TuiSnapshot, ui: UiState): string | null {
  const top = ui.modes[ui.modes.length - 1];
  if (top?.kind === 'chatInput') return top.sandbox;
  if (ui.sandbox !== null) return ui.sandbox;
  const rows = sandboxRows(snapshot, ui);
  return rows[clamp(ui.cursor.sandboxes ?? 0, 0, Math.max(0, rows.length - 1))]?.name ?? null;
}

const EMPTY: ChatView = { entries: [], busy: null };

export function chatView(snapshot: TuiSnapshot, sandbox: string | null): ChatView {
  return sandbox === null ? EMPTY : (snapshot.chat[sandbox] ?? EMPTY);
}

/** Entries of the followed conversation (scrolling moves by entry: rowCount for the cursor keys). */
export function chatRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return chatView(snapshot, chatSandbox(snapshot, ui)).entries.length;
}

/** `text` (inert) cut into pieces of at most `width` cells, at newlines and at the width. */
export function wrap(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = inert(raw, { tabs: 'space' });
    let cur = '';
    let used = 0;
    for (const ch of line) {
      const cw = charWidth(ch.codePointAt(0) ?? 0);
      if (used + cw > w) {
        out.push(cur);
        cur = '';
        used = 0;
      }
      cur += ch;
      used += cw;
    }
    out.push(cur);
  }
  return out;
}

const STYLE: Readonly<Record<ChatEntry['kind'], { mark: string; tone: Token }>> = {
  user: { mark: '> ', tone: 'accent' },
  answer: { mark: '', tone: 'text' },
  tool: { mark: '# tool ', tone: 'info' },
  notice: { mark: '! ', tone: 'warn' },
  error: { mark: 'x ', tone: 'error' },
  end: { mark: '  ', tone: 'muted' },
};

const NOTICE_TONE: Readonly<Record<string, Token>> = { asked: 'warn', approved: 'allow', denied: 'deny' };

/** One entry as lines of at most `width` cells (a time column first when `time`). */
export function entryLines(e: ChatEntry, width: number, time: boolean): Line[] {
  const s = STYLE[e.kind];
  const tone = e.kind === 'notice' ? (NOTICE_TONE[e.detail ?? ''] ?? 'warn') : e.kind === 'end' && e.detail !== 'ok' ? 'warn' : s.tone;
  const prefix = time && (e.kind === 'user' || e.kind === 'notice' || e.kind === 'tool') ? `${hhmmss(e.ts)} ` : '';
  const indent = prefix.length + s.mark.length;
  const body = wrap(e.text, Math.max(8, width - indent));
  const lines: Line[] = body.map((t, i) =>
    i === 0 ? [...(prefix ? [seg(prefix, 'muted')] : []), seg(s.mark, tone, { bold: e.kind === 'user' }), seg(t, tone, { dim: e.kind === 'end' })] : [seg(' '.repeat(indent)), seg(t, tone)],
  );
  if (e.kind === 'tool' && e.detail) for (const t of wrap(e.detail, Math.max(8, width - indent)).slice(0, 3)) lines.push([seg(' '.repeat(indent)), seg(t, 'muted')]);
  return lines;
}

/**
 * The conversation's lines for `height` rows. `back` entries scrolled away from the newest: at 0
 * the newest lines are at the bottom; scrolled back, the anchor entry starts at the top (a long
 * answer is read from its beginning).
 */
export function conversationLines(entries: readonly ChatEntry[], back: number, width: number, height: number, time: boolean): Line[] {
  if (height <= 0 || entries.length === 0) return [];
  const b = clamp(back, 0, entries.length - 1);
  if (b === 0) {
    const out: Line[] = [];
    for (let i = entries.length - 1; i >= 0 && out.length < height; i--) {
      const ls = entryLines(entries[i] as ChatEntry, width, time);
      out.unshift(...ls.slice(Math.max(0, ls.length - (height - out.length))));
    }
    return out;
  }
  const out: Line[] = [];
  for (let i = entries.length - 1 - b; i < entries.length && out.length < height; i++) out.push(...entryLines(entries[i] as ChatEntry, width, time).slice(0, height - out.length));
  return out;
}
