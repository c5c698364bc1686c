// Turns a probe row into one run: a fresh workspace with the probe in it, fresh host targets, an
// optional victim, then the probe directly on the host or inside `nemoclaw sandbox run`.
import fs from 'node:fs';
import path from 'node:path';
import {
  CLI,
  PROBE_ENV,
  PTY_RUN,
  PYTHON,
  ROOT,
  SANDBOX_UID,
  TMP,
  UNPRIV_UID,
  classify,
  cliEnv,
  makeTargets,
  readEvents,
  run,
  startVictim,
  type Outcome,
  type RunResult,
  type SharedFixtures,
} from './harness.ts';
import { DEFAULT_RUN_LIMIT_MS } from './host.ts';

const POOLED_RUN = path.join(ROOT, 'test/escape/pooled-run.ts');
import { policyYaml, type Mode, type ProbeCtx, type ProbeRow } from './probes.ts';

export interface RowRun {
  outcome: Outcome;
  result: RunResult;
  argv: string[];
  events: Array<Record<string, unknown>>;
  /** Host-side evidence of an escape, when a check found some. */
  hostEvidence: string | null;
  /** The run's time limit, and the host fact it was scaled from (empty: the default). */
  limit: { ms: number; why: string };
}

/** The command that runs a probe source from inside the workspace. */
export function probeCommand(source: string): string[] {
  const file = path.basename(source);
  if (file.endsWith('.c')) return [`./${file.slice(0, -2)}`];
  if (file.endsWith('.sh')) return ['/bin/sh', `./${file}`];
  if (file.endsWith('.py')) return [PYTHON, `./${file}`];
  throw new Error(`unknown probe kind: ${source}`);
}

/** Copies the built probe (or script) into dir as an executable. */
function installProbe(build: string, source: string, dir: string): void {
  const name = source.endsWith('.c') ? source.slice(0, -2) : source;
  const dest = path.join(dir, name);
  fs.copyFileSync(path.join(build, name), dest);
  fs.chmodSync(dest, 0o755);
}

