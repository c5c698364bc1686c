// Lifecycle of one sandbox: spawn the helper with an events pipe (fd 3) and a control pipe
// (fd 4), parse its events, verify the enforcement report before anything else is trusted, answer
// exec asks, and turn the helper's end into one exit status (README "Exit codes").
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { constants as osConstants, homedir } from 'node:os';
import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { SandboxSpec } from '../policy/index.ts';
import { nemoclawHome } from '../state/index.ts';
import { PRIVATE_TMPFS, SANDBOX_PATH, SandboxConfigError, compileBinds, specToHelperArgv, workloadEnv } from './argv.ts';
import type { ExecAskEvent, ExitEvent, HelperEvent, ReadyEvent } from './events.ts';
import { LineSplitter, parseHelperEvent } from './events.ts';
import { helperInsideWritable, helperPath, realOrSelf as realPathOrSelf } from './helper.ts';
import { protectedPaths, readOnlyRefusal, sharedLocationRefusal, stateOverlapRefusal } from './paths.ts';
import { describeMissing, missingInterpreter, sandboxView } from './interp.ts';
import type { WorkspaceLease } from './lease.ts';
import { acquireWorkspaceLease, parentPid } from './lease.ts';
import type { StdioFacts } from './relay.ts';
import { planStdio, startRelay, stdioFacts } from './relay.ts';
import { enforcementWarnings, verifyEnforcement } from './verify.ts';

export const EVENTS_FD = 3;
export const CONTROL_FD = 4;

/** Exit statuses the sandbox itself produces (the rest are the workload's). */
export const SANDBOX_FAILED = 125;
export const NOT_FOUND = 127;

/** execve's "no such file": the command, or its loader or interpreter, is not in the view. */
const ENOENT = 2;

/** How long the events pipe may stay open after the helper exited. */
const PIPE_DRAIN_MS = 200;

/** An event as published by nemoclaw: the helper's fields plus when and which sandbox. */
export type SandboxEvent = HelperEvent & { ts: string; sandbox: string };

export type ExecDecision = 'allow' | 'deny';

export interface RunSandboxOptions {
  spec: SandboxSpec;
  /** CMD and ARGS, resolved inside the sandbox. */
  command: string[];
  workspace: string;
  sandboxId?: string;
  home?: string;
  proxySocket?: string;
  tty?: boolean;
  uid?: number;
  gid?: number;
  /** Added to the workload environment (never the caller's environment as a whole). */
  extraEnv?: Record<string, string>;
  /** `inherit` (default): the workload uses our stdin/stdout/stderr. `pipe`: read them from the result. */
  stdio?: 'inherit' | 'pipe';
  /** With `stdio: 'pipe'`: keep the workload's stdin open for writing (default: it reads EOF at once). */
  keepStdinOpen?: boolean;
  /** Helper binary; default helperPath(). */
  helper?: string;
  /**
   * More helper options, placed after the ones built from the spec and before `--`. Only options
   * that native/PROTOCOL.md documents (e.g. `['--exec-socket', PATH]` for the supervisor).
   */
  extraHelperArgs?: readonly string[];
  /** Every event, in order, stamped. Called synchronously from the events pipe. */
  onEvent?: (event: SandboxEvent) => void;
  /** Lines on the events pipe that are not valid events. */
  onProtocolError?: (error: string, line: string) => void;
  /**
   * nemoclaw's own state directory (audit log, keys), which no writable path may contain or lie
   * in. Default: $NEMOCLAW_HOME or ~/.nemoclaw. `home` is exempt (the supervisor keeps it there).
   */
  stateDir?: string;
  /** The operator's HOME, never a writable path itself. Default: $HOME or os.homedir(). */
  operatorHome?: string;
  /** Protect the workspace's table of host-executed paths (paths.ts); default true. */
  protectWorkspace?: boolean;
  /** Files inside the state directory bound read-only on purpose (the proxy's CA trust bundle). */
  stateFiles?: string[];
  /** Files this run obeys (policy, blueprint): protected read-only when inside a writable path. */
  obeys?: string[];
  /** isatty of fds 0-2 and foreground state; default: this process's (tests pass their own). */
  stdioFacts?: StdioFacts;
  /** Answers an exec ask; default: deny (no supervisor). Rejections count as deny. */
  onExecAsk?: (ask: ExecAskEvent) => Promise<ExecDecision>;
  /**
   * Warm pool (issue 23): the sandbox is built, enforced and verified with no command
   * (`--await-argv`, native/PROTOCOL.md); `command` is ignored and the workload waits before its
   * execve until `claim()` gives the command and environment.
   */
  pooled?: boolean;
}

