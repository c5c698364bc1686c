import { seg } from '../../text/line.ts';
import { basename, count, feedWindow, hhmmss, showTime } from '../common.ts';
import { feedFooter } from '../feed-footer.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { syscallRows } from './reducer.ts';

export function syscallsBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const rows = syscallRows(snapshot, ui);
  const { lines, top } = feedWindow(rows, ui.cursor.syscalls, height, [seg('No syscall or exec denials.', 'muted')], (r) => {
    const e = r.event;
    return [
      ...(showTime(width) ? [seg(`${hhmmss(r.lastTs)} `, 'muted')] : []),
      seg(e.type === 'syscall_denied' ? e.syscall : `exec ${e.path}`, 'deny', { bold: true }),
      seg(count(r.count), 'warn', { bold: true }),
      seg(` ${e.sandbox}`, 'text'),
      seg(` ${basename(e.binary)}`, 'info'),
      seg(` ${e.rule}`, 'muted'),
    ];
  });
  return { lines, footer: feedFooter(ui, 'syscalls', rows.length, snapshot.syscalls.dropped, top > 0 ? [`scrolled ${top}`] : []) };
}
