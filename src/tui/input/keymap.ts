// THE keymap: one data table (key, context, action, description). The dispatcher reads it, the
// help overlay is generated from it. Contexts: 'global' (any pane), a pane id (when focused), or a
// mode ('help', 'confirm', 'details', 'sandbox', 'command', 'filter') which then owns the keyboard.
import { PANES, PANE_TITLES } from '../layout/panes.ts';
import { WIDGETS } from '../widgets/index.ts';
import type { Handler, KeyBinding } from './types.ts';

export const GLOBAL_KEYS: readonly KeyBinding[] = [
  { keys: ['?'], context: 'global', action: 'help.open', description: 'help: the keys for where you are' },
  { keys: ['tab'], context: 'global', action: 'focus.next', description: 'focus the next pane' },
  { keys: ['shift+tab'], context: 'global', action: 'focus.prev', description: 'focus the previous pane' },
  ...PANES.map((id, i): KeyBinding => ({ keys: [String(i + 1)], context: 'global', action: `focus.jump${i + 1}`, description: `jump to ${PANE_TITLES[id]}` })),
  { keys: ['j', 'down'], context: 'global', action: 'cursor.down', description: 'down / older' },
  { keys: ['k', 'up'], context: 'global', action: 'cursor.up', description: 'up / newer' },
  { keys: ['g', 'home'], context: 'global', action: 'cursor.top', description: 'top (newest)' },
  { keys: ['G', 'end'], context: 'global', action: 'cursor.bottom', description: 'bottom (oldest)' },
  { keys: ['pagedown', 'ctrl+d'], context: 'global', action: 'cursor.pageDown', description: 'page down' },
  { keys: ['pageup', 'ctrl+u'], context: 'global', action: 'cursor.pageUp', description: 'page up' },
  { keys: ['z'], context: 'global', action: 'pane.zoom', description: 'zoom the focused pane / unzoom' },
  { keys: ['x'], context: 'global', action: 'pane.hide', description: 'hide the focused pane' },
  { keys: ['X'], context: 'global', action: 'pane.showAll', description: 'show all hidden panes' },
  { keys: ['>'], context: 'global', action: 'pane.wider', description: 'make the focused pane wider' },
  { keys: ['<'], context: 'global', action: 'pane.narrower', description: 'make the focused pane narrower' },
  { keys: ['+'], context: 'global', action: 'pane.taller', description: 'make the focused pane taller' },
  { keys: ['-'], context: 'global', action: 'pane.shorter', description: 'make the focused pane shorter' },
  { keys: ['='], context: 'global', action: 'pane.resetSize', description: 'reset pane sizes' },
  { keys: ['/'], context: 'global', action: 'filter.open', description: 'filter the focused pane (!text inverts)' },
  { keys: [':'], context: 'global', action: 'command.open', description: 'command bar (:approve ID, :layout NAME, :q …)' },
  { keys: ['p', 'space'], context: 'global', action: 'live.pause', description: 'pause / resume live updates' },
  { keys: ['L'], context: 'global', action: 'layout.next', description: 'next layout preset' },
  { keys: ['T'], context: 'global', action: 'theme.next', description: 'next theme' },
  { keys: ['ctrl+l'], context: 'global', action: 'redraw', description: 'repaint the whole screen' },
  { keys: ['escape'], context: 'global', action: 'back', description: 'back one level (zoom, filter, scroll)' },
  { keys: ['q'], context: 'global', action: 'quit', description: 'quit (asks when approvals are pending)' },
  { keys: ['ctrl+c'], context: 'global', action: 'quit', description: 'quit' },

  { keys: ['escape', '?', 'q'], context: 'help', action: 'help.close', description: 'close help' },
  { keys: ['j', 'down'], context: 'help', action: 'help.down', description: 'scroll down' },
  { keys: ['k', 'up'], context: 'help', action: 'help.up', description: 'scroll up' },
  { keys: ['ctrl+c'], context: 'help', action: 'quit.now', description: 'quit' },

  { keys: ['y', 'enter'], context: 'confirm', action: 'confirm.yes', description: 'confirm' },
  { keys: ['n', 'escape', 'q'], context: 'confirm', action: 'confirm.no', description: 'cancel' },
  { keys: ['ctrl+c'], context: 'confirm', action: 'quit.now', description: 'quit now' },

  { keys: ['escape', 'enter', 'q'], context: 'details', action: 'details.close', description: 'close details' },
  { keys: ['ctrl+c'], context: 'details', action: 'quit.now', description: 'quit' },

  // Text entry: every other key types into the field.
  { keys: ['enter'], context: 'command', action: 'text.submit', description: 'run the command' },
  { keys: ['escape'], context: 'command', action: 'text.cancel', description: 'cancel' },
  { keys: ['backspace'], context: 'command', action: 'text.backspace', description: 'delete a character' },
  { keys: ['ctrl+u'], context: 'command', action: 'text.clear', description: 'clear the line' },
  { keys: ['enter'], context: 'filter', action: 'text.submit', description: 'apply the filter' },
  { keys: ['escape'], context: 'filter', action: 'text.cancel', description: 'cancel (keep the previous filter)' },
  { keys: ['backspace'], context: 'filter', action: 'text.backspace', description: 'delete a character' },
  { keys: ['ctrl+u'], context: 'filter', action: 'text.clear', description: 'clear the line' },
  { keys: ['ctrl+c'], context: 'command', action: 'quit.now', description: 'quit' },
  { keys: ['ctrl+c'], context: 'filter', action: 'quit.now', description: 'quit' },
];

export const KEYMAP: readonly KeyBinding[] = [...Object.values(WIDGETS).flatMap((w) => w.keys), ...GLOBAL_KEYS];

export const WIDGET_ACTIONS: Readonly<Record<string, Handler>> = Object.assign({}, ...Object.values(WIDGETS).map((w) => w.actions)) as Record<string, Handler>;
