// `nemoclaw doctor`: what this host offers the sandbox. The checks are a table of data (name,
// whether the sandbox cannot work without it, how to probe, how to fix); the probes read /proc
// and /sys or ask a program, and the verdicts are pure functions of what was read so that each
// rule is unit-tested with made-up facts.
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { release } from 'node:os';
import { dirname } from 'node:path';
import { nemoclawHome } from '../state/index.ts';
import { HELPER_ENV, defaultHelperPath } from './helper.ts';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  /** Exact command(s) that fix it; empty when nothing is to be done. */
  fix: string;
  /** A failing required check makes `doctor` exit 1: the sandbox cannot run here. */
  required: boolean;
}

type Verdict = Omit<CheckResult, 'name' | 'required'>;

export interface DoctorContext {
  /** Our uid: as root the helper needs no unprivileged user namespaces. */
  uid: number;
  helper: string;
  /** NEMOCLAW_HOME (default: the resolved one), whose filesystem holds logs and the audit log. */
  home?: string;
  /** The would-be workspace (default: the current directory). */
  cwd?: string;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/**
 * A probe command's status and output. execa, loaded here only: this file is part of the sandbox
 * component's bundle chunk, which every verb that starts or names a sandbox loads, and a static
 * import of node:child_process's execFile loaded child_process for all of them (`agents list`,
 * issue 23).
 */
async function run(cmd: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; out: string }> {
  const { execa } = await import('execa');
  const r = await execa(cmd, args, { timeout: timeoutMs, reject: false, stdin: 'ignore', stderr: 'ignore' });
  return { ok: !r.failed, out: String(r.stdout ?? '').trim() };
}

const pass = (detail: string): Verdict => ({ status: 'pass', detail, fix: '' });

// ---- pure verdicts --------------------------------------------------------------------------

/** Below this, sandbox logs (100 MiB each by default) and the audit log can fill the disk soon. */
export const MIN_FREE_BYTES = 1024 ** 3;

/** Free space (for unprivileged writers) on NEMOCLAW_HOME's filesystem; null when unknown. */
export function diskVerdict(freeBytes: number | null, home: string): Verdict {
  if (freeBytes === null) return { status: 'warn', detail: `cannot tell how much space is free under ${home}`, fix: '' };
  const mib = Math.floor(freeBytes / 1024 ** 2);
  if (freeBytes < MIN_FREE_BYTES) {
    return {
      status: 'warn',
      detail: `${mib} MiB free on ${home}'s filesystem (under 1 GiB): sandbox logs and the audit log may fill it`,
      fix: `free space there, set NEMOCLAW_HOME to a larger filesystem, or bound the audit log: nemoclaw audit prune --before 90d, or {"audit":{"max_bytes":"1GiB"}} in ${home}/config.json`,
    };
  }
  return pass(`${mib} MiB free on ${home}'s filesystem`);
}

/** Landlock 5.13+, ABI 4 (TCP) 6.7+, ABI 6 (scoping) 6.12+: the kernel line says what to expect. */
export function kernelVerdict(rel: string): Verdict {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) return { status: 'warn', detail: `unrecognised kernel release ${rel}`, fix: '' };
  const v = Number(m[1]) * 1000 + Number(m[2]);
  if (v >= 6012) return pass(`Linux ${rel}`);
  if (v >= 5013) return { status: 'warn', detail: `Linux ${rel}: Landlock network rules need 6.7, scoping 6.12`, fix: 'apt-get install -y -t bookworm-backports linux-image-amd64 && reboot' };
  return { status: 'fail', detail: `Linux ${rel}: no Landlock before 5.13`, fix: 'apt-get install -y -t bookworm-backports linux-image-amd64 && reboot' };
}

