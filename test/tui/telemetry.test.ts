import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { appsQueryArgs, gpuQueryArgs, parseAppLine, parseGpuLine, parseNumber, startGpuMonitor } from '../../src/telemetry/nvidia-smi.ts';
import { cpuPercentBetween, readHostSample, sumCpuTimes } from '../../src/telemetry/host.ts';
import { availableParallelism, cpus } from 'node:os';
import type { GpuProcess, GpuSample, GpuStatus } from '../../src/telemetry/types.ts';
import { waitFor } from '../helpers/wait.ts';

const fake = fileURLToPath(new URL('./fixtures/fake-nvidia-smi', import.meta.url));

describe('nvidia-smi parsing (pure)', () => {
  it('parses a query-gpu csv line', () => {
    expect(parseGpuLine('0, NVIDIA H100 80GB HBM3, 37, 10240, 81559, 41, 118.52', 5)).toEqual({
      index: 0,
      name: 'NVIDIA H100 80GB HBM3',
      utilization: 37,
      memoryUsed: 10240,
      memoryTotal: 81559,
      temperature: 41,
      powerDraw: 118.52,
      ts: 5,
    });
  });

  it('maps [N/A] and [Not Supported] to null and keeps commas in names', () => {
    const g = parseGpuLine('1, Tesla T4, Rev, B, [N/A], 15, 15360, [Not Supported], [N/A]', 0);
    expect(g).toMatchObject({ index: 1, name: 'Tesla T4, Rev, B', utilization: null, memoryUsed: 15, memoryTotal: 15360, temperature: null, powerDraw: null });
  });

  it('rejects lines that are not GPU rows', () => {
    expect(parseGpuLine('', 0)).toBeNull();
    expect(parseGpuLine("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", 0)).toBeNull();
    expect(parseGpuLine('x, a, 1, 2, 3, 4, 5', 0)).toBeNull();
    expect(parseNumber(' [N/A] ')).toBeNull();
    expect(parseNumber('N/A')).toBeNull();
    expect(parseNumber(' 12.5 ')).toBe(12.5);
  });

  it('parses compute-apps lines', () => {
    expect(parseAppLine('48213, /usr/bin/python3, 30720, GPU-5c3f9a0e')).toEqual({ pid: 48213, name: '/usr/bin/python3', usedMemory: 30720, gpuUuid: 'GPU-5c3f9a0e' });
    expect(parseAppLine('7, a, b, [N/A], GPU-1')).toEqual({ pid: 7, name: 'a, b', usedMemory: null, gpuUuid: 'GPU-1' });
    expect(parseAppLine('No running processes found')).toBeNull();
  });

  it('asks nvidia-smi for exactly the documented fields', () => {
    expect(gpuQueryArgs(1000)).toEqual(['--query-gpu=index,uuid,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw', '--format=csv,noheader,nounits', '-lms', '1000']);
    expect(appsQueryArgs()).toEqual(['--query-compute-apps=pid,process_name,used_memory,gpu_uuid', '--format=csv,noheader,nounits']);
  });
});

