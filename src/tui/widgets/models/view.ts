// Models pane: one row per model container of this home (state, readiness, engine, port, uptime,
// CPU and memory from the engine's stats stream, GPU memory and utilisation joined through the
// owners of GPU processes), then the selected model's recent log lines when there is room. The log
// overlay's lines too. Log text comes from the container: inert() before it is shown.
import { inert } from '../../../text/index.ts';
import { fit } from '../../text/cells.ts';
import { seg, type Line } from '../../text/line.ts';
import type { Token } from '../../theme/theme.ts';
import { bytes, clamp, duration, windowStart } from '../common.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { modelGpu, modelRows, type ModelLogsMode } from './reducer.ts';

const STATE_TONE: Record<string, Token> = { running: 'ok', created: 'info', restarting: 'warn', paused: 'warn', exited: 'muted', dead: 'error', removing: 'warn' };

export function readyText(ready: boolean | null, state: string): { text: string; tone: Token } {
  if (state !== 'running') return { text: '-', tone: 'muted' };
  if (ready === null) return { text: '…', tone: 'muted' };
  return ready ? { text: 'ready', tone: 'ok' } : { text: 'wait', tone: 'warn' };
}

/** The pane's status line when there is no list to show: not loaded yet, or the engine is down (with the fix). */
function statusLines(props: BodyProps): Line[] | null {
  const st = props.snapshot.models.status;
  if (st.state === 'off' || st.state === 'starting') return [[seg('asking the Docker engine for models…', 'muted')]];
  if (st.state === 'down') {
    return [
      [seg('Docker engine down: ', 'error', { bold: true }), seg(st.reason, 'text')],
      [seg(st.retrying ? `retrying (${st.attempts} tried)` : `gave up after ${st.attempts} tries; reopen the TUI once the engine is up`, 'muted')],
    ];
  }
  return null;
}

export function modelsBody(props: BodyProps): PaneBody {
  const { snapshot, ui, width, height, now, focused } = props;
  const st = statusLines(props);
  if (st !== null) return { lines: st.slice(0, height), footer: snapshot.models.status.state === 'down' ? 'engine down' : 'loading' };
  const rows = modelRows(snapshot, ui);
  if (rows.length === 0) return { lines: [[seg('No models. nemoclaw models start NAME --engine … --image …', 'muted')]], footer: '0' };
  const nameW = clamp(width - 62, 6, 24);
  const header: Line = [seg(`${'NAME'.padEnd(nameW)} ${'STATE'.padEnd(10)} ${'READY'.padEnd(5)} ${'ENGINE'.padEnd(6)} ${'PORT'.padStart(5)} ${'UP'.padStart(6)} ${'CPU'.padStart(5)} ${'MEM'.padStart(5)} ${'GPU MEM'.padStart(7)} UTIL IMAGE`, 'muted')];
  // The header only when a row fits under it.
  const lines: Line[] = height >= 2 ? [header] : [];
  const cursor = clamp(ui.cursor.models ?? 0, 0, rows.length - 1);
  const listRoom = Math.max(1, Math.min(rows.length, height - lines.length));
  const start = windowStart(cursor, listRoom, rows.length);
  for (let i = start; i < rows.length && lines.length < height; i++) {
    const m = rows[i]!;
    const sel = { inverse: focused && i === cursor };
    const r = readyText(m.ready, m.state);
    const gpu = modelGpu(m.name, snapshot);
    const state = m.state === 'exited' && m.exitCode !== null ? `exited ${m.exitCode}` : m.state;
    lines.push([
      seg(`${fit(m.name, nameW)} `, undefined, sel),
      seg(fit(state, 10), STATE_TONE[m.state] ?? 'text', sel),
      seg(' ', undefined, sel),
      seg(r.text.padEnd(5), r.tone, sel),
      seg(` ${fit(m.engine, 6)} ${String(m.port).padStart(5)} ${(m.startedAt !== null ? duration(now - m.startedAt) : '-').padStart(6)} `, undefined, sel),
      seg(`${(m.cpuPercent !== null ? `${m.cpuPercent.toFixed(0)}%` : '-').padStart(5)} ${(m.memoryBytes !== null ? bytes(m.memoryBytes) : '-').padStart(5)} `, undefined, sel),
      seg(`${(gpu !== null ? `${(gpu.memoryMiB / 1024).toFixed(1)}G` : '-').padStart(7)} ${(gpu?.utilization != null ? `${gpu.utilization}%` : '-').padStart(4)} `, gpu !== null ? 'info' : 'muted', sel),
      seg(m.image, 'muted', sel),
      ...(m.restartCount > 0 ? [seg(` restarts ${m.restartCount}`, 'warn')] : []),
    ]);
  }
  const chosen = rows[cursor];
  if (chosen !== undefined && height - lines.length >= 3 && chosen.recentLogs.length > 0) {
    lines.push([seg(`${chosen.name}: last lines (l for more)`, 'muted', { dim: true })]);
    for (const l of chosen.recentLogs.slice(-(height - lines.length))) lines.push([seg(`  ${inert(l)}`, 'text')]);
  }
  const running = rows.filter((m) => m.state === 'running').length;
  return { lines, footer: `l logs · r restart · s stop · ${running}/${rows.length} running` };
}

/** The log overlay: its lines, inert, newest at the bottom; `scroll` moves up from the end. */
export function modelLogsLines(mode: ModelLogsMode, room: number): { lines: Line[]; footer: string } {
  if (mode.status === 'loading') return { lines: [[seg(`asking the engine for ${mode.name}'s logs…`, 'muted')]], footer: '' };
  if (mode.status === 'error') return { lines: [[seg(mode.error ?? 'logs unavailable', 'error')]], footer: '' };
  if (mode.lines.length === 0) return { lines: [[seg('(no output yet)', 'muted')]], footer: '0 lines' };
  const end = Math.max(0, mode.lines.length - mode.scroll);
  const begin = Math.max(0, end - room);
  return { lines: mode.lines.slice(begin, end).map((l) => [seg(inert(l), 'text')]), footer: `${begin + 1}-${end} of ${mode.lines.length}` };
}
