// Terminal cell widths, sanitising and truncation. Everything a pane shows goes through here, so
// nothing can overflow a pane or smuggle control sequences into the terminal.
import { inert } from '../../text/index.ts';

/** Is this code point two cells wide (East Asian wide/fullwidth, most emoji)? Approximate, table-free. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Zero-width: combining marks, ZWJ, variation selectors. */
function isZeroWidth(cp: number): boolean {
  return (cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || cp === 0x200c || cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f);
}

export function charWidth(cp: number): number {
  if (isZeroWidth(cp)) return 0;
  return isWide(cp) ? 2 : 1;
}

/**
 * Make untrusted text safe to draw on one line: a tab becomes one space (panes are fixed-width);
 * every other control character, bidi override and lone surrogate is shown as a visible escape
 * (`\x1b`, `\u202e`) by the same inert() the CLI uses, so the operator sees what a workload tried
 * instead of a silently shortened line, and no escape sequence reaches the terminal.
 */
export function sanitize(text: string): string {
  return inert(text, { tabs: 'space' });
}

export function cellWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += charWidth(ch.codePointAt(0) ?? 0);
  return w;
}

/** Cut `text` to at most `width` cells, ending in `ellipsis` when cut. */
export function truncate(text: string, width: number, ellipsis = '…'): string {
  if (width <= 0) return '';
  if (cellWidth(text) <= width) return text;
  const ew = cellWidth(ellipsis);
  const room = Math.max(0, width - ew);
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch.codePointAt(0) ?? 0);
    if (w + cw > room) break;
    out += ch;
    w += cw;
  }
  return ew <= width ? out + ellipsis : out;
}

/** Exactly `width` cells: truncated, then padded with spaces. */
export function fit(text: string, width: number): string {
  const t = truncate(text, width);
  const w = cellWidth(t);
  return w < width ? t + ' '.repeat(width - w) : t;
}

/** Right-align in exactly `width` cells. */
export function fitRight(text: string, width: number): string {
  const t = truncate(text, width);
  const w = cellWidth(t);
  return w < width ? ' '.repeat(width - w) + t : t;
}

const ASCII_MAP: Record<string, string> = {
  '▶': '>', '✓': '+', '✗': 'x', '●': '*', '○': 'o', '…': '~', '→': '>', '×': 'x', '°': '', '·': '-',
  '┼': '+', '┤': '|', '├': '|', '╭': '.', '╮': '.', '╰': '`', '╯': "'", '─': '-', '│': '|', '━': '=', '┃': '|',
  '▁': '_', '▂': '.', '▃': '-', '▄': '~', '▅': '=', '▆': '+', '▇': '*', '█': '#', '▏': '|', '▎': '|', '▍': '|', '▌': '|', '▋': '|', '▊': '|', '▉': '|',
};

/** For --ascii: the TUI's own glyphs become ASCII look-alikes, anything else outside ASCII becomes '?' (one cell per character, so widths only shrink). */
export function toAscii(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) out += ch;
    else out += ASCII_MAP[ch] ?? (charWidth(cp) === 0 ? '' : '?');
  }
  return out;
}
