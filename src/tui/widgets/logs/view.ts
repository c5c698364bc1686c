import { seg } from '../../text/line.ts';
import { count, feedWindow, hhmmss, showTime } from '../common.ts';
import { feedFooter } from '../feed-footer.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { logRows } from './reducer.ts';

export function logsBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const rows = logRows(snapshot, ui);
  const { lines, top } = feedWindow(rows, ui.cursor.logs, height, [seg(ui.sandbox === null ? 'No log lines yet.' : `No log lines from ${ui.sandbox}.`, 'muted')], (r) => {
    const e = r.event;
    return [
      ...(showTime(width) ? [seg(`${hhmmss(r.lastTs)} `, 'muted')] : []),
      ...(ui.sandbox === null ? [seg(`${e.sandbox} `, 'info')] : []),
      seg(e.line, e.stream === 'stderr' ? 'error' : e.stream === 'system' ? 'accent' : 'text'),
      seg(count(r.count), 'warn', { bold: true }),
    ];
  });
  return { lines, footer: feedFooter(ui, 'logs', rows.length, snapshot.logs.dropped, [ui.sandbox ?? 'all sandboxes', ...(top > 0 ? [`scrolled ${top}`] : [])]) };
}
