import { seg, type Line } from '../../text/line.ts';
import { clamp, hhmmss, showTime } from '../common.ts';
import { feedFooter } from '../feed-footer.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { auditRows } from './reducer.ts';

export function auditBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const rows = auditRows(snapshot, ui);
  const lines: Line[] = [];
  if (rows.length === 0) lines.push([seg('No audit records yet.', 'muted')]);
  const top = clamp(ui.cursor.audit ?? 0, 0, Math.max(0, rows.length - 1));
  for (let i = top; i < rows.length && lines.length < height; i++) {
    const r = rows[i];
    if (r === undefined) break;
    const tone = r.kind.endsWith('deny') || r.kind.endsWith('denied') ? 'deny' : r.kind.startsWith('approval') ? 'warn' : 'info';
    lines.push([seg(`#${r.seq} `, 'muted'), ...(showTime(width) ? [seg(`${hhmmss(r.ts)} `, 'muted')] : []), seg(r.kind, tone), seg(` ${r.summary}`, 'text')]);
  }
  return { lines, footer: feedFooter(ui, 'audit', rows.length, snapshot.audit.dropped) };
}
