// GPU telemetry from a long-running `nvidia-smi ... -lms N` child, parsed line by line. Never
// blocks the event loop (no execFileSync, no systeminformation.graphics()).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { GpuProcess, GpuSample, GpuStatus } from './types.ts';

export const GPU_QUERY_FIELDS = ['index', 'uuid', 'name', 'utilization.gpu', 'memory.used', 'memory.total', 'temperature.gpu', 'power.draw'] as const;
export const APPS_QUERY_FIELDS = ['pid', 'process_name', 'used_memory', 'gpu_uuid'] as const;

/** argv for the streaming GPU query. */
export function gpuQueryArgs(intervalMs: number): string[] {
  return [`--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits', '-lms', String(Math.max(100, Math.round(intervalMs)))];
}

/** argv for the one-shot per-process query. */
export function appsQueryArgs(): string[] {
  return [`--query-compute-apps=${APPS_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

/** "[N/A]", "[Not Supported]", "N/A", "" and anything non-numeric become null. */
export function parseNumber(field: string | undefined): number | null {
  if (field === undefined) return null;
  const t = field.trim();
  if (t === '' || t.startsWith('[') || /^n\/a$/i.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

/**
 * Parse one line of `--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw
 * --format=csv,noheader,nounits`, e.g. `0, GPU-5c3f…, NVIDIA H100 80GB HBM3, 37, 10240, 81559, 41, 118.52`.
 * The name may itself contain commas: the first field is the index, then the uuid (`GPU-…`; lines
 * without it, from the older query, still parse), the last five are numbers and everything between
 * is the name. Returns null for lines that are not GPU rows (blank, errors).
 */
export function parseGpuLine(line: string, ts: number): GpuSample | null {
  const fields = line.split(',');
  if (fields.length < 7) return null;
  const index = parseNumber(fields[0]);
  if (index === null || !Number.isInteger(index) || index < 0) return null;
  const tail = fields.slice(-5);
  const second = (fields[1] ?? '').trim();
  const uuid = /^GPU-[0-9a-fA-F-]+$/.test(second) && fields.length >= 8 ? second : null;
  const name = fields.slice(uuid === null ? 1 : 2, -5).join(',').trim();
  if (name === '') return null;
  return {
    index,
    ...(uuid !== null ? { uuid } : {}),
    name,
    utilization: parseNumber(tail[0]),
    memoryUsed: parseNumber(tail[1]),
    memoryTotal: parseNumber(tail[2]),
    temperature: parseNumber(tail[3]),
    powerDraw: parseNumber(tail[4]),
    ts,
  };
}

/**
 * Parse one line of `--query-compute-apps=pid,process_name,used_memory,gpu_uuid --format=csv,noheader,nounits`,
 * e.g. `12345, /usr/bin/python3, 4096, GPU-4f0c…`. Null for anything else ("No running processes found").
 */
export function parseAppLine(line: string): GpuProcess | null {
  const fields = line.split(',');
  if (fields.length < 4) return null;
  const pid = parseNumber(fields[0]);
  if (pid === null || !Number.isInteger(pid) || pid <= 0) return null;
  const gpuUuid = (fields[fields.length - 1] ?? '').trim();
  const usedMemory = parseNumber(fields[fields.length - 2]);
  const name = fields.slice(1, -2).join(',').trim();
  return { pid, name, usedMemory, gpuUuid };
}

export interface GpuMonitorOptions {
  /** Path or name of nvidia-smi. Defaults to $NEMOCLAW_NVIDIA_SMI, then `nvidia-smi` on PATH. */
  command?: string;
  intervalMs?: number;
  /** Per-process query period; 0 disables it. */
  appsIntervalMs?: number;
  onSample: (gpus: GpuSample[]) => void;
  onProcesses?: (processes: GpuProcess[]) => void;
  onStatus: (status: GpuStatus) => void;
  now?: () => number;
}

export interface GpuMonitor {
  stop(): void;
}

export function nvidiaSmiCommand(explicit?: string): string {
  return explicit ?? process.env['NEMOCLAW_NVIDIA_SMI'] ?? 'nvidia-smi';
}

function describeSpawnError(err: NodeJS.ErrnoException, cmd: string): string {
  if (err.code === 'ENOENT') return `${cmd} not found`;
  if (err.code === 'EACCES') return `${cmd} is not executable`;
  return `${cmd}: ${err.message}`;
}

/**
 * Start streaming GPU samples. All GPUs of one loop iteration are delivered together: nvidia-smi
 * prints one line per GPU per loop, so a batch ends when an index repeats or after a short quiet gap.
 */
export function startGpuMonitor(options: GpuMonitorOptions): GpuMonitor {
  const cmd = nvidiaSmiCommand(options.command);
  const interval = options.intervalMs ?? 1000;
  const now = options.now ?? Date.now;
  let stopped = false;
  let failed = false;
  let sawSample = false;
  let batch: GpuSample[] = [];
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  let appsTimer: ReturnType<typeof setInterval> | undefined;
  let appsBusy = false;
  const stderrLines: string[] = [];

  const fail = (reason: string): void => {
    if (failed || stopped) return;
    failed = true;
    if (appsTimer !== undefined) clearInterval(appsTimer);
    options.onStatus({ state: 'unavailable', reason });
  };

  const flush = (): void => {
    if (flushTimer !== undefined) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (batch.length === 0 || stopped) return;
    const out = batch;
    batch = [];
    if (!sawSample) {
      sawSample = true;
      options.onStatus({ state: 'ok' });
    }
    options.onSample(out);
  };

  options.onStatus({ state: 'starting' });
  let child: ChildProcess;
  try {
    child = spawn(cmd, gpuQueryArgs(interval), { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  } catch (err) {
    fail(describeSpawnError(err as NodeJS.ErrnoException, cmd));
    return { stop() {} };
  }
  child.on('error', (err: NodeJS.ErrnoException) => fail(describeSpawnError(err, cmd)));
  child.on('exit', (code, signal) => {
    flush();
    if (stopped) return;
    const detail = stderrLines.find((l) => l.trim() !== '') ?? (signal !== null ? `killed by ${signal}` : `exited with status ${code}`);
    fail(sawSample ? `nvidia-smi stopped: ${detail}` : detail);
  });
  if (child.stderr !== null) {
    createInterface({ input: child.stderr }).on('line', (l) => {
      if (stderrLines.length < 5) stderrLines.push(l.slice(0, 200));
    });
  }
  if (child.stdout !== null) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (stopped) return;
      const sample = parseGpuLine(line, now());
      if (sample === null) {
        // nvidia-smi prints its failures on stdout ("NVIDIA-SMI has failed because it couldn't communicate…").
        if (!sawSample && line.trim() !== '' && stderrLines.length < 5) stderrLines.push(line.slice(0, 200));
        return;
      }
      if (batch.some((g) => g.index === sample.index)) flush();
      batch.push(sample);
      if (flushTimer === undefined) flushTimer = setTimeout(flush, Math.min(100, interval / 4));
    });
  }

  const appsEvery = options.appsIntervalMs ?? 2000;
  if (appsEvery > 0 && options.onProcesses !== undefined) {
    const onProcesses = options.onProcesses;
    const poll = (): void => {
      if (appsBusy || stopped || failed) return;
      appsBusy = true;
      execFile(cmd, appsQueryArgs(), { timeout: 5000, maxBuffer: 1 << 20 }, (err, stdout) => {
        appsBusy = false;
        if (stopped || err !== null) return;
        const procs: GpuProcess[] = [];
        for (const l of String(stdout).split('\n')) {
          const p = parseAppLine(l);
          if (p !== null) procs.push(p);
        }
        onProcesses(procs);
      });
    };
    appsTimer = setInterval(poll, appsEvery);
    appsTimer.unref();
    poll();
  }

  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (flushTimer !== undefined) clearTimeout(flushTimer);
      if (appsTimer !== undefined) clearInterval(appsTimer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}
