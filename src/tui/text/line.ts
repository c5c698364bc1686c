// A line is a list of styled segments; fitLine makes it exactly `width` cells.
import type { Token } from '../theme/theme.ts';
import { cellWidth, sanitize, truncate } from './cells.ts';

export interface Seg {
  text: string;
  tone?: Token;
  bold?: boolean;
  inverse?: boolean;
  dim?: boolean;
}
export type Line = Seg[];

export function seg(text: string, tone?: Token, extra: Omit<Seg, 'text' | 'tone'> = {}): Seg {
  return tone === undefined ? { text, ...extra } : { text, tone, ...extra };
}

/** Sanitised, truncated (ellipsis on the last visible segment), padded to exactly `width` cells. */
export function fitLine(line: Line, width: number): Line {
  const out: Line = [];
  let used = 0;
  for (const s of line) {
    if (used >= width) break;
    const text = sanitize(s.text);
    const w = cellWidth(text);
    const room = width - used;
    if (w <= room) {
      out.push({ ...s, text });
      used += w;
    } else {
      const t = truncate(text, room);
      out.push({ ...s, text: t });
      used += cellWidth(t);
      break;
    }
  }
  if (used < width) out.push({ text: ' '.repeat(width - used) });
  return out;
}

/** Same look: tone and attributes equal. */
export function sameStyle(a: Seg, b: Seg): boolean {
  return a.tone === b.tone && a.bold === b.bold && a.inverse === b.inverse && a.dim === b.dim;
}

/**
 * Adjacent segments with the same style joined into one. Looks the same on screen, but each run
 * is one styled element for Ink to squash, colour and measure on every frame, not one per segment.
 */
export function styleRuns(line: Line): Line {
  const out: Line = [];
  for (const s of line) {
    const last = out[out.length - 1];
    if (last !== undefined && sameStyle(last, s)) out[out.length - 1] = { ...last, text: last.text + s.text };
    else out.push(s);
  }
  return out;
}

export function lineText(line: Line): string {
  return line.map((s) => s.text).join('');
}
