// Local models as containers, through the Docker Engine API only (dockerode over
// /var/run/docker.sock or DOCKER_HOST; never the docker CLI), docs/models.md. What keeps this
// inside the design (docs/design.md, "Local models" and invariant 6): ports are published on
// 127.0.0.1 only, containers are never privileged, GPUs go in as device requests, and a ready
// model is registered as a `local` provider of the inference router, whose key (vLLM's --api-key)
// lives under NEMOCLAW_HOME/keys like any provider key, so sandboxes reach the model only through
// inference.local and never hold the key.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Agent, AgentOptions } from 'node:http';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { ProviderStore } from '../inference/index.ts';
import type { Provider } from '../inference/index.ts';
import { ensurePrivateDirs, writeJsonAtomic } from '../state/index.ts';
import { PRESETS, gpuMemoryNeedGiB } from './presets.ts';
import type { Engine } from './presets.ts';

import { checkGpuMemory, readGpuMemory } from './gpu.ts';
import { loadDockerode } from './dockerode.ts';
import { LABEL, ModelError, buildSpec, engineAddress, engineError, homeId, hostHasGpu } from './spec.ts';
import type { DockerErr, ModelInfo, Progress, StartOptions } from './spec.ts';

export { LABEL, ModelError, buildSpec, deviceRequests, engineAddress, homeId, hostHasGpu } from './spec.ts';
export type { ModelInfo, Progress, Spec, StartOptions } from './spec.ts';

const FAST_POLL_MS = 25;
const FAST_POLL_FOR_MS = 3000;

function info(c: ContainerInspectInfo, registered: boolean, ready: boolean | null): ModelInfo {
  const l = c.Config.Labels;
  const port = Number(l[LABEL.port]);
  const reqs = c.HostConfig.DeviceRequests ?? [];
  const gpus = reqs.length === 0 ? 'none' : reqs[0]!.Count === -1 ? 'all' : (reqs[0]!.DeviceIDs ?? []).join(',');
  return {
    name: l[LABEL.model]!,
    engine: l[LABEL.engine] as Engine,
    image: c.Config.Image,
    model: l[LABEL.modelId] || null,
    port,
    url: `http://127.0.0.1:${port}/v1`,
    state: c.State.Status,
    exitCode: c.State.Running ? null : c.State.ExitCode,
    restartCount: c.RestartCount,
    startedAt: c.State.Running ? c.State.StartedAt : null,
    gpus,
    ready,
    registered,
    containerId: c.Id.slice(0, 12),
  };
}

/** Splits the engine's multiplexed log frames (8-byte headers) into text. */
export function demux(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2 || buf[i] === 0)) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  return i === 0 ? buf.toString('utf8') : out;
}

