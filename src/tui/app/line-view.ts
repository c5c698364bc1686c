import { Text } from 'ink';
import { memo } from 'react';
import { toAscii } from '../text/cells.ts';
import { fitLine, type Line } from '../text/line.ts';
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

/** One terminal row, exactly `width` cells: sanitised, truncated, padded. */
export const LineView = memo(function LineView({ line, width, theme, bg, ascii }: LineViewProps) {
  const fitted = fitLine(ascii === true ? line.map((s) => ({ ...s, text: toAscii(s.text) })) : line, width);
  // Truncation adds '…': map again (same width).
  const segs = ascii === true ? fitted.map((s) => ({ ...s, text: toAscii(s.text) })) : fitted;
  const background = bg === undefined ? null : theme.tokens[bg];
  return h(
    Text,
    { wrap: 'truncate-end' },
    ...segs.map((s, i) => h(Text, { key: i, ...tokenStyle(theme, s.tone ?? (bg === undefined ? undefined : 'statusFg'), s), ...(background !== null ? { backgroundColor: background } : {}) }, s.text)),
  );
});
