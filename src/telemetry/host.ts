// Host CPU and memory from systeminformation (currentLoad, mem), polled off the render path.
// Never calls systeminformation.graphics(): it runs nvidia-smi synchronously.
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

export async function readHostSample(now: () => number = Date.now): Promise<HostSample> {
  const [load, mem] = await Promise.all([si.currentLoad(), si.mem()]);
  return { cpu: load.currentLoad, memUsed: mem.active, memTotal: mem.total, ts: now() };
}

export function startHostMonitor(options: HostMonitorOptions): HostMonitor {
  const now = options.now ?? Date.now;
  let stopped = false;
  let busy = false;
  const tick = (): void => {
    if (busy || stopped) return; // never overlap polls
    busy = true;
    readHostSample(now).then(
      (s) => {
        busy = false;
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
