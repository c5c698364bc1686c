import { seg, type Line } from '../../text/line.ts';
import { clamp, duration, hhmmss, newestFirst, windowStart } from '../common.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { pendingRows } from './reducer.ts';

export function approvalsBody({ snapshot, ui, height, now, focused }: BodyProps): PaneBody {
  const rows = pendingRows(snapshot, ui);
  const lines: Line[] = [];
  if (rows.length === 0) lines.push([seg('No pending approvals.', 'muted')]);
  const cursor = clamp(ui.cursor.approvals ?? 0, 0, Math.max(0, rows.length - 1));
  const room = Math.max(1, height - (snapshot.decided.items.length > 0 ? 2 : 0));
  const start = windowStart(cursor, room, rows.length);
  for (let i = start; i < rows.length && lines.length < room; i++) {
    const p = rows[i];
    if (p === undefined) break;
    const selected = i === cursor;
    const left = p.timeoutAt - now;
    const countdown = duration(left);
    const pointer = selected ? (focused ? '▶ ' : '> ') : '  ';
    lines.push([
      seg(pointer, 'accent', { bold: selected }),
      seg(p.id, 'warn', { bold: true, inverse: selected && focused }),
      seg(left > 0 ? ` ${countdown} left ` : ' expired ', left < 15_000 ? 'error' : 'warn', { bold: left < 15_000 }),
      seg(p.summary, 'text', { bold: selected }),
      seg(`  ${p.sandbox} ${p.kind} age ${duration(now - p.createdAt)}`, 'muted'),
    ]);
  }
  if (snapshot.decided.items.length > 0 && lines.length < height - 1) {
    lines.push([seg('recent decisions', 'muted', { dim: true })]);
    for (const d of newestFirst(snapshot.decided.items)) {
      if (lines.length >= height) break;
      lines.push([
        seg(d.verdict === 'allow' ? '✓ allow' : '✗ deny ', d.verdict === 'allow' ? 'allow' : 'deny', { bold: true }),
        seg(d.always ? ' always' : ' once  ', 'muted'),
        seg(` ${d.id} ${d.summary}`, 'text'),
        seg(` by ${d.by} ${hhmmss(d.ts)}`, 'muted'),
      ]);
    }
  }
  return { lines, footer: rows.length > 0 ? `a/A allow · d/D deny · Enter details · ${rows.length} pending` : '0 pending' };
}