export function landlockVerdict(abi: number | null, lsmList: string | null): Verdict {
  const enable = 'add lsm=landlock,lockdown,yama,integrity,apparmor to GRUB_CMDLINE_LINUX in /etc/default/grub, then: update-grub && reboot';
  if (abi === null) {
    // No helper to ask (not built) and no python3 either.
    const fix = 'npm run setup  (builds the helper, which probes it; or: apt-get install -y python3)';
    if (lsmList !== null && lsmList.split(',').includes('landlock')) return { status: 'warn', detail: 'enabled (lsm list) but ABI not probed (no helper built, no python3)', fix };
    return { status: 'fail', detail: 'could not probe Landlock (no helper built, no python3)', fix };
  }
  if (abi <= 0) return { status: 'fail', detail: 'Landlock not enabled in this kernel', fix: enable };
  if (abi < 4) return { status: 'warn', detail: `ABI ${abi}: no TCP rules (policies with hard_requirement refuse to run)`, fix: 'apt-get install -y -t bookworm-backports linux-image-amd64 && reboot' };
  if (abi < 6) return { status: 'warn', detail: `ABI ${abi}: no signal/abstract-socket scoping`, fix: 'apt-get install -y -t bookworm-backports linux-image-amd64 && reboot' };
  return pass(`ABI ${abi}`);
}

export function seccompVerdict(actionsAvail: string | null): Verdict {
  if (actionsAvail === null) return { status: 'fail', detail: 'seccomp filters not available (/proc/sys/kernel/seccomp missing)', fix: 'use a kernel built with CONFIG_SECCOMP_FILTER=y' };
  const actions = actionsAvail.split(/\s+/);
  if (!actions.includes('user_notif')) return { status: 'fail', detail: `no user notification (actions: ${actionsAvail})`, fix: 'use Linux 5.5 or later' };
  return pass(`filter + user_notif (${actions.length} actions)`);
}

export interface UserNsFacts {
  uid: number;
  /** Debian's kernel.unprivileged_userns_clone; null when the kernel has no such switch. */
  unprivilegedClone: string | null;
  maxUserNamespaces: string | null;
  /** Ubuntu 23.10+: kernel.apparmor_restrict_unprivileged_userns. */
  apparmorRestrict: string | null;
}

export function userNsVerdict(f: UserNsFacts): Verdict {
  const problems: Array<[string, string]> = [];
  if (f.maxUserNamespaces === '0') problems.push(['user.max_user_namespaces=0', 'sysctl -w user.max_user_namespaces=15000']);
  if (f.unprivilegedClone === '0') problems.push(['kernel.unprivileged_userns_clone=0', 'sysctl -w kernel.unprivileged_userns_clone=1']);
  if (f.apparmorRestrict === '1') {
    problems.push([
      'kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu AppArmor restriction)',
      "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 && echo 'kernel.apparmor_restrict_unprivileged_userns=0' > /etc/sysctl.d/60-nemoclaw-userns.conf",
    ]);
  }
  if (problems.length === 0) {
    return pass(f.uid === 0 ? 'root: not needed; unprivileged ones also allowed' : `allowed for unprivileged users (max ${f.maxUserNamespaces ?? '?'})`);
  }
  const detail = problems.map(([p]) => p).join('; ');
  const fix = problems.map(([, c]) => c).join(' && ');
  // As root the helper creates namespaces without a user namespace; only ordinary users need it.
  if (f.uid === 0) return { status: 'warn', detail: `${detail}: fine as root, ordinary users cannot run sandboxes`, fix: `as root: ${fix}` };
  return { status: 'fail', detail: `${detail}: unprivileged users cannot create the sandbox`, fix: `as root: ${fix}` };
}

export interface CgroupFacts {
  uid: number;
  /** /sys/fs/cgroup/cgroup.controllers (unified hierarchy), null when absent. */
  v2Controllers: string | null;
  /** Controllers mounted as cgroup v1 hierarchies (directory names under /sys/fs/cgroup). */
  v1Controllers: string[];
  /** Whether our own cgroup (v2) or the v1 controllers' roots are writable by us. */
  writable: boolean;
  /** v1 controllers plus an empty unified hierarchy at /sys/fs/cgroup/unified. */
  hybrid: boolean;
}

const CGROUP_NEEDED = ['memory', 'pids', 'cpu'];