export async function runRow(row: ProbeRow, mode: Mode, shared: SharedFixtures, build: string): Promise<RowRun> {
  const ws = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-ws-'));
  const meta = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-run-'));
  const t = makeTargets();
  const cleanups: Array<() => void> = [
    () => fs.rmSync(ws, { recursive: true, force: true }),
    () => fs.rmSync(meta, { recursive: true, force: true }),
    () => t.cleanup(),
  ];
  try {
    // A 0700 root-owned workspace is the realistic case the helper must handle; runs that need
    // another uid to reach into it (an unprivileged caller, a victim writing its receipt) open it up.
    if (!row.needsRoot && mode === 'unsandboxed') fs.chmodSync(ws, 0o755);
    const receiptDir = path.join(ws, 'receipts');
    if (row.victim) {
      fs.chmodSync(ws, 0o711);
      fs.mkdirSync(receiptDir);
      fs.chmodSync(receiptDir, 0o777);
    }
    installProbe(build, row.source, ws);
    const ctx: ProbeCtx = {
      mode,
      ws,
      t,
      s: shared,
      victim: null,
      receipt: path.join(receiptDir, 'hit'),
      build,
      extra: {},
      onCleanup: (fn) => cleanups.unshift(fn),
    };
    if (row.victim) {
      const victim = await startVictim(build, ctx.receipt, t.hostDir, mode === 'unsandboxed' ? UNPRIV_UID : SANDBOX_UID);
      ctx.victim = victim;
      cleanups.unshift(() => victim.stop());
    }
    await row.prepare?.(ctx);

    let cwd = ws;
    if (row.symlinkWorkspace) {
      // The "workspace" is a symlink to the host dir holding the secret (and the probe).
      installProbe(build, row.source, t.hostDir);
      cwd = path.join(ws, 'ws-link');
      fs.symlinkSync(t.hostDir, cwd);
    }

    let command = probeCommand(row.source);
    if (row.workspaceIsHostTmp) {
      cwd = TMP;
      command = command.map((a) => (a.startsWith('./') ? path.join(ws, a.slice(2)) : a));
    }
    const probeArgv = [...command, ...row.args(ctx)];
    const extraFds: number[] = [];
    if (row.passFds) {
      extraFds.push(fs.openSync(t.secret, 'r'), fs.openSync(t.hostDir, 'r'));
      cleanups.unshift(() => extraFds.forEach((fd) => fs.closeSync(fd)));
    }
    const events = path.join(meta, 'events.ndjson');
    let argv: string[];
    if (mode === 'unsandboxed') {
      argv = probeArgv;
    } else {
      const policy: string[] = [];
      if (row.policy === 'in-workspace') {
        // The policy file lives in the workspace (the row's prepare step may have run a sandbox on it).
        const file = path.join(ws, 'nemoclaw-policy.yaml');
        if (!fs.existsSync(file)) fs.writeFileSync(file, policyYaml(row.policy, ws));
        policy.push('--policy', file);
      } else if (row.policy) {
        const file = path.join(meta, `${row.policy}.yaml`);
        fs.writeFileSync(file, policyYaml(row.policy, ws, shared.tcpPort));
        policy.push('--policy', file);
      }
      // pooled: the same run through a sandbox that waited in a warm pool first (pooled-run.ts).
      const runner = mode === 'pooled' ? [process.execPath, POOLED_RUN] : [CLI, 'sandbox', 'run'];
      argv = [...runner, '--workspace', cwd, ...policy, ...(row.sandboxFlags ?? []), '--events', events, '--', ...probeArgv];
    }
    if (row.tty) argv = [PYTHON, PTY_RUN, ...argv];

    const asUser = mode === 'unsandboxed' && !row.needsRoot ? { uid: UNPRIV_UID, gid: UNPRIV_UID } : {};
    const secrets: Record<string, string> = row.envSecrets
      ? { OPENAI_API_KEY: `sk-${t.marker}`, NVIDIA_API_KEY: `nvapi-${t.marker}`, GITHUB_TOKEN: `ghp_${t.marker}`, NEMOCLAW_ESCAPE_SECRET: t.marker }
      : {};
    const env: Record<string, string> | undefined =
      mode !== 'unsandboxed'
        ? cliEnv({ ...secrets, ...(row.nemoclawHomeInWorkspace ? { NEMOCLAW_HOME: path.join(ws, '.nemoclaw') } : {}) })
        : row.envSecrets
          ? { ...PROBE_ENV, ...secrets }
          : undefined;
    let stdinFd: number | undefined;
    if (row.stdinWriteOnlySecret) {
      const fd = fs.openSync(t.secret, 'a');
      stdinFd = fd;
      cleanups.unshift(() => fs.closeSync(fd));
    }
    const limit = row.timeLimit?.(ctx) ?? { ms: DEFAULT_RUN_LIMIT_MS, why: '' };
    const go = (): Promise<RunResult> =>
      run(argv[0] as string, argv.slice(1), { cwd, timeoutMs: limit.ms, extraFds, ...asUser, ...(env ? { env } : {}), ...(stdinFd !== undefined ? { stdinFd } : {}) });
    let result = await go();
    if (mode !== 'unsandboxed' && result.code === 125 && /helper not built/.test(result.stderr) && (await helperReappears())) {
      // The shared checkout's helper was being rebuilt by its author at that moment: try once more.
      result = await go();
    }
    let outcome = classify(result);

    let hostEvidence: string | null = null;
    if (row.tty) {
      const m = /PTY-INPUT: (.*)$/m.exec(result.stderr);
      if (!m) outcome = { kind: 'error', detail: `pty-run.py gave no PTY-INPUT line: ${result.stderr.slice(-500)}` };
      else if (m[1]?.includes('nemoclaw-escape-sti')) hostEvidence = `input was injected into the terminal: ${m[1]}`;
    }
    hostEvidence ??= (await row.hostCheck?.(ctx, result)) ?? null;
    if (row.hostVerdict && !hostEvidence && result.code === 0 && !result.timedOut) {
      outcome = { kind: 'blocked', detail: `BLOCKED: the host check found nothing (workload said: ${result.stdout.trim().slice(0, 200)})` };
    }
    if (hostEvidence && outcome.kind !== 'escaped') outcome = { kind: 'escaped', detail: `host check: ${hostEvidence} (probe said: ${outcome.detail})` };

    const evs = mode !== 'unsandboxed' ? readEvents(events) : [];
    return { outcome, result, argv, events: evs, hostEvidence, limit };
  } finally {
    for (const c of cleanups) {
      try {
        c();
      } catch {
        // best effort
      }
    }
  }
}

/** Waits (up to 30 s) for native/build/nemoclaw-sandbox to exist again. */
async function helperReappears(): Promise<boolean> {
  const helper = path.join(ROOT, 'native/build/nemoclaw-sandbox');
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    if (fs.existsSync(helper)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** Whether an outcome is one of the expected ones ('killed:9' matches a kill by signal 9). */
export function matches(outcome: Outcome, expected: readonly string[]): boolean {
  const tag = outcome.kind === 'killed' ? `killed:${outcome.signal}` : outcome.kind;
  return expected.includes(tag);
}

export function report(row: ProbeRow, mode: Mode, r: RowRun): string {
  const ready = r.events.some((e) => e['type'] === 'ready');
  return [
    `probe ${row.id} (${mode}): ${r.outcome.kind}${r.outcome.kind === 'killed' ? `:${r.outcome.signal}` : ''}`,
    `  detail: ${r.outcome.detail}`,
    `  argv: ${r.argv.join(' ')}`,
    `  exit: ${r.result.code} signal: ${r.result.signal}${r.result.timedOut ? ` (killed at the time limit, ${r.limit.ms} ms)` : ''}`,
    r.limit.why ? `  time limit: ${r.limit.why}` : '',
    mode !== 'unsandboxed' ? `  events: ${r.events.map((e) => String(e['type'])).join(',') || '(none)'}${ready ? '' : ' (no ready event)'}` : '',
    r.result.stderr.trim() ? `  stderr: ${r.result.stderr.trim().slice(-800)}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}
