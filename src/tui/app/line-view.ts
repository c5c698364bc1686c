import { Text } from 'ink';
import { memo } from 'react';
import { fitLine, type Line } from '../text/line.ts';
import type { Theme, Token } from '../theme/theme.ts';
import { h } from './h.ts';
import { tokenStyle } from './style.ts';

export interface LineViewProps {
  line: Line;
  width: number;
  theme: Theme;
  padTone?: Token;
}

/** One terminal row, exactly `width` cells: sanitised, truncated, padded. */
export const LineView = memo(function LineView({ line, width, theme, padTone }: LineViewProps) {
  const segs = fitLine(line, width, padTone);
  return h(
    Text,
    { wrap: 'truncate-end' },
    ...segs.map((s, i) => h(Text, { key: i, ...tokenStyle(theme, s.tone, s) }, s.text)),
  );
});
