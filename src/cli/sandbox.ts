// `nemoclaw sandbox run`: one command in a fresh sandbox. Glue only: pick the spec (default,
// --policy or --blueprint), hand it to src/sandbox, write events, ask the operator about execs,
// append to the audit log, and exit with the workload's status. Start-up time is a feature:
// nothing heavy is imported unless the options need it (the policy loader pulls in zod + yaml).
import type { Command } from 'commander';
import { closeSync, constants as fsConstants, openSync, statSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { isatty } from 'node:tty';
import type { AuditEventInput, AuditLog } from '../audit/index.ts';
import type { Policy, SandboxSpec } from '../policy/index.ts';
import type { AuditSink } from '../egress/index.ts';
import type { EgressAnswer, RunEgress } from './sandbox-egress.ts';
import type { ExecAskEvent, ExecDecision, SandboxEvent, SandboxResult } from '../sandbox/index.ts';
import { UsageError, jsonText, showOn } from './output.ts';
import { inert } from '../text/index.ts';
import { SANDBOX_FAILED, defaultSandboxSpec, newSandboxId, runSandbox } from '../sandbox/index.ts';
import { nemoclawHome } from '../state/index.ts';

interface RunFlags {
  policy?: string;
  blueprint?: string;
  workspace?: string;
  events?: string;
  tty?: boolean;
  json?: boolean;
  saveApprovals?: boolean;
}

/** A reason the sandbox did not start; printed as one line, exit 125. */
class StartError extends Error {}

interface SpecSource {
  spec: SandboxSpec;
  /** What the audit log records about where the policy came from. */
  origin: { kind: 'default' | 'policy' | 'blueprint'; name?: string; digest?: string };
  /**
   * Files this run obeys. One kept inside a writable path (`--policy ./nemoclaw-policy.yaml` in
   * the workspace) would let this run rewrite what the next one allows: it stays read-only inside.
   */
  obeys: string[];
  /** The policy itself (egress rules, approvals); null for the built-in default (no network). */
  policy: Policy | null;
  /** The --policy file, which `--save-approvals` revises; null otherwise. */
  policyFile: string | null;
}

async function chooseSpec(flags: RunFlags): Promise<SpecSource> {
  if (flags.policy === undefined && flags.blueprint === undefined) {
    return { spec: defaultSandboxSpec(), origin: { kind: 'default' }, obeys: [], policy: null, policyFile: null };
  }
  const policy = await import('../policy/index.ts');
  try {
    if (flags.policy !== undefined) {
      const loaded = await policy.loadPolicyFile(flags.policy);
      return { spec: policy.compileSandboxSpec(loaded), origin: { kind: 'policy', name: resolve(flags.policy) }, obeys: [resolve(flags.policy)], policy: loaded, policyFile: resolve(flags.policy) };
    }
    const bp = await policy.loadBlueprint(flags.blueprint as string);
    const bpPolicy = policy.blueprintPolicy(bp);
    const spec = policy.compileSandboxSpec(bpPolicy);
    const base = bp.spec.policy.base;
    const basePath = base === 'default' ? [] : [isAbsolute(base) ? base : join(dirname(bp.file), base)];
    return { spec, origin: { kind: 'blueprint', name: flags.blueprint, digest: policy.blueprintDigest(bp) }, obeys: [bp.file, ...basePath], policy: bpPolicy, policyFile: null };
  } catch (err) {
    // Diagnostics (file:line:col) or a missing file/blueprint: either way nothing started.
    throw new StartError(err instanceof Error ? err.message : String(err));
  }
}

function checkWorkspace(dir: string): string {
  const abs = resolve(dir);
  try {
    if (!statSync(abs).isDirectory()) throw new StartError(`workspace: ${abs} is not a directory (errno ENOTDIR)`);
  } catch (err) {
    if (err instanceof StartError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    throw new StartError(`workspace: ${abs}: cannot use it (errno ${code})`);
  }
  return abs;
}

/**
 * Opens --events FILE without following a symlink in its last component: a file in a workspace
 * may have been replaced by a link (to ~/.bashrc, say) by an earlier sandbox, and we run as the
 * operator. Device paths (/dev/stderr, /dev/fd/N) are links by nature and stay allowed.
 */
function openEventsFile(target: string): number {
  const abs = resolve(target);
  const nofollow = abs.startsWith('/dev/') || abs.startsWith('/proc/self/fd/') ? 0 : fsConstants.O_NOFOLLOW;
  try {
    return openSync(abs, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | nofollow, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    throw new StartError(`events file: ${abs}: cannot open it${code === 'ELOOP' ? ' (a symlink)' : ''} (errno ${code})`);
  }
}

/** NDJSON writer for --events: `type`, `ts`, `sandbox` first, then the event's fields. */
function eventSink(target: string | undefined): { write(e: SandboxEvent): void; close(): void } | null {
  if (target === undefined) return null;
  const fd = target === '-' ? 1 : openEventsFile(target);
  return {
    write(e) {
      const { type, ts, sandbox, ...rest } = e;
      const record =
        type === 'unknown'
          ? { type: (rest as { originalType: string }).originalType, ts, sandbox, ...(rest as { fields: object }).fields }
          : { type, ts, sandbox, ...rest };
      try {
        writeSync(fd, `${jsonText(record)}\n`);
      } catch {
        // A closed stdout (e.g. `| head`) must not kill the sandbox's bookkeeping.
      }
    },
    close() {
      if (fd !== 1) closeSync(fd);
    },
  };
}

/**
 * Exec asks without a supervisor: on an interactive terminal the operator answers on /dev/tty
 * (one question at a time, 60 s, default no); anywhere else (`abort` null) every ask is denied.
 * `abort` ends a question still open when the sandbox is gone, so nemoclaw never waits on a dead
 * workload.
 */
function execAsker(abort: AbortSignal | null, tap: () => TapInput | null): (ask: ExecAskEvent) => Promise<ExecDecision> {
  if (abort === null) return async () => 'deny';
  // The path is the workload's; the question goes to the operator's terminal (/dev/tty), always.
  return (ask) => oneQuestion(`nemoclaw: allow exec of ${inert(ask.path)} (pid ${ask.pid})? [y/N] `, abort, tap, (a) => (/^\s*y(es)?\s*$/i.test(a) ? 'allow' : 'deny'), 'deny');
}

/** Questions to the operator (exec and egress asks alike) go one at a time, in arrival order. */
let questions: Promise<unknown> = Promise.resolve();
function oneQuestion<T>(question: string, abort: AbortSignal, tap: () => TapInput | null, parse: (answer: string) => T, no: T): Promise<T> {
  const next = questions.then(() => (abort.aborted ? no : promptTty(question, abort, tap(), parse, no)));
  questions = next.catch(() => undefined);
  return next;
}

/** Egress asks (sandbox-egress.ts): y once, a(lways), anything else no; none without a terminal (`abort` null). */
function egressAsker(abort: AbortSignal | null, tap: () => TapInput | null): ((question: string) => Promise<EgressAnswer>) | null {
  if (abort === null) return null;
  return (q) => oneQuestion<EgressAnswer>(q, abort, tap, (a) => (/^\s*y(es)?\s*$/i.test(a) ? 'allow' : /^\s*a(lways)?\s*$/i.test(a) ? 'always' : 'deny'), 'deny');
}

/** The sandbox's terminal-input relay (RunningSandbox.tapInput), when stdin is relayed. */
type TapInput = (fn: ((chunk: Buffer) => void) | null) => boolean;

/** Input for one question: the relay's tap when nemoclaw already reads the terminal, else /dev/tty. */
interface Answerer {
  on(ev: 'data', fn: (chunk: Buffer | string) => void): void;
  on(ev: 'error' | 'end', fn: () => void): void;
  destroy(): void;
}

function tapAnswerer(tap: TapInput): Answerer | null {
  const handlers: Array<(chunk: Buffer) => void> = [];
  // The relay already reads the terminal: a second reader of /dev/tty would race it for the answer.
  if (!tap((chunk) => handlers.forEach((h) => h(chunk)))) return null;
  return {
    on(ev: string, fn: (chunk: Buffer) => void) {
      if (ev === 'data') handlers.push(fn);
    },
    destroy() {
      tap(null);
    },
  };
}

async function promptTty<T>(question: string, abort: AbortSignal, tap: TapInput | null, parse: (answer: string) => T, no: T): Promise<T> {
  const { ReadStream } = await import('node:tty');
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    return no;
  }
  writeSync(fd, question);
  const tapped = tap === null ? null : tapAnswerer(tap);
  // A tty.ReadStream reads without blocking a thread-pool worker, so it can be dropped mid-read.
  // It owns fd from here and closes it when destroyed.
  const input: Answerer = tapped ?? new ReadStream(fd);
  return new Promise<T>((done) => {
    let answered = false;
    const finish = (d: T, note?: string): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      abort.removeEventListener('abort', onAbort);
      if (note) {
        try {
          writeSync(fd, note);
        } catch {
          /* terminal gone */
        }
      }
      input.destroy();
      if (tapped !== null) closeSync(fd);
      done(d);
    };
    const onAbort = (): void => finish(no, '\nnemoclaw: the sandbox ended; denied\n');
    abort.addEventListener('abort', onAbort);
    const timer = setTimeout(() => finish(no, '\nnemoclaw: no answer in 60 s; denied\n'), 60_000);
    input.on('data', (chunk) => finish(parse(String(chunk))));
    input.on('error', () => finish(no));
    input.on('end', () => finish(no));
  });
}

// ---- audit: lifecycle, enforcement and denials of each one-shot run ----------------------------

interface RunInfo {
  sandbox: string;
  command: string[];
  workspace: string;
  origin: SpecSource['origin'];
  protected: string[];
  placeholders: string[];
}

/** Audit record (src/audit's AuditEventInput) for each event worth keeping; null: not audited. */
function auditRecord(e: SandboxEvent): { record: AuditEventInput; durable: boolean } | null {
  const base = { sandbox: e.sandbox, actor: { process: 'nemoclaw sandbox run', uid: process.getuid?.() } };
  switch (e.type) {
    case 'ready': {
      const en = e.enforcement;
      const detail = {
        landlock_abi: en.landlock.abi,
        landlock_net: en.landlock.net,
        seccomp_filters: en.seccomp.filters,
        seccomp_notify: en.seccomp.notify,
        no_new_privs: en.no_new_privs,
        cap_eff: en.cap_eff,
        namespaces: en.namespaces.join(','),
        cgroup_version: en.cgroup?.version ?? null,
        uid: en.uid,
        degraded: e.degraded.join('; ') || null,
      };
      return { record: { ...base, kind: 'sandbox.enforcement', activity: 'report', detail }, durable: false };
    }
    case 'syscall_denied':
      return { record: { ...base, kind: 'syscall.denied', activity: 'deny', target: e.syscall, binary: e.exe ?? undefined, decision: 'deny', severity: 'medium', detail: { nr: e.nr, action: e.action } }, durable: false };
    case 'exec_allowed':
      // Outside the allowlist only (unmatched allow, or the operator): what `policy learn` reads.
      if (e.via === 'allowlist') return null;
      return { record: { ...base, kind: 'exec.allowed', activity: e.via, target: e.path, decision: 'allow', severity: 'info', detail: { via: e.via } }, durable: false };
    case 'exec_denied':
      return { record: { ...base, kind: 'exec.denied', activity: 'deny', target: e.path, decision: 'deny', severity: 'medium', detail: { reason: e.reason } }, durable: false };
    case 'limit_hit':
      return { record: { ...base, kind: 'sandbox.lifecycle', activity: 'limit_hit', target: e.limit, severity: 'medium' }, durable: false };
    case 'egress_direct':
      return { record: { ...base, kind: 'egress.denied', activity: 'direct_connect', target: `${e.addr}:${e.port}`, binary: e.exe ?? undefined, decision: 'deny', severity: 'medium' }, durable: false };
    case 'egress_refused':
      return { record: { ...base, kind: 'egress.denied', activity: 'refuse', decision: 'deny', severity: 'medium', detail: { reason: e.reason } }, durable: false };
    case 'error':
      return { record: { ...base, kind: 'sandbox.lifecycle', activity: 'start_failed', severity: 'high', detail: { step: e.step, errno: e.errno, why: e.message } }, durable: true };
    case 'exit':
      return { record: { ...base, kind: 'sandbox.lifecycle', activity: 'exit', detail: { code: e.code, signal: e.signal, reason: e.reason } }, durable: false };
    default:
      return null;
  }
}

/**
 * Loads src/audit only after the helper is spawned, so the log's crypto never delays the
 * sandbox, then writes each record as it comes (in order: the log appends in call order, records
 * of one turn in one group commit): a long run killed midway still left its start and enforcement
 * records. Records seen before the log is open wait in a queue, so the start record may follow
 * the workload's start by a few milliseconds (docs/audit.md, "Concurrency and crashes"). With an
 * unusable log the run goes on and one warning says it was not audited (the exit status stays
 * the command's).
 */
function runAudit(report: (line: string) => void) {
  const pending: Array<{ record: AuditEventInput; durable: boolean }> = [];
  let log: AuditLog | null = null;
  let opened: Promise<void> | null = null;
  const appends: Array<Promise<unknown>> = [];
  const write = (r: { record: AuditEventInput; durable: boolean }): void => {
    const l = log;
    if (l === null) {
      pending.push(r);
      return;
    }
    // One bad record must not cost the others.
    appends.push(l.append(r.record, { durable: r.durable }).catch((err: unknown) => report(`audit append failed: ${(err as Error).message}`)));
  };
  return {
    start(info: RunInfo): void {
      pending.unshift({
        record: {
          kind: 'sandbox.lifecycle',
          activity: 'start',
          sandbox: info.sandbox,
          actor: { process: 'nemoclaw sandbox run', uid: process.getuid?.() },
          // Only the program's name: arguments may hold anything, secrets included.
          binary: info.command[0],
          target: info.workspace,
          detail: {
            argc: info.command.length,
            policy: info.origin.kind,
            policy_name: info.origin.name ?? null,
            blueprint_digest: info.origin.digest ?? null,
            protected_paths: info.protected.length,
            stub_paths_created: info.placeholders.length,
          },
        },
        durable: false,
      });
      opened = import('../audit/index.ts')
        // Resolved once the sandbox runs: runSandbox has already refused a home that is not absolute.
        .then((m) => m.openAuditLog({ home: nemoclawHome() }))
        .then(
          (l) => {
            log = l;
            for (const r of pending.splice(0)) write(r);
          },
          (err: unknown) => {
            pending.length = 0;
            report(`audit log unavailable, run not audited: ${(err as Error).message}`);
          },
        );
    },
    event(e: SandboxEvent): void {
      const r = auditRecord(e);
      if (r !== null && opened !== null) write(r);
    },
    /** The egress proxy's records go into the same chain, in order, after the start record. */
    sink(): AuditSink {
      return {
        append: async (record, o) => {
          write({ record, durable: o?.durable ?? false });
        },
      };
    },
    /**
     * Resolves once every record is on disk (the shutdown checkpoint fsyncs the segment first):
     * called in the turn the last records were appended, so one group commit writes them, fsyncs
     * and signs, instead of one commit for the records and another for the checkpoint.
     */
    async close(): Promise<void> {
      await opened;
      const l = log as AuditLog | null;
      const closed = l?.close().catch((err: unknown) => report(`audit close failed: ${(err as Error).message}`));
      await Promise.all(appends);
      await closed;
    },
  };
}

/** nemoclaw's own lines; they can quote what the workload controls (a path, a helper message), shown inert on a terminal. */
function report(flags: RunFlags, line: string, extra: Record<string, unknown> = {}): void {
  process.stderr.write(flags.json ? `${jsonText({ nemoclaw: line, ...extra })}\n` : `nemoclaw: ${showOn(process.stderr)(line)}\n`);
}

const EXEC_FAILURES = [
  { status: 127, say: 'command not found in the sandbox' },
  { status: 126, say: 'cannot execute it in the sandbox' },
] as const;

// Signals the operator sends to `nemoclaw` are meant for the sandbox: forward, keep waiting.
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];

