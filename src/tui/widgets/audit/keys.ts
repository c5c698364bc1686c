import type { Handler, KeyBinding, UiState } from '../../input/types.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { auditRows } from './reducer.ts';

export const auditKeys: readonly KeyBinding[] = [];
export const auditActions: Record<string, Handler> = {};
export function auditRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return auditRows(snapshot, ui).length;
}
