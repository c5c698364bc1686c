// THE key dispatcher. The root component's single useInput hands every chunk here; each key token
// of the chunk is dispatched in turn ("jjj" moves three rows, "2a" focuses approvals then allows),
// against the keymap table, the mode on top of the stack, then the focused pane, then global keys.
import { parseFilter } from '../widgets/common.ts';
import { GLOBAL_ACTIONS } from './actions.ts';
import { runCommand } from './commands.ts';
import { KEYMAP, WIDGET_ACTIONS } from './keymap.ts';
import { tokenChar } from './tokenize.ts';
import { ok, popMode, replaceTop, say, topMode, type Context, type DispatchCtx, type Effect, type Handler, type KeyBinding, type Result, type UiState } from './types.ts';

/** Longest text a command or filter line may hold (pastes are cut here). */
export const MAX_FIELD = 200;

const TEXT_ACTIONS: Record<string, Handler> = {
  'text.submit': (s, ctx) => {
    const m = topMode(s);
    if (m?.kind === 'command') return runCommand(popMode(s), ctx, m.text);
    if (m?.kind === 'filter') {
      const filters = { ...s.filters };
      if (m.text === '' || m.text === '!') delete filters[m.pane];
      else filters[m.pane] = parseFilter(m.text);
      return ok({ ...popMode(s), filters, cursor: { ...s.cursor, [m.pane]: 0 } });
    }
    return ok(s);
  },
  'text.cancel': (s) => ok(popMode(s)),
  'text.backspace': (s) => {
    const m = topMode(s);
    if (m?.kind !== 'command' && m?.kind !== 'filter') return ok(s);
    if (m.text === '') return ok(popMode(s)); // backspace on an empty line closes it, like vim
    return ok(replaceTop(s, { ...m, text: [...m.text].slice(0, -1).join('') }));
  },
  'text.clear': (s) => {
    const m = topMode(s);
    return m?.kind === 'command' || m?.kind === 'filter' ? ok(replaceTop(s, { ...m, text: '' })) : ok(s);
  },
};

export const ACTIONS: Readonly<Record<string, Handler>> = { ...GLOBAL_ACTIONS, ...WIDGET_ACTIONS, ...TEXT_ACTIONS };

/** The contexts consulted for a key, most specific first. */
export function activeContexts(state: UiState): Context[] {
  const m = topMode(state);
  if (m !== undefined) return [m.kind];
  return [state.focus, 'global'];
}

export function findBinding(state: UiState, token: string, keymap: readonly KeyBinding[] = KEYMAP): KeyBinding | undefined {
  for (const ctx of activeContexts(state)) {
    const b = keymap.find((k) => k.context === ctx && k.keys.includes(token));
    if (b !== undefined) return b;
  }
  return undefined;
}

function dispatchOne(state: UiState, token: string, ctx: DispatchCtx, keymap: readonly KeyBinding[]): Result {
  const m = topMode(state);
  const binding = findBinding(state, token, keymap);
  if (binding === undefined) {
    if (m?.kind === 'command' || m?.kind === 'filter') {
      const ch = tokenChar(token);
      if (ch === null || [...m.text].length >= MAX_FIELD) return ok(state);
      return ok(replaceTop(state, { ...m, text: m.text + ch }));
    }
    return ok(m === undefined && token.length === 1 ? say(state, `no key ${token} here (? for help)`, 'warn') : state);
  }
  const handler = ACTIONS[binding.action];
  if (handler === undefined) return ok(say(state, `unbound action ${binding.action}`, 'error'));
  // A fresh key clears the last message (actions set a new one when they have something to say).
  const base = m === undefined && state.message !== null ? { ...state, message: null } : state;
  return handler(base, ctx);
}

/** Dispatch every token of one input chunk, in order. Stops after a quit effect. */
export function dispatch(state: UiState, tokens: readonly string[], ctx: DispatchCtx, keymap: readonly KeyBinding[] = KEYMAP): Result {
  let s = state;
  const effects: Effect[] = [];
  for (const t of tokens) {
    const r = dispatchOne(s, t, ctx, keymap);
    s = r.state;
    for (const e of r.effects) {
      effects.push(e);
      // A decision removes the approval from what later keys of this chunk may act on.
      if (e.type === 'decide') ctx = { ...ctx, pending: ctx.pending.filter((p) => p.id !== e.id) };
    }
    if (r.effects.some((e) => e.type === 'quit')) break;
  }
  return { state: s, effects };
}
