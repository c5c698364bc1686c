// Keys of the learning proposal (issue 22): rows of the keymap table, and their handlers.
import type { Handler, KeyBinding } from '../../input/types.ts';
import { confirmLearn, cancelLearn, scrollLearn, stepWindow } from './reducer.ts';

export const learnKeys: readonly KeyBinding[] = [
  { keys: ['y', 'enter'], context: 'learn', action: 'learn.apply', description: 'write the proposal as the next revision' },
  { keys: ['n', 'escape', 'q'], context: 'learn', action: 'learn.cancel', description: 'dismiss: nothing is written' },
  { keys: ['+', '>'], context: 'learn', action: 'learn.wider', description: 'learn from a longer window' },
  { keys: ['-', '<'], context: 'learn', action: 'learn.narrower', description: 'learn from a shorter window' },
  { keys: ['j', 'down'], context: 'learn', action: 'learn.down', description: 'scroll the diff down' },
  { keys: ['k', 'up'], context: 'learn', action: 'learn.up', description: 'scroll the diff up' },
  { keys: ['pagedown', 'ctrl+d'], context: 'learn', action: 'learn.pageDown', description: 'page down' },
  { keys: ['pageup', 'ctrl+u'], context: 'learn', action: 'learn.pageUp', description: 'page up' },
  { keys: ['ctrl+c'], context: 'learn', action: 'quit.now', description: 'quit' },
];

export const learnActions: Record<string, Handler> = {
  'learn.apply': (s) => confirmLearn(s),
  'learn.cancel': (s) => cancelLearn(s),
  'learn.wider': (s) => stepWindow(s, 1),
  'learn.narrower': (s) => stepWindow(s, -1),
  'learn.down': (s) => scrollLearn(s, 1),
  'learn.up': (s) => scrollLearn(s, -1),
  'learn.pageDown': (s, ctx) => scrollLearn(s, Math.max(1, ctx.pageSize)),
  'learn.pageUp': (s, ctx) => scrollLearn(s, -Math.max(1, ctx.pageSize)),
};
