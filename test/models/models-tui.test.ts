// The Models pane and the GPU owner join against a real dockerd (test/helpers/docker.ts) with the
// stand-in image (test/models/stand-in-server.mjs, a STAND-IN for vLLM: no GPU here), a real
// supervised sandbox, and `nemoclaw tui` in a real PTY. No GPU machine was available: the GPU
// rows come from the FAKE nvidia-smi (test/tui/fixtures/fake-nvidia-smi, not a recording), given
// real pids through FAKE_NVIDIA_SMI_APPS: the container's server process, the sandbox's workload
// and a host process, so the owner join reads the real /proc entries of real processes.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Models, ModelWatch, type WatchStatus, type WatchedModel } from '../../src/models/index.ts';
import { startGpuMonitor, withOwners, type GpuProcess } from '../../src/telemetry/index.ts';
import { engineTurn, ensureDockerd, ensureStandInImage } from '../helpers/docker.ts';
import type { Engine } from '../helpers/docker.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from '../supervisor/harness.ts';
import { MAIN, NODE, ROOT, serveFresh } from '../supervisor/harness.ts';
import { endedAfterEach, spawnOnScreen, type Run } from '../tui/helpers/pty.ts';
import { freePort } from '../helpers/ports.ts';

const BIN = join(ROOT, 'bin/nemoclaw');
const FAKE_SMI = join(ROOT, 'test/tui/fixtures/fake-nvidia-smi');
const TRACE_HOOK = join(ROOT, 'test/tui/fixtures/trace-modules.mjs');
const MODEL = 'tui-a';
const SANDBOX = 'gpu-job';

