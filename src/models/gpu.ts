// Free GPU memory before a model starts (docs/models.md, "GPU memory"): one nvidia-smi query
// (the command from NEMOCLAW_NVIDIA_SMI, else `nvidia-smi`), free = memory.total - memory.used per
// GPU, and a pure verdict against the preset's rough need. Refusing here, with both numbers, beats
// an engine that starts, loads for minutes and then dies out of memory.
import { execFile } from 'node:child_process';
import { ModelError } from './spec.ts';

export interface GpuMemory {
  index: number;
  name: string;
  totalMiB: number;
  usedMiB: number;
}

/**
 * The query the TUI's telemetry also runs (src/telemetry), so one nvidia-smi (or the FAKE one in
 * tests) answers both in the same field order.
 */
const QUERY = ['--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw', '--format=csv,noheader,nounits'];

/**
 * One line of that query: index, uuid (`GPU-…`, absent from the older query's lines), name (may
 * hold commas), then five numbers. Null for anything else (blank lines, errors).
 */
export function parseGpuMemoryLine(line: string): GpuMemory | null {
  const f = line.split(',').map((s) => s.trim());
  if (f.length < 7) return null;
  const num = (v: string | undefined): number => (v === undefined || v === '' ? NaN : Number(v));
  const index = num(f[0]);
  const used = num(f[f.length - 4]);
  const total = num(f[f.length - 3]);
  if (!Number.isInteger(index) || index < 0 || !Number.isFinite(used) || !Number.isFinite(total)) return null;
  const first = /^GPU-[0-9a-fA-F-]+$/.test(f[1] ?? '') && f.length >= 8 ? 2 : 1;
  const name = f.slice(first, -5).join(', ');
  return name === '' ? null : { index, name, totalMiB: total, usedMiB: used };
}

/** The GPUs and their memory, or null when nvidia-smi is missing or does not answer (no GPU). */
export function readGpuMemory(env: NodeJS.ProcessEnv = process.env, timeoutMs = 5000): Promise<GpuMemory[] | null> {
  const cmd = env['NEMOCLAW_NVIDIA_SMI'] || 'nvidia-smi';
  return new Promise((resolve) => {
    execFile(cmd, QUERY, { timeout: timeoutMs, encoding: 'utf8', env }, (err, stdout) => {
      if (err !== null) return resolve(null);
      const gpus = String(stdout).split('\n').map(parseGpuMemoryLine).filter((g): g is GpuMemory => g !== null);
      resolve(gpus.length > 0 ? gpus : null);
    });
  });
}

const gib = (mib: number): string => (mib / 1024).toFixed(1);

/**
 * Whether a model needing `needGiB` fits: on the freest of the GPUs it asks for (`all`, or device
 * ids). One GPU, not the sum: neither preset splits a model across GPUs unless told to (vLLM's
 * --tensor-parallel-size), so the freest single GPU is what it can load into. Throws one line
 * naming both numbers when it does not fit; says nothing when nvidia-smi gave no answer.
 */
export function checkGpuMemory(o: { name: string; needGiB: number | null; gpus: string; gpusFound: GpuMemory[] | null }): void {
  if (o.gpus === 'none' || o.needGiB === null) return;
  // No answer: the device check that follows refuses a GPU-less host with its own line.
  if (o.gpusFound === null) return;
  const ids = o.gpus === 'all' ? null : o.gpus.split(',').map((s) => s.trim());
  const pool = ids === null ? o.gpusFound : o.gpusFound.filter((g) => ids.includes(String(g.index)));
  if (pool.length === 0) throw new ModelError(`model ${o.name}: --gpus ${o.gpus} names no GPU nvidia-smi lists (it lists ${o.gpusFound.map((g) => g.index).join(', ')})`, 'usage');
  const best = pool.reduce((a, b) => (b.totalMiB - b.usedMiB > a.totalMiB - a.usedMiB ? b : a));
  const freeMiB = best.totalMiB - best.usedMiB;
  if (freeMiB < o.needGiB * 1024) {
    throw new ModelError(
      `model ${o.name} needs about ${o.needGiB} GiB of GPU memory; the freest GPU (${best.index}, ${best.name}) has ${gib(freeMiB)} GiB free of ${gib(best.totalMiB)} GiB (nvidia-smi memory.total - memory.used): stop what uses it or choose a smaller model`,
      'usage',
    );
  }
}
