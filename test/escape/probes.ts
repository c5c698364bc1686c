// The probe table: one row per escape probe. Data only; runner.ts turns a row into a run.
//   source       the probe program in probes/ (C compiled static by the suite, or sh/python3)
//   args         its arguments, built from the run's context (host targets, ports, victims)
//   unsandboxed  what a run directly on the host must show: 'escaped' proves the probe detects
//                the escape (as root, or as UNPRIV_UID when needsRoot is false)
//   sandboxed    the acceptable outcomes inside `nemoclaw sandbox run`: 'blocked' (the probe saw
//                every route fail), 'refused' (the sandbox would not start, exit 125) or
//                'killed:N' (a defence killed it with signal N, exit 128+N)
//   anchors      case numbers of the red-team suite (docs/peers.md, "Red-team cases")
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import os from 'node:os';
import { CLI, TMP, cliEnv, run, type RunResult, type RunTargets, type SharedFixtures, type Victim } from './harness.ts';
import { forkBombLimitMs, type ForeignAbi, type HostNeed } from './host.ts';

/** `pooled`: inside a sandbox that was built and waited in a warm pool before its claim (issue 23). */
export type Mode = 'unsandboxed' | 'sandboxed' | 'pooled';
export type Expect = 'escaped' | 'blocked' | 'refused' | `killed:${number}`;
export type Category = 'terminal' | 'process' | 'privilege' | 'filesystem' | 'network' | 'resources' | 'namespace';
export type PolicyName = 'limits' | 'walltime' | 'exec-allowlist' | 'exec-allowlist-ask' | 'exec-globstar-ask' | 'planted-rw' | 'in-workspace' | 'loopback-declared';

export interface ProbeCtx {
  mode: Mode;
  /** The workspace (cwd of the probe; the sandbox's --workspace). */
  ws: string;
  t: RunTargets;
  s: SharedFixtures;
  victim: Victim | null;
  /** File the victim writes when a signal reaches it (inside the workspace). */
  receipt: string;
  /** Directory of the built probes. */
  build: string;
  /** Values computed by a row's prepare step. */
  extra: Record<string, string>;
  /** Registers something to undo after the run (a server a prepare step started). */
  onCleanup: (fn: () => void) => void;
}

export interface ProbeRow {
  id: string;
  category: Category;
  anchors: number[];
  source: string;
  args: (c: ProbeCtx) => string[];
  unsandboxed: Expect;
  sandboxed: Expect[];
  /** false: the unsandboxed run drops to an unprivileged uid (the escape needs a non-root caller). */
  needsRoot: boolean;
  /** Start a host victim process (uid UNPRIV_UID unsandboxed, SANDBOX_UID sandboxed). */
  victim?: boolean;
  /** Run under a fresh pseudo-terminal (pty-run.py) that reports injected input. */
  tty?: boolean;
  policy?: PolicyName;
  /** Extra `sandbox run` flags (e.g. --tty). */
  sandboxFlags?: string[];
  /** Uses much CPU, memory or time: runs alone, not concurrently. */
  heavy?: boolean;
  /** Hand the probe an fd of the host secret file and of the host dir (fds 3 and 4). */
  passFds?: boolean;
  /** The sandboxed CLI runs with NEMOCLAW_HOME=<workspace>/.nemoclaw. */
  nemoclawHomeInWorkspace?: boolean;
  /** stdin is a write-only (append) fd of the host secret file. */
  stdinWriteOnlySecret?: boolean;
  /** The workspace is the host's temp dir itself (TMP, normally /tmp); the probe runs from its own dir in it. */
  workspaceIsHostTmp?: boolean;
  /** The workspace argument is a symlink to the host dir that holds the secret. */
  symlinkWorkspace?: boolean;
  prepare?: (c: ProbeCtx) => void | Promise<void>;
  /** Host-side evidence of an escape the probe cannot see itself; a string names it. */
  hostCheck?: (c: ProbeCtx, r: RunResult) => string | null | Promise<string | null>;
  /** An event the sandbox must also have recorded when it stopped the probe: [type, field, value]. */
  event?: [string, string, string];
  /** Put secrets (OPENAI_API_KEY, NVIDIA_API_KEY, ... = the run's marker) in the launcher's environment. */
  envSecrets?: boolean;
  /** The probe only sets the scene (exit 0); hostCheck alone decides escaped or blocked. */
  hostVerdict?: boolean;
  /**
   * A documented limit (native/PROTOCOL.md "Known limits"): the sandbox does not stop this yet. The
   * sandboxed run then must escape, so that the day a fix lands this row fails and gets updated,
   * and the suite prints the gap in its title instead of hiding it.
   */
  knownGap?: string;
  /**
   * The row attempts a foreign syscall ABI, which some hosts refuse by themselves. unsandboxed and
   * sandboxed then say what a host that runs the ABI must show; host.ts decides, from an
   * unsandboxed probe of this host in the same run, whether they apply (foreignAbiRowExpect).
   */
  foreignAbi?: ForeignAbi;
  /** A host resource the row tries to reach; where the host lacks it the row is not applicable (hostNeedRowExpect). */
  hostNeed?: HostNeed;
  /** The run's time limit where the default (45 s) would encode this host's speed; asked after prepare. */
  timeLimit?: (c: ProbeCtx) => { ms: number; why: string };
}