export function cgroupVerdict(f: CgroupFacts): Verdict {
  const v2 = f.v2Controllers === null ? [] : f.v2Controllers.split(/\s+/).filter(Boolean);
  const version = v2.length > 0 ? 2 : f.v1Controllers.length > 0 ? 1 : 0;
  const have = version === 2 ? v2 : f.v1Controllers;
  const missing = CGROUP_NEEDED.filter((c) => !have.includes(c));
  if (version === 0) return { status: 'warn', detail: 'no cgroup controllers: memory/pids/cpu limits cannot be enforced', fix: 'mount -t cgroup2 none /sys/fs/cgroup' };
  const delegated = f.writable ? 'delegated (writable)' : 'not delegated to this user';
  const detail = `v${version}${version === 1 && f.hybrid ? ' (hybrid)' : ''}: ${have.filter((c) => CGROUP_NEEDED.includes(c)).join(', ') || 'none of memory/pids/cpu'}; ${delegated}`;
  if (missing.length > 0) return { status: 'warn', detail: `${detail}; missing ${missing.join(', ')}`, fix: 'enable the controllers: echo "+memory +pids +cpu" > /sys/fs/cgroup/cgroup.subtree_control' };
  if (!f.writable) {
    // cgroup v1 has no safe delegation to users; v2 does, through systemd.
    const fix =
      f.uid === 0
        ? 'mount -o remount,rw /sys/fs/cgroup'
        : version === 2
          ? 'systemd-run --user --scope -p Delegate=yes nemoclaw ...  (or run as root)'
          : 'run nemoclaw as root (cgroup v1 cannot be delegated), or boot with systemd.unified_cgroup_hierarchy=1';
    return { status: 'warn', detail: `${detail}; policies with memory/pids/cpu limits refuse to run`, fix };
  }
  return pass(detail);
}

// ---- probes ---------------------------------------------------------------------------------

const LIB_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/lib'];

function findLibrary(prefix: string): string | null {
  for (const dir of LIB_DIRS) {
    try {
      const hit = readdirSync(dir).find((n) => n.startsWith(prefix));
      if (hit !== undefined) return `${dir}/${hit}`;
    } catch {
      /* no such dir */
    }
  }
  return null;
}

// Landlock's ABI comes from landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION), a
// raw syscall Node cannot make: the helper answers it (`--landlock-abi`, the same call its
// sandboxes make). Before the helper is built (doctor is what one runs when setup failed),
// python3's ctypes can (444 on x86_64 and arm64 alike), where python3 is installed.
const LANDLOCK_PROBE = 'import ctypes;l=ctypes.CDLL(None,use_errno=True);print(l.syscall(444,None,0,1))';

async function landlockAbi(helper: string): Promise<number | null> {
  const r = existsSync(helper) ? await run(helper, ['--landlock-abi'], 5000) : await run('python3', ['-c', LANDLOCK_PROBE], 5000);
  if (!r.ok) return null;
  const n = Number(r.out);
  return Number.isInteger(n) ? Math.max(n, 0) : null;
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function cgroupFacts(uid: number): CgroupFacts {
  const v2Controllers = read('/sys/fs/cgroup/cgroup.controllers');
  let v1Controllers: string[] = [];
  try {
    v1Controllers = readdirSync('/sys/fs/cgroup').flatMap((n) => n.split(','));
  } catch {
    /* no cgroupfs */
  }
  v1Controllers = v1Controllers.filter((n) => CGROUP_NEEDED.includes(n) && existsSync(`/sys/fs/cgroup/${n}/tasks`));
  // v2: our own cgroup must be writable to create a leaf; v1: the controllers' roots.
  const own = /^0::(.*)$/m.exec(read('/proc/self/cgroup') ?? '');
  const ok =
    v2Controllers !== null && (v2Controllers.length > 0 || v1Controllers.length === 0)
      ? writable(`/sys/fs/cgroup${own?.[1] === '/' ? '' : (own?.[1] ?? '')}`)
      : v1Controllers.length > 0 && v1Controllers.every((c) => writable(`/sys/fs/cgroup/${c}`));
  return { uid, v2Controllers: v2Controllers === '' ? null : v2Controllers, v1Controllers, writable: ok, hybrid: existsSync('/sys/fs/cgroup/unified/cgroup.controllers') };
}

/** Where the Docker engine is, as dockerode (src/models) reads DOCKER_HOST: unix:// or tcp://, else the default socket. */
export function dockerTarget(env: NodeJS.ProcessEnv): { socketPath?: string; host?: string; port?: number; where: string; fromEnv: boolean } | { invalid: string } {
  const h = env['DOCKER_HOST'];
  if (h === undefined || h === '') return { socketPath: DOCKER_SOCKET, where: DOCKER_SOCKET, fromEnv: false };
  if (h.startsWith('unix://') && h.length > 7) return { socketPath: h.slice(7), where: h.slice(7), fromEnv: true };
  const m = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(h);
  if (m) return { host: m[1], port: Number(m[2]), where: h, fromEnv: true };
  return { invalid: h };
}

/** `GET /_ping` at the target: null when it answers OK, else why not (an errno code, or the HTTP answer). */
function dockerPing(t: { socketPath?: string; host?: string; port?: number }): Promise<string | null> {
  return import('node:http').then(
    (http) =>
      new Promise<string | null>((resolve) => {
        const req = http.request({ ...t, path: '/_ping', timeout: 2000 }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK' ? null : `HTTP ${res.statusCode ?? '?'}`));
        });
        req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
        req.end();
      }),
  );
}

