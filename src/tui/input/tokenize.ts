// Turn what Ink's useInput delivers into key tokens. Ink hands every printable character of one
// stdin read to the handler as a single string ("jjj", "2a", a paste), so each character becomes
// its own token; named keys (arrows, Esc, Tab…) arrive one per call.

/** The subset of Ink's Key the tokenizer reads (structural, so tests need not build a full Key). */
export interface KeyFlags {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  ctrl?: boolean;
  shift?: boolean;
  tab?: boolean;
  backspace?: boolean;
  delete?: boolean;
  meta?: boolean;
}

function charToken(ch: string): string | null {
  if (ch === '\r' || ch === '\n') return 'enter';
  if (ch === '\t') return 'tab';
  if (ch === '\u007f' || ch === '\b') return 'backspace';
  if (ch === '\u001b') return 'escape';
  if (ch === ' ') return 'space';
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20) return `ctrl+${String.fromCharCode(cp + 0x60)}`;
  if (cp >= 0x7f && cp < 0xa0) return null;
  return ch;
}

export function tokenize(input: string, key: KeyFlags): string[] {
  if (key.upArrow) return ['up'];
  if (key.downArrow) return ['down'];
  if (key.leftArrow) return ['left'];
  if (key.rightArrow) return ['right'];
  if (key.pageUp) return ['pageup'];
  if (key.pageDown) return ['pagedown'];
  if (key.home) return ['home'];
  if (key.end) return ['end'];
  if (key.tab) return [key.shift ? 'shift+tab' : 'tab'];
  if (key.escape && input.length <= 1) return ['escape'];
  if (key.backspace) return ['backspace'];
  if (key.delete) return ['delete'];
  if (key.return && input.length <= 1) return ['enter'];
  if (key.ctrl && input.length === 1) return [`ctrl+${input.toLowerCase()}`];
  if (key.meta && input.length === 1) return [`meta+${input}`];
  const out: string[] = [];
  for (const ch of input) {
    const t = charToken(ch);
    if (t !== null) out.push(t);
  }
  return out;
}

/** The character a token inserts in a text field, or null for named keys. */
export function tokenChar(token: string): string | null {
  if (token === 'space') return ' ';
  return [...token].length === 1 ? token : null;
}

const DISPLAY: Record<string, string> = { enter: 'Enter', escape: 'Esc', tab: 'Tab', 'shift+tab': 'Shift-Tab', space: 'Space', backspace: 'Bksp', pageup: 'PgUp', pagedown: 'PgDn', up: '↑', down: '↓', left: '←', right: '→', home: 'Home', end: 'End' };

export function displayKey(token: string): string {
  const d = DISPLAY[token];
  if (d !== undefined) return d;
  if (token.startsWith('ctrl+')) return `Ctrl-${token.slice(5).toUpperCase()}`;
  return token;
}
