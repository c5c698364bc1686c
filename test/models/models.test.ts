// `nemoclaw models` against a real dockerd (test/helpers/docker.ts starts one when none answers)
// and a locally imported image whose server is a STAND-IN for NIM and vLLM (they need a GPU;
// test/models/stand-in-server.mjs). Each case drives the real CLI and checks what the engine
// holds afterwards (inspect), what the router's provider store holds, and, end to end, a request
// from inside a supervised sandbox through inference.local to the container.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL, buildSpec, homeId, hostHasGpu } from '../../src/models/index.ts';
import { engineTurn, ensureDockerd, ensureStandInImage } from '../helpers/docker.ts';
import type { Engine } from '../helpers/docker.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Served } from '../supervisor/harness.ts';
import { MAIN, NODE, freshHome, serveFresh } from '../supervisor/harness.ts';
import { freePort } from '../helpers/ports.ts';

let engine: Engine;
let giveTurnBack: (() => void) | undefined;
let image: string;
let sv: Served;
let ws: string;
let home: string;
let cache: string;
const docker = new Docker({ socketPath: '/var/run/docker.sock' });

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `nemoclaw models ARGS`; with readerGone, its stdout is closed at once (a reader that went away). */
function models(args: string[], env: NodeJS.ProcessEnv = {}, o: { readerGone?: boolean } = {}): Promise<Run> {
  return new Promise((done) => {
    const p = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, 'models', ...args], { env: { ...process.env, NEMOCLAW_HOME: home, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    if (o.readerGone === true) p.stdout.destroy();
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Any nemoclaw verb (create, onboard, doctor) with this home, stdin from `input`. */
function nemoclaw(args: string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<Run> {
  return new Promise((done) => {
    const p = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, ...args], { env: { ...process.env, NEMOCLAW_HOME: home, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => done({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

async function ourContainers(): Promise<Docker.ContainerInfo[]> {
  return await docker.listContainers({ all: true, filters: { label: [`${LABEL.home}=${homeId(home)}`] } });
}

function provider(name: string): { url: string; type: string; location: string } | null {
  const f = join(home, 'inference', 'providers', `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as { url: string; type: string; location: string }) : null;
}

beforeAll(async () => {
  // One test file at a time uses (starts, restarts, stops) the machine's engine.
  giveTurnBack = await engineTurn();
  engine = await ensureDockerd();
  image = ensureStandInImage();
  ({ sv, ws } = await serveFresh());
  home = sv.home;
  cache = mkdtempSync(join(home, 'cache-'));
}, 240_000);

afterAll(async () => {
  // Nothing of ours is left running: every container of this home, then what we started.
  if (home !== undefined) for (const c of await ourContainers().catch(() => [])) await docker.getContainer(c.Id).remove({ force: true });
  await docker.getContainer('nc-foreign-model').remove({ force: true }).catch(() => {});
  await sv?.stop();
  await engine?.stop();
  giveTurnBack?.();
}, 60_000);

describe('nemoclaw models (real dockerd, stand-in image)', () => {
  it('start waits for readiness, registers a local provider, and a sandbox reaches the model through inference.local', async () => {
    const port = await freePort();
    // Ready only after 1.5 s: start must wait for /health, then /v1/models with the router's key.
    const r = await models(['start', 'vllm-a', '--engine', 'vllm', '--image', image, '--model', 'qwen2.5-stand-in', '--port', String(port), '--gpus', 'none', '--cache', cache, '--env', 'STANDIN_READY_DELAY_MS=1500', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { state: string; ready: boolean; registered: boolean; url: string; readyMs: number };
    expect(out).toMatchObject({ state: 'running', ready: true, registered: true, url: `http://127.0.0.1:${port}/v1` });
    expect(out.readyMs).toBeGreaterThanOrEqual(1500);
    expect(r.stderr).toContain('waiting for /health then /v1/models');
    expect(provider('vllm-a')).toMatchObject({ type: 'vllm', location: 'local', url: `http://127.0.0.1:${port}/v1` });

    // What the engine received: loopback-only port, not privileged, vLLM's preset.
    const c = await docker.getContainer('vllm-a').inspect();
    expect(c.HostConfig.PortBindings).toEqual({ '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    expect(c.HostConfig.Privileged).toBe(false);
    expect(c.HostConfig.IpcMode).toBe('host');
    expect(c.HostConfig.Binds).toEqual([`${cache}:/root/.cache/huggingface`]);
    const key = readFileSync(join(home, 'keys', 'providers', 'vllm-a.key'), 'utf8');
    expect(c.Config.Cmd).toEqual(['--model', 'qwen2.5-stand-in', '--host', '0.0.0.0', '--port', '8000', '--api-key', key, '--enable-auto-tool-choice', '--tool-call-parser', 'hermes']);

    // A supervised sandbox: curl to inference.local, routed to the container with the key injected.
    const body = JSON.stringify({ model: 'local', messages: [{ role: 'user', content: 'ping from the sandbox' }] });
    // The sandbox waits for `go`, so its route is set while it runs (no restart needed).
    await sv.api.call('POST', '/v1/sandboxes', {
      name: 'agent',
      workspace: ws,
      command: ['/bin/sh', '-c', `i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; curl -sS -H 'content-type: application/json' -H 'Authorization: Bearer junk' -d '${body}' http://inference.local/v1/chat/completions > out.tmp 2>&1; mv out.tmp out; sleep 30`],
    });
    await waitFor(async () => ((await sv.api.call('GET', '/v1/sandboxes/agent')) as { sandbox: { state: string } }).sandbox.state === 'running', 'agent running');
    const setRoute = await new Promise<Run>((done) => {
      const p = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, 'inference', 'set', '--sandbox', 'agent', '--provider', 'vllm-a', '--model', 'qwen2.5-stand-in', '--alias', 'local', '--mode', 'local-only'], { env: { ...process.env, NEMOCLAW_HOME: home } });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      p.on('close', (code) => done({ code, stdout, stderr }));
    });
    expect(setRoute.code, setRoute.stderr).toBe(0);
    writeFileSync(join(ws, 'go'), '');
    const answer = await waitFor(() => (existsSync(join(ws, 'out')) ? readFileSync(join(ws, 'out'), 'utf8') : null), 'the answer inside the sandbox', { withinMs: 20_000 });
    expect(JSON.parse(answer)).toMatchObject({ model: 'qwen2.5-stand-in', choices: [{ message: { content: 'stand-in echo: ping from the sandbox' } }] });
    await sv.api.call('DELETE', '/v1/sandboxes/agent').catch(() => {});

    // list --json shows it; logs show the readiness polls and the routed request.
    const list = await models(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'vllm-a', engine: 'vllm', image, model: 'qwen2.5-stand-in', port, state: 'running', registered: true, gpus: 'none' }]);
    // A reader that goes away (`models list | head -0`) ends the listing quietly, both ways.
    for (const env of [{}, { NEMOCLAW_CLI_FAST: '0' }]) {
      for (const args of [['list'], ['list', '--json']]) expect(await models(args, env, { readerGone: true }), `${args.join(' ')} ${JSON.stringify(env)}`).toMatchObject({ code: 0, stderr: '' });
    }
    const logs = await models(['logs', 'vllm-a']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('stand-in model server (not NIM, not vLLM)');
    expect(logs.stdout).toContain('GET /health');
    expect(logs.stdout).toContain('POST /v1/chat/completions');
  });

  it('logs --follow prints new lines as they come and ends on SIGINT', async () => {
    const p = spawn(NODE, ['--disable-warning=ExperimentalWarning', MAIN, 'models', 'logs', 'vllm-a', '--follow'], { env: { ...process.env, NEMOCLAW_HOME: home } });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((r) => p.on('close', (code) => r(code)));
    await waitFor(() => out.includes('stand-in model server'), () => `the existing lines: ${out}`);
    const port = (JSON.parse((await models(['status', 'vllm-a', '--json'])).stdout) as { port: number }).port;
    await fetch(`http://127.0.0.1:${port}/v1/not-a-route-followed`);
    await waitFor(() => out.includes('/v1/not-a-route-followed'), () => `the new line: ${out}`);
    p.kill('SIGINT');
    expect(await closed).toBe(0);
  });

  it('a port already in use is named before anything starts: by a process and by our own container', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    try {
      const r = await models(['start', 'clash', '--engine', 'openai-compatible', '--image', image, '--port', String(port), '--cache', cache]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`nemoclaw: port ${port} on 127.0.0.1 is already in use by another process; choose another --port`);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
    const taken = (JSON.parse((await models(['status', 'vllm-a', '--json'])).stdout) as { port: number }).port;
    const r2 = await models(['start', 'clash', '--engine', 'openai-compatible', '--image', image, '--port', String(taken), '--cache', cache]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`port ${taken} is already published by container vllm-a`);
    expect((await ourContainers()).map((c) => c.Names[0])).toEqual(['/vllm-a']);
  });

  it('status shows state, readiness and the stats stream (CPU, memory)', async () => {
    const r = await models(['status', 'vllm-a', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const st = JSON.parse(r.stdout) as { state: string; ready: boolean; registered: boolean; stats: { cpuPercent: number; memoryBytes: number; memoryLimitBytes: number } };
    expect(st).toMatchObject({ state: 'running', ready: true, registered: true });
    expect(st.stats.memoryBytes).toBeGreaterThan(1 << 20);
    expect(st.stats.memoryLimitBytes).toBeGreaterThan(st.stats.memoryBytes);
    expect(st.stats.cpuPercent).toBeGreaterThanOrEqual(0);
  });

  it('stop unregisters and keeps the container; rm leaves nothing of ours', async () => {
    const stop = await models(['stop', 'vllm-a']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toBe('stopped vllm-a; provider vllm-a unregistered\n');
    expect(provider('vllm-a')).toBeNull();
    expect(JSON.parse((await models(['list', '--json'])).stdout)).toMatchObject([{ name: 'vllm-a', state: 'exited', registered: false }]);
    const rm = await models(['rm', 'vllm-a']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(await ourContainers()).toEqual([]);
    expect(JSON.parse((await models(['list', '--json'])).stdout)).toEqual([]);
    expect(existsSync(join(home, 'keys', 'providers', 'vllm-a.key'))).toBe(false);
    // Audited like providers add/remove.
    const audit = readFileSync(join(home, 'audit', 'seg-000001.jsonl'), 'utf8');
    expect(audit).toMatch(/"activity":"provider_add".*"target":"vllm-a"|"target":"vllm-a".*"activity":"provider_add"/);
  });

  it('changes behind our back: a container stopped or removed outside nemoclaw is unregistered, and list says so', async () => {
    const port = await freePort();
    const r = await models(['start', 'behind', '--engine', 'openai-compatible', '--image', image, '--model', 'm', '--port', String(port), '--cache', cache]);
    expect(r.code, r.stderr).toBe(0);
    expect(provider('behind')).not.toBeNull();
    await docker.getContainer('behind').stop({ t: 1 });
    const l1 = await models(['list', '--json']);
    expect(l1.code).toBe(0);
    expect(l1.stderr).toBe('nemoclaw: model behind is exited (exit code 0) but was registered; provider behind unregistered\n');
    expect(JSON.parse(l1.stdout)).toMatchObject([{ name: 'behind', state: 'exited', registered: false }]);
    expect(provider('behind')).toBeNull();
    // Started again by hand and ready: status registers it again.
    await docker.getContainer('behind').start();
    const st = await waitFor(async () => {
      const s = JSON.parse((await models(['status', 'behind', '--json'])).stdout) as { ready: boolean; registered: boolean };
      return s.ready && s.registered ? s : null;
    }, 'behind ready and registered again');
    expect(st).toMatchObject({ ready: true, registered: true });
    expect(provider('behind')).toMatchObject({ url: `http://127.0.0.1:${port}/v1` });
    await docker.getContainer('behind').remove({ force: true });
    // status is the first to look: it says so too, and the provider goes.
    const st2 = await models(['status', 'behind']);
    expect(st2.code).toBe(2);
    expect(st2.stderr).toBe('nemoclaw: model behind was removed outside nemoclaw; provider behind unregistered\nnemoclaw: no model behind (nemoclaw models list)\n');
    expect(provider('behind')).toBeNull();
    const again2 = await models(['start', 'behind', '--engine', 'openai-compatible', '--image', image, '--model', 'm', '--port', String(port), '--cache', cache]);
    expect(again2.code, again2.stderr).toBe(0);
    await docker.getContainer('behind').remove({ force: true });
    const l2 = await models(['list', '--json']);
    expect(l2.stderr).toBe('nemoclaw: model behind was removed outside nemoclaw; provider behind unregistered\n');
    expect(JSON.parse(l2.stdout)).toEqual([]);
    expect(provider('behind')).toBeNull();
    const gone = await models(['status', 'behind']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toBe('nemoclaw: no model behind (nemoclaw models list)\n');
  });

  it('an engine restart: list stays truthful (restart no: exited and unregistered; unless-stopped: back, registered, answering)', async () => {
    const keepPort = await freePort();
    const keep = await models(['start', 'keep', '--engine', 'openai-compatible', '--image', image, '--model', 'm', '--port', String(keepPort), '--cache', cache, '--restart', 'unless-stopped']);
    expect(keep.code, keep.stderr).toBe(0);
    const once = await models(['start', 'once', '--engine', 'openai-compatible', '--image', image, '--model', 'm', '--port', String(await freePort()), '--cache', cache]);
    expect(once.code, once.stderr).toBe(0);
    if (engine.started) {
      // Ours to restart (CI): a real restart, with the engine-down line while it is away.
      await engine.stop();
      const down = await models(['list']);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/^nemoclaw: the Docker engine does not answer on \/var\/run\/docker.sock \((ENOENT|ECONNREFUSED)\)/);
      engine = await ensureDockerd();
    } else {
      // A host engine this test does not own is never restarted: what a restart does to each
      // restart policy (without live-restore) is done to the two containers instead.
      await docker.getContainer('once').stop({ t: 1 });
      await docker.getContainer('keep').restart({ t: 1 });
    }
    await waitFor(async () => (await docker.getContainer('keep').inspect()).State.Running, 'keep running again');
    const l = await models(['list', '--json']);
    expect(l.code, l.stderr).toBe(0);
    expect(l.stderr).toBe('nemoclaw: model once is exited (exit code 0) but was registered; provider once unregistered\n');
    expect(JSON.parse(l.stdout)).toMatchObject([
      { name: 'keep', state: 'running', registered: true },
      { name: 'once', state: 'exited', registered: false },
    ]);
    expect(provider('once')).toBeNull();
    await waitFor(async () => (await fetch(`http://127.0.0.1:${keepPort}/v1/models`).catch(() => null))?.ok, 'keep answering again');
    // status agrees: the one that came back answers and is registered; the other is exited and not.
    expect(JSON.parse((await models(['status', 'keep', '--json'])).stdout)).toMatchObject({ state: 'running', ready: true, registered: true });
    const onceSt = await models(['status', 'once', '--json']);
    expect(onceSt.code).toBe(1);
    expect(JSON.parse(onceSt.stdout)).toMatchObject({ state: 'exited', ready: false, registered: false });
    expect((await models(['rm', 'keep'])).code).toBe(0);
    expect((await models(['rm', 'once'])).code).toBe(0);
    expect(await ourContainers()).toEqual([]);
  });

  it('readiness is bounded: past --ready-timeout start gives up but the model keeps starting, and status registers it once ready', async () => {
    const port = await freePort();
    const r = await models(['start', 'slow', '--engine', 'openai-compatible', '--image', image, '--model', 'm', '--port', String(port), '--cache', cache, '--env', 'STANDIN_READY_DELAY_MS=2500', '--ready-timeout', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nemoclaw: model slow was not ready within 1 s (/v1/models answered 503); it keeps starting: nemoclaw models status slow registers it once ready');
    expect(provider('slow')).toBeNull();
    const again = await models(['start', 'slow', '--engine', 'openai-compatible', '--image', image, '--port', String(await freePort()), '--cache', cache]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe('nemoclaw: model slow exists; nemoclaw models rm slow first (or models status slow)\n');
    const st = await waitFor(async () => {
      const s = JSON.parse((await models(['status', 'slow', '--json'])).stdout) as { ready: boolean; registered: boolean };
      return s.registered ? s : null;
    }, 'slow registered by status once ready');
    expect(st.ready).toBe(true);
    expect(provider('slow')).toMatchObject({ type: 'openai-compatible', location: 'local', url: `http://127.0.0.1:${port}/v1` });
    expect((await models(['rm', 'slow'])).stdout).toBe('removed slow; provider slow unregistered\n');
  });

  it('a crash during startup reports the exit code and last log lines; list stays truthful; on-failure restarts are caught', async () => {
    const r = await models(['start', 'crashy', '--engine', 'openai-compatible', '--image', image, '--port', String(await freePort()), '--cache', cache, '--env', 'STANDIN_CRASH=3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nemoclaw: model crashy exited during startup (exit code 3); its last log lines:');
    expect(r.stderr).toContain('stand-in: CUDA out of memory (simulated crash)');
    expect(provider('crashy')).toBeNull();
    expect(JSON.parse((await models(['list', '--json'])).stdout)).toMatchObject([{ name: 'crashy', state: 'exited', exitCode: 3, registered: false }]);
    expect((await models(['rm', 'crashy'])).code).toBe(0);

    const r2 = await models(['start', 'crashy2', '--engine', 'openai-compatible', '--image', image, '--port', String(await freePort()), '--cache', cache, '--env', 'STANDIN_CRASH=4', '--restart', 'on-failure']);
    expect(r2.code, r2.stderr).toBe(1);
    expect(r2.stderr, r2.stderr).toMatch(/model crashy2 exited during startup \((exit code 4|restarted \d+ times, last exit code 4)\)/);
    const c = await docker.getContainer('crashy2').inspect();
    expect(c.HostConfig.RestartPolicy).toEqual({ Name: 'on-failure', MaximumRetryCount: 3 });
    expect((await models(['rm', 'crashy2'])).code).toBe(0);
    expect(await ourContainers()).toEqual([]);
  });

  it('a missing image that cannot be pulled is one line naming it and docker load; nothing is created', async () => {
    const r = await models(['start', 'ghost', '--engine', 'openai-compatible', '--image', 'nemoclaw-test/not-here:never', '--port', String(await freePort()), '--cache', cache]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe('pulling nemoclaw-test/not-here:never');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^nemoclaw: image nemoclaw-test\/not-here:never is not on this machine and could not be pulled \(.+\); load it with: docker load -i FILE\.tar/);
    expect(await ourContainers()).toEqual([]);
  });

  it('the engine down (socket missing) is one line with the fix', async () => {
    const sock = join(home, 'no-such-docker.sock');
    const r = await models(['list'], { DOCKER_HOST: `unix://${sock}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`nemoclaw: the Docker engine does not answer on ${sock} (ENOENT): start it (systemctl start docker, or dockerd as root), install it (apt-get install docker.io) or point DOCKER_HOST at it; nemoclaw doctor (docker engine row)\n`);
  });

  it('a name taken by a foreign container is refused, and list shows only ours', async () => {
    await docker.createContainer({ name: 'nc-foreign-model', Image: image });
    const r = await models(['start', 'nc-foreign-model', '--engine', 'openai-compatible', '--image', image, '--port', String(await freePort()), '--cache', cache]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the container name nc-foreign-model is taken by a container nemoclaw did not start for this NEMOCLAW_HOME');
    expect((await models(['stop', 'nc-foreign-model'])).code).toBe(2);
    expect((await models(['rm', 'nc-foreign-model'])).code).toBe(2);
    expect((await docker.getContainer('nc-foreign-model').inspect()).State.Status).toBe('created');
    expect(JSON.parse((await models(['list', '--json'])).stdout)).toEqual([]);
    await docker.getContainer('nc-foreign-model').remove({ force: true });
  });

  it('GPUs: device requests in the spec the engine received; --gpus all refused on a host without a GPU', async () => {
    // The spec path, through the real engine: created (never started: no GPU here), then inspected.
    for (const [gpus, want] of [
      ['all', [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }]],
      ['0,1', [{ Driver: 'nvidia', DeviceIDs: ['0', '1'], Capabilities: [['gpu']] }]],
    ] as const) {
      const spec = buildSpec({ name: `gpu-spec-${gpus === 'all' ? 'all' : 'ids'}`, engine: 'vllm', image, model: 'llama-3.1-8b', gpus, cache }, home);
      const created = await docker.createContainer(spec.create);
      try {
        const c = await created.inspect();
        // Engines differ in how they echo the unset fields (null or {}); what was asked must match.
        expect(c.HostConfig.DeviceRequests).toMatchObject(want);
        expect(c.HostConfig.DeviceRequests).toHaveLength(1);
        expect(c.HostConfig.Privileged).toBe(false);
        expect(c.Config.Cmd).toContain('llama3_json');
      } finally {
        await created.remove({ force: true });
      }
    }
    const dry = await models(['start', 'gpu-dry', '--engine', 'vllm', '--image', image, '--gpus', '0,1', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect((JSON.parse(dry.stdout) as { HostConfig: { DeviceRequests: unknown } }).HostConfig.DeviceRequests).toEqual([{ Driver: 'nvidia', DeviceIDs: ['0', '1'], Capabilities: [['gpu']] }]);
    // The default for vLLM is every GPU; on this host it is refused before anything is created.
    const r = await models(['start', 'gpu-real', '--engine', 'vllm', '--image', image, '--port', String(await freePort()), '--cache', cache]);
    if (!hostHasGpu()) {
      expect(r.code).toBe(2);
      expect(r.stderr).toBe('nemoclaw: --gpus all: this host has no NVIDIA GPU (no /dev/nvidiactl); vllm needs one, or use --gpus none for an image that serves on the CPU\n');
    } else {
      expect(r.stderr).not.toContain('has no NVIDIA GPU');
      await models(['rm', 'gpu-real']);
    }
    expect(await ourContainers()).toEqual([]);
  });

  it('the NIM preset: key from the named variable, 16 GiB shm, cache at /opt/nim/.cache, /v1/health/ready', async () => {
    const noKey = await models(['start', 'nim-a', '--engine', 'nim', '--image', image, '--gpus', 'none']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('a NIM needs its NGC key: --credential-env VAR');
    const port = await freePort();
    const r = await models(['start', 'nim-a', '--engine', 'nim', '--image', image, '--model', 'meta/llama-3.1-8b-instruct', '--gpus', 'none', '--port', String(port), '--cache', cache, '--credential-env', 'NC_TEST_NGC'], { NC_TEST_NGC: 'nvapi-stand-in-ngc-key' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('waiting for /v1/health/ready');
    const c = await docker.getContainer('nim-a').inspect();
    expect(c.Config.Env).toContain('NGC_API_KEY=nvapi-stand-in-ngc-key');
    expect(c.HostConfig.ShmSize).toBe(16 * 1024 ** 3);
    expect(c.HostConfig.Binds).toEqual([`${cache}:/opt/nim/.cache`]);
    // NIM has no router key: the provider holds none, and the NGC key stays out of the store.
    expect(provider('nim-a')).toMatchObject({ type: 'nim', location: 'local', url: `http://127.0.0.1:${port}/v1` });
    expect(existsSync(join(home, 'keys', 'providers', 'nim-a.key'))).toBe(false);
    expect((await models(['rm', 'nim-a'])).stdout).toBe('removed nim-a; provider nim-a unregistered\n');
    expect(await ourContainers()).toEqual([]);
  });
});

/** strict.yaml with these models: (any it has replaced) and its base policy by absolute path, written under the test home. */
function blueprintWith(file: string, models: string[]): string {
  const src = join(MAIN, '..', '..', '..', 'blueprints');
  const base = readFileSync(join(src, 'strict.yaml'), 'utf8')
    .replace('base: policies/strict-base.yaml', `base: ${join(src, 'policies', 'strict-base.yaml')}`)
    .replace(/^models:\n(?:[ #].*\n)*/m, '');
  const text = `${base.endsWith('\n') ? base : `${base}\n`}models:\n${models.map((m) => `  - ${m}\n`).join('')}`;
  const path = join(home, file);
  writeFileSync(path, text);
  return path;
}

const FAKE_SMI = join(MAIN, '..', '..', '..', 'test', 'tui', 'fixtures', 'fake-nvidia-smi');

describe('declared models: blueprint models:, onboard offering local models (real dockerd, stand-in image; FAKE nvidia-smi)', () => {
  it("create starts what the blueprint declares and is not running: reused when running with the same spec, started again when stopped, a different spec refused; the sandbox's route goes to it", async () => {
    const port = await freePort();
    const decl = `{ name: bp-llm, engine: vllm, image: ${image}, model: Qwen/Qwen2.5-7B-Instruct, gpus: none, port: ${port} }`;
    const bp = blueprintWith('bp-models.yaml', [decl]);
    const c1 = await nemoclaw(['create', 'bp-one', '--blueprint', bp, '--workspace', ws, '--', 'sleep', '1000']);
    expect(c1.code, c1.stderr).toBe(0);
    expect(c1.stderr).toContain('waiting for /health then /v1/models');
    expect(c1.stderr).toContain(`model bp-llm started; provider bp-llm registered at http://127.0.0.1:${port}/v1`);
    expect(provider('bp-llm')).toMatchObject({ type: 'vllm', location: 'local', url: `http://127.0.0.1:${port}/v1` });
    // Audited like models start: the registration, by source models.
    expect(readFileSync(join(home, 'audit', 'seg-000001.jsonl'), 'utf8')).toMatch(/"activity":"provider_add".*"target":"bp-llm".*"source":"models"/);
    const id = (await docker.getContainer('bp-llm').inspect()).Id;
    // strict's inference names the vllm engine: the sandbox's first route is the declared model.
    const route = JSON.parse((await nemoclaw(['inference', 'get', '--sandbox', 'bp-one', '--json'])).stdout) as { models: Array<{ provider: string; model: string }> };
    expect(route.models).toMatchObject([{ provider: 'bp-llm', model: 'Qwen/Qwen2.5-7B-Instruct' }]);

    // Running with the same spec: reused, the same container.
    const c2 = await nemoclaw(['create', 'bp-two', '--blueprint', bp, '--workspace', ws, '--', 'sleep', '1000']);
    expect(c2.code, c2.stderr).toBe(0);
    expect(c2.stderr).toContain('model bp-llm already running: reused');
    expect((await docker.getContainer('bp-llm').inspect()).Id).toBe(id);

    // Stopped behind our back: the next create starts the same container again and registers it.
    await docker.getContainer('bp-llm').stop({ t: 1 });
    const c3 = await nemoclaw(['create', 'bp-three', '--blueprint', bp, '--workspace', ws, '--', 'sleep', '1000']);
    expect(c3.code, c3.stderr).toBe(0);
    expect(c3.stderr).toContain('nemoclaw: model bp-llm is exited (exit code 0) but was registered; provider bp-llm unregistered');
    expect(c3.stderr).toContain('model bp-llm started again');
    const after = await docker.getContainer('bp-llm').inspect();
    expect(after.Id).toBe(id);
    expect(after.State.Running).toBe(true);
    expect(provider('bp-llm')).not.toBeNull();

    // A different spec under the same name: refused, nothing replaced, no sandbox created.
    const other = blueprintWith('bp-models-other.yaml', [decl.replace('Qwen/Qwen2.5-7B-Instruct', 'other-model')]);
    const c4 = await nemoclaw(['create', 'bp-four', '--blueprint', other, '--workspace', ws, '--', 'sleep', '1000']);
    expect(c4.code).toBe(2);
    expect(c4.stderr).toBe('nemoclaw: blueprint strict, model bp-llm: model bp-llm exists with a different spec (model Qwen/Qwen2.5-7B-Instruct, declared other-model); nemoclaw models rm bp-llm to replace it, or declare it under another name; or without its models: --no-models\n');
    expect((await docker.getContainer('bp-llm').inspect()).Id).toBe(id);
    expect((await nemoclaw(['bp-four', 'status'])).code).not.toBe(0);

    // --no-models: the sandbox without its model.
    const c5 = await nemoclaw(['create', 'bp-five', '--blueprint', other, '--no-models', '--workspace', ws, '--', 'sleep', '1000']);
    expect(c5.code, c5.stderr).toBe(0);
    expect(c5.stderr).not.toContain('bp-llm');

    for (const sb of ['bp-one', 'bp-two', 'bp-three', 'bp-five']) await sv.api.call('DELETE', `/v1/sandboxes/${sb}`).catch(() => {});
    const rm = await models(['rm', 'bp-llm']);
    expect(rm.stdout).toBe('removed bp-llm; provider bp-llm unregistered\n');
    expect(await ourContainers()).toEqual([]);
  });

  it('a declared model that cannot start stops create with its one line, before any sandbox exists', async () => {
    const bp = blueprintWith('bp-ghost.yaml', [`{ name: bp-ghost, engine: openai-compatible, image: nemoclaw-test/not-here:never, port: ${await freePort()} }`]);
    const r = await nemoclaw(['create', 'bp-ghost-sb', '--blueprint', bp, '--workspace', ws, '--', 'sleep', '1000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\nnemoclaw: blueprint strict, model bp-ghost: image nemoclaw-test\/not-here:never is not on this machine and could not be pulled \(.+\); load it with: docker load/);
    expect((await nemoclaw(['bp-ghost-sb', 'status'])).code).not.toBe(0);
    expect(await ourContainers()).toEqual([]);
  });

  it('onboard offers local models where doctor finds Docker and a GPU, and refuses one whose GPU memory is not free (FAKE nvidia-smi)', async () => {
    const wizard = (answers: string[], env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Run> =>
      nemoclaw(['onboard', '--no-models', ...extra, '--', 'sleep', '1000'], env, `${answers.join('\n')}\n`);
    // 75000 of 81559 MiB used: 6.4 GiB free on each FAKE GPU, under the 17 GiB a 7B model needs.
    const full = { NEMOCLAW_NVIDIA_SMI: FAKE_SMI, FAKE_NVIDIA_SMI_MEM_USED: '75000' };
    const r = await wizard(['ob-one', 'strict', 'local:qwen2.5-7b', '-', ws], full);
    expect(r.stderr).toContain('local models (doctor found Docker and a GPU): local:qwen2.5-7b (vllm Qwen/Qwen2.5-7B-Instruct, about 17 GiB of GPU memory)');
    expect(r.stderr).toContain('local:nim-llama3.1-8b');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nemoclaw: model local-qwen2.5-7b needs about 17 GiB of GPU memory; the freest GPU (0, NVIDIA H100 80GB HBM3) has 6.4 GiB free of 79.6 GiB (nvidia-smi memory.total - memory.used): stop what uses it or choose a smaller model\n');
    expect(await ourContainers()).toEqual([]);
    expect((await nemoclaw(['ob-one', 'status'])).code).not.toBe(0);

    // Refused before anything starts: not even the background supervisor --serve would start.
    const fresh = freshHome();
    const early = await nemoclaw(['onboard', '--non-interactive', '--serve', '--no-models', '--name', 'ob-early', '--local-model', 'qwen2.5-7b', '--workspace', ws], { ...full, NEMOCLAW_HOME: fresh });
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/^nemoclaw: model local-qwen2\.5-7b needs about 17 GiB of GPU memory; the freest GPU \(0, NVIDIA H100 80GB HBM3\) has 6\.4 GiB free/);
    expect(existsSync(join(fresh, 'run', 'serve.log'))).toBe(false);

    // Enough free memory: the check passes and the next one speaks (this host has no GPU device).
    if (!hostHasGpu()) {
      const ok = await wizard(['ob-two', 'strict', 'local:qwen2.5-0.5b', '-', ws], { ...full, FAKE_NVIDIA_SMI_MEM_USED: '10000' });
      expect(ok.code).toBe(2);
      expect(ok.stderr).not.toContain('GPU memory;');
      expect(ok.stderr).toContain('nemoclaw: --gpus all: this host has no NVIDIA GPU (no /dev/nvidiactl)');
      expect(await ourContainers()).toEqual([]);
    }

    // No GPU (the FAKE's driver is not loaded): nothing offered, and asking for one is one line naming doctor's row.
    const noGpu = { NEMOCLAW_NVIDIA_SMI: FAKE_SMI, FAKE_NVIDIA_SMI_FAIL: '1' };
    const w = await wizard(['ob-three', 'strict', 'local:qwen2.5-7b', 'none', '-', ws], noGpu, ['--json']);
    expect(w.stderr).not.toContain('local models (doctor found');
    expect(w.stderr).toContain('one of nvidia, openai, nim-local, vllm, none');
    expect(w.code, w.stderr).toBe(0);
    await sv.api.call('DELETE', '/v1/sandboxes/ob-three').catch(() => {});
    const ni = await nemoclaw(['onboard', '--non-interactive', '--no-models', '--name', 'ob-four', '--blueprint', 'strict', '--local-model', 'qwen2.5-7b', '--workspace', ws, '--', 'sleep', '1000'], noGpu);
    expect(ni.code).toBe(2);
    expect(ni.stderr).toMatch(/^nemoclaw: local models need Docker and a GPU: doctor gpu: nvidia-smi missing or not answering .*\(fix: apt-get install -y nvidia-driver/);
    const bad = await nemoclaw(['onboard', '--non-interactive', '--name', 'ob-five', '--local-model', 'gpt-9', '--workspace', ws], noGpu);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('onboard: --local-model gpt-9: one of qwen2.5-7b, qwen2.5-0.5b, llama3.1-8b, nim-llama3.1-8b');
    const both = await nemoclaw(['onboard', '--non-interactive', '--name', 'ob-six', '--local-model', 'qwen2.5-7b', '--provider', 'openai', '--workspace', ws], noGpu);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('nemoclaw: onboard: --local-model is the provider (local-ID): not both with --provider\n');
  });

  it("doctor's docker engine row honours DOCKER_HOST: a second real socket and a tcp address answer; a missing, a dead and a refused one name the fix", async () => {
    const { createServer: netServer, connect } = await import('node:net');
    // A second socket and a loopback port in front of the real engine (each connection spliced to it).
    const splice = (c: Socket): void => {
      const up = connect('/var/run/docker.sock');
      c.pipe(up).pipe(c);
      up.on('error', () => c.destroy());
      c.on('error', () => up.destroy());
    };
    const second = join(home, 'second-docker.sock');
    const unixProxy = netServer(splice);
    const tcpProxy = netServer(splice);
    await new Promise<void>((r) => unixProxy.listen(second, r));
    await new Promise<void>((r) => tcpProxy.listen(0, '127.0.0.1', r));
    const tcpPort = (tcpProxy.address() as AddressInfo).port;
    // A socket file nothing listens on (bound, never listening): connections are refused.
    const dead = join(home, 'dead-docker.sock');
    const { spawnSync } = await import('node:child_process');
    expect(spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(dead)})`]).status).toBe(0);
    const row = async (dockerHost: string): Promise<{ status: string; detail: string; fix: string }> => {
      const r = await nemoclaw(['doctor', '--json'], { DOCKER_HOST: dockerHost });
      const checks = (JSON.parse(r.stdout) as { checks: Array<{ name: string; status: string; detail: string; fix: string }> }).checks;
      return checks.find((c) => c.name === 'docker engine')!;
    };
    try {
      expect(await row(`unix://${second}`)).toMatchObject({ status: 'pass', detail: `${second} (DOCKER_HOST) answers /_ping` });
      expect(await row(`tcp://127.0.0.1:${tcpPort}`)).toMatchObject({ status: 'pass', detail: `tcp://127.0.0.1:${tcpPort} (DOCKER_HOST) answers /_ping` });
      // models use the same address: list through the second socket.
      expect((await models(['list', '--json'], { DOCKER_HOST: `unix://${second}` })).code).toBe(0);
      const missing = join(home, 'no-docker.sock');
      expect(await row(`unix://${missing}`)).toEqual({
        name: 'docker engine',
        status: 'warn',
        detail: `${missing} (DOCKER_HOST) missing: the engine is not running (needed only for local models)`,
        fix: `start the engine DOCKER_HOST names: dockerd -H unix://${missing} >/var/log/dockerd.log 2>&1 &  (or unset DOCKER_HOST and: systemctl start docker  (without systemd, as root: dockerd >/var/log/dockerd.log 2>&1 &))`,
        required: false,
      });
      expect(await row(`unix://${dead}`)).toMatchObject({ status: 'warn', detail: `${dead} (DOCKER_HOST) refuses connections: the engine is not running (needed only for local models)` });
      const refused = await freePort();
      expect(await row(`tcp://127.0.0.1:${refused}`)).toMatchObject({ status: 'warn', detail: `tcp://127.0.0.1:${refused} (DOCKER_HOST) refuses connections: the engine is not running (needed only for local models)` });
      expect(await row('http://nowhere')).toMatchObject({ status: 'warn', detail: 'DOCKER_HOST=http://nowhere is neither unix:///path nor tcp://host:port' });
    } finally {
      await new Promise<void>((r) => unixProxy.close(() => r()));
      await new Promise<void>((r) => tcpProxy.close(() => r()));
    }
  });
});