export interface DockerFacts {
  /** The socket path or DOCKER_HOST value asked. */
  where: string;
  /** Whether DOCKER_HOST chose it (the fix then names that address, not the system service). */
  fromEnv: boolean;
  /** null: answered /_ping OK; else ENOENT, ECONNREFUSED, EACCES, ETIMEDOUT, HTTP 500, ... */
  failure: string | null;
  /** Whether a dockerd binary is on this host (PATH, /usr/sbin, /usr/bin). */
  dockerdInstalled: boolean;
}

const DOCKER_START_SYSTEM = 'systemctl start docker  (without systemd, as root: dockerd >/var/log/dockerd.log 2>&1 &)';

/** The docker engine row: pass when it answers, otherwise what is wrong and the exact command that fixes it. */
export function dockerVerdict(f: DockerFacts): Verdict {
  const via = f.fromEnv ? ` (DOCKER_HOST)` : '';
  if (f.failure === null) return pass(`${f.where}${via} answers /_ping`);
  const warn = (detail: string, fix: string): Verdict => ({ status: 'warn', detail: `${detail} (needed only for local models)`, fix });
  if (f.failure === 'EACCES') return warn(`${f.where}${via}: permission denied`, 'run as root, or join the docker group (root-equivalent): usermod -aG docker $USER, then log in again');
  if (!f.dockerdInstalled && (f.failure === 'ENOENT' || f.failure === 'ECONNREFUSED')) return warn(`no Docker engine at ${f.where}${via}: dockerd is not installed`, 'apt-get install -y docker.io');
  const why = f.failure === 'ENOENT' ? 'missing: the engine is not running' : f.failure === 'ECONNREFUSED' ? 'refuses connections: the engine is not running' : `does not answer /_ping (${f.failure})`;
  const fix = f.fromEnv ? `start the engine DOCKER_HOST names: dockerd -H ${f.where.startsWith('/') ? `unix://${f.where}` : f.where} >/var/log/dockerd.log 2>&1 &  (or unset DOCKER_HOST and: ${DOCKER_START_SYSTEM})` : DOCKER_START_SYSTEM;
  return warn(`${f.where}${via} ${why}`, fix);
}

