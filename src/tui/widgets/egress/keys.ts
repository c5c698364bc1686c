import { ok, type Handler, type KeyBinding, type UiState } from '../../input/types.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { egressRows, toggleAllowed } from './reducer.ts';

export const egressKeys: readonly KeyBinding[] = [
  { keys: ['e'], context: 'egress', action: 'egress.toggleAllowed', description: 'show allowed connections too / denied only' },
];
export const egressActions: Record<string, Handler> = {
  'egress.toggleAllowed': (s) => ok(toggleAllowed(s)),
};
export function egressRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return egressRows(snapshot, ui).length;
}