let engine: Engine;
let giveTurnBack: (() => void) | undefined;
let image: string;
let sv: Served;
let ws: string;
let home: string;
let port: number;
let containerPid: number;
let sandboxPid: number;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { env: { ...process.env, NEMOCLAW_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** The FAKE nvidia-smi's per-process rows: real pids, their MiB and GPU index. */
function fakeApps(): string {
  return `${containerPid}:30720:0;${sandboxPid}:2048:1;${process.pid}:64:1`;
}

beforeAll(async () => {
  // One test file at a time uses (starts, restarts, stops) the machine's engine.
  giveTurnBack = await engineTurn();
  engine = await ensureDockerd();
  image = ensureStandInImage();
  ({ sv, ws } = await serveFresh());
  home = sv.home;
  port = await freePort();
  const cache = mkdtempSync(join(home, 'cache-'));
  const r = await cli(['models', 'start', MODEL, '--engine', 'vllm', '--image', image, '--model', 'stand-in', '--port', String(port), '--gpus', 'none', '--cache', cache]);
  if (r.code !== 0) throw new Error(`models start: ${r.stderr}`);
  containerPid = (await docker.getContainer(MODEL).inspect()).State.Pid;
  // A real sandbox whose workload stays up: its pid (as the host sees it) is what a GPU job inside would have.
  await sv.api.call('POST', '/v1/sandboxes', { name: SANDBOX, workspace: ws, command: ['/bin/sh', '-c', 'i=0; while [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done'] });
  sandboxPid = await waitFor(async () => {
    const s = ((await sv.api.call('GET', `/v1/sandboxes/${SANDBOX}`)) as { sandbox: { state: string; pid: number | null } }).sandbox;
    return s.state === 'running' && s.pid !== null ? s.pid : null;
  }, 'the sandbox running with a pid');
}, 240_000);

afterAll(async () => {
  await docker.getContainer(MODEL).remove({ force: true }).catch(() => {});
  await sv?.api.call('DELETE', `/v1/sandboxes/${SANDBOX}`).catch(() => {});
  await sv?.stop();
  await engine?.stop();
  giveTurnBack?.();
}, 60_000);

const track = endedAfterEach();

function tui(args: string[], env: Record<string, string>, cols = 200, rows = 50): Run {
  const run = spawnOnScreen(BIN, ['tui', ...args], cols, rows, {
    cwd: ROOT,
    env: { ...process.env, NEMOCLAW_HOME: home, CI: 'true', TERM: 'xterm-256color', NEMOCLAW_NVIDIA_SMI: FAKE_SMI, ...env } as Record<string, string>,
  });
  return track(run);
}

async function see(r: Run, text: string | RegExp, withinMs = 30_000): Promise<void> {
  const has = (): boolean => (typeof text === 'string' ? r.screen.text().includes(text) : text.test(r.screen.text()));
  await waitFor(has, () => `${String(text)} on the screen:\n${r.screen.text()}\nexited: ${JSON.stringify(r.exited)}`, { withinMs });
}

describe('GPU owner join (real container, real sandbox, FAKE nvidia-smi rows with their pids)', () => {
  it('a GPU pid in the model container is the model, the sandbox workload is the sandbox, this process is the host', async () => {
    let procs: GpuProcess[] | undefined;
    process.env['FAKE_NVIDIA_SMI_APPS'] = fakeApps();
    process.env['FAKE_NVIDIA_SMI_LOOPS'] = '3';
    const mon = startGpuMonitor({ command: FAKE_SMI, intervalMs: 200, appsIntervalMs: 60_000, onSample: () => {}, onProcesses: (p) => (procs = p), onStatus: () => {} });
    try {
      const got = await waitFor(() => procs, 'the FAKE nvidia-smi per-process rows');
      const id = (await docker.getContainer(MODEL).inspect()).Id;
      // What the join reads: the container's id in its process's cgroup path.
      expect(readFileSync(`/proc/${containerPid}/cgroup`, 'utf8')).toContain(id);
      const owned = withOwners(got, { models: [{ name: MODEL, containerId: id.slice(0, 12) }], sandboxes: [{ name: SANDBOX, pid: sandboxPid }, { name: 'no-pid' }] });
      const comm = (pid: number): string => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      expect(owned.map((p) => [p.pid, p.name, p.owner])).toEqual([
        [containerPid, comm(containerPid), { kind: 'model', name: MODEL }],
        [sandboxPid, 'sh', { kind: 'sandbox', name: SANDBOX }],
        [process.pid, comm(process.pid), { kind: 'host' }],
      ]);
      // Without the model list (the pane not loaded yet) the container is still named as one.
      expect(withOwners(got, { models: [], sandboxes: [] })[0]?.owner).toEqual({ kind: 'container', id: id.slice(0, 12) });
    } finally {
      mon.stop();
      delete process.env['FAKE_NVIDIA_SMI_APPS'];
      delete process.env['FAKE_NVIDIA_SMI_LOOPS'];
    }
  });
});

describe('ModelWatch (real engine)', () => {
  it('lists the model running and ready, with CPU and memory from its stats stream, and its last log lines', async () => {
    let last: { status: WatchStatus; rows: WatchedModel[] } | null = null;
    let updates = 0;
    const w = new ModelWatch(new Models(home), {
      pollMs: 300,
      onUpdate: (status, rows) => {
        last = { status, rows };
        updates += 1;
      },
    });
    w.start();
    try {
      const row = await waitFor(() => {
        const r = last?.rows.find((m) => m.name === MODEL);
        // CPU needs two samples of the stream (one a second).
        return r !== undefined && r.cpuPercent !== null && r.ready === true ? r : null;
      }, 'the model with readiness and a CPU figure', { withinMs: 20_000 });
      expect(last!.status).toEqual({ state: 'ok' });
      expect(row).toMatchObject({ state: 'running', engine: 'vllm', port, ready: true, registered: true, image });
      expect(row.memoryBytes).toBeGreaterThan(1024 * 1024);
      expect(row.startedAt).toBeLessThanOrEqual(Date.now());
      // The stand-in logs its argv first, then each request (readiness probes among them).
      expect(row.recentLogs.length).toBeGreaterThan(0);
      expect(row.recentLogs.length).toBeLessThanOrEqual(5);
      expect(row.recentLogs.join('\n')).toMatch(/GET \/(health|v1\/models)/);
      expect((await w.logs(MODEL, 200)).join('\n')).toContain('argv');
      // Ready once: not probed again on every poll (each probe is a line in the model's log).
      const probes = (await w.logs(MODEL, 10_000)).filter((l) => l.includes('GET /health')).length;
      const seen = updates;
      await waitFor(() => updates >= seen + 4, 'four more polls of the watch');
      expect((await w.logs(MODEL, 10_000)).filter((l) => l.includes('GET /health')).length).toBe(probes);
    } finally {
      w.stop();
    }
  });
});

describe('ModelWatch actions and the engine coming back (real engine)', () => {
  it('restart: unregistered, started again (a new start time), registered again once ready', async () => {
    const w = new ModelWatch(new Models(home), { pollMs: 200, onUpdate: () => {} });
    w.start();
    try {
      const before = (await docker.getContainer(MODEL).inspect()).State.StartedAt;
      expect(await w.restartModel(MODEL)).toBe(`model ${MODEL} restarted; registered again once ready`);
      const after = await docker.getContainer(MODEL).inspect();
      expect(after.State.Running).toBe(true);
      expect(after.State.StartedAt).not.toBe(before);
      await waitFor(() => existsSync(join(home, 'inference', 'providers', `${MODEL}.json`)), 'the provider registered again once the model answered', { withinMs: 20_000 });
      containerPid = after.State.Pid;
    } finally {
      w.stop();
    }
  });

  it('an engine that does not answer is the down status with the fix, retried until it answers', async () => {
    const dir = mkdtempSync('/tmp/nc-eng-');
    const sock = join(dir, 'docker.sock');
    let last: WatchStatus | null = null;
    let rows: WatchedModel[] = [];
    const w = new ModelWatch(new Models(home, { ...process.env, DOCKER_HOST: `unix://${sock}` }), {
      pollMs: 200,
      retryMs: 100,
      maxRetryMs: 200,
      onUpdate: (status, models) => {
        last = status;
        rows = models;
      },
    });
    // Nothing listens on the socket yet; later a relay to the real engine does.
    const relay = createServer((c) => {
      const up = connect('/var/run/docker.sock');
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    w.start();
    try {
      const down = await waitFor(() => (last?.state === 'down' && last.attempts >= 2 ? last : null), 'the engine-down status, retried');
      expect(down).toMatchObject({ state: 'down', retrying: true });
      expect((down as { reason: string }).reason).toBe(`the Docker engine does not answer on ${sock} (ENOENT): start it (systemctl start docker, or dockerd as root), install it (apt-get install docker.io) or point DOCKER_HOST at it; nemoclaw doctor (docker engine row)`);
      await new Promise<void>((r) => relay.listen(sock, r));
      await waitFor(() => last?.state === 'ok' && rows.some((m) => m.name === MODEL), 'the model listed once the engine answers');
    } finally {
      w.stop();
      await new Promise<void>((r) => relay.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('nemoclaw tui: Models pane in a real PTY', () => {
  it('shows the model with state and port, the GPU pane names owners, s then y stops the container', async () => {
    const r = tui(['--layout', 'monitoring'], { FAKE_NVIDIA_SMI_APPS: fakeApps() });
    await see(r, '9 Models');
    await see(r, new RegExp(`${MODEL} +running +ready +vllm +${port}`));
    await see(r, new RegExp(`${containerPid} +30\\.0G model ${MODEL}`));
    await see(r, new RegExp(`${sandboxPid} +2\\.0G sandbox ${SANDBOX}`));
    // The model's GPU memory, joined through that owner.
    await see(r, new RegExp(`${MODEL} +running +ready .*30\\.0G`));
    r.p.write('9');
    r.p.write('s');
    await see(r, `Stop model ${MODEL}?`);
    r.p.write('y');
    await waitFor(async () => !(await docker.getContainer(MODEL).inspect()).State.Running, 'the engine to say the container stopped', { withinMs: 30_000 });
    await see(r, new RegExp(`${MODEL} +exited`));
    await see(r, `model ${MODEL} stopped`);
    // The provider went with it, and the change is in the audit log, made by the TUI.
    const audit = await cli(['audit', 'tail', '-n', '500', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    const removal = audit.stdout.split('\n').find((l) => l.includes('"provider_remove"') && l.includes(`"${MODEL}"`));
    expect(removal).toContain('nemoclaw tui');
    r.p.write('q');
    expect((await r.exit).exitCode).toBe(0);
    // Started again for the tests after this one.
    await docker.getContainer(MODEL).start();
  }, 120_000);

  it('dockerode is loaded only when the pane is shown; an engine that does not answer is one line with the fix', async () => {
    const trace = join(mkdtempSync(join(home, 'trace-')), 'modules.trace');
    const r = tui(['--layout', 'approvals-first'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock', NEMOCLAW_MODULE_TRACE: trace, NODE_OPTIONS: `--import=${TRACE_HOOK}` }, 160, 48);
    await see(r, '2 Approvals');
    await see(r, '6 Logs');
    expect(readFileSync(trace, 'utf8')).not.toMatch(/node_modules\/dockerode\//);
    r.p.write('9');
    await see(r, /Docker engine down: the Docker engine does not answer on \/nonexistent\/docker\.sock \(ENOENT\)/);
    await see(r, 'retrying');
    expect(readFileSync(trace, 'utf8')).toMatch(/node_modules\/dockerode\//);
    r.p.write('q');
    expect((await r.exit).exitCode).toBe(0);
  }, 60_000);
});
