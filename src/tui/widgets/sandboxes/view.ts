import { fit } from '../../text/cells.ts';
import { seg, type Line } from '../../text/line.ts';
import type { Token } from '../../theme/theme.ts';
import { bytes, clamp, duration, windowStart } from '../common.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import type { LearningInfo } from '../../store/events.ts';
import { sandboxRows } from './reducer.ts';

const STATE_TONE: Record<string, Token> = { running: 'ok', creating: 'info', starting: 'info', stopping: 'warn', stopped: 'muted', failed: 'error' };

/** "2 dest seen" (+ "1 exec" when exec learns too): what learning mode has let through so far. */
export function learningText(l: LearningInfo): string {
  return `${l.destinations} dest${l.exec ? ` ${l.execs} exec` : ''} seen`;
}

export function sandboxesBody({ snapshot, ui, width, height, now, focused }: BodyProps): PaneBody {
  const rows = sandboxRows(snapshot, ui);
  const lines: Line[] = [];
  if (rows.length === 0) return { lines: [[seg('No sandboxes yet.', 'muted')]] };
  const nameW = clamp(width - 46, 6, 24);
  lines.push([seg(`${' NAME'.padEnd(nameW)} ${'STATE'.padEnd(8)} ${'UP'.padStart(6)} DEN APR ${'CPU'.padStart(4)} ${'MEM'.padStart(5)} BLUEPRINT REV`, 'muted')]);
  const cursor = clamp(ui.cursor.sandboxes ?? 0, 0, rows.length - 1);
  const start = windowStart(cursor, height - 1, rows.length);
  for (let i = start; i < rows.length && lines.length < height; i++) {
    const s = rows[i];
    if (s === undefined) break;
    const sel = { inverse: focused && i === cursor };
    const up = s.startedAt !== undefined && s.state === 'running' ? duration(now - s.startedAt) : '-';
    const cpu = s.cpuPercent !== undefined ? `${Math.round(s.cpuPercent)}%` : '-';
    const marker = ui.sandbox === s.name ? '*' : ' ';
    lines.push([
      seg(`${fit(marker + s.name, nameW)} `, undefined, sel),
      // Learning mode lets unmatched actions through: never quietly (issue 22).
      s.learning !== undefined && s.state === 'running' ? seg('learning', 'warn', { ...sel, bold: true }) : seg(s.state.padEnd(8), STATE_TONE[s.state] ?? 'text', sel),
      seg(` ${up.padStart(6)} `, undefined, sel),
      seg(String(s.denials).padStart(3), s.denials > 0 ? 'deny' : 'muted', sel),
      seg(' ', undefined, sel),
      seg(String(s.pendingApprovals).padStart(3), s.pendingApprovals > 0 ? 'warn' : 'muted', sel),
      seg(` ${cpu.padStart(4)} ${bytes(s.memoryBytes).padStart(5)} ${fit(s.blueprint, 9)} ${String(s.policyRevision).padStart(3)}`, undefined, sel),
      ...(s.lastLimit !== undefined ? [seg(` limit ${s.lastLimit}`, 'warn')] : []),
      ...(s.degraded !== undefined && s.degraded.length > 0 ? [seg(' DEGRADED', 'error', { bold: true })] : []),
      ...(s.learning !== undefined ? [seg(` ${learningText(s.learning)}`, 'warn')] : []),
      ...(s.inference !== undefined ? [seg(` ${s.inference.mode}`, s.inference.mode === 'cloud-allowed' ? 'muted' : 'info')] : []),
    ]);
  }
  // The footer says it even when the row is cut: how many learn, and what the selected one has seen.
  const learning = rows.filter((r) => r.learning !== undefined);
  const sel = rows[cursor];
  const what = sel?.learning !== undefined ? `${sel.name} ${learningText(sel.learning)}` : `${learning.length} learning`;
  return { lines, footer: learning.length > 0 ? `${what} · ${rows.length}` : `${rows.length}` };
}