async function httpGet(url: string, key: string | null, timeoutMs: number): Promise<number> {
  const http = process.getBuiltinModule('node:http');
  return await new Promise<number>((resolve) => {
    const req = http.get(url, { timeout: timeoutMs, headers: key !== null ? { authorization: `Bearer ${key}` } : {} }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
  });
}

async function portFree(port: number): Promise<boolean> {
  const net = process.getBuiltinModule('node:net');
  return await new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * The HTTP agent dockerode's requests go through: Node's global agent's settings (keep-alive),
 * naming no TLS server. Without one, http's agent derives a server name from each request's Host
 * header and tests it with net.isIP, whose IPv6 regular expression takes ~3.5 ms to compile on
 * its first use: every `models` verb's first request paid it (issue 23). The engine is reached
 * over a unix socket or plain TCP (engineAddress), where nothing reads a server name.
 * docker-modem takes `agent` from dockerode's options (dockerode's types do not list it), and
 * logs every request's options with util.inspect (showHidden, any depth) whether or not its debug
 * output is on: the agent shows itself as its name, not as its pools of sockets (~2.5 ms).
 */
function engineAgent(): Agent {
  const http = process.getBuiltinModule('node:http');
  // The options Node made its global agent with (keep-alive and the rest); @types/node omits the field.
  const globalOptions = (http.globalAgent as unknown as { options: AgentOptions }).options;
  const agent = new http.Agent({ ...globalOptions, servername: '' } as AgentOptions);
  Object.defineProperty(agent, Symbol.for('nodejs.util.inspect.custom'), { value: () => 'nemoclaw engine agent' });
  return agent;
}

export class Models {
  readonly docker: Docker;
  readonly where: string;
  readonly providers: ProviderStore;
  private readonly id: string;
  /** Provider registrations made or removed, for the caller to audit (docs/design.md, "Audit"). */
  /** What reconcile found changed behind our back, for the caller to show. */
  readonly notes: string[] = [];
  private readonly recordDir: string;
  readonly changes: Array<{ activity: 'provider_add' | 'provider_remove'; name: string; detail: Record<string, string | null> }> = [];

  readonly home: string;
  private readonly env: NodeJS.ProcessEnv;
  constructor(home: string, env: NodeJS.ProcessEnv = process.env) {
    this.home = home;
    this.env = env;
    const a = engineAddress(env);
    this.docker = new (loadDockerode())({ ...a.opts, agent: engineAgent() } as Docker.DockerOptions);
    this.where = a.where;
    this.providers = new ProviderStore(home);
    this.recordDir = join(home, 'models');
    this.id = homeId(home);
  }

  private async call<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw engineError(err, this.where);
    }
  }

  /** Our container of that name, null when there is none; a foreign one of that name is refused. */
  private async ours(name: string): Promise<ContainerInspectInfo | null> {
    let c: ContainerInspectInfo;
    try {
      c = await this.docker.getContainer(name).inspect();
    } catch (err) {
      if ((err as DockerErr).statusCode === 404) return null;
      throw engineError(err, this.where);
    }
    // The engine matches names and id prefixes; only an exact name of ours counts.
    if (c.Name !== `/${name}` || c.Config.Labels?.[LABEL.model] !== name || c.Config.Labels?.[LABEL.home] !== this.id) {
      throw new ModelError(`the container name ${name} is taken by a container nemoclaw did not start for this NEMOCLAW_HOME (${c.Id.slice(0, 12)}, image ${c.Config.Image}); choose another name`, 'usage');
    }
    return c;
  }

  /** The provider this home registered for the model: its record under models/ and a matching URL. */
  private registeredFor(name: string, port: number): Provider | null {
    const r = this.record(name);
    if (r === null || r.port !== port) return null;
    const p = this.providers.get(name);
    return p !== null && p.url === `http://127.0.0.1:${port}/v1` ? p : null;
  }

  private record(name: string): { name: string; port: number; containerId: string } | null {
    try {
      return JSON.parse(readFileSync(join(this.recordDir, `${name}.json`), 'utf8')) as { name: string; port: number; containerId: string };
    } catch {
      return null;
    }
  }

  /**
   * Keeps the router's providers truthful about containers changed behind our back (removed with
   * the docker CLI, stopped, an engine restart that did not bring them back): a registration whose
   * container is gone or not running is removed, and said so in `notes`.
   */
  private async reconcile(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.recordDir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    } catch {
      return;
    }
    for (const name of names) {
      const r = this.record(name);
      if (r === null) continue;
      let c: ContainerInspectInfo | null;
      try {
        c = await this.ours(name);
      } catch (err) {
        if (err instanceof ModelError && err.code === 'usage') c = null; // the name now belongs to a foreign container
        else throw err;
      }
      if (c === null || c.Id.slice(0, 12) !== r.containerId) {
        this.unregister(name, r.port);
        rmSync(join(this.recordDir, `${name}.json`), { force: true });
        this.notes.push(`model ${name} was removed outside nemoclaw; provider ${name} unregistered`);
      } else if (!c.State.Running) {
        this.unregister(name, r.port);
        this.notes.push(`model ${name} is ${c.State.Status} (exit code ${c.State.ExitCode}) but was registered; provider ${name} unregistered`);
      }
    }
  }

  /**
   * A declared model (a blueprint's `models:`, onboard's local model), idempotent: started when
   * absent; ours with the same spec is reused (started again if stopped, registered once it
   * answers); a different spec under the same name is refused rather than replaced, because the
   * container may be serving other sandboxes (docs/models.md, "Blueprints").
   */
  async ensure(o: StartOptions, progress: Progress = () => {}): Promise<{ info: ModelInfo; action: 'started' | 'restarted' | 'reused' }> {
    const spec = buildSpec(o, this.home);
    await this.call(this.docker.ping());
    await this.reconcile();
    const c = await this.ours(o.name);
    if (c === null) return { info: await this.start(o, progress), action: 'started' };
    const have = info(c, false, null);
    const diff = (
      [
        ['engine', have.engine, spec.engine],
        ['image', have.image, o.image],
        ['model', have.model ?? '-', spec.model ?? '-'],
        ['port', have.port, spec.port],
        ['gpus', have.gpus, spec.gpus],
      ] as const
    ).filter(([, a, b]) => String(a) !== String(b));
    if (diff.length > 0) {
      const what = diff.map(([k, a, b]) => `${k} ${a}, declared ${b}`).join('; ');
      throw new ModelError(`model ${o.name} exists with a different spec (${what}); nemoclaw models rm ${o.name} to replace it, or declare it under another name`, 'usage');
    }
    // The key the running server was created with, never the fresh one buildSpec made.
    const key = PRESETS[spec.engine].routerKey ? keyFromCmd(c.Config.Cmd ?? []) : null;
    let action: 'restarted' | 'reused' = 'reused';
    if (!c.State.Running) {
      await this.gpuMemoryFits(o.name, spec, o.image);
      if (spec.gpus !== 'none' && !hostHasGpu()) {
        throw new ModelError(`--gpus ${spec.gpus}: this host has no NVIDIA GPU (no /dev/nvidiactl); ${spec.engine} needs one, or use --gpus none for an image that serves on the CPU`, 'usage');
      }
      await this.checkPort(spec.port);
      await this.call(this.docker.getContainer(o.name).start());
      action = 'restarted';
      progress(`started ${o.name} again (${c.Id.slice(0, 12)}, was ${c.State.Status}); waiting for ${PRESETS[spec.engine].readiness.join(' then ')}`);
    } else {
      progress(`model ${o.name} is running with the declared spec (${c.Id.slice(0, 12)}): reused`);
    }
    const registered = this.registeredFor(o.name, spec.port) !== null;
    const existing = registered ? null : this.providers.get(o.name);
    if (existing !== null) throw new ModelError(`a provider named ${o.name} exists (${existing.url}); choose another model name or nemoclaw providers remove ${o.name}`, 'usage');
    // Probed even when reused: one request per readiness path when it answers.
    await this.awaitReady(o.name, spec.port, spec.engine, key, o.readyTimeoutMs ?? 900_000, o.pollMs ?? 200, progress);
    if (!registered) this.register(o.name, spec.engine, spec.port, key, c.Id);
    return { info: info(await this.call(this.docker.getContainer(o.name).inspect()), true, true), action };
  }

  /** Free GPU memory against the rough need (src/models/gpu.ts), before the device check and the engine. */
  private async gpuMemoryFits(name: string, spec: { engine: Engine; model: string | null; gpus: string }, image: string): Promise<void> {
    if (spec.gpus === 'none') return;
    checkGpuMemory({ name, needGiB: gpuMemoryNeedGiB(spec.engine, spec.model, image), gpus: spec.gpus, gpusFound: await readGpuMemory(this.env) });
  }

  async start(o: StartOptions, progress: Progress = () => {}): Promise<ModelInfo> {
    const spec = buildSpec(o, this.home);
    await this.gpuMemoryFits(o.name, spec, o.image);
    if (spec.gpus !== 'none' && !hostHasGpu()) {
      throw new ModelError(`--gpus ${spec.gpus}: this host has no NVIDIA GPU (no /dev/nvidiactl); ${spec.engine} needs one, or use --gpus none for an image that serves on the CPU`, 'usage');
    }
    await this.call(this.docker.ping());
    if ((await this.ours(o.name)) !== null) throw new ModelError(`model ${o.name} exists; nemoclaw models rm ${o.name} first (or models status ${o.name})`, 'usage');
    const existing = this.providers.get(o.name);
    if (existing !== null) throw new ModelError(`a provider named ${o.name} exists (${existing.url}); choose another model name or nemoclaw providers remove ${o.name}`, 'usage');
    await this.checkPort(spec.port);
    await this.ensureImage(o.image, progress);
    const container = await this.call(this.docker.createContainer(spec.create));
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => {});
      throw engineError(err, this.where);
    }
    progress(`started ${o.name} (${container.id.slice(0, 12)}) on 127.0.0.1:${spec.port}; waiting for ${PRESETS[spec.engine].readiness.join(' then ')}`);
    await this.awaitReady(o.name, spec.port, spec.engine, spec.routerKey, o.readyTimeoutMs ?? 900_000, o.pollMs ?? 200, progress);
    this.register(o.name, spec.engine, spec.port, spec.routerKey, container.id);
    const c = await this.call(container.inspect());
    return info(c, true, true);
  }

  private register(name: string, engine: Engine, port: number, key: string | null, containerId: string): void {
    ensurePrivateDirs(this.recordDir);
    // The record first: a provider of ours never exists without the record that says so.
    writeJsonAtomic(join(this.recordDir, `${name}.json`), { name, port, containerId: containerId.slice(0, 12), registeredAt: new Date().toISOString() }, 0o600);
    const p = this.providers.add({ name, type: PRESETS[engine].providerType, url: `http://127.0.0.1:${port}/v1`, location: 'local', key });
    this.changes.push({ activity: 'provider_add', name, detail: { type: p.type, location: p.location, key_fp: p.fingerprint, source: 'models' } });
  }

  private unregister(name: string, port: number): boolean {
    if (this.registeredFor(name, port) === null) {
      rmSync(join(this.recordDir, `${name}.json`), { force: true });
      return false;
    }
    const had = this.providers.remove(name);
    rmSync(join(this.recordDir, `${name}.json`), { force: true });
    if (had) this.changes.push({ activity: 'provider_remove', name, detail: { source: 'models' } });
    return had;
  }

  /** A port taken by a container (ours or not) or by any process is named before anything starts. */
  private async checkPort(port: number): Promise<void> {
    const all = await this.call(this.docker.listContainers({ all: false }));
    for (const c of all) {
      if ((c.Ports ?? []).some((p) => p.PublicPort === port)) {
        throw new ModelError(`port ${port} is already published by container ${(c.Names[0] ?? c.Id).replace(/^\//, '')} (${c.Image}); choose another --port`, 'usage');
      }
    }
    if (!(await portFree(port))) throw new ModelError(`port ${port} on 127.0.0.1 is already in use by another process; choose another --port`, 'usage');
  }

  /** The image, pulled with progress when missing; a failed pull is one line naming the image. */
  private async ensureImage(image: string, progress: Progress): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (err) {
      if ((err as DockerErr).statusCode !== 404) throw engineError(err, this.where);
    }
    const cannot = (why: string): ModelError =>
      new ModelError(`image ${image} is not on this machine and could not be pulled (${why.replace(/\s+/g, ' ').trim()}); load it with: docker load -i FILE.tar (from docker save ${image} on a machine that has it)`);
    progress(`pulling ${image}`);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(image);
    } catch (err) {
      const e = err as DockerErr;
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') throw engineError(err, this.where);
      throw cannot(e.json?.message ?? e.message ?? String(err));
    }
    const layers = new Map<string, { current: number; total: number }>();
    let last = 0;
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
          if (err) return reject(cannot(err.message));
          // The stream "succeeds" with error objects in it when the registry refuses mid-pull.
          const bad = (output ?? []).find((o) => o.error !== undefined || o.errorDetail !== undefined);
          if (bad) return reject(cannot(bad.errorDetail?.message ?? bad.error ?? 'error in the pull stream'));
          resolve();
        },
        (ev: { id?: string; status?: string; progressDetail?: { current?: number; total?: number } }) => {
          if (ev.id !== undefined && ev.progressDetail?.total !== undefined) layers.set(ev.id, { current: ev.progressDetail.current ?? 0, total: ev.progressDetail.total });
          const now = Date.now();
          if (layers.size === 0 || now - last < 1000) return;
          last = now;
          let cur = 0;
          let tot = 0;
          for (const l of layers.values()) {
            cur += l.current;
            tot += l.total;
          }
          progress(`pulling ${image}: ${layers.size} layers, ${(cur / 1e6).toFixed(1)} of ${(tot / 1e6).toFixed(1)} MB`);
        },
      );
    });
  }

  private async awaitReady(name: string, port: number, engine: Engine, key: string | null, withinMs: number, pollMs: number, progress: Progress): Promise<void> {
    const deadline = Date.now() + withinMs;
    const paths = PRESETS[engine].readiness;
    let step = 0;
    let lastShown = Date.now();
    const started = Date.now();
    for (;;) {
      // The probe first: a ready server costs one request; the container's state is read only
      // while it is not answering, which is when a crash needs to be told apart from slowness.
      const status = await httpGet(`http://127.0.0.1:${port}${paths[step]}`, key, Math.max(500, pollMs));
      if (status >= 200 && status < 300) {
        step += 1;
        if (step === paths.length) return;
        continue;
      }
      let c = await this.call(this.docker.getContainer(name).inspect());
      if (!c.State.Running || c.State.Restarting || c.RestartCount > 0) {
        // Restarted and running again: the engine shows exit code 0 for the new run. A few short
        // looks catch it between runs, where the exit code is the crash's (bounded: 2 s).
        for (let i = 0; i < 20 && c.State.Running && !c.State.Restarting; i++) {
          await new Promise((r) => setTimeout(r, 100));
          c = await this.call(this.docker.getContainer(name).inspect());
        }
        let logs: string;
        try {
          logs = demux((await this.docker.getContainer(name).logs({ stdout: true, stderr: true, tail: 20 })) as unknown as Buffer).trimEnd();
        } catch (err) {
          logs = `(the engine gave no logs: ${(err as Error).message})`;
        }
        const last = c.State.Running && !c.State.Restarting ? 'running again, last exit code not seen' : `last exit code ${c.State.ExitCode}`;
        const code = c.State.Running || c.State.Restarting || c.RestartCount > 0 ? `restarted ${c.RestartCount} times, ${last}` : `exit code ${c.State.ExitCode}`;
        throw new ModelError(`model ${name} exited during startup (${code}${c.State.OOMKilled ? ', killed for memory' : ''}); its last log lines:\n${logs}\nnemoclaw models logs ${name}; nemoclaw models rm ${name}`);
      }
      if (Date.now() >= deadline) {
        throw new ModelError(`model ${name} was not ready within ${Math.round(withinMs / 1000)} s (${paths[step]} answered ${status || 'nothing'}); it keeps starting: nemoclaw models status ${name} registers it once ready, nemoclaw models logs ${name}`);
      }
      if (Date.now() - lastShown >= 5000) {
        lastShown = Date.now();
        progress(`waiting for ${name}: ${paths[step]} answered ${status || 'nothing yet'}`);
      }
      // Fast polls for the first seconds (small servers are up in well under one), then the
      // configured interval, so a NIM loading weights for minutes is not probed 40 times a second.
      await new Promise((r) => setTimeout(r, Date.now() - started < FAST_POLL_FOR_MS ? Math.min(FAST_POLL_MS, pollMs) : pollMs));
    }
  }

  /** Whether a container's server answers its engine's readiness paths now (read-only; the TUI's watch uses it too). */
  async readyNow(c: ContainerInspectInfo): Promise<boolean> {
    if (!c.State.Running) return false;
    const engine = c.Config.Labels[LABEL.engine] as Engine;
    const port = Number(c.Config.Labels[LABEL.port]);
    // After a stop the provider (and its stored key) is gone; the container's own --api-key still answers.
    const key = this.providers.key(c.Config.Labels[LABEL.model]!) ?? (PRESETS[engine]?.routerKey ? keyFromCmd(c.Config.Cmd ?? []) : null);
    for (const p of PRESETS[engine]?.readiness ?? []) {
      const s = await httpGet(`http://127.0.0.1:${port}${p}`, key, 2000);
      if (s < 200 || s >= 300) return false;
    }
    return true;
  }

  async list(): Promise<ModelInfo[]> {
    await this.reconcile();
    const cs = await this.call(this.docker.listContainers({ all: true, filters: { label: [`${LABEL.home}=${this.id}`] } }));
    const out: ModelInfo[] = [];
    for (const s of cs) {
      const c = await this.docker.getContainer(s.Id).inspect().catch(() => null);
      if (c === null) continue; // removed between the list and the inspect
      out.push(info(c, this.registeredFor(c.Config.Labels[LABEL.model]!, Number(c.Config.Labels[LABEL.port])) !== null, null));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * One model, its readiness probed now. A running model that became ready after `start` gave up
   * waiting is registered here; a stopped or vanished one is unregistered, so the router's
   * providers stay truthful.
   */
  async status(name: string): Promise<ModelInfo> {
    await this.reconcile();
    const c = await this.ours(name);
    if (c === null) throw new ModelError(`no model ${name} (nemoclaw models list)`, 'usage');
    const ready = await this.readyNow(c);
    const port = Number(c.Config.Labels[LABEL.port]);
    let registered = this.registeredFor(name, port) !== null;
    if (ready && !registered && this.providers.get(name) === null) {
      const engine = c.Config.Labels[LABEL.engine] as Engine;
      const key = PRESETS[engine].routerKey ? keyFromCmd(c.Config.Cmd ?? []) : null;
      this.register(name, engine, port, key, c.Id);
      registered = true;
    } else if (!c.State.Running && registered) {
      this.unregister(name, port);
      registered = false;
    }
    return { ...info(c, registered, ready), stats: c.State.Running ? await this.stats(name) : null };
  }

  /** One sample of the engine's stats stream (it waits for two readings to compute CPU). */
  private async stats(name: string): Promise<ModelInfo['stats']> {
    try {
      const s = (await this.docker.getContainer(name).stats({ stream: false })) as unknown as {
        cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
        precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
        memory_stats: { usage?: number; limit?: number; stats?: { cache?: number; inactive_file?: number } };
      };
      const cpu = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
      const sys = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
      const cpus = s.cpu_stats.online_cpus ?? 1;
      // As `docker stats` shows it: usage less the page cache the kernel can drop.
      const mem = (s.memory_stats.usage ?? 0) - (s.memory_stats.stats?.inactive_file ?? s.memory_stats.stats?.cache ?? 0);
      return { cpuPercent: sys > 0 ? Number(((cpu / sys) * cpus * 100).toFixed(2)) : 0, memoryBytes: Math.max(0, mem), memoryLimitBytes: s.memory_stats.limit ?? 0 };
    } catch {
      return null;
    }
  }

  /** Writes the model's logs to `out`; with follow, until the container stops or `signal` aborts. */
  async logs(name: string, follow: boolean, out: NodeJS.WritableStream, err: NodeJS.WritableStream, signal?: AbortSignal): Promise<void> {
    const c = await this.ours(name);
    if (c === null) throw new ModelError(`no model ${name} (nemoclaw models list)`, 'usage');
    const container = this.docker.getContainer(name);
    if (!follow) {
      const buf = (await this.call(container.logs({ stdout: true, stderr: true, follow: false }))) as unknown as Buffer;
      out.write(demux(buf));
      return;
    }
    const stream = await this.call(container.logs({ stdout: true, stderr: true, follow: true, abortSignal: signal }));
    await new Promise<void>((resolve) => {
      this.docker.modem.demuxStream(stream, out, err);
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
      signal?.addEventListener('abort', () => resolve());
    });
  }

  async stop(name: string): Promise<{ info: ModelInfo; unregistered: boolean }> {
    const c = await this.ours(name);
    if (c === null) throw new ModelError(`no model ${name} (nemoclaw models list)`, 'usage');
    const port = Number(c.Config.Labels[LABEL.port]);
    // Unregister first: the router stops sending before the server goes away.
    const unregistered = this.unregister(name, port);
    try {
      await this.docker.getContainer(name).stop({ t: 10 });
    } catch (err) {
      if ((err as DockerErr).statusCode !== 304) throw engineError(err, this.where);
    }
    return { info: info(await this.call(this.docker.getContainer(name).inspect()), false, false), unregistered };
  }

  /** Removes the container (running or not); returns whether a provider registration went with it. */
  async rm(name: string): Promise<boolean> {
    const c = await this.ours(name);
    if (c === null) throw new ModelError(`no model ${name} (nemoclaw models list)`, 'usage');
    const unregistered = this.unregister(name, Number(c.Config.Labels[LABEL.port]));
    await this.call(this.docker.getContainer(name).remove({ force: true }));
    return unregistered;
  }
}

/** vLLM's --api-key as the container was created with it (to register a model that became ready late). */
function keyFromCmd(cmd: string[]): string | null {
  const i = cmd.indexOf('--api-key');
  return i >= 0 && i + 1 < cmd.length ? cmd[i + 1]! : null;
}