export async function sandboxRun(command: string[], flags: RunFlags): Promise<number> {
  if (flags.policy !== undefined && flags.blueprint !== undefined) throw new UsageError('sandbox run: use --policy or --blueprint, not both');
  let source: SpecSource;
  let workspace: string;
  let sink: ReturnType<typeof eventSink>;
  try {
    source = await chooseSpec(flags);
    workspace = checkWorkspace(flags.workspace ?? process.cwd());
    sink = eventSink(flags.events);
  } catch (err) {
    if (err instanceof StartError) {
      report(flags, `sandbox not started: ${err.message}`);
      return SANDBOX_FAILED;
    }
    throw err;
  }
  const audit = runAudit((line) => report(flags, line));
  // isatty() rather than process.stdin.isTTY: building process.stdin (a stream over fd 0) costs
  // ~6 ms before the sandbox starts, and this process never reads it unless it relays a terminal.
  const interactive = isatty(0) && isatty(2);
  // Only questions on a terminal are ever aborted; a script's run never builds the machinery.
  const asks = interactive ? new AbortController() : null;
  let running: ReturnType<typeof runSandbox> | undefined;
  const sandboxId = newSandboxId();
  // The per-sandbox egress proxy, only for a policy with network rules or approvals.
  let egress: RunEgress | null = null;
  if (source.policy !== null) {
    const eg = await import('./sandbox-egress.ts');
    if (eg.needsEgressProxy(source.policy)) {
      try {
        egress = await eg.startRunEgress(
          {
            policy: source.policy,
            policyFile: source.policyFile,
            sandboxId,
            ask: egressAsker(asks?.signal ?? null, () => running?.tapInput ?? null),
            saveApprovals: flags.saveApprovals ?? false,
            audit: audit.sink(),
            report: (line) => report(flags, line),
          },
          inert,
        );
      } catch (err) {
        report(flags, `sandbox not started: egress proxy: ${err instanceof Error ? err.message : String(err)}`);
        sink?.close();
        return SANDBOX_FAILED;
      }
    } else if (flags.saveApprovals) {
      report(flags, '--save-approvals: this policy has no network rules or approvals; nothing to ask');
    }
  }
  const spec = egress === null ? source.spec : { ...source.spec, filesystem: { ...source.spec.filesystem, readOnly: [...source.spec.filesystem.readOnly, egress.caBundlePath] } };
  try {
    running = runSandbox({
      spec,
      command,
      workspace,
      sandboxId,
      tty: flags.tty ?? false,
      obeys: source.obeys,
      ...(egress !== null ? { proxySocket: egress.proxySocket, stateFiles: [egress.caBundlePath], extraEnv: egress.env } : {}),
      onEvent: (e) => {
        sink?.write(e);
        audit.event(e);
      },
      onExecAsk: execAsker(asks?.signal ?? null, () => running?.tapInput ?? null),
    });
  } catch (err) {
    // HelperMissingError (names `make -C native`), SandboxConfigError, or spawn trouble.
    report(flags, `sandbox not started: ${err instanceof Error ? err.message : String(err)}`);
    sink?.close();
    await egress?.close();
    return SANDBOX_FAILED;
  }
  audit.start({ sandbox: running.id, command, workspace, origin: source.origin, protected: running.protected, placeholders: running.placeholders });
  const forward = (sig: NodeJS.Signals): void => running.kill(sig);
  for (const s of FORWARDED) process.on(s, forward);
  let result: SandboxResult;
  try {
    result = await running.result;
  } finally {
    for (const s of FORWARDED) process.off(s, forward);
    asks?.abort();
    await egress?.close();
  }
  // A refused sandbox never ran: its one line says why; degraded layers would only bury it.
  if (result.reason !== 'refused') for (const w of result.warnings) report(flags, `DEGRADED: ${w}`);
  // The helper says nothing when CMD cannot be executed; the operator should not have to guess.
  const execFailure = EXEC_FAILURES.find((f) => f.status === result.status && result.execErrno !== null);
  if (execFailure && result.execHint !== null) report(flags, `${result.execHint} (errno ${result.execErrno})`);
  else if (execFailure) report(flags, `${command[0] ?? ''}: ${execFailure.say} (errno ${result.execErrno})`);
  if (result.status === SANDBOX_FAILED && result.failure !== null && !result.failurePrinted) {
    report(flags, `sandbox refused: ${result.failure}`);
  }
  if (flags.json) {
    report(flags, 'sandbox ended', {
      sandbox: running.id,
      status: result.status,
      reason: result.reason,
      code: result.code,
      signal: result.signal,
      failure: result.failure,
      mismatches: result.mismatches,
      warnings: result.warnings,
      protected: running.protected,
      placeholders_created: running.placeholders,
      enforcement: result.ready?.enforcement ?? null,
    });
  }
  sink?.close();
  await audit.close();
  return result.status;
}

export function register(program: Command): void {
  const sandbox = program.command('sandbox').description('run commands in kernel-enforced sandboxes');
  sandbox
    .command('run')
    .description('run one command in a fresh sandbox; exits with its status (125: sandbox refused, 127: not found, 128+N: signal N)')
    .option('--policy <file>', 'policy YAML (default: the built-in default policy)')
    .option('--blueprint <name>', 'use the policy of a blueprint')
    .option('--workspace <dir>', 'directory bound read-write at the same path and used as cwd (default: the current directory)')
    .option('--events <file>', 'write NDJSON events to FILE (`-`: standard output)')
    .option('--tty', 'run the command on a pseudo-terminal owned by the sandbox')
    .option('--json', "nemoclaw's own messages as JSON lines on standard error")
    .option('--save-approvals', 'an "always" answer to an egress ask writes its rule into the --policy file (a new revision of it); without it "always" allows for this run only')
    .argument('<command...>', 'command and arguments (after --)')
    .action(async (command: string[], flags: RunFlags) => {
      process.exitCode = await sandboxRun(command, flags);
    });
}
