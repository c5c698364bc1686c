// The pure half of the models component (docs/models.md): names, labels, the engine's address,
// errors, and the container spec built from options alone. No engine calls and no runtime import
// of dockerode, so blueprint validation, onboard's checks and --dry-run never pay for it.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { PRESETS, isEngine, ENGINES } from './presets.ts';
import type { Engine } from './presets.ts';

/** Any refusal or failure the operator can act on: one line (plus log lines for a crash). */
export class ModelError extends Error {
  readonly code: 'usage' | 'engine' | 'failure';
  constructor(message: string, code: 'usage' | 'engine' | 'failure' = 'failure') {
    super(message);
    this.code = code;
  }
}

export const LABEL = {
  model: 'dev.nemoclaw.model',
  home: 'dev.nemoclaw.home',
  engine: 'dev.nemoclaw.engine',
  modelId: 'dev.nemoclaw.model-id',
  port: 'dev.nemoclaw.port',
} as const;

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const RESTARTS = ['no', 'on-failure', 'unless-stopped'] as const;

/** Which NEMOCLAW_HOME a container belongs to: models are per home, like their providers. */
export function homeId(home: string): string {
  return createHash('sha256').update(home).digest('hex').slice(0, 16);
}

/** Where the engine is, as dockerode would find it, so an error can name it. */
export function engineAddress(env: NodeJS.ProcessEnv = process.env): { opts: Docker.DockerOptions; where: string } {
  const h = env.DOCKER_HOST;
  if (h === undefined || h === '') return { opts: { socketPath: '/var/run/docker.sock' }, where: '/var/run/docker.sock' };
  if (h.startsWith('unix://')) return { opts: { socketPath: h.slice(7) }, where: h.slice(7) };
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(h);
  if (m) return { opts: { host: m[1], port: Number(m[2]), protocol: 'http' }, where: h };
  throw new ModelError(`DOCKER_HOST=${h}: expected unix:///path/docker.sock or tcp://host:port`, 'usage');
}

export interface DockerErr {
  code?: string;
  statusCode?: number;
  json?: { message?: string } | null;
  message?: string;
}

/** Engine errors as one line; a socket that is missing or refuses gets the fix. */
export function engineError(err: unknown, where: string): ModelError {
  const e = err as DockerErr;
  if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'EACCES') {
    return new ModelError(
      `the Docker engine does not answer on ${where} (${e.code}): start it (systemctl start docker, or dockerd as root), install it (apt-get install docker.io) or point DOCKER_HOST at it; nemoclaw doctor (docker engine row)`,
      'engine',
    );
  }
  return new ModelError(`Docker engine: ${e.json?.message ?? e.message ?? String(err)}`.replace(/\s*\n\s*/g, ' '));
}

export interface StartOptions {
  name: string;
  engine: string;
  image: string;
  model?: string;
  port?: number;
  gpus?: string;
  env?: string[];
  credentialEnv?: string;
  cache?: string;
  restart?: string;
  /** Give up waiting for readiness after this long (the container keeps running). */
  readyTimeoutMs?: number;
  /** Poll interval for readiness and crash detection. */
  pollMs?: number;
}

export interface ModelInfo {
  name: string;
  engine: Engine;
  image: string;
  model: string | null;
  port: number;
  url: string;
  state: string;
  exitCode: number | null;
  restartCount: number;
  startedAt: string | null;
  gpus: string;
  ready: boolean | null;
  registered: boolean;
  containerId: string;
  /** From the engine's stats (status only, while running): CPU over one sample interval, memory in use. */
  stats?: { cpuPercent: number; memoryBytes: number; memoryLimitBytes: number } | null;
}

export type Progress = (line: string) => void;

/** GPUs as the engine wants them: device requests, never --privileged or /dev binds. */
export function deviceRequests(gpus: string): Docker.DeviceRequest[] {
  if (gpus === 'none') return [];
  if (gpus === 'all') return [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }];
  const ids = gpus.split(',').map((s) => s.trim());
  if (ids.length === 0 || ids.some((id) => !/^(\d+|GPU-[0-9a-fA-F-]+)$/.test(id))) throw new ModelError(`--gpus ${gpus}: all, none, or device ids such as 0,1`, 'usage');
  return [{ Driver: 'nvidia', DeviceIDs: ids, Capabilities: [['gpu']] }];
}

