// Telemetry sample types. Shared with the TUI's event union (type-only); no React here.

/** One row of `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw`. */
export interface GpuSample {
  index: number;
  name: string;
  /** Percent 0-100, or null when nvidia-smi reports [N/A] / [Not Supported]. */
  utilization: number | null;
  /** MiB. */
  memoryUsed: number | null;
  /** MiB. */
  memoryTotal: number | null;
  /** Degrees Celsius. */
  temperature: number | null;
  /** Watts. */
  powerDraw: number | null;
  /** Epoch milliseconds at which the line was read. */
  ts: number;
}

/** One row of `nvidia-smi --query-compute-apps=pid,process_name,used_memory,gpu_uuid`. */
export interface GpuProcess {
  pid: number;
  name: string;
  /** MiB, or null when not reported. */
  usedMemory: number | null;
  gpuUuid: string;
}

export interface HostSample {
  /** Percent 0-100 across all cores. */
  cpu: number;
  /** Bytes. */
  memUsed: number;
  memTotal: number;
  ts: number;
}

export type GpuStatus =
  | { state: 'starting' }
  | { state: 'ok' }
  /** nvidia-smi missing or failing: the TUI shows "no NVIDIA GPU found" with the reason. */
  | { state: 'unavailable'; reason: string };
