// What a user waits for at the prompt: each `nemoclaw` verb's wall time next to `node -e 0` on the
// same Node, measured in the same run and interleaved round by round, so a busy host slows both
// (issue 23; docs/benchmarks.md "CLI start-up"). Run: `npx node bench/cli.ts [ROUNDS] [--ts]
// [--compare BIN]` (ROUNDS default 15, at most 200, after 2 warm-up rounds that fill the compile
// cache). Each row: the median and its ratio (the figure judged), then the fastest round's.
//   targets        every verb that starts no sandbox <= 1.5x node -e 0; `sandbox run -- true` <= 2x
//   --ts           also times the TypeScript entry (node src/cli/main.ts, what bin/nemoclaw falls
//                  back to when the build in dist/ is older than src/): the price of the sources
//   --cpu          CPU time (perf stat's task-clock, every thread of the command and its
//                  children) instead of wall time, for a host too busy for wall times to mean much
//   --compare BIN  also times another checkout's bin/nemoclaw in the same rounds (before/after a
//                  change: `git archive REV | tar -x -C DIR`, then link DIR/node_modules and
//                  DIR/native/build to this checkout's)
// The entry bin/nemoclaw chose this run (the build, or the sources when the build is stale) is
// printed first, so a figure is never taken from the fallback without saying so.
// The verbs that talk to the supervisor are timed twice: as a script sees them on a machine with
// no supervisor (they answer 3, or 1), and with one running (`(served)` rows: what a user waits
// for), a real `nemoclaw serve` in a second throwaway NEMOCLAW_HOME with one stopped sandbox and
// one running (for `NAME exec -- true`), started before the rounds and stopped after them.
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { staleness } from '../scripts/build.mjs';
import { ENGINE_FILE, loadEngine } from '../scripts/policy-engine.mjs';
import { defaultSandboxSpec, helperPath } from '../src/sandbox/index.ts';
import { channelHelperArgv } from './helper-argv.ts';
import { report } from './summary.ts';

const args = process.argv.slice(2);
const withTs = args.includes('--ts');
const cpu = args.includes('--cpu');
const compareAt = args.indexOf('--compare');
const compare = compareAt >= 0 ? args[compareAt + 1] : undefined;
if (compareAt >= 0 && compare === undefined) throw new Error('--compare needs the path of another bin/nemoclaw');
const ROUNDS = Math.min(200, Math.max(1, Number(args.find((a) => /^\d+$/.test(a)) ?? 15)));
const WARMUP = 2;
const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'nemoclaw');
const node = process.execPath;

// A sandbox's workspace must lie outside the checkout (the helper lives there), and the state
// goes to a throwaway NEMOCLAW_HOME; no supervisor runs there, so the verbs that need one answer 3
// (approvals: 1), as a script would see them on a machine without `nemoclaw serve`. The
// supervisor of the (served) rows has a home of its own.
const workspace = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-cli-'));
const home = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-cli-home-'));
const servedHome = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-cli-served-'));
const policy = join(workspace, 'policy.yaml');
writeFileSync(
  policy,
  ['version: 1', 'filesystem_policy:', '  read_write: [/tmp]', 'network_policies:', '  github:', '    endpoints: [{ host: api.github.com, port: 443, protocol: rest, access: read-only }]', '    binaries: [{ path: /usr/bin/curl }]', ''].join('\n'),
);
// Both entries share one compile cache, filled by the warm-up rounds, as bin/nemoclaw's would be.
// DOCKER_HOST names a socket nobody serves: `models list` answers 1 (no engine) on every host.
const env = { ...process.env, NEMOCLAW_HOME: home, NODE_COMPILE_CACHE: join(home, 'compile-cache'), DOCKER_HOST: `unix://${join(home, 'no-engine.sock')}` };
const servedEnv = { ...env, NEMOCLAW_HOME: servedHome };