describe('GPU monitor (against test/tui/fixtures/fake-nvidia-smi)', () => {
  it('streams batches of all GPUs and per-process memory', async () => {
    const batches: GpuSample[][] = [];
    const statuses: GpuStatus[] = [];
    let procs: GpuProcess[] | undefined;
    process.env['FAKE_NVIDIA_SMI_LOOPS'] = '5';
    const mon = startGpuMonitor({ command: fake, intervalMs: 100, appsIntervalMs: 60_000, onSample: (b) => batches.push(b), onProcesses: (p) => (procs = p), onStatus: (s) => statuses.push(s) });
    try {
      await waitFor(() => batches.length >= 3 && procs !== undefined, 'three GPU batches and a process list');
      expect(batches[0]?.map((g) => g.index)).toEqual([0, 1]);
      expect(batches[0]?.[0]?.name).toBe('NVIDIA H100 80GB HBM3');
      expect(statuses[0]).toEqual({ state: 'starting' });
      expect(statuses[1]).toEqual({ state: 'ok' });
      // The FAKE's default row is the process that ran it (this test's worker): a pid that exists.
      expect(procs?.map((p) => p.pid)).toEqual([process.pid]);
      expect(batches[0]?.[0]?.uuid).toBe('GPU-5c3f9a0e-1b2d-4e8f-9a7b-0c1d2e3f4a5b');
    } finally {
      mon.stop();
      delete process.env['FAKE_NVIDIA_SMI_LOOPS'];
    }
  });

  it('takes the command from NEMOCLAW_NVIDIA_SMI', async () => {
    const statuses: GpuStatus[] = [];
    process.env['NEMOCLAW_NVIDIA_SMI'] = fake;
    process.env['FAKE_NVIDIA_SMI_LOOPS'] = '2';
    const mon = startGpuMonitor({ intervalMs: 100, appsIntervalMs: 0, onSample: () => {}, onStatus: (s) => statuses.push(s) });
    try {
      await waitFor(() => statuses.some((s) => s.state === 'ok'), 'ok status');
    } finally {
      mon.stop();
      delete process.env['NEMOCLAW_NVIDIA_SMI'];
      delete process.env['FAKE_NVIDIA_SMI_LOOPS'];
    }
  });

  it('says "not found" when nvidia-smi is missing', async () => {
    const statuses: GpuStatus[] = [];
    const mon = startGpuMonitor({ command: '/nonexistent/nvidia-smi', onSample: () => {}, onStatus: (s) => statuses.push(s) });
    try {
      const s = await waitFor(() => statuses.find((x) => x.state === 'unavailable'), 'unavailable status');
      expect(s).toEqual({ state: 'unavailable', reason: '/nonexistent/nvidia-smi not found' });
    } finally {
      mon.stop();
    }
  });

  it('reports the driver failure nvidia-smi prints', async () => {
    const statuses: GpuStatus[] = [];
    process.env['FAKE_NVIDIA_SMI_FAIL'] = '1';
    const mon = startGpuMonitor({ command: fake, appsIntervalMs: 0, onSample: () => {}, onStatus: (s) => statuses.push(s) });
    try {
      const s = await waitFor(() => statuses.find((x) => x.state === 'unavailable'), 'unavailable status');
      expect(s.state === 'unavailable' && s.reason).toContain("couldn't communicate with the NVIDIA driver");
    } finally {
      mon.stop();
      delete process.env['FAKE_NVIDIA_SMI_FAIL'];
    }
  });
});

describe('host telemetry', () => {
  it('reads CPU and memory without touching the GPU', async () => {
    const s = await readHostSample();
    expect(s.cpu).toBeGreaterThanOrEqual(0);
    expect(s.cpu).toBeLessThanOrEqual(100);
    expect(s.memTotal).toBeGreaterThan(0);
    expect(s.memUsed).toBeGreaterThan(0);
  });

  it('CPU is the busy share of all cores between two readings (a spinning core shows)', async () => {
    expect(cpuPercentBetween({ busy: 100, total: 1000 }, { busy: 400, total: 2000 })).toBe(30);
    expect(cpuPercentBetween({ busy: 5, total: 10 }, { busy: 5, total: 10 })).toBe(0);
    expect(sumCpuTimes([{ times: { user: 1, nice: 2, sys: 3, idle: 4, irq: 5 } }, { times: { user: 1, nice: 0, sys: 0, idle: 9, irq: 0 } }])).toEqual({ busy: 12, total: 25 });
    const before = sumCpuTimes(cpus());
    const t0 = Date.now();
    const own0 = process.cpuUsage();
    // Spin until this process has burnt 200 ms of CPU (bounded at 5 s of wall time): on a loaded
    // host a fixed wall-time spin may get almost no CPU, and the comparison below needs some.
    const spent = (): number => { const u = process.cpuUsage(own0); return (u.user + u.system) / 1000; };
    for (let i = 0; spent() < 200 && Date.now() < t0 + 5000; i++) for (let j = 0; j < 10_000; j++) Math.sqrt(Math.random() + i);
    const own = process.cpuUsage(own0);
    const s = await readHostSample(Date.now, before);
    // The host's busy share includes at least what this process burnt in the window. On a shared VM
    // the spin may get well under a whole core (steal), so the bound is what it actually got.
    const ownShare = ((own.user + own.system) / 1000 / ((Date.now() - t0) * availableParallelism())) * 100;
    expect(own.user + own.system).toBeGreaterThan(0); // the spin did run
    expect(s.cpu).toBeGreaterThan(ownShare * 0.7); // 0.7: clock-tick granularity of /proc/stat
  });
});