function dockerdInstalled(env: NodeJS.ProcessEnv): boolean {
  const dirs = [...(env['PATH'] ?? '').split(':').filter((d) => d !== ''), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  return dirs.some((d) => existsSync(`${d}/dockerd`));
}

async function dockerCheck(env: NodeJS.ProcessEnv): Promise<Verdict> {
  const t = dockerTarget(env);
  if ('invalid' in t) return { status: 'warn', detail: `DOCKER_HOST=${t.invalid} is neither unix:///path nor tcp://host:port`, fix: 'export DOCKER_HOST=unix:///var/run/docker.sock  (or unset DOCKER_HOST)' };
  return dockerVerdict({ where: t.where, fromEnv: t.fromEnv, failure: await dockerPing(t), dockerdInstalled: dockerdInstalled(env) });
}

/** Filesystems that cannot take an idmapped mount (statfs f_type), as native/src/wstree.c names them. */
export const NO_IDMAP_FS: ReadonlyMap<number, string> = new Map([
  [0x794c7630, 'overlayfs'],
  [0x6969, 'nfs'],
  [0x65735546, 'fuse'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x01021997, '9p'],
  [0x61756673, 'aufs'],
  [0x2fc12fc1, 'zfs'],
  [0x786f4256, 'vboxsf'],
  [0xf15f, 'ecryptfs'],
]);

/**
 * The current directory as a workspace (issue 13): as root the helper idmaps a workspace to the
 * workload's host id; where the filesystem cannot (overlayfs in containers, NFS, FUSE) a
 * workspace owned by an ordinary user makes the workload run as that user, and a root-owned one is
 * refused. Rootless, no idmap is used at all.
 */
export function workspaceFsVerdict(f: { dir: string; fsType: number | null; ownerUid: number | null; root: boolean }): Verdict {
  const name = f.fsType === null ? null : NO_IDMAP_FS.get(f.fsType);
  if (f.fsType === null || f.ownerUid === null) return { status: 'warn', detail: `cannot stat ${f.dir}`, fix: '' };
  if (name === undefined || !f.root) return pass(`${f.dir}: ${name ?? 'a filesystem with idmapped mounts'}${f.root ? '' : ' (rootless: no idmap needed)'}`);
  if (f.ownerUid !== 0) {
    return { status: 'pass', detail: `${f.dir} is on ${name} (no idmapped mounts): the workload runs as its owner, uid ${f.ownerUid}, and what it creates belongs to that owner`, fix: '' };
  }
  return {
    status: 'warn',
    detail: `${f.dir} is on ${name} (no idmapped mounts) and belongs to root: sandbox run refuses it as a workspace`,
    fix: `use a workspace owned by an ordinary user (chown -R 1000:1000 ${f.dir}), or one on ext4, xfs, btrfs or tmpfs (Linux >= 6.3)`,
  };
}

/**
 * Mount points over parts of /proc, from /proc/self/mountinfo (field 5). A container runtime masks
 * /proc/keys, /proc/timer_list and more this way, and then the kernel refuses the sandbox a /proc
 * of its own. binfmt_misc sits on a directory proc keeps empty, which the kernel does not count.
 */
export function procMasks(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split('\n')) {
    const point = line.split(' ')[4];
    if (point !== undefined && point.startsWith('/proc/') && point !== '/proc/sys/fs/binfmt_misc') out.push(point);
  }
  return out;
}

export function procVerdict(masks: readonly string[] | null): Verdict {
  if (masks === null) return { status: 'warn', detail: 'cannot read /proc/self/mountinfo', fix: '' };
  if (masks.length === 0) return pass('no paths masked over /proc: a sandbox gets a /proc of its own');
  const shown = masks.length > 4 ? `${masks.slice(0, 4).join(', ')} and ${masks.length - 4} more` : masks.join(', ');
  return {
    status: 'fail',
    detail: `${shown} masked over /proc (a container's default): the kernel refuses a sandbox a /proc of its own`,
    fix: 'run the container with --privileged, or --security-opt systempaths=unconfined (Kubernetes: securityContext.procMount: Unmasked)',
  };
}

function workspaceFsFacts(dir: string): { dir: string; fsType: number | null; ownerUid: number | null } {
  try {
    return { dir, fsType: statfsSync(dir).type, ownerUid: statSync(dir).uid };
  } catch {
    return { dir, fsType: null, ownerUid: null };
  }
}

/** bavail x bsize of the filesystem holding `path`, or of its nearest existing ancestor. */
function freeBytes(path: string): number | null {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = statfsSync(p);
      return s.bavail * s.bsize;
    } catch {
      if (dirname(p) === p) return null;
    }
  }
}

interface Check {
  name: string;
  required: (ctx: DoctorContext) => boolean;
  probe: (ctx: DoctorContext) => Promise<Verdict> | Verdict;
}

const DOCKER_SOCKET = '/var/run/docker.sock';

