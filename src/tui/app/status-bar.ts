// The bottom row: layout, pending count, pause state and messages, or the command/filter line.
import type { UiState } from '../input/types.ts';
import { PANE_TITLES } from '../layout/panes.ts';
import { cellWidth } from '../text/cells.ts';
import { seg, type Line } from '../text/line.ts';

export function statusLine(ui: UiState, info: { pending: number; pausedBehind: number; width: number }): Line {
  const top = ui.modes[ui.modes.length - 1];
  if (top?.kind === 'command') return [seg(':', 'accent', { bold: true }), seg(top.text, 'text'), seg(' ', 'text', { inverse: true }), seg('   Enter run · Esc cancel', 'muted')];
  if (top?.kind === 'filter') {
    return [seg(`/${PANE_TITLES[top.pane]}: `, 'accent', { bold: true }), seg(top.text, 'text'), seg(' ', 'text', { inverse: true }), seg('   !text inverts · Enter apply · Esc cancel', 'muted')];
  }
  const left: Line = [seg(' nemoclaw ', 'accent', { bold: true }), seg(`${ui.layout} `, 'muted')];
  if (ui.zoomed !== null) left.push(seg('[zoom] ', 'info'));
  left.push(info.pending > 0 ? seg(`● ${info.pending} pending `, 'warn', { bold: true }) : seg('○ 0 pending ', 'muted'));
  if (ui.paused) left.push(seg(` PAUSED +${info.pausedBehind} `, 'warn', { inverse: true, bold: true }), seg(' '));
  if (ui.message !== null) left.push(seg(ui.message.text, ui.message.tone === 'info' ? 'info' : ui.message.tone));
  const right = '? help  : cmd  / filter  q quit ';
  const used = left.reduce((n, s) => n + cellWidth(s.text), 0);
  const gap = info.width - used - right.length;
  if (gap >= 1) left.push(seg(' '.repeat(gap)), seg(right, 'muted'));
  return left;
}
