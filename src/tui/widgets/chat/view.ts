import { seg, type Line } from '../../text/line.ts';
import { hhmmss, showTime } from '../common.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { inferenceRows } from './reducer.ts';

export function chatBody({ snapshot, ui, width, height }: BodyProps): PaneBody {
  const lines: Line[] = [[seg('Agent chat arrives with the agent integration.', 'muted')]];
  const rows = inferenceRows(snapshot, ui);
  if (rows.length > 0 && height > 2) lines.push([seg('inference calls', 'muted', { dim: true })]);
  for (const r of rows) {
    if (lines.length >= height) break;
    lines.push([
      ...(showTime(width) ? [seg(`${hhmmss(r.ts)} `, 'muted')] : []),
      seg(r.sandbox, 'text'),
      seg(` ${r.model}@${r.backend}`, 'info'),
      seg(` ${r.decision} ${r.latencyMs}ms${r.tokens !== undefined ? ` ${r.tokens}tok` : ''}`, 'muted'),
    ]);
  }
  return { lines, footer: `${rows.length} calls` };
}
