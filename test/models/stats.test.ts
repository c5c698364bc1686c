// statsFigures (src/models/watch.ts): CPU % and memory from two consecutive Docker stats samples,
// as `docker stats` computes them. Pure; the stream itself is followed in models-tui.test.ts.
import { describe, expect, it } from 'vitest';
import { statsFigures, type StatsSample } from '../../src/models/index.ts';

function sample(total: number, system: number, extra: Partial<StatsSample> = {}, cpus = 4): StatsSample {
  return { cpu_stats: { cpu_usage: { total_usage: total }, system_cpu_usage: system, online_cpus: cpus }, memory_stats: { usage: 300e6, limit: 8e9, stats: { inactive_file: 100e6 } }, ...extra };
}

describe('statsFigures', () => {
  const cases: [string, StatsSample | null, StatsSample, { cpuPercent: number | null; memoryBytes: number | null; memoryLimitBytes: number | null }][] = [
    ['first sample: memory, no CPU yet', null, sample(1e9, 1e12), { cpuPercent: null, memoryBytes: 200e6, memoryLimitBytes: 8e9 }],
    ['one core busy of four', sample(1e9, 1e12), sample(1e9 + 0.25e9, 1e12 + 1e9), { cpuPercent: 100, memoryBytes: 200e6, memoryLimitBytes: 8e9 }],
    ['idle', sample(5e9, 1e12), sample(5e9, 1e12 + 4e9), { cpuPercent: 0, memoryBytes: 200e6, memoryLimitBytes: 8e9 }],
    ['two of eight cores', sample(0, 0, {}, 8), sample(0.5e9, 2e9, {}, 8), { cpuPercent: 200, memoryBytes: 200e6, memoryLimitBytes: 8e9 }],
    ['no system delta (same reading twice)', sample(1e9, 1e12), sample(1e9, 1e12), { cpuPercent: 0, memoryBytes: 200e6, memoryLimitBytes: 8e9 }],
    ['cgroup v1: total_inactive_file', null, sample(0, 0, { memory_stats: { usage: 500e6, limit: 1e9, stats: { total_inactive_file: 50e6 } } }), { cpuPercent: null, memoryBytes: 450e6, memoryLimitBytes: 1e9 }],
    ['old engines: cache', null, sample(0, 0, { memory_stats: { usage: 500e6, limit: 1e9, stats: { cache: 400e6 } } }), { cpuPercent: null, memoryBytes: 100e6, memoryLimitBytes: 1e9 }],
    ['a stopped container: no memory figures', null, { cpu_stats: {}, memory_stats: {} }, { cpuPercent: null, memoryBytes: null, memoryLimitBytes: null }],
    ['online_cpus missing: the per-CPU list counts', { cpu_stats: { cpu_usage: { total_usage: 0, percpu_usage: [0, 0] }, system_cpu_usage: 0 } }, { cpu_stats: { cpu_usage: { total_usage: 1e9, percpu_usage: [0, 0] }, system_cpu_usage: 2e9 } }, { cpuPercent: 100, memoryBytes: null, memoryLimitBytes: null }],
  ];
  for (const [what, prev, cur, want] of cases) it(what, () => expect(statsFigures(prev, cur)).toEqual(want));
});
