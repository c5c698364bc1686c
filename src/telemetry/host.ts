// Host CPU and memory, polled off the render path. Memory from systeminformation (mem(): an async
// read of /proc/meminfo). CPU from os.cpus() deltas: systeminformation's currentLoad() runs
// `execSync('cat /proc/stat | grep cpu')` on Linux, which blocked the TUI's event loop for
// milliseconds every poll (keys waited behind it). Never calls systeminformation.graphics(): it
// runs nvidia-smi synchronously.
import { cpus } from 'node:os';
import si from 'systeminformation';
import type { HostSample } from './types.ts';

export interface HostMonitorOptions {
  intervalMs?: number;
  onSample: (sample: HostSample) => void;
  onError?: (err: unknown) => void;
  now?: () => number;
}

export interface HostMonitor {
  stop(): void;
}

/** Cumulative CPU times over all cores (ms): busy and total. */
export interface CpuTimes {
  busy: number;
  total: number;
}

export function sumCpuTimes(list: ReadonlyArray<{ times: { user: number; nice: number; sys: number; idle: number; irq: number } }>): CpuTimes {
  let busy = 0;
  let total = 0;
  for (const { times: t } of list) {
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}

/** Percent 0-100 of all cores busy between two readings; 0 when no time passed. */
export function cpuPercentBetween(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  if (!(total > 0)) return 0;
  return Math.min(100, Math.max(0, ((after.busy - before.busy) / total) * 100));
}

/** One sample; CPU is measured against `since` (the previous reading), or over a short window when none is given. */
export async function readHostSample(now: () => number = Date.now, since?: CpuTimes): Promise<HostSample & { times: CpuTimes }> {
  let before = since;
  if (!before) {
    before = sumCpuTimes(cpus());
    await new Promise((r) => setTimeout(r, 100));
  }
  const mem = await si.mem();
  const times = sumCpuTimes(cpus());
  return { cpu: cpuPercentBetween(before, times), memUsed: mem.active, memTotal: mem.total, ts: now(), times };
}

export function startHostMonitor(options: HostMonitorOptions): HostMonitor {
  const now = options.now ?? Date.now;
  let stopped = false;
  let busy = false;
  let last: CpuTimes | undefined; // the first sample measures its own short window
  const tick = (): void => {
    if (busy || stopped) return; // never overlap polls
    busy = true;
    readHostSample(now, last).then(
      ({ times, ...s }) => {
        busy = false;
        last = times;
        if (!stopped) options.onSample(s);
      },
      (err: unknown) => {
        busy = false;
        if (!stopped) options.onError?.(err);
      },
    );
  };
  const timer = setInterval(tick, options.intervalMs ?? 1000);
  timer.unref();
  tick();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
