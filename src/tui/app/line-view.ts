import { Text } from 'ink';
import { memo, type ReactNode } from 'react';
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
 * Several rows as ONE Ink text: `lines.length` rows, each exactly `width` cells. Ink lays out,
 * squashes, measures and writes every text node again on every frame, so a pane body drawn as
 * one node (rather than one node per row, each holding the border too) is far cheaper: fewer
 * nodes, and rows without wide glyphs stay on string-width's ASCII fast path.
 */
export const LinesView = memo(function LinesView({ lines, width, theme, ascii }: { lines: readonly Line[]; width: number; theme: Theme; ascii?: boolean }) {
  const children: ReactNode[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) children.push('\n');
    for (const s of fittedRuns(lines[i] as Line, width, ascii === true)) children.push(h(Text, tokenStyle(theme, s.tone, s), s.text));
  }
  return h(Text, { wrap: 'truncate-end' }, ...children);
});
