// Host side of the escape suite: builds the probes, plants the host targets they aim at (secret
// files, loopback servers, unix sockets, shared memory, victim processes), runs a probe either
// directly on the host or inside `nemoclaw sandbox run`, and classifies what happened.
// Nothing here is sandboxed; every target is local (loopback, temp dirs) and removed afterwards.
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const CLI = path.join(ROOT, 'bin/nemoclaw');
export const PROBE_SRC = path.join(HERE, 'probes');
export const PTY_RUN = path.join(PROBE_SRC, 'pty-run.py');
export const PYTHON = '/usr/bin/python3';
/** Where workspaces and host targets live (the host's /tmp unless told otherwise). */
export const TMP = process.env['NEMOCLAW_ESCAPE_TMP'] ?? os.tmpdir();
/** An unprivileged host uid for probes whose escape needs a non-root caller (setuid, kill(-1)). */
export const UNPRIV_UID = 61234;
/** The workload's uid inside the sandbox (the helper's default); host victims of sandboxed runs use it. */
export const SANDBOX_UID = 1000;
export const PROBE_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C',
  HTTP_PROXY: 'http://127.0.0.1:3128',
  HTTPS_PROXY: 'http://127.0.0.1:3128',
};

export const token = (n = 8): string => randomBytes(n).toString('hex');

/**
 * The environment for `nemoclaw` runs: ours, with NEMOCLAW_HOME (audit log, keys) in a temp dir of
 * this test process, so the suite neither fills nor contends for the operator's ~/.nemoclaw.
 */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { ...(process.env as Record<string, string>), NEMOCLAW_HOME: suiteHome(), ...extra };
}

let home: string | null = null;
function suiteHome(): string {
  home ??= fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-home-'));
  return home;
}

/** Removes the NEMOCLAW_HOME of cliEnv(); every test file calls it in afterAll. */
export function removeSuiteHome(): void {
  if (home !== null) fs.rmSync(home, { recursive: true, force: true });
  home = null;
}

// ---------------------------------------------------------------------------------------------
// Building

export const C_SOURCES = ['tty', 'proc', 'priv', 'fs', 'net', 'res', 'ns'] as const;
export const SCRIPTS = ['devtcp.sh', 'curl-noproxy.sh', 'dns.py'] as const;

/** Compiles every C probe (static, -Werror) into a fresh directory; returns it. */
export async function buildProbes(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-build-'));
  fs.chmodSync(dir, 0o755); // victims run as unprivileged uids
  const queue = [...C_SOURCES];
  const failures: string[] = [];
  const worker = async (): Promise<void> => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      const r = await run('gcc', ['-O1', '-Wall', '-Werror', '-static', '-o', path.join(dir, name), path.join(PROBE_SRC, `${name}.c`)], {
        cwd: PROBE_SRC,
        timeoutMs: 120_000,
      });
      if (r.code !== 0) failures.push(`${name}.c: ${r.stderr.slice(0, 2000)}`);
    }
  };
  await Promise.all([worker(), worker()]);
  if (failures.length) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`probe build failed:\n${failures.join('\n')}`);
  }
  for (const s of SCRIPTS) fs.copyFileSync(path.join(PROBE_SRC, s), path.join(dir, s));
  return dir;
}

/**
 * For a test file: builds the probes before its tests, and afterwards removes them and the suite's
 * NEMOCLAW_HOME. Returns the build directory ('' until the build is done).
 */
export function useProbeBuild(): () => string {
  let build = '';
  beforeAll(async () => {
    build = await buildProbes();
  }, 120_000);
  afterAll(() => {
    if (build) fs.rmSync(build, { recursive: true, force: true });
    removeSuiteHome();
  });
  return () => build;
}

// ---------------------------------------------------------------------------------------------
// Running

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface RunOptions {
  cwd: string;
  env?: Record<string, string>;
  uid?: number;
  gid?: number;
  /** Extra fds handed to the child as fds 3, 4, ... */
  extraFds?: number[];
  /** An fd for the child's stdin (default: /dev/null). */
  stdinFd?: number;
  timeoutMs: number;
}

