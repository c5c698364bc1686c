// Global actions (any pane) and mode actions (help, confirm, details). Pure: (state, ctx) -> result.
import { MAX_ADJUST, LAYOUT_NAMES } from '../layout/layout.ts';
import { PANES, PANE_TITLES } from '../layout/panes.ts';
import { clamp } from '../widgets/common.ts';
import { ok, popMode, pushMode, say, topMode, type DispatchCtx, type Handler, type Result, type UiState } from './types.ts';

function focusStep(s: UiState, ctx: DispatchCtx, step: number): Result {
  const order = ctx.visible.length > 0 ? ctx.visible : PANES;
  const i = order.indexOf(s.focus);
  const next = order[(((i < 0 ? 0 : i + step) % order.length) + order.length) % order.length] ?? s.focus;
  return ok({ ...s, focus: next, zoomed: s.zoomed === null ? null : next });
}

function jump(n: number): Handler {
  return (s, ctx) => {
    const id = PANES[n - 1];
    if (id === undefined) return ok(s);
    // A pane the preset does not show (or hid) is shown zoomed.
    const visible = ctx.visible.includes(id) || s.zoomed !== null;
    return ok({ ...s, focus: id, zoomed: visible ? (s.zoomed === null ? null : id) : id });
  };
}

function moveCursor(delta: number | 'top' | 'bottom'): Handler {
  return (s, ctx) => {
    const n = ctx.rowCounts[s.focus] ?? 0;
    const cur = s.cursor[s.focus] ?? 0;
    const next = delta === 'top' ? 0 : delta === 'bottom' ? Math.max(0, n - 1) : clamp(cur + delta, 0, Math.max(0, n - 1));
    return ok({ ...s, cursor: { ...s.cursor, [s.focus]: next } });
  };
}

function page(dir: 1 | -1): Handler {
  return (s, ctx) => moveCursor(dir * Math.max(1, ctx.pageSize))(s, ctx);
}

function resize(axis: 'dw' | 'dh', delta: number): Handler {
  return (s) => {
    const cur = s.adjust[s.focus] ?? { dw: 0, dh: 0 };
    const nextVal = clamp(cur[axis] + delta, -MAX_ADJUST / 2, MAX_ADJUST);
    return ok({ ...s, adjust: { ...s.adjust, [s.focus]: { ...cur, [axis]: nextVal } } });
  };
}

function cycle<T>(list: readonly T[], cur: T, step = 1): T {
  const i = list.indexOf(cur);
  return list[(i + step + list.length) % list.length] ?? cur;
}

/** Esc in normal mode goes back one level: zoom, then the pane's filter, then scroll position. */
function back(s: UiState): Result {
  if (s.zoomed !== null) return ok({ ...s, zoomed: null });
  if (s.filters[s.focus] !== undefined) {
    const filters = { ...s.filters };
    delete filters[s.focus];
    return ok(say({ ...s, filters }, 'filter cleared'));
  }
  if ((s.cursor[s.focus] ?? 0) !== 0 && s.focus !== 'approvals') return ok({ ...s, cursor: { ...s.cursor, [s.focus]: 0 } });
  return ok({ ...s, message: null });
}

function quit(s: UiState, ctx: DispatchCtx): Result {
  if (ctx.pending.length > 0) {
    return ok(pushMode(s, { kind: 'confirm', action: { type: 'quit' }, prompt: `${ctx.pending.length} approval(s) pending. Quit anyway?`, detail: 'Pending actions stay blocked until decided elsewhere or they time out (deny).' }));
  }
  return ok(s, [{ type: 'quit' }]);
}

function hidePane(s: UiState, ctx: DispatchCtx): Result {
  if (ctx.visible.length <= 1) return ok(say(s, 'cannot hide the last pane', 'warn'));
  const hidden = [...new Set([...s.hidden, s.focus])];
  const rest = ctx.visible.filter((p) => p !== s.focus);
  return ok(say({ ...s, hidden, zoomed: null, focus: rest[0] ?? s.focus }, `${PANE_TITLES[s.focus]} hidden (X shows all)`));
}