// The floor under `sandbox run -- true` (bench/floor-run.mjs): Node spawning the same helper for
// the same default policy and workspace, with the ready/go handshake, then also with the least the
// audit's invariants cost per run (node:crypto, the signing key, a chained and signed append,
// fdatasync). Printed beside the verb, so its ratio can be read against what no CLI written in
// Node could go below here: nemoclaw's own work is the difference.
const floorDir = join(home, 'floor');
mkdirSync(join(floorDir, 'cache'), { recursive: true, mode: 0o700 });
const floorArgv = join(floorDir, 'argv.json');
writeFileSync(floorArgv, JSON.stringify([helperPath(), ...channelHelperArgv(defaultSandboxSpec(), workspace, join(floorDir, 'cache', 'seccomp'), ['true'])]));
const floorKey = join(floorDir, 'signing.pem');
writeFileSync(floorKey, generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
const floorScript = fileURLToPath(new URL('./floor-run.mjs', import.meta.url));
const FLOORS = [
  { name: 'floor: node spawning the helper (ready, go)', argv: [floorScript, floorArgv] },
  { name: 'floor: the same + the audit\'s crypto and fdatasync', argv: [floorScript, floorArgv, floorKey, join(floorDir, 'audit.log')] },
];

interface Verb {
  args: string[];
  /** The exit status this verb gives here; another one means it did not run what we time. */
  status: number;
  /** Starts a sandbox: its own target (2x), the rest 1.5x. */
  sandbox?: boolean;
  /** Runs against the home with a supervisor. */
  served?: boolean;
}

// The verbs scripts and the headless mode call in loops, and a few that commander parses, each as
// it runs on a machine with no supervisor. A new verb is one row.
const VERBS: Verb[] = [
  { args: ['--version'], status: 0 },
  { args: ['--help'], status: 0 },
  { args: ['policy', 'validate', policy], status: 0 },
  { args: ['policy', 'explain', policy], status: 0 },
  { args: ['list'], status: 0 },
  { args: ['approvals', 'list'], status: 1 },
  { args: ['bench-bot', 'status'], status: 3 },
  { args: ['bench-bot', 'logs'], status: 3 },
  { args: ['audit', 'verify'], status: 0 },
  { args: ['audit', 'tail'], status: 0 },
  { args: ['completion', 'bash'], status: 0 },
  // The listings and others outside those loops: the target is every verb's. Since 2026-12-06
  // the first four take the fast path too; `policy schema` to a pipe is the build's recording.
  { args: ['audit', 'checkpoints', '--last'], status: 0 },
  { args: ['providers', 'list'], status: 0 },
  { args: ['agents', 'list'], status: 0 },
  { args: ['policy', 'presets'], status: 0 },
  { args: ['models', 'list'], status: 1 },
  { args: ['policy', 'schema'], status: 0 },
  { args: ['sandbox', 'run', '--', 'true'], status: 0, sandbox: true },
  // With `nemoclaw serve` running: what a user waits for at the prompt.
  { args: ['list'], status: 0, served: true },
  { args: ['approvals', 'list'], status: 0, served: true },
  { args: ['bench-bot', 'status'], status: 0, served: true },
  { args: ['bench-bot', 'logs'], status: 0, served: true },
  // A command in a running sandbox, as scripts and the headless mode run them.
  { args: ['bench-runner', 'exec', '--', 'true'], status: 0, served: true },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

const perfOut = join(home, 'perf-stat.csv');

function time(cmd: string, argv: string[], status: number, served = false): number {
  const t0 = process.hrtime.bigint();
  // --cpu: the CPU time of the command and its children (perf's task-clock, every thread), not
  // the wall time: a host busy with other work stretches wall time, much less CPU time.
  const [file, list] = cpu ? ['perf', ['stat', '-x,', '-e', 'task-clock', '-o', perfOut, '--', cmd, ...argv]] : [cmd, argv];
  const r = spawnSync(file, list, { stdio: ['ignore', 'ignore', 'pipe'], env: served ? servedEnv : env, cwd: workspace });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== status) throw new Error(`${cmd} ${argv.join(' ')} exited ${r.status ?? r.signal}, expected ${status}: ${String(r.stderr).trim()}`);
  if (!cpu) return ms;
  const m = /^([\d.]+),msec,task-clock/m.exec(readFileSync(perfOut, 'utf8'));
  if (!m) throw new Error(`perf stat gave no task-clock: ${readFileSync(perfOut, 'utf8')}`);
  return Number(m[1]);
}

/** Which entry bin/nemoclaw runs now: the build, unless scripts/build.mjs would rebuild it (then a verb whose sources changed runs the sources). */
function entryInUse(): string {
  const why = staleness(root);
  if (why !== null) return `the TypeScript sources (${why}; npm run setup rebuilds)`;
  // The policy verbs' figures mean little with a code cache V8 refuses (scripts/policy-engine.mjs).
  const engine = join(root, 'dist', ENGINE_FILE);
  return `the build in dist/ (policy engine's code cache: ${existsSync(engine) ? loadEngine(pathToFileURL(engine), {}).cache : 'no engine script'})`;
}

/** `nemoclaw serve` for the (served) rows, answering, with the stopped sandbox bench-bot and the running bench-runner; fails after 30 s. */
async function startSupervisor(): Promise<ReturnType<typeof spawn>> {
  const sv = spawn(bin, ['serve'], { env: servedEnv, cwd: workspace, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  sv.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (sv.exitCode !== null) throw new Error(`nemoclaw serve exited ${sv.exitCode}: ${err.trim()}`);
      const r = spawnSync(bin, ['list', '--json'], { env: servedEnv, cwd: workspace, encoding: 'utf8', timeout: 10_000 });
      if (r.status === 0 && (JSON.parse(r.stdout) as { supervisor: boolean }).supervisor) break;
      if (Date.now() > deadline) throw new Error(`nemoclaw serve did not answer within 30 s: ${err.trim()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const c = spawnSync(bin, ['create', 'bench-bot', '--stopped', '--policy', policy, '--workspace', workspace, '--', 'true'], { env: servedEnv, cwd: workspace, encoding: 'utf8', timeout: 20_000 });
    if (c.status !== 0) throw new Error(`nemoclaw create bench-bot exited ${c.status ?? c.signal}: ${c.stderr.trim()}`);
    // The default policy (the bench's own reads only /tmp: no `sleep` to run).
    const r = spawnSync(bin, ['create', 'bench-runner', '--workspace', workspace, '--', 'sleep', '3600'], { env: servedEnv, cwd: workspace, encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new Error(`nemoclaw create bench-runner exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
    return sv;
  } catch (e) {
    await stopSupervisor(sv);
    throw e;
  }
}

/** SIGTERM, then SIGKILL if it has not exited within 10 s. */
async function stopSupervisor(sv: ReturnType<typeof spawn>): Promise<void> {
  if (sv.exitCode !== null || sv.signalCode !== null) return;
  const exited = new Promise<void>((r) => sv.once('exit', () => r()));
  sv.kill('SIGTERM');
  const timer = setTimeout(() => sv.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

const tsEntry = [
  '--disable-warning=ExperimentalWarning',
  join(root, 'src', 'cli', 'main.ts'),
];
let supervisor: ReturnType<typeof spawn> | undefined;
try {
  supervisor = await startSupervisor();
  process.stdout.write(`bench/cli: bin/nemoclaw runs ${entryInUse()}; ${ROUNDS} rounds after ${WARMUP} warm-up${compare ? `; compared: ${compare}` : ''}${cpu ? '; CPU time (perf stat task-clock), not wall time' : ''}\n`);
  const base: number[] = [];
  const built = VERBS.map(() => [] as number[]);
  const ts = VERBS.map(() => [] as number[]);
  const other = VERBS.map(() => [] as number[]);
  const floors = FLOORS.map(() => [] as number[]);
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    const keep = round >= WARMUP;
    const b = time(node, ['-e', '0'], 0);
    if (keep) base.push(b);
    FLOORS.forEach((fl, i) => {
      const t = time(node, fl.argv, 0);
      if (keep) floors[i]?.push(t);
    });
    VERBS.forEach((v, i) => {
      const t = time(bin, v.args, v.status, v.served);
      if (keep) built[i]?.push(t);
      if (withTs) {
        const s = time(node, [...tsEntry, ...v.args], v.status, v.served);
        if (keep) ts[i]?.push(s);
      }
      if (compare !== undefined) {
        const c = time(compare, v.args, v.status, v.served);
        if (keep) other[i]?.push(c);
      }
    });
  }
  const b = median(base);
  // The fastest round of each, beside the median: on a host busy with other work a round loses
  // time slices at random, and the more a verb runs the more it loses, so the medians' ratios
  // grow with the load; the minima's stay close to a quiet host's.
  const bMin = Math.min(...base);
  const f = (x: number): string => `${x.toFixed(1)} ms`.padStart(9);
  const lines = [`node -e 0 (baseline)${' '.repeat(22)}${f(b)}${' '.repeat(42)}min ${f(bMin)}`];
  VERBS.forEach((v, i) => {
    const m = median(built[i] ?? []);
    const limit = v.sandbox ? 2 : 1.5;
    const ratio = m / b;
    const met = ratio <= limit;
    const name = `nemoclaw ${v.args.map((a) => (a === policy ? 'FILE' : a)).join(' ')}${v.served ? ' (served)' : ''}`;
    const col = (label: string, xs: number[] | undefined): string => `   ${label} ${f(median(xs ?? []))} (${(median(xs ?? []) / b).toFixed(2)}x; min ${(Math.min(...(xs ?? [])) / bMin).toFixed(2)}x)`;
    const extra = `${withTs ? col('TypeScript entry', ts[i]) : ''}${compare !== undefined ? col('compared', other[i]) : ''}`;
    const least = Math.min(...(built[i] ?? []));
    lines.push(`${name.padEnd(42)}${f(m)}  ${ratio.toFixed(2)}x  (target <= ${limit}x) ${met ? 'ok    ' : 'MISSED'}   min ${f(least)} ${(least / bMin).toFixed(2)}x${extra}`);
    report({ bench: 'cli', metric: `${name} (median${cpu ? ' CPU time' : ''})`, value: m, unit: 'ms', ratio, baseline: 'node -e 0', target: `ratio <= ${limit}`, met });
    if (v.sandbox) {
      FLOORS.forEach((fl, j) => {
        const fm = median(floors[j] ?? []);
        const least = Math.min(...(floors[j] ?? []));
        lines.push(`  ${fl.name.padEnd(60)}${f(fm)}  ${(fm / b).toFixed(2)}x${' '.repeat(24)}min ${f(least)} ${(least / bMin).toFixed(2)}x`);
        report({ bench: 'cli', metric: `${fl.name} (median${cpu ? ' CPU time' : ''})`, value: fm, unit: 'ms', ratio: fm / b, baseline: 'node -e 0' });
      });
    }
  });
  // A source edited during the run makes bin/nemoclaw run the sources from then on: say so rather
  // than pass those rounds off as the build's.
  const after = staleness(root);
  if (after !== null) lines.push(`WARNING: the build went stale during the run (${after}): later rounds ran the TypeScript sources`);
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  if (supervisor !== undefined) await stopSupervisor(supervisor);
  rmSync(workspace, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
  rmSync(servedHome, { recursive: true, force: true });
}
