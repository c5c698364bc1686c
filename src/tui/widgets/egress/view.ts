import { seg } from '../../text/line.ts';
import { basename, count, feedWindow, hhmmss, showTime } from '../common.ts';
import { feedFooter } from '../feed-footer.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { egressRows } from './reducer.ts';

export function egressBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const rows = egressRows(snapshot, ui);
  const { lines, top } = feedWindow(rows, ui.cursor.egress, height, [seg(ui.showAllowed ? 'No egress yet.' : 'No denied egress. (e: show allowed)', 'muted')], (r) => {
    const e = r.event;
    const denied = e.type === 'egress_denied';
    return [
      ...(showTime(width) ? [seg(`${hhmmss(r.lastTs)} `, 'muted')] : []),
      seg(denied ? '✗ ' : '✓ ', denied ? 'deny' : 'allow', { bold: true }),
      seg(`${e.host}:${e.port}`, denied ? 'deny' : 'allow'),
      seg(count(r.count), 'warn', { bold: true }),
      seg(` ${e.sandbox}`, 'text'),
      seg(` ${basename(e.binary)}`, 'info'),
      seg(` ${e.rule}`, 'muted'),
    ];
  });
  return { lines, footer: feedFooter(ui, 'egress', rows.length, snapshot.egress.dropped, [ui.showAllowed ? 'all' : 'denied', ...(top > 0 ? [`scrolled ${top}`] : [])]) };
}