/** The host file a write probe creates when it gets through. */
const wroteInto = (dir: string): string | null => {
  const f = path.join(dir, 'escaped-by-probe');
  return fs.existsSync(f) ? `${f} exists on the host` : null;
};

/** Times a 500-process bomb directly on the host (the same probe, no sandbox) for forkSample(). */
const FORK_SAMPLE = 500;
async function sampleForks(c: ProbeCtx): Promise<void> {
  const start = Date.now();
  const r = await run(path.join(c.build, 'res'), ['forkbomb', String(FORK_SAMPLE)], { cwd: c.ws, timeoutMs: 120_000 });
  if (r.code !== 0 || !r.stdout.startsWith('ESCAPED: ')) throw new Error(`this host could not hold ${FORK_SAMPLE} processes for the fork speed sample: ${r.stdout}${r.stderr}`);
  c.extra['forkSampleMs'] = String(Date.now() - start);
}
const forkSample = (c: ProbeCtx): { n: number; ms: number } => ({ n: FORK_SAMPLE, ms: Number(c.extra['forkSampleMs']) });

const SANDBOX_DEFENCE: Expect[] = ['blocked'];
const FOREIGN_ABI: Expect[] = ['blocked', 'killed:31'];

export const PROBES: ProbeRow[] = [
  // ---- terminal -------------------------------------------------------------------------------
  { id: 'tty-tiocsti', category: 'terminal', anchors: [1], source: 'tty.c', args: () => ['tiocsti'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true },
  { id: 'tty-tiocsti-high-bits', category: 'terminal', anchors: [2], source: 'tty.c', args: () => ['tiocsti-high'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true },
  // The same with `sandbox run --tty`: the workload now has a controlling terminal (the helper's PTY).
  { id: 'tty-tiocsti-sandbox-pty', category: 'terminal', anchors: [1], source: 'tty.c', args: () => ['tiocsti'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true, sandboxFlags: ['--tty'] },
  { id: 'tty-tiocsti-high-bits-sandbox-pty', category: 'terminal', anchors: [2], source: 'tty.c', args: () => ['tiocsti-high'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true, sandboxFlags: ['--tty'] },
  { id: 'tty-tioclinux-consoles', category: 'terminal', anchors: [3], source: 'tty.c', args: () => ['tioclinux'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true },
  { id: 'tty-line-discipline-of-parent-terminal', category: 'terminal', anchors: [1, 3], source: 'tty.c', args: (c) => ['ldisc', c.s.hostPtsDev], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true },
  { id: 'tty-host-pts-console', category: 'terminal', anchors: [3], source: 'tty.c', args: (c) => ['pts', c.s.hostPtsDev], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true },
  // With --tty the sandbox has a devpts of its own: the host's terminals must still be out of reach.
  { id: 'tty-host-pts-console-sandbox-pty', category: 'terminal', anchors: [3], source: 'tty.c', args: (c) => ['pts', c.s.hostPtsDev], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true, sandboxFlags: ['--tty'] },
  { id: 'tty-line-discipline-sandbox-pty', category: 'terminal', anchors: [1, 3], source: 'tty.c', args: (c) => ['ldisc', c.s.hostPtsDev], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true, sandboxFlags: ['--tty'] },

  // ---- process tree, signals, ptrace, memory ---------------------------------------------------
  { id: 'proc-daemon-outlives-sandbox', category: 'process', anchors: [4], source: 'proc.c', args: (c) => ['daemon', c.extra['daemonArg'] as string],
    unsandboxed: 'escaped', sandboxed: ['blocked'], needsRoot: true, heavy: true, hostVerdict: true,
    prepare: (c) => { c.extra['daemonArg'] = `1000.${Date.now() % 1e9}${Math.floor(Math.random() * 1e6)}`; },
    // The workload exits at once; a double-forked setsid `sleep` must not be left on the host.
    hostCheck: async (c) => {
      const r = await run(path.join(c.build, 'proc'), ['survivors', c.extra['daemonArg'] as string, '3000'], { cwd: c.ws, timeoutMs: 15_000 });
      return r.code === 0 ? r.stdout.trim() : null;
    } },
  { id: 'proc-signal-host-pid', category: 'process', anchors: [7], source: 'proc.c', args: (c) => ['kill-pid', String(c.victim?.pid), c.receipt], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, victim: true },
  { id: 'proc-kill-minus-one', category: 'process', anchors: [7], source: 'proc.c', args: (c) => ['kill-all', c.receipt], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: false, victim: true },
  { id: 'proc-see-host-pids', category: 'process', anchors: [8], source: 'proc.c', args: (c) => ['see-pids', (c.victim?.argMarker as string).slice(0, 6), (c.victim?.argMarker as string).slice(6)], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, victim: true },
  { id: 'proc-ptrace-child', category: 'process', anchors: [9], source: 'proc.c', args: () => ['ptrace-child'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'ptrace'] },
  { id: 'proc-ptrace-host-pid', category: 'process', anchors: [9], source: 'proc.c', args: (c) => ['ptrace-pid', String(c.victim?.pid)], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, victim: true },
  { id: 'proc-ptrace-parent', category: 'process', anchors: [9], source: 'proc.c', args: () => ['ptrace-parent'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'proc-mem-host-pid', category: 'process', anchors: [10], source: 'proc.c', args: (c) => ['mem-pid', String(c.victim?.pid)], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, victim: true },
  { id: 'proc-mem-parent-and-init', category: 'process', anchors: [10], source: 'proc.c', args: () => ['mem-parent'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'proc-pidfd-getfd-child', category: 'process', anchors: [9], source: 'proc.c', args: () => ['pidfd-getfd'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'pidfd_getfd'] },
  { id: 'proc-mem-write-child', category: 'process', anchors: [10], source: 'proc.c', args: () => ['mem-child-write'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'proc-process-vm-child', category: 'process', anchors: [10], source: 'proc.c', args: () => ['vm-child'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'process_vm_readv'] },
  { id: 'proc-process-vm-host-pid', category: 'process', anchors: [10], source: 'proc.c', args: (c) => ['vm-pid', String(c.victim?.pid)], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, victim: true },

  // ---- privilege and syscall surface -------------------------------------------------------------
  { id: 'priv-status-caps-nnp-seccomp', category: 'privilege', anchors: [16], source: 'priv.c', args: () => ['status'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'priv-setuid-root-binary', category: 'privilege', anchors: [15], source: 'priv.c', args: (c) => ['suid', path.join(c.ws, 'suid-priv')], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: false,
    prepare: (c) => {
      const f = path.join(c.ws, 'suid-priv');
      fs.copyFileSync(path.join(c.build, 'priv'), f);
      fs.chownSync(f, 0, 0);
      fs.chmodSync(f, 0o4755);
    } },
  // The same setuid-root binary on a read-only system path (/usr/local): root-owned inside the sandbox too.
  { id: 'priv-setuid-root-binary-system-path', category: 'privilege', anchors: [15], source: 'priv.c', args: (c) => ['suid', path.join(c.t.usrDir, 'suid-priv')], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: false,
    prepare: (c) => {
      const f = path.join(c.t.usrDir, 'suid-priv');
      fs.copyFileSync(path.join(c.build, 'priv'), f);
      fs.chownSync(f, 0, 0);
      fs.chmodSync(f, 0o4755);
    } },
  { id: 'priv-file-capability-binary', category: 'privilege', anchors: [15], source: 'priv.c', args: (c) => ['filecap', path.join(c.ws, 'fcap-priv')], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: false,
    prepare: async (c) => {
      const f = path.join(c.ws, 'fcap-priv');
      fs.copyFileSync(path.join(c.build, 'priv'), f);
      fs.chmodSync(f, 0o755);
      const r = await run('/usr/sbin/setcap', ['cap_dac_read_search+ep', f], { cwd: c.ws, timeoutMs: 10_000 });
      if (r.code !== 0) throw new Error(`setcap failed: ${r.stderr}`);
    } },
  { id: 'priv-file-capability-binary-system-path', category: 'privilege', anchors: [15], source: 'priv.c', args: (c) => ['filecap', path.join(c.t.usrDir, 'fcap-priv')], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: false,
    prepare: async (c) => {
      const f = path.join(c.t.usrDir, 'fcap-priv');
      fs.copyFileSync(path.join(c.build, 'priv'), f);
      fs.chmodSync(f, 0o755);
      const r = await run('/usr/sbin/setcap', ['cap_dac_read_search+ep', f], { cwd: c.ws, timeoutMs: 10_000 });
      if (r.code !== 0) throw new Error(`setcap failed: ${r.stderr}`);
    } },
  { id: 'priv-unshare-user-namespace', category: 'privilege', anchors: [17], source: 'priv.c', args: () => ['userns-unshare'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'unshare'] },
  { id: 'priv-clone-namespaces', category: 'privilege', anchors: [17], source: 'priv.c', args: () => ['userns-clone'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'priv-clone3-namespaces', category: 'privilege', anchors: [24], source: 'priv.c', args: () => ['clone3'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'priv-nested-userns-caps-mount', category: 'privilege', anchors: [17], source: 'priv.c', args: (c) => ['unshare-mount', path.join(c.ws, 'mnt')], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    prepare: (c) => fs.mkdirSync(path.join(c.ws, 'mnt')) },
  { id: 'priv-setns-host-namespaces', category: 'privilege', anchors: [17], source: 'priv.c', args: (c) => ['setns', String(c.victim?.pid)], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, victim: true },
  { id: 'priv-mount-tmpfs', category: 'privilege', anchors: [18], source: 'priv.c', args: (c) => ['mount', path.join(c.ws, 'mnt')], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'mount'],
    prepare: (c) => fs.mkdirSync(path.join(c.ws, 'mnt')) },
  { id: 'priv-new-mount-api', category: 'privilege', anchors: [18], source: 'priv.c', args: () => ['newmount'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'priv-chroot', category: 'privilege', anchors: [18], source: 'priv.c', args: () => ['chroot', '.'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'chroot'] },
  { id: 'priv-keyctl', category: 'privilege', anchors: [19], source: 'priv.c', args: () => ['keyctl'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'add_key'] },
  { id: 'priv-bpf', category: 'privilege', anchors: [20], source: 'priv.c', args: () => ['bpf'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'bpf'] },
  { id: 'priv-io-uring', category: 'privilege', anchors: [21], source: 'priv.c', args: () => ['io-uring'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'io_uring_setup'] },
  { id: 'priv-userfaultfd', category: 'privilege', anchors: [20], source: 'priv.c', args: () => ['userfaultfd'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'userfaultfd'] },
  { id: 'priv-perf-event-open', category: 'privilege', anchors: [20], source: 'priv.c', args: () => ['perf'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'perf_event_open'] },
  { id: 'priv-personality', category: 'privilege', anchors: [27], source: 'priv.c', args: () => ['personality'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'personality'] },
  { id: 'priv-syslog-kernel-log', category: 'privilege', anchors: [20], source: 'priv.c', args: () => ['syslog'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['syscall_denied', 'syscall', 'syslog'] },
  { id: 'priv-admin-syscalls-reachable', category: 'privilege', anchors: [20], source: 'priv.c', args: () => ['admin'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  // Some hosts have no 32-bit syscall entry at all (int 0x80 faults with SIGSEGV without any
  // sandbox), and kernels without CONFIG_X86_X32_ABI refuse x32 calls themselves (ENOSYS): on those
  // the expectations below do not apply, and host.ts says what does instead.
  { id: 'priv-int80-32bit-syscalls', category: 'privilege', anchors: [22], source: 'priv.c', args: () => ['int80'], unsandboxed: 'escaped', sandboxed: FOREIGN_ABI, needsRoot: true, foreignAbi: 'int80' },
  { id: 'priv-x32-syscalls', category: 'privilege', anchors: [22], source: 'priv.c', args: () => ['x32'], unsandboxed: 'escaped', sandboxed: FOREIGN_ABI, needsRoot: true, foreignAbi: 'x32' },
  { id: 'priv-own-seccomp-notify-listener', category: 'privilege', anchors: [25], source: 'priv.c', args: () => ['seccomp-listener'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, policy: 'exec-allowlist-ask' },
  // An allowlist entry with `**` (here /usr/bin/**) matched against the path as written: "/usr/bin/../sbin/nologin"
  // must not pass for a binary under /usr/bin.
  { id: 'priv-exec-dotdot-past-globstar-allowlist', category: 'privilege', anchors: [26], source: 'priv.c',
    args: () => ['exec-spellings', 'not available', '/usr/bin/../sbin/nologin', '/usr/bin/X11/../sbin/nologin', '/usr/bin/./../sbin/nologin'],
    unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, policy: 'exec-globstar-ask' },
  { id: 'priv-memfd-exec-outside-allowlist', category: 'privilege', anchors: [26], source: 'priv.c', args: () => ['memfd-exec'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, policy: 'exec-allowlist' },
  { id: 'priv-exec-written-copy-outside-allowlist', category: 'privilege', anchors: [26, 40], source: 'priv.c', args: (c) => ['exec-copy', c.ws, '/tmp'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['exec_denied', 'reason', 'not_allowed'], policy: 'exec-allowlist' },
  { id: 'priv-exec-unlisted-via-path-spellings', category: 'privilege', anchors: [26, 40], source: 'priv.c', args: (c) => ['exec-tricks', c.ws], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, event: ['exec_denied', 'reason', 'not_allowed'], policy: 'exec-allowlist' },
  { id: 'priv-exec-path-toctou-race', category: 'privilege', anchors: [56], source: 'priv.c', args: (c) => ['exec-race', c.ws], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, policy: 'exec-allowlist', heavy: true },
  // The same race when unlisted execs are to be asked about (`unmatched: ask`, the default): the
  // operator must be asked (and, with nobody to answer, the exec denied), never bypassed.
  { id: 'priv-exec-path-toctou-race-ask', category: 'privilege', anchors: [56], source: 'priv.c', args: (c) => ['exec-race', c.ws], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, policy: 'exec-allowlist-ask', heavy: true },
  // ... and with an unlisted binary on a read-only system path (Landlock lets it execute; only the
  // ask stands in the way): /usr/sbin/nologin, recognised by its message. The gap is shown by
  // winning the race, which on a loaded host can take longer than 4 s: 20 s at most.
  { id: 'priv-exec-path-toctou-race-ask-system-binary', category: 'privilege', anchors: [56], source: 'priv.c', args: (c) => ['exec-race', c.ws, '/usr/sbin/nologin', 'not available', '20000'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, policy: 'exec-allowlist-ask', heavy: true,
    knownGap: 'exec `unmatched: ask` is advisory: seccomp notification cannot pin the execve path against a racing thread; `unmatched: deny` (Landlock) enforces',
    prepare: () => {
      if (!fs.existsSync('/usr/sbin/nologin')) throw new Error('this probe needs /usr/sbin/nologin');
    } },

  // ---- filesystem ------------------------------------------------------------------------------
  { id: 'fs-write-etc', category: 'filesystem', anchors: [28], source: 'fs.c', args: (c) => ['write', c.t.etcDir, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, hostCheck: (c) => wroteInto(c.t.etcDir) },
  { id: 'fs-write-usr', category: 'filesystem', anchors: [28], source: 'fs.c', args: (c) => ['write', c.t.usrDir, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, hostCheck: (c) => wroteInto(c.t.usrDir) },
  { id: 'fs-write-host-tmp', category: 'filesystem', anchors: [28], source: 'fs.c', args: (c) => ['write', c.t.hostDir, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, hostCheck: (c) => wroteInto(c.t.hostDir) },
  { id: 'fs-write-home', category: 'filesystem', anchors: [28], source: 'fs.c', args: (c) => ['write', c.t.homeDir, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, hostCheck: (c) => wroteInto(c.t.homeDir) },
  { id: 'fs-read-ssh-key', category: 'filesystem', anchors: [29], source: 'fs.c', args: (c) => ['read', c.t.sshSecret, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-read-host-secret', category: 'filesystem', anchors: [29], source: 'fs.c', args: (c) => ['read', c.t.secret, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-read-etc-shadow', category: 'filesystem', anchors: [29], source: 'fs.c', args: () => ['read', '/etc/shadow', 'root:'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  // The workspace's owner is mapped to the sandbox's uid; files of other host users in it (uid 1000
  // is the sandbox's own uid number) must stay theirs.
  { id: 'fs-workspace-files-of-other-users', category: 'filesystem', anchors: [29], source: 'fs.c', args: (c) => ['read-any', c.t.marker, path.join(c.ws, 'owned-by-1000'), path.join(c.ws, 'owned-by-1001')], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    prepare: (c) => {
      for (const uid of [1000, 1001]) {
        const f = path.join(c.ws, `owned-by-${uid}`);
        fs.writeFileSync(f, `${c.t.marker}\n`, { mode: 0o600 });
        fs.chownSync(f, uid, uid);
      }
    } },
  // Red-team #31: files in the workspace that the host executes later (git hooks and config, editor
  // tasks, direnv) must not be writable, whether they exist or not.
  { id: 'fs-workspace-protected-paths', category: 'filesystem', anchors: [31], source: 'fs.c', args: () => ['protected'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    prepare: (c) => {
      fs.mkdirSync(path.join(c.ws, '.git/hooks'), { recursive: true });
      fs.writeFileSync(path.join(c.ws, '.git/config'), '[core]\n\trepositoryformatversion = 0\n');
    } },
  { id: 'fs-workspace-protected-dir-swap', category: 'filesystem', anchors: [32], source: 'fs.c', args: () => ['protected-swap'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    prepare: (c) => {
      fs.mkdirSync(path.join(c.ws, '.git/hooks'), { recursive: true });
      fs.writeFileSync(path.join(c.ws, '.git/config'), '[core]\n\trepositoryformatversion = 0\n');
    } },
  { id: 'fs-symlink-out-of-workspace', category: 'filesystem', anchors: [30], source: 'fs.c', args: (c) => ['symlink', c.t.secret, c.t.hostDir, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, hostCheck: (c) => wroteInto(c.t.hostDir) },
  { id: 'fs-hardlink-out-of-workspace', category: 'filesystem', anchors: [33], source: 'fs.c', args: (c) => ['hardlink', c.t.secret, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-planted-symlink-in-workspace', category: 'filesystem', anchors: [30, 34], source: 'fs.c', args: (c) => ['planted', path.join(c.ws, 'planted'), c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    prepare: (c) => fs.symlinkSync(c.t.hostDir, path.join(c.ws, 'planted')), hostCheck: (c) => wroteInto(c.t.hostDir) },
  // A policy path inside the workspace was swapped for a symlink to a host dir between runs.
  { id: 'fs-planted-symlink-at-policy-path', category: 'filesystem', anchors: [34], source: 'fs.c', args: (c) => ['planted', path.join(c.ws, '.cache'), c.t.marker], unsandboxed: 'escaped', sandboxed: ['blocked', 'refused'], needsRoot: true, policy: 'planted-rw',
    prepare: (c) => fs.symlinkSync(c.t.hostDir, path.join(c.ws, '.cache')), hostCheck: (c) => wroteInto(c.t.hostDir) },
  // The workspace argument itself is a symlink (planted by an earlier run) to a dir with a secret.
  { id: 'fs-workspace-is-planted-symlink', category: 'filesystem', anchors: [34], source: 'fs.c', args: (c) => ['read', 'secret', c.t.marker], unsandboxed: 'escaped', sandboxed: ['refused', 'blocked'], needsRoot: true, symlinkWorkspace: true },
  // Files the workload creates belong to the workspace's owner on the host (root here): a setuid
  // bit it sets survives on the host, i.e. the sandbox can plant a setuid-root executable.
  { id: 'fs-plant-setuid-executable-in-workspace', category: 'filesystem', anchors: [15], source: 'fs.c', args: () => ['suid-plant'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    hostCheck: (c) => {
      const bad = fs.readdirSync(c.ws).filter((f) => f.startsWith('planted-')).map((f) => ({ f, st: fs.statSync(path.join(c.ws, f)) }))
        .filter(({ st }) => (st.mode & 0o6000) !== 0);
      return bad.length ? bad.map(({ f, st }) => `${f} is mode ${(st.mode & 0o7777).toString(8)} owned by uid ${st.uid} on the host`).join('; ') : null;
    } },
  { id: 'fs-plant-file-capability-in-workspace', category: 'filesystem', anchors: [15], source: 'fs.c', args: () => ['fcap-plant'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-proc-root-and-cwd', category: 'filesystem', anchors: [35], source: 'fs.c', args: (c) => ['procroot', c.t.secret, String(c.victim?.pid), c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, victim: true },
  { id: 'fs-proc-sys-write', category: 'filesystem', anchors: [35], source: 'fs.c', args: () => ['procsys'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-proc-kcore-kallsyms-kmsg', category: 'filesystem', anchors: [35], source: 'fs.c', args: () => ['procread'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-sys-write', category: 'filesystem', anchors: [36], source: 'fs.c', args: () => ['syswrite'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-mknod', category: 'filesystem', anchors: [37], source: 'fs.c', args: () => ['mknod'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-dev-block-devices', category: 'filesystem', anchors: [37], source: 'fs.c', args: () => ['devblock'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-dev-sensitive-devices', category: 'filesystem', anchors: [37], source: 'fs.c', args: () => ['devsens'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-dev-minimal', category: 'filesystem', anchors: [37], source: 'fs.c', args: () => ['devlist'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'fs-inherited-fds', category: 'filesystem', anchors: [38], source: 'fs.c', args: (c) => ['fds', c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, passFds: true },
  { id: 'fs-reopen-inherited-stdin', category: 'filesystem', anchors: [38], source: 'fs.c', args: (c) => ['reopen-stdin', c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, stdinWriteOnlySecret: true },
  // nemoclaw's own state (audit log, signing keys; NEMOCLAW_HOME, default ~/.nemoclaw) inside the
  // workspace, as when an agent is run with --workspace ~: it must stay out of the sandbox's reach.
  { id: 'fs-nemoclaw-home-inside-workspace', category: 'filesystem', anchors: [39], source: 'fs.c', args: (c) => ['nemoclaw-home', path.join(c.ws, '.nemoclaw')], unsandboxed: 'escaped', sandboxed: ['blocked', 'refused'], needsRoot: true, nemoclawHomeInWorkspace: true,
    prepare: async (c) => {
      // One audited run creates the log and its signing key there.
      const other = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-ws-'));
      c.onCleanup(() => fs.rmSync(other, { recursive: true, force: true }));
      const r = await run(CLI, ['sandbox', 'run', '--workspace', other, '--', '/bin/true'], {
        cwd: other,
        env: cliEnv({ NEMOCLAW_HOME: path.join(c.ws, '.nemoclaw') }),
        timeoutMs: 30_000,
      });
      if (r.code !== 0 || !fs.existsSync(path.join(c.ws, '.nemoclaw/keys'))) throw new Error(`could not create a NEMOCLAW_HOME: ${r.stdout}${r.stderr}`);
    } },
  { id: 'fs-inherited-fds-sandbox-pty', category: 'filesystem', anchors: [38], source: 'fs.c', args: (c) => ['fds', c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, passFds: true, tty: true, sandboxFlags: ['--tty'] },
  { id: 'fs-dev-minimal-sandbox-pty', category: 'filesystem', anchors: [37], source: 'fs.c', args: () => ['devlist'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, tty: true, sandboxFlags: ['--tty'] },
  // `--workspace /tmp`: the host's shared temp dir holds other programs' private files and sockets
  // (tmux, ssh-agent, other sandboxes' workspaces); with the owner-idmapped bind, every root-owned
  // one becomes the workload's own. A root-only (0700/0600) secret stands for them.
  { id: 'fs-workspace-is-host-tmp', category: 'filesystem', anchors: [28, 46], source: 'fs.c', args: (c) => ['read-any', c.t.marker, path.join(c.extra['rootOnly'] as string, 'secret')], unsandboxed: 'escaped', sandboxed: ['refused', 'blocked'], needsRoot: true, workspaceIsHostTmp: true,
    prepare: (c) => {
      const dir = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-rootonly-'));
      c.onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
      fs.chmodSync(dir, 0o700);
      fs.writeFileSync(path.join(dir, 'secret'), `${c.t.marker}\n`, { mode: 0o600 });
      c.extra['rootOnly'] = dir;
    } },
  // The operator keeps the policy in the project (`--policy ./nemoclaw-policy.yaml` in the
  // workspace): one run rewrites it (here: read access to a host dir), the next run obeys it.
  { id: 'fs-policy-file-inside-workspace', category: 'filesystem', anchors: [31], source: 'fs.c', args: (c) => ['read', c.t.secret, c.t.marker], unsandboxed: 'escaped', sandboxed: ['refused', 'blocked'], needsRoot: true, policy: 'in-workspace',
    prepare: async (c) => {
      if (c.mode === 'unsandboxed') return;
      const file = path.join(c.ws, 'nemoclaw-policy.yaml');
      fs.writeFileSync(file, policyYaml('in-workspace', c.ws));
      const widened = policyYaml('in-workspace', c.ws).replace('read_only: [/usr, /bin, /lib, /lib64]', `read_only: [/usr, /bin, /lib, /lib64, ${JSON.stringify(c.t.hostDir)}]`);
      const input = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-run-'));
      c.onCleanup(() => fs.rmSync(input, { recursive: true, force: true }));
      fs.writeFileSync(path.join(input, 'widened.yaml'), widened);
      const stdinFd = fs.openSync(path.join(input, 'widened.yaml'), 'r');
      try {
        // Run 1: the workload rewrites the policy file from its stdin (its exit status does not matter).
        await run(CLI, ['sandbox', 'run', '--workspace', c.ws, '--policy', file, '--', '/bin/sh', '-c', 'cat > nemoclaw-policy.yaml'], { cwd: c.ws, env: cliEnv(), timeoutMs: 30_000, stdinFd });
      } finally {
        fs.closeSync(stdinFd);
      }
    } },
  { id: 'fs-open-by-handle-at', category: 'filesystem', anchors: [38], source: 'fs.c', args: (c) => ['handle-open', c.extra['handle'] as string, c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    prepare: async (c) => {
      const r = await run(path.join(c.build, 'fs'), ['handle-print', c.t.secret], { cwd: c.ws, timeoutMs: 10_000 });
      if (r.code !== 0) throw new Error(`handle-print failed: ${r.stdout}${r.stderr}`);
      c.extra['handle'] = r.stdout.trim();
    } },

  // ---- network ---------------------------------------------------------------------------------
  { id: 'net-tcp-host-loopback', category: 'network', anchors: [41, 49], source: 'net.c', args: (c) => ['tcp', '127.0.0.1', String(c.s.tcpPort), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-tcp6-host-loopback', category: 'network', anchors: [41, 49], source: 'net.c', args: (c) => ['tcp', '::1', String(c.s.tcp6Port ?? c.s.tcpPort), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, hostNeed: 'ipv6-loopback' },
  // The agent's own loopback ports (policy `loopback:`) are the sandbox's loopback, never the
  // host's: declaring the port a host service listens on must not reach that service.
  { id: 'net-declared-loopback-port-stays-private', category: 'network', anchors: [49], source: 'net.c', args: (c) => ['tcp', '127.0.0.1', String(c.s.tcpPort), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, policy: 'loopback-declared' },
  { id: 'net-mptcp-host-loopback', category: 'network', anchors: [48], source: 'net.c', args: (c) => ['mptcp', String(c.s.tcpPort), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-udp-host-loopback', category: 'network', anchors: [43], source: 'net.c', args: (c) => ['udp', String(c.s.udpPort), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-bash-dev-tcp', category: 'network', anchors: [41], source: 'devtcp.sh', args: (c) => [String(c.s.tcpPort), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-curl-noproxy', category: 'network', anchors: [41], source: 'curl-noproxy.sh', args: (c) => [String(c.s.tcpPort), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-dns-to-resolver', category: 'network', anchors: [43, 44], source: 'dns.py', args: (c) => [String(c.s.dnsPort), c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    hostCheck: (c) => {
      const q = c.s.dnsQueries.find((n) => n.includes(c.t.marker));
      return q ? `the host's resolver received a query for ${q}` : null;
    } },
  { id: 'net-raw-sockets', category: 'network', anchors: [42], source: 'net.c', args: () => ['raw'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-packet-sockets', category: 'network', anchors: [42], source: 'net.c', args: () => ['packet'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-netlink-not-route', category: 'network', anchors: [47], source: 'net.c', args: () => ['netlink'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-vsock', category: 'network', anchors: [47], source: 'net.c', args: () => ['vsock'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-other-families', category: 'network', anchors: [47], source: 'net.c', args: () => ['families'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-socket-family-high-bits', category: 'network', anchors: [23], source: 'net.c', args: () => ['highbits'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-bind-undeclared-port', category: 'network', anchors: [49], source: 'net.c', args: (c) => ['bind', String(c.s.freePort)], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  // A host program's socket that happens to live inside the workspace (a dev server, an agent, git's
  // fsmonitor daemon): invariant 7 (docs/design.md) says no host sockets in the sandbox's view.
  { id: 'net-host-unix-socket-inside-workspace', category: 'network', anchors: [46], source: 'net.c', args: (c) => ['unix', path.join(c.ws, 'host-daemon.sock'), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    knownGap: 'Landlock ABI 7 has no right for connecting to pathname unix sockets; a host daemon socket inside the workspace is reachable',
    prepare: async (c) => {
      const server = net.createServer((sock) => sock.on('error', () => undefined).end(`${c.s.serverMarker}\n`));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path.join(c.ws, 'host-daemon.sock'), () => resolve());
      });
      c.onCleanup(() => server.close());
    } },
  { id: 'net-host-abstract-unix-socket', category: 'network', anchors: [45], source: 'net.c', args: (c) => ['abstract', c.s.abstractName, c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'net-host-pathname-unix-sockets', category: 'network', anchors: [46], source: 'net.c',
    args: (c) => ['unix', c.s.unixSocket, c.s.serverMarker, '/run/dbus/system_bus_socket', '/var/run/docker.sock', '/run/docker.sock', '/run/containerd/containerd.sock', '/run/systemd/private', '/run/user/0/bus', '/run/user/1000/bus', '/tmp/.X11-unix/X0',
      '/dev/log', '/run/systemd/journal/socket', '/run/systemd/journal/stdout', '/run/systemd/notify', '/var/run/nscd/socket'],
    unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },

  // ---- resources (a policy with limits; bounded probes) ----------------------------------------------
  // A fork bomb's work is its process count; how long that takes is the host's speed, so the time
  // limit is scaled from a smaller bomb on this host just before (forkBombLimitMs).
  { id: 'res-fork-bomb', category: 'resources', anchors: [11], source: 'res.c', args: () => ['forkbomb', '2000'], unsandboxed: 'escaped', sandboxed: ['blocked', 'killed:9'], needsRoot: true, event: ['limit_hit', 'limit', 'pids'], policy: 'limits', heavy: true,
    prepare: sampleForks, timeLimit: (c) => forkBombLimitMs(forkSample(c), 2000) },
  // Without --policy: the host has pid_max 32768, so a sandbox without a pids limit can starve the
  // host and every other sandbox. Bounded at 5000 (a default limit at or below 4096 stops it).
  { id: 'res-fork-bomb-default-policy', category: 'resources', anchors: [11], source: 'res.c', args: () => ['forkbomb', '5000'], unsandboxed: 'escaped', sandboxed: ['blocked', 'killed:9'], needsRoot: true, heavy: true,
    prepare: sampleForks, timeLimit: (c) => forkBombLimitMs(forkSample(c), 5000) },
  { id: 'res-memory-bomb', category: 'resources', anchors: [12], source: 'res.c', args: () => ['memory', '512'], unsandboxed: 'escaped', sandboxed: ['killed:9', 'blocked'], needsRoot: true, event: ['limit_hit', 'limit', 'memory'], policy: 'limits', heavy: true },
  { id: 'res-fd-exhaustion', category: 'resources', anchors: [13], source: 'res.c', args: () => ['fds', '4096'], unsandboxed: 'escaped', sandboxed: ['blocked'], needsRoot: true, policy: 'limits', heavy: true },
  { id: 'res-file-size', category: 'resources', anchors: [13], source: 'res.c', args: () => ['fsize', '64'], unsandboxed: 'escaped', sandboxed: ['blocked', 'killed:25'], needsRoot: true, policy: 'limits', heavy: true },
  { id: 'res-core-dumps', category: 'resources', anchors: [13], source: 'res.c', args: () => ['core', '1'], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'res-tmpfs-fill', category: 'resources', anchors: [13], source: 'res.c', args: () => ['tmpfs', '512'], unsandboxed: 'escaped', sandboxed: ['blocked', 'killed:9'], needsRoot: true, policy: 'limits', heavy: true },
  { id: 'res-wall-time-ignoring-sigterm', category: 'resources', anchors: [14], source: 'res.c', args: () => ['walltime', '6'], unsandboxed: 'escaped', sandboxed: ['killed:9'], needsRoot: true, event: ['limit_hit', 'limit', 'wall_time'], policy: 'walltime', heavy: true },
  { id: 'res-cpu-spin-wall-time', category: 'resources', anchors: [14], source: 'res.c', args: () => ['cpuspin', '6'], unsandboxed: 'escaped', sandboxed: ['killed:9'], needsRoot: true, event: ['limit_hit', 'limit', 'wall_time'], policy: 'walltime', heavy: true },

  // ---- namespaces -------------------------------------------------------------------------------------
  { id: 'ns-hostname-visible-on-host', category: 'namespace', anchors: [], source: 'ns.c', args: (c) => ['hostname', c.s.utsNs], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true,
    hostCheck: (c) => {
      return os.hostname() !== c.s.hostname ? `the host's hostname changed to ${os.hostname()}` : null;
    } },
  // Invariant 6 (docs/design.md): credentials never enter a sandbox. The launcher's environment carries secrets.
  { id: 'ns-launcher-env-secrets', category: 'namespace', anchors: [], source: 'ns.c', args: (c) => ['env', c.t.marker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true, envSecrets: true },
  { id: 'ns-sysv-shm-visible', category: 'namespace', anchors: [], source: 'ns.c', args: (c) => ['sysv-shm', String(c.s.shmId), c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
  { id: 'ns-posix-shm-visible', category: 'namespace', anchors: [], source: 'ns.c', args: (c) => ['posix-shm', c.s.posixShm, c.s.serverMarker], unsandboxed: 'escaped', sandboxed: SANDBOX_DEFENCE, needsRoot: true },
];

/** The policy files (OpenShell v1 vocabulary + our extensions) used by rows that name one. */
export function policyYaml(name: PolicyName, ws: string, hostPort = 0): string {
  const base = [
    'version: 1',
    'filesystem_policy:',
    '  include_workdir: true',
    '  read_only: [/usr, /bin, /lib, /lib64]',
    'landlock: { compatibility: hard_requirement }',
  ];
  switch (name) {
    case 'in-workspace':
      return [...base, ''].join('\n');
    case 'loopback-declared':
      return [...base, `loopback: { bind: [${hostPort}], connect: [${hostPort}] }`, ''].join('\n');
    case 'limits':
      return [...base, 'limits: { memory: 256MiB, pids: 64, nofile: 256, file_size: 16MiB, wall_time: 30s }', ''].join('\n');
    case 'walltime':
      return [...base, 'limits: { wall_time: 2s }', ''].join('\n');
    case 'exec-allowlist':
    case 'exec-allowlist-ask':
      return [...base, `exec: { allow: [${JSON.stringify(path.join(ws, 'priv'))}, "/usr/bin/*", "/bin/*"], unmatched: ${name === 'exec-allowlist' ? 'deny' : 'ask'} }`, ''].join('\n');
    case 'exec-globstar-ask':
      return [...base, `exec: { allow: [${JSON.stringify(path.join(ws, 'priv'))}, "/usr/bin/**", "/bin/*"], unmatched: ask }`, ''].join('\n');
    case 'planted-rw':
      return [
        'version: 1',
        'filesystem_policy:',
        '  include_workdir: true',
        '  read_only: [/usr, /bin, /lib, /lib64]',
        `  read_write: [${JSON.stringify(path.join(ws, '.cache'))}]`,
        'landlock: { compatibility: hard_requirement }',
        '',
      ].join('\n');
  }
}
