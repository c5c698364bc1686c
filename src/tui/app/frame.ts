// A pane: border with number and title on top, footer in the bottom border, body lines inside.
// Drawn from text (not Ink's Box border) so that every row is exactly the rectangle's width.
import { Box, Text } from 'ink';
import { memo } from 'react';
import type { Rect } from '../layout/layout.ts';
import { cellWidth, toAscii, truncate } from '../text/cells.ts';
import type { Line, Seg } from '../text/line.ts';
import type { Theme } from '../theme/theme.ts';
import { h } from './h.ts';
import { LinesView } from './line-view.ts';
import { tokenStyle } from './style.ts';

export interface Glyphs {
  tl: string;
  tr: string;
  bl: string;
  br: string;
  hz: string;
  vt: string;
}
export const BOX: Glyphs = { tl: '┌', tr: '┐', bl: '└', br: '┘', hz: '─', vt: '│' };
export const BOX_FOCUS: Glyphs = { tl: '┏', tr: '┓', bl: '┗', br: '┛', hz: '━', vt: '┃' };
export const ASCII_BOX: Glyphs = { tl: '+', tr: '+', bl: '+', br: '+', hz: '-', vt: '|' };
export const ASCII_BOX_FOCUS: Glyphs = { tl: '#', tr: '#', bl: '#', br: '#', hz: '=', vt: '#' };

/** Top border "┌ 2 Approvals ───── info ┐" of exactly `width` cells. */
export function borderLine(width: number, g: Glyphs, left: string, right: string, top: boolean): string {
  if (width < 2) return g.hz.repeat(Math.max(0, width));
  const inner = width - 2;
  const l = left === '' ? '' : truncate(` ${left} `, Math.max(0, inner - 1));
  const rRoom = inner - cellWidth(l) - 2;
  const r = right === '' || rRoom < 4 ? '' : truncate(` ${right} `, rRoom);
  const fill = inner - cellWidth(l) - cellWidth(r) - (l === '' ? 0 : 1);
  const body = (l === '' ? '' : g.hz + l) + g.hz.repeat(Math.max(0, fill)) + r;
  return (top ? g.tl : g.bl) + body + (top ? g.tr : g.br);
}

export interface FrameProps {
  rect: Rect;
  title: string;
  info?: string;
  footer?: string;
  focused: boolean;
  lines: Line[];
  theme: Theme;
  ascii?: boolean;
}

function FrameView({ rect, title, info, footer, focused, lines, theme, ascii }: FrameProps) {
  const g = ascii === true ? (focused ? ASCII_BOX_FOCUS : ASCII_BOX) : focused ? BOX_FOCUS : BOX;
  const border = tokenStyle(theme, focused ? 'borderFocus' : 'border', { bold: focused });
  const titleStyle = tokenStyle(theme, focused ? 'titleFocus' : 'title', { bold: focused, inverse: focused && theme.tokens.borderFocus === null });
  const innerW = Math.max(0, rect.width - 2);
  const innerH = Math.max(0, rect.height - 2);
  const asc = (s: string): string => (ascii === true ? toAscii(s) : s);
  const top = asc(borderLine(rect.width, g, title, info ?? '', true));
  const titleEnd = 1 + cellWidth(truncate(` ${title} `, Math.max(0, rect.width - 3))) + 1;
  // Body: the left border column (one text), the body rows, the right border column. Keeping
  // the box-drawing glyphs out of the body rows keeps those rows ASCII for Ink's width measuring.
  const side = innerH > 0 ? `${g.vt}\n`.repeat(innerH - 1) + g.vt : '';
  const body: Line[] = [];
  for (let i = 0; i < innerH; i++) body.push(lines[i] ?? []);
  return h(
    Box,
    // overflowY only: rows are already exactly the rectangle's width, and a horizontal clip would
    // make Ink measure and re-slice every row of every frame.
    { position: 'absolute', top: rect.y, left: rect.x, width: rect.width, height: rect.height, flexDirection: 'column', overflowY: 'hidden' },
    h(Text, { wrap: 'truncate-end' }, h(Text, border, [...top].slice(0, 2).join('')), h(Text, titleStyle, [...top].slice(2, titleEnd).join('')), h(Text, border, [...top].slice(titleEnd).join(''))),
    innerH > 0
      ? h(
          Box,
          { key: 'body', flexDirection: 'row', width: rect.width, height: innerH },
          h(Text, border, side),
          h(Box, { width: innerW, height: innerH }, h(LinesView, { lines: body, width: innerW, theme, ascii: ascii === true })),
          h(Text, border, side),
        )
      : null,
    rect.height >= 2 ? h(Text, { key: 'bottom', wrap: 'truncate-end' }, h(Text, border, asc(borderLine(rect.width, g, '', footer ?? '', false)))) : null,
  );
}

function sameSeg(a: Seg, b: Seg): boolean {
  return a.text === b.text && a.tone === b.tone && a.bold === b.bold && a.inverse === b.inverse && a.dim === b.dim;
}

export function sameLines(a: readonly Line[], b: readonly Line[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Line;
    const y = b[i] as Line;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (!sameSeg(x[j] as Seg, y[j] as Seg)) return false;
  }
  return true;
}

/** Panes whose content did not change between two snapshots are not reconciled again. */
export const Frame = memo(FrameView, (p, n) =>
  p.rect.x === n.rect.x &&
  p.rect.y === n.rect.y &&
  p.rect.width === n.rect.width &&
  p.rect.height === n.rect.height &&
  p.title === n.title &&
  p.info === n.info &&
  p.footer === n.footer &&
  p.focused === n.focused &&
  p.theme === n.theme &&
  p.ascii === n.ascii &&
  sameLines(p.lines, n.lines),
);
