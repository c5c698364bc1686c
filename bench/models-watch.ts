// What the TUI's Models pane costs while it is on screen (issue 15; docs/tui.md "Models pane"):
// the ModelWatch (a list every 2 s, each running model's Docker stats stream, readiness every
// 30 s once ready, its last log lines) watching one model, against the same process and engine
// with no watch, in alternating windows of the same run. CPU of this process (process.cpuUsage)
// and of dockerd (/proc/PID/stat), per second of wall time. The model is the test suite's
// STAND-IN for vLLM (test/helpers/docker.ts; no GPU), which is idle: what is measured is the
// watching, not the model.
// Run: node bench/models-watch.ts [ROUNDS] [WINDOW_S]   (default 3 rounds of 10 s windows; needs root or a running dockerd)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Models, ModelWatch } from '../src/models/index.ts';
import { ensureDockerd, ensureStandInImage } from '../test/helpers/docker.ts';
import { report } from './summary.ts';
import { freePort } from '../test/helpers/ports.ts';

const args = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const ROUNDS = Math.min(20, Math.max(1, args[0] ?? 3));
const WINDOW_MS = Math.min(120, Math.max(2, args[1] ?? 10)) * 1000;
const BIN = resolve(import.meta.dirname, '..', 'bin', 'nemoclaw');
const NAME = 'bench-watch';

/** dockerd's pid: the one whose command line is dockerd (bounded scan of /proc). */
function dockerdPid(): number | null {
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x)).slice(0, 100_000)) {
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'dockerd') return Number(d);
    } catch {
      // gone
    }
  }
  return null;
}

/** CPU ms a process has used (utime + stime from /proc/PID/stat; clock ticks of 10 ms). */
function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function window(pid: number): Promise<{ own: number; dockerd: number }> {
  const o0 = ownCpuMs();
  const d0 = procCpuMs(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const s = (performance.now() - t0) / 1000;
  return { own: (ownCpuMs() - o0) / s, dockerd: (procCpuMs(pid) - d0) / s };
}

const engine = await ensureDockerd();
const image = ensureStandInImage();
const home = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-watch-'));
const env = { ...process.env, NEMOCLAW_HOME: home };
const started = spawnSync(BIN, ['models', 'start', NAME, '--engine', 'vllm', '--image', image, '--model', 'stand-in', '--port', String(await freePort()), '--gpus', 'none', '--cache', mkdtempSync(join(home, 'cache-'))], { env, encoding: 'utf8', timeout: 120_000 });
if (started.status !== 0) throw new Error(`models start: ${started.stderr}`);
const pid = dockerdPid();
if (pid === null) throw new Error('no dockerd process found');

const none: { own: number; dockerd: number }[] = [];
const watched: { own: number; dockerd: number }[] = [];
let updates = 0;
try {
  for (let i = 0; i < ROUNDS; i++) {
    none.push(await window(pid));
    const w = new ModelWatch(new Models(home), { onUpdate: () => (updates += 1) });
    w.start();
    watched.push(await window(pid));
    w.stop();
  }
} finally {
  spawnSync(BIN, ['models', 'rm', NAME], { env, timeout: 60_000 });
  rmSync(home, { recursive: true, force: true });
  await engine.stop();
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const n = { own: median(none.map((x) => x.own)), dockerd: median(none.map((x) => x.dockerd)) };
const w = { own: median(watched.map((x) => x.own)), dockerd: median(watched.map((x) => x.dockerd)) };
process.stdout.write(`Models pane watch, 1 model, ${ROUNDS} rounds of ${WINDOW_MS / 1000} s windows alternating (Node ${process.version}); CPU ms per s (median)\n`);
process.stdout.write(`  no watch:   this process ${n.own.toFixed(1)}  dockerd ${n.dockerd.toFixed(1)}\n`);
process.stdout.write(`  ModelWatch: this process ${w.own.toFixed(1)}  dockerd ${w.dockerd.toFixed(1)}  (${updates} updates)\n`);
const total = w.own + w.dockerd;
const base = n.own + n.dockerd;
report({ bench: 'models-watch', metric: 'CPU of the Models pane watch (this process + dockerd), 1 model', value: Number(total.toFixed(1)), unit: 'ms/s', ratio: Number((total / Math.max(0.1, base)).toFixed(2)), baseline: `same process and dockerd, no watch: ${base.toFixed(1)} ms/s`, target: '< 50 ms/s (5% of a core)', met: total < 50 });