export const GLOBAL_ACTIONS: Record<string, Handler> = {
  'focus.next': (s, c) => focusStep(s, c, 1),
  'focus.prev': (s, c) => focusStep(s, c, -1),
  ...Object.fromEntries(PANES.map((_, i) => [`focus.jump${i + 1}`, jump(i + 1)])),
  'pane.zoom': (s) => ok({ ...s, zoomed: s.zoomed === null ? s.focus : null }),
  'pane.hide': hidePane,
  'pane.showAll': (s) => ok(say({ ...s, hidden: [] }, 'all panes shown')),
  'pane.wider': resize('dw', 1),
  'pane.narrower': resize('dw', -1),
  'pane.taller': resize('dh', 1),
  'pane.shorter': resize('dh', -1),
  'pane.resetSize': (s) => ok({ ...s, adjust: {} }),
  'cursor.down': moveCursor(1),
  'cursor.up': moveCursor(-1),
  'cursor.top': moveCursor('top'),
  'cursor.bottom': moveCursor('bottom'),
  'cursor.pageDown': page(1),
  'cursor.pageUp': page(-1),
  'help.open': (s) => ok(pushMode(s, { kind: 'help', scroll: 0 })),
  'filter.open': (s) => ok(pushMode(s, { kind: 'filter', pane: s.focus, text: s.filters[s.focus] !== undefined ? `${s.filters[s.focus]?.invert === true ? '!' : ''}${s.filters[s.focus]?.text ?? ''}` : '' })),
  'command.open': (s) => ok(pushMode(s, { kind: 'command', text: '' })),
  'live.pause': (s) => ok(say({ ...s, paused: !s.paused }, s.paused ? 'live updates resumed' : 'paused: feeds frozen, approvals stay live')),
  'layout.next': (s) => ok(say({ ...s, layout: cycle(LAYOUT_NAMES, s.layout), zoomed: null }, `layout ${cycle(LAYOUT_NAMES, s.layout)}`)),
  'theme.next': (s, c) => ok(say({ ...s, theme: cycle(c.themes, s.theme) }, `theme ${cycle(c.themes, s.theme)}`)),
  back: (s) => back(s),
  quit,
  'quit.now': (s) => ok(s, [{ type: 'quit' }]),
  redraw: (s) => ok(s, [{ type: 'redraw' }]),
  // help overlay
  'help.close': (s) => ok(popMode(s)),
  'help.down': (s) => {
    const m = topMode(s);
    return m?.kind === 'help' ? ok({ ...s, modes: [...s.modes.slice(0, -1), { ...m, scroll: m.scroll + 1 }] }) : ok(s);
  },
  'help.up': (s) => {
    const m = topMode(s);
    return m?.kind === 'help' ? ok({ ...s, modes: [...s.modes.slice(0, -1), { ...m, scroll: Math.max(0, m.scroll - 1) }] }) : ok(s);
  },
  // confirm dialog
  'confirm.yes': (s) => {
    const m = topMode(s);
    if (m?.kind !== 'confirm') return ok(s);
    const next = popMode(s);
    if (m.action.type === 'quit') return ok(next, [{ type: 'quit' }]);
    if (m.action.type === 'model') return ok(say(next, `${m.action.action === 'stop' ? 'stopping' : 'restarting'} model ${m.action.name}…`, 'warn'), [{ type: 'modelAction', name: m.action.name, action: m.action.action }]);
    const a = m.action;
    return ok(say(next, `${a.verdict === 'allow' ? 'allowing' : 'denying'} ${a.always ? 'always' : 'once'}: ${a.id}`, a.verdict === 'allow' ? 'ok' : 'warn'), [{ type: 'decide', id: a.id, verdict: a.verdict, always: a.always }]);
  },
  'confirm.no': (s) => ok(say(popMode(s), 'cancelled')),
  // details overlay
  'details.close': (s) => ok(popMode(s)),
};

