// The Agent chat pane's pure parts: the per-sandbox conversation the store keeps (live entries,
// the supervisor's history replacing them without losing what arrived meanwhile), records mapped
// to entries, wrapped and inert lines, the body following the selected sandbox, and the keys
// (type, send, leave, cancel, scroll) as the dispatcher and the `?` help see them.
import { describe, expect, it } from 'vitest';
import { helpLines } from '../../src/tui/app/overlays.ts';
import { dispatch } from '../../src/tui/input/dispatcher.ts';
import type { DispatchCtx, UiState } from '../../src/tui/input/types.ts';
import { initialUiState } from '../../src/tui/input/ui-state.ts';
import { PANES } from '../../src/tui/layout/panes.ts';
import { ChatLog, chatEntry, type ChatEntry } from '../../src/tui/store/chat.ts';
import { TuiStore } from '../../src/tui/store/tui-store.ts';
import { fitLine, lineText } from '../../src/tui/text/line.ts';
import { typed } from '../../src/tui/widgets/chat/keys.ts';
import { conversationLines, wrap } from '../../src/tui/widgets/chat/reducer.ts';
import { chatBody } from '../../src/tui/widgets/chat/view.ts';

const T0 = Date.parse('2026-12-06T10:00:00Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();
const rec = (type: string, turn: string, ms: number, extra: Record<string, unknown>): Record<string, unknown> => ({ type, sandbox: 'oc', turn, ts: iso(ms), ...extra });
const entry = (r: Record<string, unknown>): ChatEntry => chatEntry(r) as ChatEntry;

const TURN1 = [
  rec('chat.user', 't1', 0, { text: 'What is in the workspace?' }),
  rec('chat.notice', 't1', 100, { kind: 'denied', text: 'egress denied: curl -> evil.example:443 (default-deny)' }),
  rec('chat.tool', 't1', 200, { name: 'exec', calls: 1, arguments: '{"command":"ls"}', result: null, approvedBy: 'allowed by alice (tui)' }),
  rec('chat.answer', 't1', 300, { text: 'Two files:\nnotes.txt and\x1b]52;c;cGF3bmVk\x07 data.csv' }),
  rec('chat.end', 't1', 300, { status: 'ok', ms: 3100, model: 'fake-model', provider: 'nemoclaw', session: 's', assistantTurns: 1, stopReason: 'stop' }),
];

const text = (lines: ReturnType<typeof conversationLines>, width: number): string[] => lines.map((l) => lineText(fitLine(l, width)).trimEnd());

describe('chat entries and the per-sandbox log', () => {
  it('maps every chat record; tool calls carry who approved them and their arguments', () => {
    expect(TURN1.map((r) => entry(r).kind)).toEqual(['user', 'notice', 'tool', 'answer', 'end']);
    expect(entry(TURN1[2]!)).toMatchObject({ text: 'exec (allowed by alice (tui))', detail: '{"command":"ls"}' });
    expect(entry(TURN1[1]!)).toMatchObject({ detail: 'denied' });
    expect(entry(TURN1[4]!)).toMatchObject({ text: 'ok in 3.1 s · fake-model', detail: 'ok' });
    expect(entry(rec('chat.error', 't2', 0, { reason: 'cancelled' }))).toMatchObject({ kind: 'error', text: 'cancelled' });
    expect(chatEntry({ type: 'log', line: 'x' })).toBeNull();
  });

  it('a user message marks the turn busy until its end or error; replays are skipped; the cap holds', () => {
    const log = new ChatLog(6);
    log.add('oc', entry(TURN1[0]!));
    expect(log.snapshot().oc?.busy).toBe('t1');
    for (const r of TURN1.slice(1)) log.add('oc', entry(r));
    log.add('oc', entry(TURN1[3]!)); // the stream replays what was already held
    expect(log.snapshot().oc?.entries.map((e) => e.kind)).toEqual(['user', 'notice', 'tool', 'answer', 'end']);
    expect(log.snapshot().oc?.busy).toBeNull();
    log.add('oc', entry(rec('chat.user', 't2', 1000, { text: 'again' })));
    log.add('oc', entry(rec('chat.error', 't2', 1100, { reason: 'cancelled' })));
    expect(log.snapshot().oc?.entries).toHaveLength(6);
    expect(log.snapshot().oc?.entries[0]?.kind).toBe('notice');
    expect(log.snapshot().oc?.busy).toBeNull();
  });

  it('the supervisor history replaces the held entries, keeping live ones that arrived after it was read', () => {
    const log = new ChatLog();
    log.add('oc', entry(rec('chat.user', 't9', 5000, { text: 'sent while the history was read' })));
    log.replace('oc', TURN1.map(entry), null);
    const v = log.snapshot().oc;
    expect(v?.entries.map((e) => e.turn)).toEqual(['t1', 't1', 't1', 't1', 't1', 't9']);
    expect(v?.busy).toBe('t9');
    log.remove('oc');
    expect(log.snapshot().oc).toBeUndefined();
  });

  it('the store carries chat and chat_history events into the snapshot; a destroyed sandbox loses its conversation', () => {
    const store = new TuiStore();
    store.ingest({ type: 'chat_history', ts: T0, sandbox: 'oc', entries: TURN1.map(entry), busy: null });
    store.ingest({ type: 'chat', ts: T0, sandbox: 'oc', entry: entry(rec('chat.user', 't2', 900, { text: 'more' })) });
    store.flush();
    expect(store.getSnapshot().chat.oc?.entries).toHaveLength(6);
    expect(store.getSnapshot().chat.oc?.busy).toBe('t2');
    store.ingest({ type: 'sandbox_removed', ts: T0, sandbox: 'oc' });
    store.flush();
    expect(store.getSnapshot().chat.oc).toBeUndefined();
    store.dispose();
  });
});

describe('chat lines', () => {
  it('wraps at newlines and at the width, and shows control sequences as visible escapes', () => {
    expect(wrap('abcdefgh\nij', 3)).toEqual(['abc', 'def', 'gh', 'ij']);
    expect(wrap('x\x1b[31my', 40)).toEqual(['x\\x1b[31my']);
  });

  it('newest at the bottom; scrolled back, the anchor entry starts at the top', () => {
    const es = TURN1.map(entry);
    const live = text(conversationLines(es, 0, 40, 6, false), 40);
    expect(live.at(-1)).toBe('  ok in 3.1 s · fake-model');
    expect(live).toContain('Two files:');
    expect(live.join('\n')).toContain('\\x1b]52;c;cGF3bmVk\\x07');
    expect(live.join('\n')).not.toContain('\x1b');
    const back = text(conversationLines(es, 4, 60, 3, false), 60);
    expect(back[0]).toBe('> What is in the workspace?');
    expect(text(conversationLines(es, 2, 60, 8, true), 60)).toEqual([
      `${new Date(T0 + 200).toTimeString().slice(0, 8)} # tool exec (allowed by alice (tui))`,
      '                {"command":"ls"}',
      'Two files:',
      'notes.txt and\\x1b]52;c;cGF3bmVk\\x07 data.csv',
      '  ok in 3.1 s · fake-model',
    ]);
  });
});

const ctx = (over: Partial<DispatchCtx> = {}): DispatchCtx => ({ pending: [], rowCounts: { chat: 5 }, visible: [...PANES], themes: ['ansi'], sandboxes: ['beta', 'oc'], pageSize: 9, chatSandbox: 'oc', ...over });
const start = (over: Partial<UiState> = {}): UiState => ({ ...initialUiState({ theme: 'ansi' }), focus: 'chat', ...over });

describe('the chat pane', () => {
  it('follows the sandbox under the Sandboxes cursor, or the one Logs is limited to; the last row is the input line', () => {
    const store = new TuiStore();
    for (const name of ['beta', 'oc']) store.ingest({ type: 'sandbox_state', ts: T0, sandbox: { name, state: 'running', blueprint: 'openclaw', policyRevision: 1 } });
    store.ingest({ type: 'chat_history', ts: T0, sandbox: 'oc', entries: TURN1.slice(0, 1).map(entry), busy: 't1' });
    store.flush();
    const snap = store.getSnapshot();
    const draw = (ui: UiState, h = 4) => {
      const b = chatBody({ snapshot: snap, ui, width: 60, height: h, now: T0, focused: true });
      return { rows: b.lines.map((l) => lineText(fitLine(l, 60)).trimEnd()), footer: b.footer };
    };
    expect(draw(start())).toEqual({ rows: ['No conversation with beta yet: i types a message.', '', '', 'i type · k/j scroll · Ctrl-X cancel'], footer: 'beta · 0 turns' });
    expect(draw(start({ cursor: { sandboxes: 1 } }))).toEqual({ rows: ['', '', `${new Date(T0).toTimeString().slice(0, 8)} > What is in the workspace?`, 'answering… Ctrl-X cancels · i type · k/j scroll'], footer: 'oc · answering' });
    expect(draw(start({ sandbox: 'oc' })).footer).toBe('oc · answering');
    // Typing: the mode's sandbox, whatever the cursor; the input row is left to ink-text-input.
    expect(draw(start({ modes: [{ kind: 'chatInput', sandbox: 'oc', text: 'hi' }] })).rows.at(-1)).toBe('>');
    store.dispose();
  });

  it('i opens the input for the followed sandbox; Enter sends the text as an effect and clears it; Esc leaves; Ctrl-X cancels', () => {
    let s = dispatch(start(), ['i'], ctx()).state;
    expect(s.modes.at(-1)).toEqual({ kind: 'chatInput', sandbox: 'oc', text: '' });
    // Letters are the text field's: the dispatcher neither acts on them nor complains.
    const r0 = dispatch(s, ['q', 'j', '1'], ctx());
    expect(r0.state).toEqual(s);
    expect(r0.effects).toEqual([]);
    s = typed(s, '  hello agent ');
    const sent = dispatch(s, ['enter'], ctx());
    expect(sent.effects).toEqual([{ type: 'chatSend', sandbox: 'oc', message: 'hello agent' }]);
    expect(sent.state.modes.at(-1)).toEqual({ kind: 'chatInput', sandbox: 'oc', text: '' });
    expect(dispatch(sent.state, ['enter'], ctx()).effects).toEqual([]);
    expect(dispatch(sent.state, ['ctrl+x'], ctx()).effects).toEqual([{ type: 'chatCancel', sandbox: 'oc' }]);
    expect(dispatch(sent.state, ['escape'], ctx()).state.modes).toEqual([]);
    expect(dispatch(start(), ['C'], ctx()).effects).toEqual([{ type: 'chatCancel', sandbox: 'oc' }]);
    expect(dispatch(start(), ['i'], ctx({ chatSandbox: null })).state.message).toEqual({ text: 'no sandbox selected for chat', tone: 'warn' });
    expect(typed(start(), 'x')).toEqual(start());
  });

  it('k and j scroll by entry within the conversation; G returns to the newest', () => {
    const c = ctx();
    expect(dispatch(start(), ['k', 'k'], c).state.cursor.chat).toBe(2);
    expect(dispatch(start(), ['k', 'k', 'k', 'k', 'k', 'k', 'k'], c).state.cursor.chat).toBe(4);
    expect(dispatch(start(), ['k', 'k', 'j'], c).state.cursor.chat).toBe(1);
    expect(dispatch(start(), ['g'], c).state.cursor.chat).toBe(4);
    expect(dispatch(start(), ['g', 'G'], c).state.cursor.chat).toBe(0);
  });

  it('? lists the chat keys: focus the input, send, leave, cancel, scroll', () => {
    const help = helpLines(start()).map((l) => lineText(l)).join('\n');
    expect(help).toContain('type a message');
    expect(help).toContain('cancel the turn in progress');
    expect(help).toContain('scroll back one entry');
    const typing = helpLines(start({ modes: [{ kind: 'chatInput', sandbox: 'oc', text: '' }] })).map((l) => lineText(l)).join('\n');
    expect(typing).toContain('send the message');
    expect(typing).toContain('leave the input');
  });
});
