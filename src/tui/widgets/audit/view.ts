import { seg } from '../../text/line.ts';
import { feedWindow, hhmmss, showTime } from '../common.ts';
import { feedFooter } from '../feed-footer.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { auditRows } from './reducer.ts';

export function auditBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const rows = auditRows(snapshot, ui);
  const { lines } = feedWindow(rows, ui.cursor.audit, height, [seg('No audit records yet.', 'muted')], (r) => {
    const tone = r.kind.endsWith('deny') || r.kind.endsWith('denied') ? 'deny' : r.kind.startsWith('approval') ? 'warn' : 'info';
    return [seg(`#${r.seq} `, 'muted'), ...(showTime(width) ? [seg(`${hhmmss(r.ts)} `, 'muted')] : []), seg(r.kind, tone), seg(` ${r.summary}`, 'text')];
  });
  return { lines, footer: feedFooter(ui, 'audit', rows.length, snapshot.audit.dropped) };
}