export type EndReason = 'exited' | 'signaled' | 'refused' | 'start_failed' | 'setup_failed' | 'wall_time' | 'memory' | 'seccomp_kill';

export interface SandboxResult {
  /** The status `nemoclaw sandbox run` exits with. */
  status: number;
  reason: EndReason;
  /** Workload exit code, when it exited. */
  code: number | null;
  /** Signal name, when killed. */
  signal: string | null;
  ready: ReadyEvent | null;
  /** Policy requirements the helper did not meet (non-empty: refused, status 125). */
  mismatches: string[];
  /** Degraded layers under best_effort. */
  warnings: string[];
  /** Why the sandbox did not start (status 125), one line. */
  failure: string | null;
  /** Whether the helper itself already printed the failure line on stderr. */
  failurePrinted: boolean;
  /** errno of the workload's failed execve of CMD (2: not found -> 127), when the helper said. */
  execErrno: number | null;
  /**
   * With execErrno 2: why a command that is in the sandbox could not start (its ELF loader or
   * #! interpreter is not visible, and the path to add), one line; null when it really is missing.
   */
  execHint: string | null;
}

export interface RunningSandbox {
  id: string;
  /** Host pid of the helper (the monitor). */
  pid: number | undefined;
  /** The workload's stdin, with `stdio: 'pipe'` and `keepStdinOpen`. */
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
  /** The enforcement report, once verified; null when the sandbox never became ready. */
  ready: Promise<ReadyEvent | null>;
  result: Promise<SandboxResult>;
  /** Paths passed to the helper as --protect (read-only inside; missing ones are in ready.skipped). */
  protected: string[];
  /** Empty placeholders created in the workspace for this run (paths.ts explains which). */
  placeholders: string[];
  /**
   * With a relayed terminal stdin: sends what the operator types to `fn` instead of the workload
   * while set (null: back to the workload), so an exec question can be answered on the same
   * terminal. Returns false when stdin is not relayed.
   */
  tapInput(fn: ((chunk: Buffer) => void) | null): boolean;
  /** Ends the whole sandbox (the helper kills its tree when it dies). */
  kill(signal?: NodeJS.Signals): void;
  /**
   * Pooled only: run `command` in the waiting sandbox, with the environment built as for a fresh
   * one from `extraEnv` (default: the start's). Sent once the ready report verified; false when
   * not pooled, already claimed, or the sandbox was refused or has ended.
   */
  claim(command: string[], extraEnv?: Record<string, string>): boolean;
}

function signalNumber(name: string | null): number | null {
  if (name === null) return null;
  const n = (osConstants.signals as Record<string, number | undefined>)[name];
  return typeof n === 'number' ? n : null;
}

/** A fresh sandbox name: short, unique enough for events, audit and proxy routing. */
export function newSandboxId(): string {
  const rand = Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
  return `sb-${Date.now().toString(36)}-${rand}`;
}

/** Status for a helper exit event (or the process's own end when the helper sent none). */
export function statusOf(code: number | null, signal: string | null): number {
  if (code !== null) return code;
  const n = signalNumber(signal);
  return n === null ? SANDBOX_FAILED : 128 + n;
}

/** fn with each answer kept, for lookups one start makes more than once. */
function once<T>(fn: (p: string) => T): (p: string) => T {
  const seen = new Map<string, T>();
  return (p) => {
    let v = seen.get(p);
    if (v === undefined) {
      v = fn(p);
      seen.set(p, v);
    }
    return v;
  };
}

const EXIT_REASONS: readonly string[] = ['exited', 'signaled', 'setup_failed', 'wall_time', 'memory', 'seccomp_kill'];

