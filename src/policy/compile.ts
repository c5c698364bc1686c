// The static half of a policy: what the sandbox helper enforces at creation (filesystem,
// Landlock, user, limits, exec gate, syscalls, loopback ports). Pure functions only.
import { globToRegExp } from './glob.ts';
import type { Policy } from './schema.ts';
import type { SandboxSpec } from './types.ts';
import { parseDuration, parseSize } from './units.ts';

/**
 * The policy `nemoclaw sandbox run` uses without --policy. Read-only: the system binaries and
 * libraries, TLS trust stores, and the few /etc files ordinary programs read at start-up
 * (passwd/group so `id` and `ls -l` show names, hosts so `localhost` resolves, ld.so.cache for
 * the dynamic linker, localtime, alternatives because /usr/bin links through it). Not
 * resolv.conf: the sandbox has no resolver, every name goes through the egress proxy. Writable:
 * the workspace and a private /tmp. No network rules and unmatched egress is denied, so nothing
 * leaves the sandbox and nothing interrupts the operator; exec is limited only by Landlock.
 * Limits: at most 1024 processes/threads and 4096 open files.
 */
export function defaultPolicy(): Policy {
  return {
    version: 1,
    filesystem_policy: {
      include_workdir: true,
      read_only: [
        '/usr',
        '/bin',
        '/lib',
        '/lib64',
        '/etc/ssl',
        '/etc/ca-certificates',
        '/etc/passwd',
        '/etc/group',
        '/etc/hosts',
        '/etc/ld.so.cache',
        '/etc/localtime',
        '/etc/alternatives',
      ],
      read_write: ['/tmp'],
    },
    landlock: { compatibility: 'hard_requirement' },
    process: { run_as_user: 'sandbox' },
    // A fork bomb must not take the host down. pids is enforced as RLIMIT_NPROC as well as by the
    // cgroup pids controller, so it holds for an unprivileged caller without cgroup delegation;
    // memory and cpu need a cgroup, which such a caller may not have, so the default leaves them
    // to policies that ask for them (a hard_requirement run would otherwise refuse to start).
    limits: { pids: 1024, nofile: 4096 },
    exec: { allow: [], unmatched: 'allow' },
    approvals: { unmatched_egress: 'deny' },
  };
}

function dedupe(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function cpuPercent(v: number | string | undefined): number | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : Number(v.slice(0, -1));
}

/** Removes undefined values so the spec compares and serialises cleanly. */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function compileSandboxSpec(policy: Policy): SandboxSpec {
  const fs = policy.filesystem_policy ?? {};
  const readWrite = dedupe(fs.read_write ?? []);
  // A path listed both ways is writable (the stronger grant is the one the author spelled out).
  const readOnly = dedupe(fs.read_only ?? []).filter((p) => !readWrite.includes(p));
  const lim = policy.limits ?? {};
  const size = (v: string | number | undefined) => (v === undefined ? undefined : (parseSize(v) ?? undefined));
  const wall = lim.wall_time === undefined ? undefined : (parseDuration(lim.wall_time) ?? undefined);
  const allow = dedupe(policy.exec?.allow ?? []);
  return {
    filesystem: { readOnly, readWrite, includeWorkdir: fs.include_workdir ?? true },
    // Fail closed unless the author explicitly accepts a degraded sandbox.
    landlock: policy.landlock?.compatibility ?? 'hard_requirement',
    runAsUser: String(policy.process?.run_as_user ?? 'sandbox'),
    limits: defined({
      memoryBytes: size(lim.memory),
      pids: lim.pids,
      nofile: lim.nofile,
      fileSizeBytes: size(lim.file_size),
      wallTimeMs: wall,
      cpuPercent: cpuPercent(lim.cpu),
      tmpBytes: size(lim.tmp_size),
      logBytes: size(lim.log_size),
      logFiles: lim.log_files,
    }),
    exec: { allow, unmatched: policy.exec?.unmatched ?? (allow.length === 0 ? 'allow' : 'ask') },
    syscalls: { deny: dedupe(policy.syscalls?.deny ?? []), log: dedupe(policy.syscalls?.log ?? []) },
    loopback: { bind: [...new Set(policy.loopback?.bind ?? [])], connect: [...new Set(policy.loopback?.connect ?? [])] },
  };
}

/**
 * Exec gate: the path (absolute, as the kernel reports it) against `exec.allow`. An empty allow
 * list means anything Landlock lets execute. Non-canonical paths never match an allow glob, so
 * `/usr/bin/../../tmp/x` cannot borrow `/usr/bin/*`.
 */
export function decideExec(spec: SandboxSpec, path: string): 'allow' | 'ask' | 'deny' {
  if (spec.exec.allow.length === 0) return 'allow';
  const canonical = path.startsWith('/') && !path.split('/').some((s) => s === '..' || s === '.') && !path.includes('\0');
  if (canonical && spec.exec.allow.some((g) => globToRegExp(g).test(path))) return 'allow';
  return spec.exec.unmatched;
}
