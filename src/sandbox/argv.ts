// Compiles a SandboxSpec (from src/policy) into the helper's command line (native/PROTOCOL.md).
// Pure: the only outside fact it needs (does a path exist on the host?) is passed in, so that
// every rule below is unit-tested without touching the filesystem.
import { posix } from 'node:path';
import type { SandboxSpec } from '../policy/index.ts';
import { DEFAULT_TMP_BYTES, SANDBOX_OWN_LOOPBACK } from './defaults.ts';

export interface HelperArgvOptions {
  /** Host directory bound read-write at the same path and used as cwd. */
  workspace: string;
  /** Host directory used as the private HOME; default: a tmpfs inside the sandbox. */
  home?: string;
  /** Unix socket of the per-sandbox egress proxy; without it 127.0.0.1:3128 refuses. */
  proxySocket?: string;
  eventsFd: number;
  controlFd: number;
  tty: boolean;
  /** The workload's whole environment (see workloadEnv); nothing else is inherited. */
  env: Record<string, string>;
  sandboxId: string;
  uid?: number;
  gid?: number;
  /** Paths inside writable binds that stay read-only (`--protect`); missing ones the helper skips. */
  protect?: string[];
  /** Whether a host path exists; paths that do not are left out (and reported by compileBinds). */
  exists?: (path: string) => boolean;
}

export type BindMode = 'ro' | 'rw';
export interface Bind {
  path: string;
  mode: BindMode;
}
export interface SkippedPath {
  path: string;
  reason: 'missing' | 'not_absolute' | 'covered' | 'workspace' | 'private_tmpfs';
}

/** `/tmp` and `/var/tmp` in a policy mean the sandbox's own tmpfs, never the host's directories. */
export const PRIVATE_TMPFS: readonly string[] = ['/tmp', '/var/tmp'];

export class SandboxConfigError extends Error {}

function normalize(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function isUnder(child: string, parent: string): boolean {
  return parent === '/' ? child !== '/' : child.startsWith(`${parent}/`);
}

function depth(p: string): number {
  return p === '/' ? 0 : p.split('/').length - 1;
}

/**
 * The bind list: normalised, deduplicated, parents before children (the helper binds in order,
 * so a read-only child inside a read-write parent stays read-only), missing host paths left out.
 * When a path is listed both read-only and read-write, read-write wins: merged presets list a
 * path read-only in the base and read-write where a tool needs it. A path whose nearest listed
 * ancestor has the same mode adds nothing and is dropped. The workspace is bound separately.
 */
export function compileBinds(
  spec: SandboxSpec,
  workspace: string | null,
  exists: (path: string) => boolean,
): { binds: Bind[]; skipped: SkippedPath[] } {
  const skipped: SkippedPath[] = [];
  const modes = new Map<string, BindMode>();
  const add = (raw: string, mode: BindMode): void => {
    if (!posix.isAbsolute(raw)) {
      skipped.push({ path: raw, reason: 'not_absolute' });
      return;
    }
    const p = normalize(raw);
    if (modes.get(p) !== 'rw') modes.set(p, mode);
  };
  for (const p of spec.filesystem.readOnly) add(p, 'ro');
  for (const p of spec.filesystem.readWrite) add(p, 'rw');

  const ws = workspace === null ? null : normalize(workspace);
  const sorted = [...modes.entries()].sort(([a], [b]) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
  const binds: Bind[] = [];
  for (const [path, mode] of sorted) {
    if (PRIVATE_TMPFS.includes(path)) {
      // Always present inside (tmpfs); read-only here means "nothing more than the default".
      if (mode === 'rw') binds.push({ path, mode });
      else skipped.push({ path, reason: 'private_tmpfs' });
      continue;
    }
    if (ws !== null && path === ws) {
      skipped.push({ path, reason: 'workspace' });
      continue;
    }
    let parent: Bind | undefined;
    for (const b of binds) if (isUnder(path, b.path) && (!parent || depth(b.path) > depth(parent.path))) parent = b;
    if (parent && parent.mode === mode && !PRIVATE_TMPFS.includes(parent.path)) {
      skipped.push({ path, reason: 'covered' });
      continue;
    }
    if (!exists(path)) {
      skipped.push({ path, reason: 'missing' });
      continue;
    }
    binds.push({ path, mode });
  }
  return { binds, skipped };
}

function checkId(name: string, v: number | undefined): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v <= 0 || v > 0xfffffffe) {
    throw new SandboxConfigError(`${name} must be a positive integer (never 0, the workload never runs as root), got ${v}`);
  }
}

