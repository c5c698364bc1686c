// The learning proposal's keys, state transitions and lines, pure (issue 22). The same keys in a
// real PTY against a real supervisor: learn-pty.test.ts.
import { describe, expect, it } from 'vitest';
import { dispatch } from '../../src/tui/input/dispatcher.ts';
import { tokenize } from '../../src/tui/input/tokenize.ts';
import type { DispatchCtx, UiState } from '../../src/tui/input/types.ts';
import { initialUiState } from '../../src/tui/input/ui-state.ts';
import { PANES } from '../../src/tui/layout/panes.ts';
import type { LearnProposal } from '../../src/tui/store/events.ts';
import { learnApplied, learnArrived, learnMode } from '../../src/tui/widgets/learn/reducer.ts';
import { learnLines } from '../../src/tui/widgets/learn/view.ts';

const ctx: DispatchCtx = { pending: [], rowCounts: { sandboxes: 2 }, visible: [...PANES], themes: ['ansi'], sandboxes: ['alpha', 'beta'], pageSize: 10 };
const start = (): UiState => ({ ...initialUiState({ theme: 'ansi' }), focus: 'sandboxes', cursor: { sandboxes: 1 } });
const keys = (s: UiState, k: string) => dispatch(s, tokenize(k, {}), ctx);

const proposal = (diff: string): LearnProposal => ({ sandbox: 'beta', rev: 3, text: 'version: 1\n', diff, destinations: ['api.example.com:443'], exec: ['/usr/bin/id'], read: 5, denied: 1 });
const DIFF = '--- revision 3\n+++ learned\n@@ -1,1 +1,3 @@\n version: 1\n+network_policies:\n-approvals: { unmatched_egress: audit }\n';

describe('learn from the last N minutes', () => {
  it('P on the selected sandbox opens the proposal and asks the source for it; nothing else happens yet', () => {
    const r = keys(start(), 'P');
    expect(learnMode(r.state)).toMatchObject({ sandbox: 'beta', minutes: 10, status: 'loading' });
    expect(r.effects).toEqual([{ type: 'learn', sandbox: 'beta', minutes: 10 }]);
    // y while still loading writes nothing.
    const y = keys(r.state, 'y');
    expect(y.effects).toEqual([]);
    expect(learnMode(y.state)).toBeDefined();
  });

  it('+/- step the window and ask again; an answer for another window is dropped', () => {
    let s = keys(start(), 'P').state;
    const wider = keys(s, '+');
    expect(wider.effects).toEqual([{ type: 'learn', sandbox: 'beta', minutes: 30 }]);
    s = learnArrived(wider.state, 'beta', 10, { ok: true, proposal: proposal(DIFF) });
    expect(learnMode(s)?.status).toBe('loading'); // the 10-minute answer came late
    s = learnArrived(s, 'beta', 30, { ok: true, proposal: proposal(DIFF) });
    expect(learnMode(s)).toMatchObject({ status: 'ready', minutes: 30 });
    const narrower = keys(keys(s, '-').state, '-');
    expect(narrower.effects).toEqual([{ type: 'learn', sandbox: 'beta', minutes: 5 }]);
  });

  it('y writes the proposal shown; n dismisses without writing; an empty diff has nothing to apply', () => {
    const s = learnArrived(keys(start(), 'P').state, 'beta', 10, { ok: true, proposal: proposal(DIFF) });
    const y = keys(s, 'y');
    expect(y.effects).toEqual([{ type: 'applyLearned', proposal: proposal(DIFF) }]);
    expect(learnMode(y.state)).toBeUndefined();
    const n = keys(s, 'n');
    expect(n.effects).toEqual([]);
    expect(n.state.message?.text).toBe('learning proposal dismissed: nothing written');
    const empty = learnArrived(keys(start(), 'P').state, 'beta', 10, { ok: true, proposal: proposal('') });
    const ye = keys(empty, 'y');
    expect(ye.effects).toEqual([]);
    expect(ye.state.message?.text).toBe('beta: nothing to learn from the last 10 minutes');
    expect(learnApplied(start(), 'beta', { ok: false, error: 'the policy changed since this was prepared' }).message).toEqual({ text: 'beta: not written: the policy changed since this was prepared', tone: 'error' });
  });

  it('shows what was read, what is proposed, and the diff in allow/deny tones', () => {
    const s = learnArrived(keys(start(), 'P').state, 'beta', 10, { ok: true, proposal: proposal(DIFF) });
    const m = learnMode(s);
    if (m === undefined) throw new Error('no learn mode');
    const { head, body } = learnLines(m);
    const text = (l: { text: string }[]) => l.map((x) => x.text).join('');
    expect(head.map(text)).toEqual(['Learn beta from the last 10 minutes', '5 decisions read against revision 3; 1 denied (never proposed)', 'proposed: api.example.com:443, exec /usr/bin/id']);
    expect(body.map((l) => [text(l), l[0]?.tone])).toEqual([
      ['--- revision 3', 'muted'],
      ['+++ learned', 'muted'],
      ['@@ -1,1 +1,3 @@', 'info'],
      [' version: 1', 'text'],
      ['+network_policies:', 'allow'],
      ['-approvals: { unmatched_egress: audit }', 'deny'],
    ]);
    const failed = learnArrived(keys(start(), 'P').state, 'beta', 10, { ok: false, error: 'no sandbox named beta' });
    const fm = learnMode(failed);
    if (fm === undefined) throw new Error('no learn mode');
    expect(learnLines(fm).head.map(text)[1]).toBe('cannot propose: no sandbox named beta');
  });
});