/** Whether this host has an NVIDIA GPU the engine could hand out (its control device exists). */
export function hostHasGpu(): boolean {
  return existsSync('/dev/nvidiactl') || existsSync('/dev/nvidia0');
}

export interface Spec {
  create: ContainerCreateOptions;
  engine: Engine;
  port: number;
  model: string | null;
  gpus: string;
  /** The key the router will hold for this model (vLLM's --api-key), or null. */
  routerKey: string | null;
}

/**
 * The container the engine is asked to create, from the options alone (no engine calls), so the
 * spec can be checked on any host: the GPU request in particular, on hosts that have no GPU.
 */
export function buildSpec(o: StartOptions, home: string, env: NodeJS.ProcessEnv = process.env, routerKey?: string): Spec {
  if (!NAME.test(o.name)) throw new ModelError(`model name ${JSON.stringify(o.name)}: lowercase letters, digits, '.', '_' and '-', up to 63, starting with a letter or digit`, 'usage');
  if (!isEngine(o.engine)) throw new ModelError(`--engine ${o.engine}: one of ${ENGINES.join(', ')}`, 'usage');
  const engine = o.engine;
  const preset = PRESETS[engine];
  const port = o.port ?? preset.containerPort;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ModelError(`--port ${o.port}: 1 to 65535`, 'usage');
  const restart = o.restart ?? 'no';
  if (!(RESTARTS as readonly string[]).includes(restart)) throw new ModelError(`--restart ${restart}: one of ${RESTARTS.join(', ')}`, 'usage');
  const gpus = o.gpus ?? preset.defaultGpus;
  const requests = deviceRequests(gpus);
  const model = o.model ?? null;
  const containerEnv = [...preset.env({ model })];
  for (const kv of o.env ?? []) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(kv)) throw new ModelError(`--env ${kv}: expected K=V`, 'usage');
    containerEnv.push(kv);
  }
  if (o.credentialEnv !== undefined) {
    const v = env[o.credentialEnv];
    if (v === undefined || v === '') throw new ModelError(`--credential-env ${o.credentialEnv}: not set in this environment`, 'usage');
    if (preset.engineKeyEnv === null) throw new ModelError(`--credential-env: the ${engine} engine takes no key of its own`, 'usage');
    containerEnv.push(`${preset.engineKeyEnv}=${v}`);
  } else if (engine === 'nim') {
    throw new ModelError('a NIM needs its NGC key: --credential-env VAR, naming a variable that holds it (passed as NGC_API_KEY)', 'usage');
  }
  const key = preset.routerKey ? (routerKey ?? randomBytes(24).toString('hex')) : null;
  const cacheVolume = `nemoclaw-${engine}-cache`;
  const create: ContainerCreateOptions = {
    name: o.name,
    Image: o.image,
    Cmd: preset.args({ model, port: preset.containerPort, apiKey: key }),
    Env: containerEnv,
    Labels: {
      [LABEL.model]: o.name,
      [LABEL.home]: homeId(home),
      [LABEL.engine]: engine,
      [LABEL.modelId]: model ?? '',
      [LABEL.port]: String(port),
    },
    ExposedPorts: { [`${preset.containerPort}/tcp`]: {} },
    HostConfig: {
      // 127.0.0.1 only (docs/design.md, "Local models"): the model is reached through the router.
      PortBindings: { [`${preset.containerPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      Privileged: false,
      CapDrop: [],
      SecurityOpt: ['no-new-privileges'],
      DeviceRequests: requests,
      RestartPolicy: { Name: restart === 'no' ? '' : restart, ...(restart === 'on-failure' ? { MaximumRetryCount: 3 } : {}) },
      ...(preset.shmBytes > 0 ? { ShmSize: preset.shmBytes } : {}),
      ...(preset.ipcHost ? { IpcMode: 'host' } : {}),
      // Weights are big: a named volume (kept by `rm`) or the operator's directory.
      Binds: [`${o.cache ?? cacheVolume}:${preset.cacheMount}`],
    },
  };
  return { create, engine, port, model, gpus, routerKey: key };
}
