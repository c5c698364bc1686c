import { Box, Text } from 'ink';
import { memo } from 'react';
import { toAscii } from '../text/cells.ts';
import { fitLine, styleRuns, type Line } from '../text/line.ts';
import type { Theme, Token } from '../theme/theme.ts';
import { h } from './h.ts';
import { tokenStyle } from './style.ts';

export interface LineViewProps {
  line: Line;
  width: number;
  theme: Theme;
  /** Background token applied to the whole row (status bar). */
  bg?: Token;
  /** Replace non-ASCII glyphs (--ascii). */
  ascii?: boolean;
}

/** A line made exactly `width` cells (sanitised, truncated, padded), as runs of one style each. */
export function fittedRuns(line: Line, width: number, ascii: boolean): Line {
  const fitted = fitLine(ascii ? line.map((s) => ({ ...s, text: toAscii(s.text) })) : line, width);
  // Truncation adds '…': map again (same width).
  return styleRuns(ascii ? fitted.map((s) => ({ ...s, text: toAscii(s.text) })) : fitted);
}

/** One terminal row, exactly `width` cells: sanitised, truncated, padded. */
export const LineView = memo(function LineView({ line, width, theme, bg, ascii }: LineViewProps) {
  const background = bg === undefined ? null : theme.tokens[bg];
  return h(
    Text,
    { wrap: 'truncate-end' },
    ...fittedRuns(line, width, ascii === true).map((s, i) => h(Text, { key: i, ...tokenStyle(theme, s.tone ?? (bg === undefined ? undefined : 'statusFg'), s), ...(background !== null ? { backgroundColor: background } : {}) }, s.text)),
  );
});

/**
 * A pane body: `lines.length` rows, each one text exactly `width` cells. The borders are drawn
 * beside it (see Frame), so rows without wide glyphs stay on string-width's ASCII fast path when
 * Ink measures them on every frame. One text per row, not one for the whole body: Ink caches the
 * measurements of the last ~8,000 texts it has seen, keyed by the text itself, and a body-sized
 * key (kilobytes, new on every frame) made that cache hold tens of MB; rows are short and repeat
 * as a feed scrolls.
 */
export const LinesView = memo(function LinesView({ lines, width, theme, ascii }: { lines: readonly Line[]; width: number; theme: Theme; ascii?: boolean }) {
  return h(Box, { flexDirection: 'column', width, height: lines.length }, ...lines.map((line, i) => h(LineView, { key: i, line, width, theme, ascii: ascii === true })));
});