/**
 * Refuses (SandboxConfigError, one line) what must never be handed to a sandbox: writable paths
 * that are shared locations or touch nemoclaw's state, and read-only paths that would show that
 * state or the operator's home (real paths compared).
 */
function checkBinds(opts: RunSandboxOptions, writable: readonly string[], readOnly: readonly string[], realOrSelf: (p: string) => string): string {
  const home = realOrSelf(opts.operatorHome ?? (process.env.HOME || homedir()));
  let stateDir: string;
  try {
    stateDir = realOrSelf(opts.stateDir ?? nemoclawHome());
  } catch (err) {
    // No absolute state directory to protect: refuse rather than check against a guess.
    throw new SandboxConfigError((err as Error).message);
  }
  const deliberate = (opts.stateFiles ?? []).map(realOrSelf);
  for (const p of readOnly) {
    const why = readOnlyRefusal(realOrSelf(p), stateDir, home, deliberate);
    if (why !== null) throw new SandboxConfigError(why);
  }
  for (const p of writable) {
    const what = p === posix.normalize(opts.workspace) ? 'workspace' : 'read-write path';
    const real = realOrSelf(p);
    let mode: number | null = null;
    try {
      mode = statSync(real).mode;
    } catch {
      // Missing: the helper reports or refuses it; nothing here to share.
    }
    const why = sharedLocationRefusal(what, { path: p, real, mode }, home) ?? stateOverlapRefusal(what, real, stateDir);
    if (why !== null) throw new SandboxConfigError(why);
  }
  return stateDir;
}

const JANITOR = fileURLToPath(new URL('./janitor.ts', import.meta.url));

/**
 * The janitor of a lease (janitor.ts), behind a shell that exits at once when nemoclaw writes
 * "done" (so a run that ends normally never starts a second Node). Detached: a terminal's ^C
 * reaches the sandbox, never its janitor.
 */
function startJanitor(lease: WorkspaceLease, dir: string, workspace: string): { done(): void } {
  const gate = 'read -r line; [ "$line" = done ] || exec "$0" --disable-warning=ExperimentalWarning "$@"';
  const j = spawn('/bin/sh', ['-c', gate, process.execPath, JANITOR, dir, workspace, lease.holderFile], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    cwd: '/',
    env: {},
  });
  j.on('error', () => {}); // no janitor: only a SIGKILLed run would leave its placeholders
  j.stdin?.on('error', () => {});
  (j.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  j.unref();
  return { done: () => j.stdin?.end('done\n') };
}

