import { type Handler, type KeyBinding, type UiState } from '../../input/types.ts';
import type { TuiSnapshot } from '../../store/tui-store.ts';
import { closeModelLogs, confirmModel, modelRows, openModelLogs, scrollModelLogs } from './reducer.ts';

export const modelsKeys: readonly KeyBinding[] = [
  { keys: ['l', 'enter'], context: 'models', action: 'models.logs', description: "the selected model's recent log lines" },
  { keys: ['r'], context: 'models', action: 'models.restart', description: 'restart the selected model (asks y/n)' },
  { keys: ['s'], context: 'models', action: 'models.stop', description: 'stop the selected model (asks y/n; the container stays)' },
  { keys: ['k', 'up'], context: 'modelLogs', action: 'models.logsUp', description: 'scroll up (older)' },
  { keys: ['j', 'down'], context: 'modelLogs', action: 'models.logsDown', description: 'scroll down (newer)' },
  { keys: ['r'], context: 'modelLogs', action: 'models.restart', description: 'restart this model (asks y/n)' },
  { keys: ['s'], context: 'modelLogs', action: 'models.stop', description: 'stop this model (asks y/n)' },
  { keys: ['escape', 'enter', 'q', 'l'], context: 'modelLogs', action: 'models.logsClose', description: 'close the logs' },
  { keys: ['ctrl+c'], context: 'modelLogs', action: 'quit.now', description: 'quit' },
];

export const modelsActions: Record<string, Handler> = {
  'models.logs': (s, ctx) => openModelLogs(s, ctx),
  'models.restart': (s, ctx) => confirmModel(s, ctx, 'restart'),
  'models.stop': (s, ctx) => confirmModel(s, ctx, 'stop'),
  'models.logsUp': (s) => scrollModelLogs(s, 1),
  'models.logsDown': (s) => scrollModelLogs(s, -1),
  'models.logsClose': (s) => closeModelLogs(s),
};

export function modelsRowCount(snapshot: TuiSnapshot, ui: UiState): number {
  return modelRows(snapshot, ui).length;
}
