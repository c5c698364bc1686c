import { seg, type Line } from '../../text/line.ts';
import { basename, clamp, count, hhmmss, showTime } from '../common.ts';
import { feedFooter } from '../feed-footer.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { syscallRows } from './reducer.ts';

export function syscallsBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const rows = syscallRows(snapshot, ui);
  const lines: Line[] = [];
  if (rows.length === 0) lines.push([seg('No syscall or exec denials.', 'muted')]);
  const top = clamp(ui.cursor.syscalls ?? 0, 0, Math.max(0, rows.length - 1));
  for (let i = top; i < rows.length && lines.length < height; i++) {
    const r = rows[i];
    if (r === undefined) break;
    const e = r.event;
    lines.push([
      ...(showTime(width) ? [seg(`${hhmmss(r.lastTs)} `, 'muted')] : []),
      seg(e.type === 'syscall_denied' ? e.syscall : `exec ${e.path}`, 'deny', { bold: true }),
      seg(count(r.count), 'warn', { bold: true }),
      seg(` ${e.sandbox}`, 'text'),
      seg(` ${basename(e.binary)}`, 'info'),
      seg(` ${e.rule}`, 'muted'),
    ]);
  }
  return { lines, footer: feedFooter(ui, 'syscalls', rows.length, snapshot.syscalls.dropped, top > 0 ? [`scrolled ${top}`] : []) };
}
