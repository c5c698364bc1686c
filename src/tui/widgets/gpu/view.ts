import { gauge, sparkline } from '../../charts/sparkline.ts';
import { lineChart } from '../../charts/line-chart.ts';
import { ownerLabel } from '../../../telemetry/index.ts';
import { fit } from '../../text/cells.ts';
import { seg, type Line } from '../../text/line.ts';
import { bytes } from '../common.ts';
import type { BodyProps, PaneBody } from '../types.ts';
import { gib, gpuBudget, memPercent, shortGpuName } from './reducer.ts';

function hostLines(props: BodyProps): Line[] {
  const { snapshot, width, ascii } = props;
  const h = snapshot.host;
  if (h.latest === null) return [[seg('host: waiting for first sample', 'muted')]];
  const spark = Math.max(0, width - 26);
  return [
    [seg('CPU ', 'muted'), seg(`${h.latest.cpu.toFixed(0).padStart(3)}% `, 'text'), seg(sparkline(h.cpu, spark, { min: 0, max: 100, ascii: ascii === true }), 'chart')],
    [seg('MEM ', 'muted'), seg(`${bytes(h.latest.memUsed)}/${bytes(h.latest.memTotal)} `.padStart(12), 'text'), seg(sparkline(h.mem, Math.max(0, width - 16), { min: 0, max: 100, ascii: ascii === true }), 'chartAlt')],
  ];
}

export function gpuBody(props: BodyProps): PaneBody {
  const { snapshot, width, height, ascii } = props;
  const g = snapshot.gpu;
  const host = hostLines(props);
  const lines: Line[] = [];
  if (g.status.state === 'unavailable') {
    lines.push([seg('no NVIDIA GPU found', 'warn', { bold: true })]);
    if (height - host.length > 1) lines.push([seg(g.status.reason, 'muted')]);
  } else if (g.gpus.length === 0) {
    lines.push([seg('looking for NVIDIA GPUs…', 'muted')]);
  } else {
    const budget = gpuBudget(height, g.gpus.length, g.processes.length, host.length);
    for (const s of g.gpus.slice(0, budget.gpuLines)) {
      const x = s.latest;
      const util = x.utilization ?? 0;
      lines.push([
        seg(`${x.index} `, 'accent', { bold: true }),
        seg(`${shortGpuName(x.name).slice(0, 14)} `, 'muted'),
        seg(`${String(x.utilization ?? '?').padStart(3)}% `, util > 90 ? 'warn' : 'text'),
        seg(gauge(util, 10, ascii === true), 'chart'),
        seg(` ${gib(x.memoryUsed)}/${gib(x.memoryTotal)}G`, memPercent(x) > 90 ? 'warn' : 'text'),
        seg(` ${x.temperature ?? '?'}°C ${x.powerDraw !== null ? Math.round(x.powerDraw) : '?'}W`, 'muted'),
      ]);
    }
    if (budget.chart > 0) {
      const chart = lineChart(g.gpus.map((s) => s.util), width, budget.chart);
      chart.forEach((l, i) => lines.push([seg(l, i === 0 ? 'chart' : 'chart')]));
    }
    // Who runs each GPU process (src/telemetry/owner.ts): a model container, a sandbox, the host.
    // Rows from a source that resolves no owners (a supervisor's samples) get no owner column.
    const shown = g.processes.slice(0, budget.procs);
    const owners = shown.some((p) => p.owner !== undefined);
    const ownerW = Math.min(24, Math.max(4, ...shown.map((p) => ownerLabel(p.owner).length)));
    for (const p of shown) {
      const o = p.owner;
      lines.push([
        seg(`${String(p.pid).padStart(7)} `, 'muted'),
        seg(`${gib(p.usedMemory)}G `, 'text'),
        ...(owners ? [seg(`${fit(ownerLabel(o) || '?', ownerW)} `, o?.kind === 'model' ? 'accent' : o?.kind === 'sandbox' ? 'warn' : 'muted')] : []),
        seg(p.name, 'info'),
      ]);
    }
  }
  while (lines.length < height - host.length) lines.push([]);
  lines.splice(Math.max(0, height - host.length));
  lines.push(...host.slice(0, height));
  return { lines: lines.slice(0, height), footer: g.status.state === 'ok' ? `${g.gpus.length} GPU` : g.status.state };
}
