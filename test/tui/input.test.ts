import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/tui/input/commands.ts';
import { dispatch, findBinding } from '../../src/tui/input/dispatcher.ts';
import { KEYMAP } from '../../src/tui/input/keymap.ts';
import { tokenize } from '../../src/tui/input/tokenize.ts';
import type { DispatchCtx, UiState } from '../../src/tui/input/types.ts';
import { initialUiState } from '../../src/tui/input/ui-state.ts';
import { PANES } from '../../src/tui/layout/panes.ts';
import type { PendingApproval } from '../../src/tui/store/events.ts';
import { ACTIONS } from '../../src/tui/input/dispatcher.ts';

const approval = (id: string): PendingApproval => ({ id, sandbox: 'demo', kind: 'egress', summary: `curl ${id}`, createdAt: 0, timeoutAt: 60_000, alwaysRule: { allow: `allow-rule-${id}`, deny: `deny-rule-${id}` } });

function ctx(over: Partial<DispatchCtx> = {}): DispatchCtx {
  return { pending: [approval('ap-1'), approval('ap-2')], rowCounts: { logs: 50, egress: 10, approvals: 2 }, visible: [...PANES], themes: ['ansi', 'dark', 'no-colour'], sandboxes: ['builder', 'demo'], pageSize: 10, ...over };
}
const start = (over: Partial<UiState> = {}): UiState => ({ ...initialUiState({ theme: 'ansi' }), ...over });
/** Feed a raw chunk the way Ink delivers it: printable characters of one read in one string. */
const chunk = (s: string) => tokenize(s, {});

describe('tokenize', () => {
  it('splits a multi-key chunk into one token per character', () => {
    expect(chunk('jjj')).toEqual(['j', 'j', 'j']);
    expect(chunk('2a')).toEqual(['2', 'a']);
    expect(chunk(':q\r')).toEqual([':', 'q', 'enter']);
    expect(chunk('a b\t')).toEqual(['a', 'space', 'b', 'tab']);
  });
  it('maps named keys', () => {
    expect(tokenize('', { upArrow: true })).toEqual(['up']);
    expect(tokenize('', { tab: true, shift: true })).toEqual(['shift+tab']);
    expect(tokenize('', { escape: true })).toEqual(['escape']);
    expect(tokenize('\r', { return: true })).toEqual(['enter']);
    expect(tokenize('c', { ctrl: true })).toEqual(['ctrl+c']);
    expect(tokenize('A', { shift: true })).toEqual(['A']);
  });
});

describe('keymap table', () => {
  it('has a handler for every row and no key bound twice in one context', () => {
    const seen = new Set<string>();
    for (const k of KEYMAP) {
      expect(ACTIONS[k.action], k.action).toBeTypeOf('function');
      for (const key of k.keys) {
        const id = `${k.context}:${key}`;
        expect(seen.has(id), id).toBe(false);
        seen.add(id);
      }
      expect(k.description.length).toBeGreaterThan(0);
    }
  });
  it('pane keys take precedence over global keys', () => {
    expect(findBinding(start({ focus: 'approvals' }), 'enter')?.action).toBe('approvals.details');
    expect(findBinding(start({ focus: 'sandboxes' }), 'enter')?.action).toBe('sandboxes.details');
  });
});