export const CHECKS: readonly Check[] = [
  { name: 'kernel', required: () => true, probe: () => kernelVerdict(release()) },
  { name: 'landlock', required: () => true, probe: async (ctx) => landlockVerdict(await landlockAbi(ctx.helper), read('/sys/kernel/security/lsm')) },
  { name: 'seccomp', required: () => true, probe: () => seccompVerdict(read('/proc/sys/kernel/seccomp/actions_avail')) },
  {
    name: 'user namespaces',
    required: (ctx) => ctx.uid !== 0,
    probe: (ctx) =>
      userNsVerdict({
        uid: ctx.uid,
        unprivilegedClone: read('/proc/sys/kernel/unprivileged_userns_clone'),
        maxUserNamespaces: read('/proc/sys/user/max_user_namespaces'),
        apparmorRestrict: read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
      }),
  },
  { name: 'proc', required: () => true, probe: () => { const m = read('/proc/self/mountinfo'); return procVerdict(m === null ? null : procMasks(m)); } },
  { name: 'cgroups', required: () => false, probe: (ctx) => cgroupVerdict(cgroupFacts(ctx.uid)) },
  { name: 'workspace filesystem', required: () => false, probe: (ctx) => workspaceFsVerdict({ ...workspaceFsFacts(ctx.cwd ?? process.cwd()), root: ctx.uid === 0 }) },
  { name: 'disk space', required: () => false, probe: (ctx) => diskVerdict(freeBytes(ctx.home ?? nemoclawHome()), ctx.home ?? nemoclawHome()) },
  {
    name: 'libseccomp',
    required: () => true,
    probe: () => {
      const header = existsSync('/usr/include/seccomp.h');
      const lib = findLibrary('libseccomp.so.2');
      if (header && lib) return pass(`header /usr/include/seccomp.h, library ${lib}`);
      const missing = [...(header ? [] : ['header']), ...(lib ? [] : ['library'])].join(' and ');
      return { status: 'fail', detail: `${missing} missing`, fix: 'apt-get install -y libseccomp-dev' };
    },
  },
  {
    name: 'helper',
    required: () => true,
    probe: (ctx) => {
      if (!existsSync(ctx.helper)) return { status: 'fail', detail: `${ctx.helper} not built`, fix: 'make -C native  (or: npm run setup)' };
      try {
        accessSync(ctx.helper, constants.X_OK);
      } catch {
        return { status: 'fail', detail: `${ctx.helper} is not executable`, fix: `chmod 755 ${ctx.helper}` };
      }
      return pass(ctx.helper);
    },
  },
  { name: 'docker engine', required: () => false, probe: () => dockerCheck(process.env) },
  {
    name: 'gpu',
    required: () => false,
    probe: async () => {
      // NEMOCLAW_NVIDIA_SMI: the same override the TUI's telemetry and src/models read (a FAKE one in tests).
      const r = await run(process.env['NEMOCLAW_NVIDIA_SMI'] || 'nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader'], 10_000);
      if (r.ok && r.out !== '') return pass(r.out.split('\n').join('; '));
      return { status: 'warn', detail: 'nvidia-smi missing or not answering (needed only for local GPU models)', fix: 'apt-get install -y nvidia-driver nvidia-smi  (Debian non-free), then reboot' };
    },
  },
  {
    name: 'bubblewrap',
    required: () => false,
    probe: async () => {
      const r = await run('bwrap', ['--version'], 5000);
      return r.ok ? pass(`${r.out} (benchmark baseline only)`) : { status: 'warn', detail: 'bwrap missing (only bench/sandbox-start uses it)', fix: 'apt-get install -y bubblewrap' };
    },
  },
];

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

/** Runs every check concurrently; `ok` is false when a required check fails. */
export function doctorContext(env: NodeJS.ProcessEnv = process.env): DoctorContext {
  return { uid: process.getuid?.() ?? -1, helper: env[HELPER_ENV] || defaultHelperPath() };
}

export async function runDoctor(ctx: DoctorContext = doctorContext(), only?: readonly string[]): Promise<DoctorReport> {
  // `only`: the rows a caller needs (onboard asks for docker engine and gpu), not the whole table.
  const checks = await Promise.all(
    CHECKS.filter((c) => only === undefined || only.includes(c.name)).map(async (c): Promise<CheckResult> => {
      let v: Verdict;
      try {
        v = await c.probe(ctx);
      } catch (err) {
        v = { status: 'fail', detail: `probe failed: ${(err as Error).message}`, fix: '' };
      }
      return { name: c.name, ...v, required: c.required(ctx) };
    }),
  );
  return { ok: !checks.some((c) => c.required && c.status === 'fail'), checks };
}
