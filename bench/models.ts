// Local models benchmark (issue 15 target): time from `nemoclaw models start` to a model that is
// registered and ready, against `docker run` of the same image to its first answer, same run,
// interleaved. Target: within 1.2x of the baseline plus the readiness poll interval (200 ms).
// Run: node bench/models.ts [ROUNDS]   (needs root or a running dockerd; Node 24 strips the types)
//
// The image is the test suite's STAND-IN for NIM/vLLM (test/helpers/docker.ts: a docker-imported
// rootfs of the host's Node binary and a loopback OpenAI-compatible server; no model runs), so
// this measures nemoclaw's overhead (CLI start, checks, create, readiness polls, registration),
// not weight loading. Both sides publish on 127.0.0.1 and are removed after each round; every
// wait is bounded.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureDockerd, ensureStandInImage } from '../test/helpers/docker.ts';
import { report } from './summary.ts';
import { freePort } from '../test/helpers/ports.ts';

const ROUNDS = Number(process.argv[2] ?? 5);
const POLL_MS = 200;
const BASELINE_POLL_MS = 10;
const WAIT_MS = 60_000;
const BIN = resolve(import.meta.dirname, '..', 'bin', 'nemoclaw');

async function answers(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function docker(args: string[]): string {
  const r = spawnSync('docker', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const engine = await ensureDockerd();
const home = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-models-'));
const cache = mkdtempSync(join(home, 'cache-'));
try {
  const image = ensureStandInImage();
  const ours: number[] = [];
  const base: number[] = [];
  // One unmeasured round each: page cache, overlay layers, the CLI's compile cache.
  for (let round = -1; round < ROUNDS; round++) {
    {
      const port = await freePort();
      const t0 = performance.now();
      const r = spawnSync(BIN, ['models', 'start', 'bench-model', '--engine', 'openai-compatible', '--image', image, '--model', 'bench', '--port', String(port), '--gpus', 'none', '--cache', cache], { env: { ...process.env, NEMOCLAW_HOME: home }, encoding: 'utf8' });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`models start failed: ${r.stderr}`);
      if (round >= 0) ours.push(ms);
      const rm = spawnSync(BIN, ['models', 'rm', 'bench-model'], { env: { ...process.env, NEMOCLAW_HOME: home }, encoding: 'utf8' });
      if (rm.status !== 0) throw new Error(`models rm failed: ${rm.stderr}`);
    }
    {
      const port = await freePort();
      const t0 = performance.now();
      const id = docker(['run', '-d', '--name', 'bench-docker-run', '-p', `127.0.0.1:${port}:8000`, image, '--model', 'bench', '--port', '8000']);
      const deadline = Date.now() + WAIT_MS;
      while (!(await answers(`http://127.0.0.1:${port}/v1/models`))) {
        if (Date.now() > deadline) throw new Error('docker run: no answer within 60 s');
        await new Promise((r) => setTimeout(r, BASELINE_POLL_MS));
      }
      const ms = performance.now() - t0;
      if (round >= 0) base.push(ms);
      docker(['rm', '-f', id]);
    }
  }
  const a = median(ours);
  const b = median(base);
  console.log(`models start -> registered and ready: median ${a.toFixed(0)} ms over ${ROUNDS} (${ours.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`docker run -> first answer (polled every ${BASELINE_POLL_MS} ms): median ${b.toFixed(0)} ms (${base.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`ratio ${(a / b).toFixed(2)}; target: <= 1.2 x baseline + ${POLL_MS} ms = ${(1.2 * b + POLL_MS).toFixed(0)} ms`);
  report({ bench: 'models', metric: 'models start to ready (stand-in image)', value: Math.round(a), unit: 'ms', ratio: Number((a / b).toFixed(2)), baseline: 'docker run to first answer', target: `<= 1.2x + ${POLL_MS} ms`, met: a <= 1.2 * b + POLL_MS });
} finally {
  spawnSync('docker', ['rm', '-f', 'bench-docker-run', 'bench-model'], { stdio: 'ignore' });
  rmSync(home, { recursive: true, force: true });
  await engine.stop();
}