function ports(list: number[], what: string): number[] {
  for (const p of list) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new SandboxConfigError(`${what} port out of range: ${p}`);
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

function uniq(list: string[]): string[] {
  return [...new Set(list)];
}

/**
 * RLIMIT_NPROC is set this much above `pids`: where the cgroup pids controller also enforces
 * the limit, it must be the one that trips (the kernel checks the rlimit first, and only the
 * cgroup's counter yields a `limit_hit` event); without a cgroup the bound is pids + this.
 */
export const NPROC_MARGIN = 2;

// Limits: spec field -> helper option (and value). Kept as data so a new limit is one row.
const LIMIT_FLAGS: ReadonlyArray<[keyof SandboxSpec['limits'], string, (v: number) => number]> = [
  ['nofile', '--nofile', (v) => v],
  ['fileSizeBytes', '--fsize', (v) => v],
  ['memoryBytes', '--memory', (v) => v],
  ['pids', '--pids', (v) => v],
  // The same bound as RLIMIT_NPROC: counted per user namespace since Linux 5.14 and the helper
  // always gives the workload its own, so it is a per-sandbox bound that needs no cgroup (an
  // unprivileged caller on cgroup v1 has none). The cgroup pids limit stays where available.
  ['pids', '--nproc', (v) => v + NPROC_MARGIN],
  ['cpuPercent', '--cpu', (v) => v],
  ['wallTimeMs', '--wall-time', (v) => v],
];

/** Workload environment variable names must be plain identifiers; values may not hold NUL. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The helper's options for one sandbox (everything before `--`). Throws SandboxConfigError for
 * values the helper must never see (uid 0, bad ports, env names with `=`).
 */
export function specToHelperArgv(spec: SandboxSpec, opts: HelperArgvOptions): string[] {
  checkId('uid', opts.uid);
  checkId('gid', opts.gid);
  const exists = opts.exists ?? (() => true);
  const workspace = spec.filesystem.includeWorkdir ? opts.workspace : null;
  if (workspace !== null && !posix.isAbsolute(workspace)) {
    throw new SandboxConfigError(`workspace must be an absolute path, got ${workspace}`);
  }
  const argv: string[] = ['--sandbox-id', opts.sandboxId];
  argv.push('--landlock', spec.landlock === 'best_effort' ? 'best-effort' : 'hard');
  if (opts.uid !== undefined) argv.push('--uid', String(opts.uid));
  if (opts.gid !== undefined) argv.push('--gid', String(opts.gid));
  if (workspace !== null) argv.push('--workspace', normalize(workspace));
  if (opts.home !== undefined) argv.push('--home', opts.home);

  for (const b of compileBinds(spec, workspace, exists).binds) argv.push(b.mode === 'rw' ? '--rw' : '--ro', b.path);
  for (const p of uniq(opts.protect ?? [])) {
    if (!posix.isAbsolute(p)) throw new SandboxConfigError(`protected path must be absolute, got ${p}`);
    argv.push('--protect', normalize(p));
  }

  for (const p of ports(spec.loopback.bind, 'loopback bind')) argv.push('--tcp-bind', String(p));
  for (const p of ports(spec.loopback.connect, 'loopback connect')) argv.push('--tcp-connect', String(p));

  // With no allowlist every exec Landlock permits runs without a notification round trip.
  if (spec.exec.allow.length > 0) {
    for (const g of uniq(spec.exec.allow)) argv.push('--exec-allow', g);
    argv.push('--exec-unmatched', spec.exec.unmatched);
  }
  for (const s of uniq(spec.syscalls.deny)) argv.push('--deny-syscall', s);
  for (const s of uniq(spec.syscalls.log)) argv.push('--log-syscall', s);

  for (const [field, flag, value] of LIMIT_FLAGS) {
    const v = spec.limits[field];
    if (v === undefined || v === 0) continue; // 0 or absent: no limit
    if (!Number.isFinite(v) || v < 0) throw new SandboxConfigError(`limit ${field} must be a positive number, got ${v}`);
    argv.push(flag, String(Math.floor(value(v))));
  }

  // Always passed: the helper's own default must never be what decides how much host memory a
  // sandbox's files may pin (issue 19).
  argv.push('--tmp-size', String(Math.floor(spec.limits.tmpBytes ?? DEFAULT_TMP_BYTES)));

  if (opts.proxySocket !== undefined) argv.push('--proxy-socket', opts.proxySocket);
  argv.push('--events-fd', String(opts.eventsFd), '--control-fd', String(opts.controlFd));
  // The workload's execve waits until nemoclaw has checked the enforcement report and said go:
  // without it the workload would already run while a mismatch is being found (fail closed).
  argv.push('--await-verdict');
  if (opts.tty) argv.push('--tty');
  for (const [k, v] of Object.entries(opts.env)) {
    if (!ENV_NAME.test(k) || v.includes('\0')) throw new SandboxConfigError(`invalid environment entry ${JSON.stringify(k)}`);
    argv.push('--env', `${k}=${v}`);
  }
  return argv;
}

/** Proxy URL inside the sandbox: the listening socket the helper creates in the sandbox's netns. */
export const PROXY_URL = 'http://127.0.0.1:3128';

export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The workload's whole environment. Built from scratch: nothing of the caller's environment
 * is copied except TERM and LANG (checked), so keys and tokens in the operator's shell never
 * reach the sandbox. `extra` (e.g. OPENAI_BASE_URL from the supervisor) is added last.
 */
export function workloadEnv(caller: { TERM?: string | undefined; LANG?: string | undefined }, extra: Record<string, string> = {}): Record<string, string> {
  const safe = (v: string | undefined, fallback: string): string =>
    v !== undefined && /^[A-Za-z0-9_.@+-]{1,64}$/.test(v) ? v : fallback;
  return {
    PATH: SANDBOX_PATH,
    HOME: '/home/sandbox',
    USER: 'sandbox',
    LOGNAME: 'sandbox',
    SHELL: '/bin/sh',
    TMPDIR: '/tmp',
    TERM: safe(caller.TERM, 'dumb'),
    LANG: safe(caller.LANG, 'C.UTF-8'),
    HTTP_PROXY: PROXY_URL,
    HTTPS_PROXY: PROXY_URL,
    ALL_PROXY: PROXY_URL,
    http_proxy: PROXY_URL,
    https_proxy: PROXY_URL,
    all_proxy: PROXY_URL,
    // Only the sandbox's own loopback bypasses the proxy (the agent's own servers); it is a
    // private netns, so nothing of the host is reachable that way. The same rule as a supervised sandbox.
    NO_PROXY: SANDBOX_OWN_LOOPBACK,
    no_proxy: SANDBOX_OWN_LOOPBACK,
    // Node >= 24 honours HTTP(S)_PROXY for fetch/http only when asked to.
    NODE_USE_ENV_PROXY: '1',
    ...extra,
  };
}