describe('dispatch', () => {
  it('handles every key of one chunk: "jjj" moves three rows', () => {
    const r = dispatch(start({ focus: 'logs' }), chunk('jjj'), ctx());
    expect(r.state.cursor.logs).toBe(3);
  });

  it('"2a" in one chunk jumps to approvals and allows the selected one', () => {
    const r = dispatch(start({ focus: 'logs' }), chunk('2a'), ctx());
    expect(r.state.focus).toBe('approvals');
    expect(r.effects).toEqual([{ type: 'decide', id: 'ap-1', verdict: 'allow', always: false }]);
  });

  it('"aa" decides two different approvals, never the same one twice', () => {
    const r = dispatch(start(), chunk('aa'), ctx());
    expect(r.effects.map((e) => (e.type === 'decide' ? e.id : ''))).toEqual(['ap-1', 'ap-2']);
  });

  it('A shows the rule it would write and only decides after confirming', () => {
    let r = dispatch(start(), chunk('A'), ctx());
    expect(r.effects).toEqual([]);
    const top = r.state.modes.at(-1);
    expect(top?.kind === 'confirm' && top.detail).toBe('allow-rule-ap-1');
    const cancelled = dispatch(r.state, chunk('n'), ctx());
    expect(cancelled.effects).toEqual([]);
    expect(cancelled.state.modes).toEqual([]);
    r = dispatch(r.state, chunk('y'), ctx());
    expect(r.effects).toEqual([{ type: 'decide', id: 'ap-1', verdict: 'allow', always: true }]);
    expect(r.state.modes).toEqual([]);
  });

  it('D confirms with Enter; d denies once', () => {
    const r = dispatch(start(), ['D', 'enter'], ctx());
    expect(r.effects).toEqual([{ type: 'decide', id: 'ap-1', verdict: 'deny', always: true }]);
    expect(dispatch(start(), chunk('jd'), ctx()).effects).toEqual([{ type: 'decide', id: 'ap-2', verdict: 'deny', always: false }]);
  });

  it('approval keys do nothing outside the approvals pane', () => {
    const r = dispatch(start({ focus: 'logs' }), chunk('a'), ctx());
    expect(r.effects).toEqual([]);
  });

  it('a pasted command line runs: ":layout monitoring" then Enter', () => {
    const r = dispatch(start(), chunk(':layout monitoring\r'), ctx());
    expect(r.state.layout).toBe('monitoring');
    expect(r.state.modes).toEqual([]);
  });

  it(':approve ID and :deny ID decide; unknown ids and commands say so', () => {
    expect(dispatch(start(), chunk(':approve ap-2\r'), ctx()).effects).toEqual([{ type: 'decide', id: 'ap-2', verdict: 'allow', always: false }]);
    expect(dispatch(start(), chunk(':deny ap-1\r'), ctx()).effects).toEqual([{ type: 'decide', id: 'ap-1', verdict: 'deny', always: false }]);
    expect(dispatch(start(), chunk(':approve nope\r'), ctx()).state.message).toMatchObject({ tone: 'error' });
    expect(dispatch(start(), chunk(':frobnicate\r'), ctx()).state.message?.text).toContain('unknown command');
    expect(dispatch(start(), chunk(':theme dark\r'), ctx()).state.theme).toBe('dark');
    expect(dispatch(start(), chunk(':theme nope\r'), ctx()).state.theme).toBe('ansi');
    expect(dispatch(start(), chunk(':sandbox demo\r'), ctx()).state.sandbox).toBe('demo');
    expect(dispatch(start(), chunk(':q\r'), ctx()).effects).toEqual([{ type: 'quit' }]);
  });

  it('typing in the command bar does not trigger pane keys', () => {
    const r = dispatch(start(), chunk(':aAdDq'), ctx());
    expect(r.effects).toEqual([]);
    expect(r.state.modes.at(-1)).toEqual({ kind: 'command', text: 'aAdDq' });
    const b = dispatch(r.state, ['backspace', 'backspace'], ctx());
    expect(b.state.modes.at(-1)).toEqual({ kind: 'command', text: 'aAd' });
  });

  it('/ filters the focused pane, ! inverts, Esc goes back one level at a time', () => {
    let r = dispatch(start({ focus: 'logs' }), chunk('/!curl\r'), ctx());
    expect(r.state.filters.logs).toEqual({ text: 'curl', invert: true });
    r = dispatch(r.state, chunk('z'), ctx());
    expect(r.state.zoomed).toBe('logs');
    r = dispatch(r.state, ['escape'], ctx());
    expect(r.state.zoomed).toBeNull();
    expect(r.state.filters.logs).toBeDefined();
    r = dispatch(r.state, ['escape'], ctx());
    expect(r.state.filters.logs).toBeUndefined();
  });

  it('Esc closes an overlay before anything else', () => {
    let r = dispatch(start({ zoomed: 'logs', focus: 'logs' }), chunk('?'), ctx());
    expect(r.state.modes.at(-1)?.kind).toBe('help');
    r = dispatch(r.state, ['escape'], ctx());
    expect(r.state.modes).toEqual([]);
    expect(r.state.zoomed).toBe('logs');
  });

  it('Tab / Shift-Tab cycle focus through visible panes; digits jump', () => {
    const visible = ctx({ visible: ['sandboxes', 'approvals', 'logs'] });
    expect(dispatch(start({ focus: 'approvals' }), ['tab'], visible).state.focus).toBe('logs');
    expect(dispatch(start({ focus: 'logs' }), ['tab'], visible).state.focus).toBe('sandboxes');
    expect(dispatch(start({ focus: 'sandboxes' }), ['shift+tab'], visible).state.focus).toBe('logs');
    // A pane the layout does not show is shown zoomed.
    const j = dispatch(start(), chunk('5'), visible);
    expect(j.state).toMatchObject({ focus: 'gpu', zoomed: 'gpu' });
  });

  it('q asks first when approvals are pending, quits straight away otherwise', () => {
    const asked = dispatch(start(), chunk('q'), ctx());
    expect(asked.effects).toEqual([]);
    expect(asked.state.modes.at(-1)?.kind).toBe('confirm');
    expect(dispatch(asked.state, chunk('y'), ctx()).effects).toEqual([{ type: 'quit' }]);
    expect(dispatch(start(), chunk('q'), ctx({ pending: [] })).effects).toEqual([{ type: 'quit' }]);
    expect(dispatch(start(), ['ctrl+c'], ctx({ pending: [] })).effects).toEqual([{ type: 'quit' }]);
  });

  it('stops at quit: keys after it in the chunk are not run', () => {
    const r = dispatch(start({ focus: 'logs' }), chunk('qj'), ctx({ pending: [] }));
    expect(r.effects).toEqual([{ type: 'quit' }]);
    expect(r.state.cursor.logs).toBeUndefined();
  });

  it('p pauses and resumes; e toggles allowed egress; resize keys adjust the focused pane', () => {
    expect(dispatch(start(), chunk('p'), ctx()).state.paused).toBe(true);
    expect(dispatch(start(), chunk('pp'), ctx()).state.paused).toBe(false);
    expect(dispatch(start({ focus: 'egress' }), chunk('e'), ctx()).state.showAllowed).toBe(true);
    const r = dispatch(start({ focus: 'logs' }), chunk('>>+'), ctx());
    expect(r.state.adjust.logs).toEqual({ dw: 2, dh: 1 });
    expect(dispatch(r.state, chunk('='), ctx()).state.adjust).toEqual({});
  });

  it('Enter on a sandbox opens its details; l there (or on the pane) shows only its logs', () => {
    let r = dispatch(start({ focus: 'sandboxes' }), chunk('j\r'), ctx({ rowCounts: { sandboxes: 2 } }));
    expect(r.state.modes.at(-1)).toEqual({ kind: 'sandbox', name: 'demo' });
    r = dispatch(r.state, chunk('l'), ctx());
    expect(r.state.modes).toEqual([]);
    expect(r.state.sandbox).toBe('demo');
    expect(dispatch(r.state, chunk('l'), ctx()).state.sandbox).toBeNull();
  });

  it('cursor movement is clamped to the rows a pane has', () => {
    const r = dispatch(start({ focus: 'egress' }), chunk('G'), ctx());
    expect(r.state.cursor.egress).toBe(9);
    expect(dispatch(r.state, chunk('jjjj'), ctx()).state.cursor.egress).toBe(9);
    expect(dispatch(r.state, chunk('g'), ctx()).state.cursor.egress).toBe(0);
  });
});

describe('parseCommand', () => {
  it('parses the documented commands', () => {
    expect(parseCommand('approve ap-1')).toEqual({ kind: 'decide', verdict: 'allow', id: 'ap-1', always: false });
    expect(parseCommand('deny ap-1 always')).toEqual({ kind: 'decide', verdict: 'deny', id: 'ap-1', always: true });
    expect(parseCommand('layout approvals-first')).toEqual({ kind: 'layout', name: 'approvals-first' });
    expect(parseCommand('sandbox all')).toEqual({ kind: 'sandbox', name: null });
    expect(parseCommand('layout nope')).toHaveProperty('error');
    expect(parseCommand('deny')).toHaveProperty('error');
    expect(parseCommand('deny a b')).toHaveProperty('error');
  });
});