/** Spawns cmd in its own process group; on timeout the whole group is SIGKILLed. */
export function run(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const stdio: StdioOptions = [opts.stdinFd ?? 'ignore', 'pipe', 'pipe', ...(opts.extraFds ?? [])];
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? PROBE_ENV,
      stdio,
      detached: true,
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let done = false;
    child.stdout?.on('data', (d: Buffer) => {
      if (stdout.length < 1_000_000) stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 1_000_000) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, opts.timeoutMs);
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    };
    child.on('error', (err) => {
      stderr += `spawn ${cmd}: ${err.message}\n`;
      finish(-1, null);
    });
    child.on('exit', (code, signal) => {
      // A process left holding the pipes (an escaped daemon) must not hang the test.
      const grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
      }, 2000);
      child.on('close', () => {
        clearTimeout(grace);
        finish(code, signal);
      });
    });
  });
}

export function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export type Outcome =
  | { kind: 'escaped'; detail: string }
  | { kind: 'blocked'; detail: string }
  | { kind: 'killed'; signal: number; detail: string }
  | { kind: 'refused'; detail: string }
  | { kind: 'error'; detail: string };

const SIGNUM: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGSEGV: 11, SIGTERM: 15, SIGXCPU: 24, SIGXFSZ: 25, SIGSYS: 31 };

/** Maps a run to the probe convention: 0+ESCAPED, 1+BLOCKED, 125 refused, 128+N killed, else error. */
export function classify(r: RunResult): Outcome {
  const all = `${r.stdout}\n${r.stderr}`.trim().slice(-1500);
  if (r.timedOut) return { kind: 'error', detail: `timed out: ${all}` };
  const line = r.stdout.split(/\r?\n/).find((l) => /^(ESCAPED|BLOCKED|PROBE-ERROR): /.test(l));
  const code = r.code ?? (r.signal ? 128 + (SIGNUM[r.signal] ?? 0) : -1);
  if (code === 0 && line?.startsWith('ESCAPED: ')) return { kind: 'escaped', detail: line };
  if (code === 1 && line?.startsWith('BLOCKED: ')) return { kind: 'blocked', detail: line };
  if (code === 125) return { kind: 'refused', detail: all };
  if (code > 128 && code < 128 + 65) return { kind: 'killed', signal: code - 128, detail: all };
  return { kind: 'error', detail: `exit ${code}${r.signal ? ` (${r.signal})` : ''}: ${all}` };
}

export const describeOutcome = (o: Outcome): string =>
  o.kind === 'killed' ? `killed:${o.signal} ${o.detail}` : `${o.kind}: ${o.detail}`;

// ---------------------------------------------------------------------------------------------
// Host fixtures shared by every run of a test file

export interface SharedFixtures {
  /** What every loopback server and shared-memory target answers with. */
  serverMarker: string;
  tcpPort: number;
  tcp6Port: number | null;
  /** A loopback port nothing listens on (and no policy declares). */
  freePort: number;
  udpPort: number;
  dnsPort: number;
  /** Names the DNS stand-in was asked for. */
  dnsQueries: string[];
  abstractName: string;
  unixSocket: string;
  shmId: number;
  posixShm: string;
  /** st_dev of the host's devpts (decimal): terminals there are the host's. */
  hostPtsDev: string;
  /** readlink /proc/self/ns/uts of the host. */
  utsNs: string;
  hostname: string;
  close(): Promise<void>;
}

const listenTcp = (server: net.Server, host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });

export async function startSharedFixtures(buildDir: string): Promise<SharedFixtures> {
  const serverMarker = `nmsrv${token()}`;
  const body = `${serverMarker}\n`;
  const sockets = new Set<net.Socket>();
  const track = (sock: net.Socket): net.Socket => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    return sock.on('error', () => undefined);
  };
  const answer = (sock: net.Socket): void => {
    track(sock);
    sock.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  };
  const tcp = net.createServer(answer);
  const tcpPort = await listenTcp(tcp, '127.0.0.1');
  const tcp6 = net.createServer(answer);
  const tcp6Port = await listenTcp(tcp6, '::1').catch(() => null);

  const probePort = net.createServer();
  const freePort = await listenTcp(probePort, '127.0.0.1');
  await new Promise<void>((resolve) => probePort.close(() => resolve()));

  const udp = dgram.createSocket('udp4');
  udp.on('message', (_m, rinfo) => udp.send(serverMarker, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  const udpPort = udp.address().port;

  // DNS stand-in: records the question name, answers NXDOMAIN with the query's id.
  const dnsQueries: string[] = [];
  const dnsReply = (q: Buffer): Buffer | null => {
    if (q.length < 12) return null;
    const labels: string[] = [];
    let i = 12;
    while (i < q.length && q[i] !== 0 && labels.length < 64) {
      const len = q[i] as number;
      labels.push(q.subarray(i + 1, i + 1 + len).toString());
      i += len + 1;
    }
    dnsQueries.push(labels.join('.'));
    const reply = Buffer.from(q.subarray(0, Math.min(q.length, i + 5)));
    reply.writeUInt16BE(0x8183, 2); // response, recursion desired+available, NXDOMAIN
    return reply;
  };
  const dnsUdp = dgram.createSocket('udp4');
  dnsUdp.on('message', (m, rinfo) => {
    const r = dnsReply(m);
    if (r) dnsUdp.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => dnsUdp.bind(0, '127.0.0.1', () => resolve()));
  const dnsPort = dnsUdp.address().port;
  const dnsTcp = net.createServer((sock) => {
    track(sock);
    sock.once('data', (d: Buffer) => {
      const r = dnsReply(d.subarray(2));
      if (!r) return void sock.destroy();
      const len = Buffer.alloc(2);
      len.writeUInt16BE(r.length);
      sock.end(Buffer.concat([len, r]));
    });
  });
  await new Promise<void>((resolve, reject) => {
    dnsTcp.once('error', reject);
    dnsTcp.listen(dnsPort, '127.0.0.1', () => resolve());
  }).catch(() => undefined); // TCP on the same port is a bonus; UDP is the case

  const abstractName = `nemoclaw-escape-${token()}`;
  const abstract = net.createServer((s) => track(s).end(body));
  await new Promise<void>((resolve, reject) => {
    abstract.once('error', reject);
    abstract.listen(`\0${abstractName}`, () => resolve());
  });

  const sockDir = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-sock-'));
  fs.chmodSync(sockDir, 0o755);
  const unixSocket = path.join(sockDir, 'agent.sock');
  const unix = net.createServer((s) => track(s).end(body));
  await new Promise<void>((resolve, reject) => {
    unix.once('error', reject);
    unix.listen(unixSocket, () => resolve());
  });
  fs.chmodSync(unixSocket, 0o777);

  const shm = spawnSync(path.join(buildDir, 'ns'), ['sysv-create', serverMarker], { encoding: 'utf8' });
  const shmId = Number.parseInt(shm.stdout, 10);
  if (shm.status !== 0 || !Number.isInteger(shmId)) throw new Error(`sysv-create failed: ${shm.stdout}${shm.stderr}`);
  const posixShm = `nemoclaw-escape-${token()}`;
  fs.writeFileSync(path.join('/dev/shm', posixShm), body, { mode: 0o644 });

  // Connections a probe left open must not keep a server (and the test) alive.
  const closeServer = (s: net.Server): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, 1000);
      s.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const sock of sockets) sock.destroy();
    });
  return {
    serverMarker,
    tcpPort,
    tcp6Port,
    freePort,
    udpPort,
    dnsPort,
    dnsQueries,
    abstractName,
    unixSocket,
    shmId,
    posixShm,
    hostPtsDev: String(fs.statSync('/dev/pts/ptmx').dev),
    utsNs: fs.readlinkSync('/proc/self/ns/uts'),
    hostname: os.hostname(),
    async close() {
      await Promise.all([closeServer(tcp), closeServer(tcp6), closeServer(dnsTcp), closeServer(abstract), closeServer(unix)]);
      udp.close();
      dnsUdp.close();
      spawnSync('ipcrm', ['-m', String(shmId)]);
      fs.rmSync(path.join('/dev/shm', posixShm), { force: true });
      fs.rmSync(sockDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Per-run host targets: each run gets its own marker and directories, so that an escape in one
// (concurrent) run can never be mistaken for another's.

export interface RunTargets {
  marker: string;
  /** Host dir outside every sandbox root, world-writable so only the sandbox can stop a probe: secret, canary. */
  hostDir: string;
  secret: string;
  /** Planted dirs with a canary under /etc, /usr/local and root's home. */
  etcDir: string;
  usrDir: string;
  homeDir: string;
  /** A private key file under /root/.ssh. */
  sshSecret: string;
  cleanup(): void;
}

const SSH_DIR = '/root/.ssh';
/** Left in /root/.ssh when the suite had to create the directory, so that it can remove it again. */
const SSH_SENTINEL = path.join(SSH_DIR, '.created-by-nemoclaw-escape-suite');

/** Writes a secret into /root/.ssh, creating the directory (with a sentinel) when it is missing.
 * Concurrent runs (and the other test file's worker) may remove an empty directory meanwhile: retry. */
function writeSshSecret(file: string, content: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      if (!fs.existsSync(SSH_DIR)) {
        fs.mkdirSync(SSH_DIR, { mode: 0o700, recursive: true });
        fs.writeFileSync(SSH_SENTINEL, '');
      }
      fs.writeFileSync(file, content, { mode: 0o644 });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw err;
    }
  }
}

/** Removes /root/.ssh again when only the suite's sentinel is left in it. */
function tidySshDir(): void {
  try {
    const left = fs.readdirSync(SSH_DIR);
    if (left.length === 1 && left[0] === path.basename(SSH_SENTINEL)) {
      fs.rmSync(SSH_SENTINEL, { force: true });
      fs.rmdirSync(SSH_DIR);
    }
  } catch {
    // raced with another run: whoever is last tidies up
  }
}

export function makeTargets(): RunTargets {
  const marker = `nmsec${token()}`;
  const made: string[] = [];
  const plantDir = (parent: string): string => {
    const d = fs.mkdtempSync(path.join(parent, 'nemoclaw-escape-'));
    made.push(d);
    fs.chmodSync(d, 0o777);
    fs.writeFileSync(path.join(d, 'canary'), `${marker}\n`, { mode: 0o644 });
    return d;
  };
  const hostDir = plantDir(TMP);
  fs.writeFileSync(path.join(hostDir, 'secret'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${marker}\n`, { mode: 0o644 });
  const sshSecret = path.join(SSH_DIR, `id_rsa_nemoclaw_escape_${token(4)}`);
  writeSshSecret(sshSecret, `-----BEGIN OPENSSH PRIVATE KEY-----\n${marker}\n`);
  return {
    marker,
    hostDir,
    secret: path.join(hostDir, 'secret'),
    etcDir: plantDir('/etc'),
    usrDir: plantDir('/usr/local'),
    homeDir: plantDir('/root'),
    sshSecret,
    cleanup() {
      for (const d of made) fs.rmSync(d, { recursive: true, force: true });
      fs.rmSync(sshSecret, { force: true });
      tidySshDir();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Victims: host processes that probes try to signal, trace or read.

export interface Victim {
  pid: number;
  /** Appears in the victim's argv. */
  argMarker: string;
  stop(): void;
}

/** Starts `proc victim RECEIPT 60 MARKER` as uid, cwd dir; it writes RECEIPT when it gets SIGURG. */
export async function startVictim(buildDir: string, receipt: string, cwd: string, uid: number): Promise<Victim> {
  const argMarker = `nmvic${token()}`;
  const child = spawn(path.join(buildDir, 'proc'), ['victim', receipt, '60', argMarker], {
    cwd,
    uid,
    gid: uid,
    env: { ...PROBE_ENV, NEMOCLAW_ESCAPE_SECRET: argMarker },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('victim did not start')), 10_000);
    child.stdout?.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('error', reject);
  });
  child.stdout?.resume();
  return {
    pid: child.pid as number,
    argMarker,
    stop() {
      child.kill('SIGKILL');
    },
  };
}

/** Reads the sandbox's NDJSON events file; [] when absent. */
export function readEvents(file: string): Array<Record<string, unknown>> {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
