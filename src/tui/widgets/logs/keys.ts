import { ok, type Handler, type KeyBinding, type UiState } from '../../input/types.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { logRows } from './reducer.ts';

export const logsKeys: readonly KeyBinding[] = [
  { keys: ['c'], context: 'logs', action: 'logs.allSandboxes', description: 'show logs of all sandboxes' },
];
export const logsActions: Record<string, Handler> = {
  'logs.allSandboxes': (s) => ok({ ...s, sandbox: null, message: { text: 'logs: all sandboxes', tone: 'info' } }),
};
export function logsRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return logRows(snapshot, ui).length;
}
