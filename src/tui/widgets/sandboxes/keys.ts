import { ok, type DispatchCtx, type Handler, type KeyBinding, type UiState } from '../../input/types.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { clamp } from '../common.ts';
import { sandboxRows, selectSandbox } from './reducer.ts';

export const sandboxesKeys: readonly KeyBinding[] = [
  { keys: ['enter'], context: 'sandboxes', action: 'sandboxes.select', description: 'show only this sandbox in Logs (again: all)' },
];

export const sandboxesActions: Record<string, Handler> = {
  'sandboxes.select': (s: UiState, ctx: DispatchCtx) => {
    const names = ctx.sandboxes;
    const i = clamp(s.cursor.sandboxes ?? 0, 0, Math.max(0, names.length - 1));
    return ok(selectSandbox(s, names[i]));
  },
};

export function sandboxesRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return sandboxRows(snapshot, ui).length;
}
