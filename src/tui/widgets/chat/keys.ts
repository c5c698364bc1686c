// The Agent chat pane's keys. Typing happens in ink-text-input (src/tui/app/chat-input.ts); these
// rows are what the dispatcher handles around it, and what `?` shows.
import { ok, popMode, pushMode, replaceTop, say, topMode, type Handler, type KeyBinding, type UiState } from '../../input/types.ts';

export const chatKeys: readonly KeyBinding[] = [
  { keys: ['i', 'enter'], context: 'chat', action: 'chat.input', description: 'type a message to the selected sandbox’s agent (Enter sends, Esc leaves)' },
  { keys: ['ctrl+x', 'C'], context: 'chat', action: 'chat.cancel', description: 'cancel the turn in progress' },
  { keys: ['k', 'up'], context: 'chat', action: 'chat.older', description: 'scroll back one entry' },
  { keys: ['j', 'down'], context: 'chat', action: 'chat.newer', description: 'scroll forward one entry' },
  { keys: ['pageup', 'ctrl+u'], context: 'chat', action: 'chat.pageOlder', description: 'scroll back a page of entries' },
  { keys: ['pagedown', 'ctrl+d'], context: 'chat', action: 'chat.pageNewer', description: 'scroll forward a page of entries' },
  { keys: ['G', 'end'], context: 'chat', action: 'chat.newest', description: 'back to the newest' },
  { keys: ['g', 'home'], context: 'chat', action: 'chat.oldest', description: 'the oldest entry kept' },
  { keys: ['enter'], context: 'chatInput', action: 'chat.send', description: 'send the message (one turn at a time per sandbox)' },
  { keys: ['escape'], context: 'chatInput', action: 'chat.leave', description: 'leave the input' },
  { keys: ['ctrl+x'], context: 'chatInput', action: 'chat.cancel', description: 'cancel the turn in progress' },
  { keys: ['pageup'], context: 'chatInput', action: 'chat.pageOlder', description: 'scroll back a page of entries' },
  { keys: ['pagedown'], context: 'chatInput', action: 'chat.pageNewer', description: 'scroll forward a page of entries' },
  { keys: ['ctrl+c'], context: 'chatInput', action: 'quit.now', description: 'quit' },
];

function scroll(delta: number | 'newest' | 'oldest', page = false): Handler {
  return (s, ctx) => {
    const n = ctx.rowCounts.chat ?? 0;
    const cur = s.cursor.chat ?? 0;
    const d = typeof delta === 'number' ? delta * (page ? Math.max(1, Math.floor(ctx.pageSize / 3)) : 1) : 0;
    const next = delta === 'newest' ? 0 : delta === 'oldest' ? Math.max(0, n - 1) : Math.max(0, Math.min(Math.max(0, n - 1), cur + d));
    return ok({ ...s, cursor: { ...s.cursor, chat: next } });
  };
}

export const chatActions: Record<string, Handler> = {
  'chat.input': (s, ctx) => {
    const name = ctx.chatSandbox ?? null;
    if (name === null) return ok(say(s, 'no sandbox selected for chat', 'warn'));
    return ok(pushMode({ ...s, cursor: { ...s.cursor, chat: 0 } }, { kind: 'chatInput', sandbox: name, text: '' }));
  },
  'chat.send': (s) => {
    const m = topMode(s);
    if (m?.kind !== 'chatInput') return ok(s);
    const text = m.text.trim();
    if (text === '') return ok(s);
    return ok(replaceTop({ ...s, cursor: { ...s.cursor, chat: 0 } }, { ...m, text: '' }), [{ type: 'chatSend', sandbox: m.sandbox, message: text }]);
  },
  'chat.leave': (s) => ok(popMode(s)),
  'chat.cancel': (s, ctx) => {
    const m = topMode(s);
    const name = m?.kind === 'chatInput' ? m.sandbox : (ctx.chatSandbox ?? null);
    return name === null ? ok(say(s, 'no sandbox selected for chat', 'warn')) : ok(s, [{ type: 'chatCancel', sandbox: name }]);
  },
  'chat.older': scroll(1),
  'chat.newer': scroll(-1),
  'chat.pageOlder': scroll(1, true),
  'chat.pageNewer': scroll(-1, true),
  'chat.newest': scroll('newest'),
  'chat.oldest': scroll('oldest'),
};

/** The text the input holds now (ink-text-input's onChange), kept in the mode. */
export function typed(s: UiState, text: string): UiState {
  const m = topMode(s);
  return m?.kind === 'chatInput' ? replaceTop(s, { ...m, text: text.slice(0, 16 * 1024) }) : s;
}
