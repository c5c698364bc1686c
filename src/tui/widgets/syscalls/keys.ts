import type { Handler, KeyBinding, UiState } from '../../input/types.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { syscallRows } from './reducer.ts';

export const syscallsKeys: readonly KeyBinding[] = [];
export const syscallsActions: Record<string, Handler> = {};
export function syscallsRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return syscallRows(snapshot, ui).length;
}
