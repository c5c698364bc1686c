import type { GpuSample } from '../../../telemetry/index.ts';

export function gib(mib: number | null): string {
  return mib === null ? '?' : (mib / 1024).toFixed(1);
}

export function shortGpuName(name: string): string {
  return name.replace(/^NVIDIA\s+/i, '');
}

export function memPercent(g: GpuSample): number {
  return g.memoryUsed !== null && g.memoryTotal !== null && g.memoryTotal > 0 ? (g.memoryUsed / g.memoryTotal) * 100 : 0;
}

/** How the pane's rows are shared: GPU lines, chart, processes, host lines. */
export function gpuBudget(height: number, gpus: number, processes: number, hostLines: number): { gpuLines: number; chart: number; procs: number } {
  let left = Math.max(0, height - hostLines);
  const gpuLines = Math.min(gpus, left);
  left -= gpuLines;
  const chart = left >= 6 ? Math.min(10, left - Math.min(processes, 3)) : 0;
  left -= chart;
  const procs = Math.min(processes, left);
  return { gpuLines, chart: chart >= 4 ? chart : 0, procs };
}
