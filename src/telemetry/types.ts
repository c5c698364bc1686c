// Telemetry sample types. Shared with the TUI's event union (type-only); no React here.

/** One row of `nvidia-smi --query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw`. */
export interface GpuSample {
  index: number;
  /** `GPU-…`, to join per-process rows (they name the GPU by uuid); absent from a query without it. */
  uuid?: string;
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
  /** Who runs it (src/telemetry/owner.ts), once resolved from /proc; absent straight from nvidia-smi. */
  owner?: GpuOwner;
}

/** A GPU process's owner: one of our model containers, another container, a sandbox, the host, or unknown (pid not readable). */
export type GpuOwner = { kind: 'model'; name: string } | { kind: 'container'; id: string } | { kind: 'sandbox'; name: string } | { kind: 'host' } | { kind: 'unknown' };

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
