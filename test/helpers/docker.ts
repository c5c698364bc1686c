// A real Docker engine for the model tests (docs/models.md, "Tests"): installs `docker.io` with apt
// when root and no dockerd is on the machine, starts `dockerd` when none answers on the socket
// (its data root and log under a test-owned directory) and stops only what it started. No
// registry is reachable from test machines, so the image is built here by `docker import` of a
// rootfs made from the host's own files: the project's Node 24 binary, its shared libraries (from
// ldd) and test/models/stand-in-server.mjs, a STAND-IN for NIM and vLLM (which need a GPU). The
// image is tagged by the hash of what went in and rebuilt only when that tag is missing.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseLock, tryLock } from '../../src/state/index.ts';
import { waitFor } from './wait.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SOCKET = '/var/run/docker.sock';
/** Test-owned: dockerd's data root (so the image cache survives between runs) and its log. */
const STATE = join(ROOT, 'node_modules', '.cache', 'nemoclaw', 'dockerd');

export interface Engine {
  /** Whether this helper started dockerd (and so stops it). */
  started: boolean;
  log: string;
  stop(): Promise<void>;
}

/**
 * The engine is one per machine, and a test file that starts dockerd also stops it (and one stops
 * and restarts it mid-file): two such files running at once (vitest's two workers) would start
 * two dockerds on one pid file, or pull the engine from under each other. So each takes a turn:
 * this waits for the machine-wide turn (src/state's lock: a holder that died is broken, never one
 * that runs) and returns the function that gives it back, for afterAll, after the engine's stop.
 */
export async function engineTurn(withinMs = 200_000): Promise<() => void> {
  mkdirSync(STATE, { recursive: true });
  const lock = join(STATE, 'turn.lock');
  await waitFor(() => tryLock(lock).acquired, () => `the Docker engine's turn (${lock} held by a running test file)`, { withinMs, everyMs: 250 });
  return () => releaseLock(lock);
}

/** `GET /_ping` over the socket, with curl-free Node: true when the engine answers OK. */
async function pings(socket: string): Promise<boolean> {
  const http = process.getBuiltinModule('node:http');
  return await new Promise<boolean>((resolve) => {
    const req = http.request({ socketPath: socket, path: '/_ping', timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** dockerd's path: apt puts it in /usr/sbin, which a non-login PATH may lack. */
function dockerdPath(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v dockerd'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim() !== '') return r.stdout.trim();
  for (const p of ['/usr/sbin/dockerd', '/usr/bin/dockerd']) if (existsSync(p)) return p;
  return null;
}

function installDocker(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('dockerd is not installed; as root run: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y docker.io');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Bounded so that install, dockerd's start and the image build fit the test file's 240 s hook.
  for (const [args, timeout] of [[['update', '-qq'], 60_000], [['install', '-y', '-qq', '--no-install-recommends', 'docker.io'], 120_000]] as const) {
    const r = spawnSync('apt-get', args, { env, encoding: 'utf8', timeout });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
  }
}

export async function ensureDockerd(): Promise<Engine> {
  mkdirSync(STATE, { recursive: true });
  const log = join(STATE, 'dockerd.log');
  if (await pings(SOCKET)) return { started: false, log, stop: async () => {} };
  if (dockerdPath() === null) {
    installDocker();
    // Where systemd runs, the package starts its own engine: use that one, never a second.
    if (await pings(SOCKET)) return { started: false, log, stop: async () => {} };
  }
  const dockerd = dockerdPath();
  if (dockerd === null) throw new Error('docker.io was installed but dockerd is not in PATH, /usr/sbin or /usr/bin');
  const out = openSync(log, 'a');
  // Nothing answers on it (checked above): a socket left by a dockerd that died, which would make
  // the new one refuse to start.
  rmSync(SOCKET, { force: true });
  const child: ChildProcess = spawn(
    dockerd,
    ['--host', `unix://${SOCKET}`, '--data-root', join(STATE, 'root'), '--exec-root', join(STATE, 'exec'), '--pidfile', join(STATE, 'dockerd.pid')],
    { stdio: ['ignore', out, out], detached: false },
  );
  let exited: string | null = null;
  child.on('exit', (code, sig) => {
    exited = `dockerd exited (${code ?? sig}); its log: ${log}\n${tail(log)}`;
  });
  await waitFor(
    async () => {
      if (exited !== null) throw new Error(exited);
      return await pings(SOCKET);
    },
    () => exited ?? `dockerd answering on ${SOCKET} (log ${log}):\n${tail(log)}`,
    { withinMs: 30_000, everyMs: 100 },
  );
  return {
    started: true,
    log,
    stop: async () => {
      if (exited !== null) return;
      child.kill('SIGTERM');
      await waitFor(() => exited !== null, 'dockerd to exit after SIGTERM', { withinMs: 30_000 });
    },
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

const SERVER = join(ROOT, 'test', 'models', 'stand-in-server.mjs');

/** The stand-in image's tag: the hash of the server script and the node binary's size and path. */
export function standInTag(): string {
  const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  const h = createHash('sha256').update(readFileSync(SERVER)).update(node).update(String(statSync(node).size)).digest('hex').slice(0, 12);
  return `nemoclaw-test/model-stand-in:${h}`;
}

/** Builds the stand-in image unless its tag exists; returns the tag. */
export function ensureStandInImage(): string {
  const tag = standInTag();
  if (spawnSync('docker', ['image', 'inspect', tag], { stdio: 'ignore' }).status === 0) return tag;
  const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
  const rootfs = join(STATE, 'rootfs');
  rmSync(rootfs, { recursive: true, force: true });
  const put = (from: string, to: string): void => {
    mkdirSync(dirname(join(rootfs, to)), { recursive: true });
    copyFileSync(from, join(rootfs, to));
  };
  put(node, '/bin/node');
  // Every shared library and the loader, at the paths ldd names, so the binary runs as on the host.
  const libs = execFileSync('ldd', [node], { encoding: 'utf8' }).match(/\/[^\s)]+/g) ?? [];
  for (const lib of libs) if (existsSync(lib)) put(lib, lib);
  put(SERVER, '/app/server.mjs');
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  const tar = spawnSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 512 * 1024 * 1024 });
  if (tar.status !== 0) throw new Error(`tar of the stand-in rootfs failed: ${String(tar.stderr)}`);
  const r = spawnSync('docker', ['import', '-c', 'ENTRYPOINT ["/bin/node","/app/server.mjs"]', '-c', 'EXPOSE 8000', '-', tag], { input: tar.stdout, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`docker import ${tag} failed: ${r.stderr}`);
  rmSync(rootfs, { recursive: true, force: true });
  return tag;
}
