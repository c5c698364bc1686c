import { seg, type Line } from '../../text/line.ts';
import { clamp, count, hhmmss, showTime } from '../common.ts';
import { feedFooter } from '../feed-footer.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { logRows } from './reducer.ts';

export function logsBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const rows = logRows(snapshot, ui);
  const lines: Line[] = [];
  if (rows.length === 0) lines.push([seg(ui.sandbox === null ? 'No log lines yet.' : `No log lines from ${ui.sandbox}.`, 'muted')]);
  const top = clamp(ui.cursor.logs ?? 0, 0, Math.max(0, rows.length - 1));
  for (let i = top; i < rows.length && lines.length < height; i++) {
    const r = rows[i];
    if (r === undefined) break;
    const e = r.event;
    lines.push([
      ...(showTime(width) ? [seg(`${hhmmss(r.lastTs)} `, 'muted')] : []),
      ...(ui.sandbox === null ? [seg(`${e.sandbox} `, 'info')] : []),
      seg(e.line, e.stream === 'stderr' ? 'error' : e.stream === 'system' ? 'accent' : 'text'),
      seg(count(r.count), 'warn', { bold: true }),
    ]);
  }
  return { lines, footer: feedFooter(ui, 'logs', rows.length, snapshot.logs.dropped, [ui.sandbox ?? 'all sandboxes', ...(top > 0 ? [`scrolled ${top}`] : [])]) };
}
