import { ok, popMode, pushMode, say, topMode, type DispatchCtx, type Handler, type KeyBinding, type UiState } from '../../input/types.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { clamp } from '../common.ts';
import { learnActions, learnKeys } from '../learn/keys.ts';
import { openLearn } from '../learn/reducer.ts';
import { sandboxRows, selectSandbox } from './reducer.ts';

export const sandboxesKeys: readonly KeyBinding[] = [
  { keys: ['enter'], context: 'sandboxes', action: 'sandboxes.details', description: 'details: policy summary, enforcement report' },
  { keys: ['l'], context: 'sandboxes', action: 'sandboxes.logs', description: 'show only this sandbox in Logs (again: all)' },
  { keys: ['l'], context: 'sandbox', action: 'sandboxes.logs', description: 'show only this sandbox in Logs' },
  { keys: ['P'], context: 'sandboxes', action: 'sandboxes.learn', description: 'learn: propose a revision from the last 10 minutes (shows the diff, asks)' },
  { keys: ['P'], context: 'sandbox', action: 'sandboxes.learn', description: 'learn: propose a revision from the last 10 minutes' },
  { keys: ['escape', 'enter', 'q'], context: 'sandbox', action: 'sandboxes.close', description: 'close details' },
  { keys: ['ctrl+c'], context: 'sandbox', action: 'quit.now', description: 'quit' },
  ...learnKeys,
];

function selected(s: UiState, ctx: DispatchCtx): string | undefined {
  const top = topMode(s);
  if (top?.kind === 'sandbox') return top.name;
  const names = ctx.sandboxes;
  return names[clamp(s.cursor.sandboxes ?? 0, 0, Math.max(0, names.length - 1))];
}

export const sandboxesActions: Record<string, Handler> = {
  'sandboxes.details': (s, ctx) => {
    const name = selected(s, ctx);
    return name === undefined ? ok(say(s, 'no sandbox selected', 'warn')) : ok(pushMode(s, { kind: 'sandbox', name }));
  },
  'sandboxes.logs': (s, ctx) => {
    const name = selected(s, ctx);
    const base = topMode(s)?.kind === 'sandbox' ? popMode(s) : s;
    return ok(selectSandbox(base, name));
  },
  'sandboxes.close': (s) => ok(popMode(s)),
  'sandboxes.learn': (s, ctx) => {
    const name = selected(s, ctx);
    return name === undefined ? ok(say(s, 'no sandbox selected', 'warn')) : openLearn(s, name);
  },
  ...learnActions,
};

export function sandboxesRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return sandboxRows(snapshot, ui).length;
}