/** Starts one sandbox. Throws (synchronously) only for configuration errors and a missing helper. */
export function runSandbox(opts: RunSandboxOptions): RunningSandbox {
  const id = opts.sandboxId ?? newSandboxId();
  const helper = opts.helper ?? helperPath();
  // Passed as given, never resolved: a workspace that is (or passes through) a symlink planted by
  // an earlier run must reach the helper as such, so its openat2(RESOLVE_NO_SYMLINKS) refuses it.
  const workspace = posix.normalize(opts.workspace);
  // Each host path is looked up once per start: the binds are compiled twice (here and in
  // specToHelperArgv) and most paths are resolved both in checkBinds and for the helper check.
  const exists = once(existsSync);
  const realOrSelf = once(realPathOrSelf);
  const { binds } = compileBinds(opts.spec, workspace, exists);
  const rwBinds = binds.filter((b) => b.mode === 'rw' && !PRIVATE_TMPFS.includes(b.path)).map((b) => b.path);
  const wsBound = opts.spec.filesystem.includeWorkdir ? workspace : null;
  const ownWritable = [...(wsBound !== null ? [wsBound] : []), ...rwBinds];
  const stateDir = checkBinds(
    opts,
    ownWritable,
    binds.filter((b) => b.mode === 'ro').map((b) => b.path),
    realOrSelf,
  );
  // Files the host acts on later (git hooks, editor tasks, the policy this run obeys) stay
  // read-only inside; missing ones that the table allows get empty placeholders (below, once
  // nothing can refuse the run any more: a refused run leaves the workspace untouched).
  const protect = protectedPaths(opts.protectWorkspace ?? true ? wsBound : null, ownWritable, opts.obeys ?? []);
  const argv = specToHelperArgv(opts.spec, {
    workspace,
    home: opts.home,
    proxySocket: opts.proxySocket,
    eventsFd: EVENTS_FD,
    controlFd: CONTROL_FD,
    tty: opts.tty ?? false,
    env: workloadEnv({ TERM: process.env.TERM, LANG: process.env.LANG }, opts.extraEnv),
    sandboxId: id,
    uid: opts.uid,
    gid: opts.gid,
    exists,
    protect,
  });
  const writable = [...ownWritable.map(realOrSelf), ...(opts.home !== undefined ? [realOrSelf(opts.home)] : [])];
  const inside = helperInsideWritable(realOrSelf(helper), writable);
  if (inside !== null) {
    throw new SandboxConfigError(`helper: ${helper} lies inside ${inside}, which the sandbox could write; use another workspace`);
  }

  // The workspace lease (lease.ts): placeholders for missing protected paths, removed again when
  // the last sandbox on this workspace has ended, so a run leaves the workspace as it found it.
  let lease: WorkspaceLease | null = null;
  let janitor: { done(): void } | null = null;
  if (wsBound !== null && (opts.protectWorkspace ?? true)) {
    try {
      lease = acquireWorkspaceLease(stateDir, wsBound);
    } catch (err) {
      throw new SandboxConfigError(`workspace lease: ${(err as Error).message}`);
    }
  }
  const placeholders = lease?.created ?? [];

  const pipeStdio = opts.stdio === 'pipe';
  const plan = planStdio(pipeStdio ? 'pipe' : 'inherit', opts.tty ?? false, opts.stdioFacts ?? stdioFacts());
  // Compiled seccomp filters, cached per policy in nemoclaw's state (native/src/bpfcache.c): a
  // directory no sandbox can write (stateDir is refused as, or inside, a writable path).
  const cacheDir = posix.join(stateDir, 'cache', 'seccomp');
  let cache: string[] = [];
  try {
    if (posix.isAbsolute(cacheDir)) {
      mkdirSync(posix.dirname(cacheDir), { recursive: true, mode: 0o700 });
      cache = ['--seccomp-cache', cacheDir];
    }
  } catch {
    // a read-only state directory: every start compiles its filter
  }
  const pooled = opts.pooled === true;
  let command = pooled ? [] : opts.command;
  const tail = pooled ? ['--await-argv'] : ['--', ...command];
  let child: ChildProcess;
  try {
    child = spawn(helper, [...argv, ...cache, ...(opts.extraHelperArgs ?? []), ...tail], {
      stdio: [...plan.stdio, 'pipe', 'pipe'],
      cwd: '/',
      env: {}, // the helper never passes its environment on; give it nothing to leak
    });
  } catch (err) {
    lease?.release(); // nothing started: the placeholders go now, not at the next run
    throw err;
  }
  // Only a lease with placeholders has anything to tidy after a SIGKILL. Its janitor is forked
  // after the helper, whose start it would otherwise delay: until it is there, a nemoclaw killed
  // leaves the placeholders to the next run's release on this workspace (as it would between the
  // lease and the fork in any order); the helper and the sandbox die with nemoclaw (PDEATHSIG).
  // The helper joins the lease's holder at ready, with the sandbox's init, in one rewrite of the
  // holder file instead of two: until "go" the workload has run none of its own instructions.
  if (lease !== null && wsBound !== null && lease.tracked > 0) {
    janitor = startJanitor(lease, posix.dirname(lease.holderFile), wsBound);
  }
  if (pipeStdio && !opts.keepStdinOpen) child.stdin?.end();
  child.stdin?.on('error', () => {}); // the workload may exit without reading; that is not our error
  const input = pipeStdio ? null : startRelay(child, plan.relay);

  let ready: ReadyEvent | null = null;
  let mismatches: string[] = [];
  let warnings: string[] = [];
  let helperExit: ExitEvent | null = null;
  let helperError: { step: string; errno: number; message: string } | null = null;
  let spawnError: Error | null = null;
  let refused = false;
  let resolveReady: (r: ReadyEvent | null) => void = () => {};
  const readyP = new Promise<ReadyEvent | null>((r) => (resolveReady = r));

  const control = child.stdio[CONTROL_FD] as Writable | null;
  control?.on('error', () => {}); // the helper may close its end first; asks then fail closed there
  const stamp = (e: HelperEvent): SandboxEvent => ({ ...e, ts: new Date().toISOString(), sandbox: id });
  const publish = (e: HelperEvent): void => opts.onEvent?.(stamp(e));

  // The go of a pooled sandbox, once claimed: keys in this order (native/src/claim.c parses them so).
  let claimed: { verdict: 'go'; argv: string[]; env: string[] } | null = null;
  let ended = false;

  const sendControl = (msg: object): void => {
    if (control && !control.destroyed) control.write(`${JSON.stringify(msg)}\n`);
  };

  const refuse = (why: string): void => {
    if (refused) return;
    refused = true;
    child.kill('SIGKILL');
    publish({ type: 'error', step: 'verify_enforcement', errno: 0, message: why });
  };

  const answer = (ask: ExecAskEvent): void => {
    const decide = opts.onExecAsk ?? (async () => 'deny' as const);
    decide(ask)
      .catch(() => 'deny' as const)
      .then((decision) => {
        if (control && !control.destroyed) control.write(`${JSON.stringify({ id: ask.id, decision })}\n`);
      });
  };

  const onLine = (line: string): void => {
    const parsed = parseHelperEvent(line);
    if (!parsed.ok) {
      opts.onProtocolError?.(parsed.error, line);
      // A malformed report cannot be verified: fail closed before the workload is trusted.
      if (ready === null) refuse(`helper sent an unreadable event before ready (${parsed.error})`);
      return;
    }
    const e = parsed.event;
    if (e.type === 'ready') {
      if (ready !== null) return; // only the first report counts
      ready = e;
      mismatches = verifyEnforcement(e, opts.spec, {
        expectUserNamespace: process.getuid?.() !== 0,
        uid: opts.uid,
        gid: opts.gid,
      });
      warnings = enforcementWarnings(e, opts.spec);
      if (mismatches.length > 0) {
        publish(e);
        // The workload is still waiting before its execve (--await-verdict) and never gets go:
        // the helper is killed (SIGKILL, so the one line the operator sees is ours, not its
        // own `verdict: refused`), which takes the waiting workload with it.
        refuse(`enforcement mismatch: ${mismatches.join('; ')}`);
      } else if (!refused) {
        // Before the workload's first instruction: the lease now also waits for the helper and
        // the sandbox's init, which is reaped only after every process of the sandbox has exited.
        const init = parentPid(e.pid);
        lease?.addProcess(...[child.pid, init].filter((p): p is number => p !== undefined && p !== null));
        if (!pooled) sendControl({ verdict: 'go' });
        else if (claimed !== null) sendControl(claimed);
        // Published once the workload may go: the caller's bookkeeping (--events, the audit
        // record) need not delay it, and the workload's own events come in later reads anyway.
        publish(e);
      } else publish(e);
      resolveReady(mismatches.length > 0 ? null : e);
      return;
    }
    if (e.type === 'exit') {
      helperExit = e;
      return; // published once, below, with the status we settle on
    }
    if (e.type === 'error') helperError = { step: e.step, errno: e.errno, message: e.message };
    publish(e);
    if (e.type === 'exec_ask' && ready !== null && !refused) answer(e);
    else if (e.type === 'exec_ask' && control && !control.destroyed) control.write(`${JSON.stringify({ id: e.id, decision: 'deny' })}\n`);
  };

  const events = child.stdio[EVENTS_FD] as Readable | null;
  const splitter = new LineSplitter(onLine, {
    onOverflow: () => {
      opts.onProtocolError?.('line too long', '');
      if (ready === null) refuse('helper sent an oversized event before ready');
    },
  });
  events?.setEncoding('utf8');
  events?.on('data', (chunk: string) => splitter.push(chunk));
  events?.on('end', () => splitter.end());
  events?.on('error', () => {});
  child.on('error', (err) => {
    spawnError = err;
  });

  // The helper's end closes both pipes at once; a stray process that kept a copy must not keep
  // us waiting, so after the helper exits the pipes get a short grace to drain and are closed.
  child.on('exit', () => {
    const t = setTimeout(() => {
      events?.destroy();
      control?.destroy();
    }, PIPE_DRAIN_MS);
    t.unref();
  });

  // Only after an ENOENT from execve: a command that starts never pays for this.
  const execHint = (): string | null => {
    const cmd = command[0];
    if (cmd === undefined) return null;
    try {
      const view = sandboxView(binds.filter((b) => !PRIVATE_TMPFS.includes(b.path)).map((b) => b.path).concat(wsBound !== null ? [wsBound] : []));
      const m = missingInterpreter(view, cmd, opts.extraEnv?.PATH ?? SANDBOX_PATH, wsBound ?? '/home/sandbox');
      return m === null ? null : describeMissing(cmd, m);
    } catch {
      return null; // a hint, never a reason to lose the exit status
    }
  };

  const result = new Promise<SandboxResult>((resolve) => {
    child.on('close', (code, signal) => {
      ended = true;
      input?.stop();
      splitter.end();
      control?.destroy();
      const he = helperExit as ExitEvent | null;
      const execErrno = he?.exec_errno ?? null;
      const base = { ready, mismatches, warnings, failurePrinted: false, execErrno, execHint: execErrno === ENOENT ? execHint() : null };
      let out: SandboxResult;
      if (spawnError !== null) {
        out = { ...base, status: SANDBOX_FAILED, reason: 'start_failed', code: null, signal: null, failure: `spawn helper: ${(spawnError as Error).message}` };
      } else if (refused) {
        const why = mismatches.length > 0 ? `enforcement mismatch: ${mismatches.join('; ')}` : 'helper protocol error before ready';
        out = { ...base, status: SANDBOX_FAILED, reason: 'refused', code: null, signal: null, failure: why };
      } else if (helperError !== null || (ready === null && code === SANDBOX_FAILED)) {
        const err = helperError as { step: string; errno: number; message: string } | null;
        const failure = err ? `${err.step}: ${err.message} (errno ${err.errno})` : 'helper failed before the sandbox was ready';
        out = { ...base, status: SANDBOX_FAILED, reason: 'start_failed', code: null, signal: null, failure, failurePrinted: true };
      } else if (ready === null) {
        // The workload must never run unverified; if the helper ended without a report, say so.
        const how = signal ? `killed by ${signal}` : `exit ${code}`;
        out = { ...base, status: SANDBOX_FAILED, reason: 'start_failed', code: null, signal: null, failure: `helper ended before reporting enforcement (${how})` };
      } else {
        const c = he ? he.code : code;
        const s = he ? he.signal : signal;
        const reason = (he && EXIT_REASONS.includes(he.reason) ? he.reason : s ? 'signaled' : 'exited') as EndReason;
        out = { ...base, status: statusOf(c, s), reason, code: c, signal: s, failure: null };
      }
      // The helper's own exit event keeps its extra fields (exec_errno, ...); the settled status wins.
      publish({ ...(he ?? {}), type: 'exit', code: out.code, signal: out.signal, reason: out.reason });
      resolveReady(mismatches.length > 0 ? null : ready);
      try {
        lease?.release();
        janitor?.done();
      } catch {
        // lease busy past its bound: the janitor (no "done" written) releases it later
      }
      resolve(out);
    });
  });

  return {
    id,
    pid: child.pid,
    stdin: opts.keepStdinOpen ? child.stdin : null,
    stdout: pipeStdio ? child.stdout : null,
    stderr: pipeStdio ? child.stderr : null,
    protected: protect,
    placeholders,
    tapInput: (fn) => {
      if (input === null) return false;
      input.tap(fn);
      return true;
    },
    ready: readyP,
    result,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    claim: (cmd, extraEnv) => {
      if (!pooled || claimed !== null || refused || ended || cmd.length === 0) return false;
      command = cmd;
      const env = workloadEnv({ TERM: process.env.TERM, LANG: process.env.LANG }, extraEnv ?? opts.extraEnv);
      claimed = { verdict: 'go', argv: cmd, env: Object.entries(env).map(([k, v]) => `${k}=${v}`) };
      if (ready !== null && mismatches.length === 0) sendControl(claimed);
      return true;
    },
  };
}
