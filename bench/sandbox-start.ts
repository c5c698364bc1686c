// Start-up cost of a sandbox, measured side by side in one run (run: node bench/sandbox-start.ts
// on the project's Node 24, e.g. `npx node bench/sandbox-start.ts`; N=50 by default, first arg
// overrides). Rows:
//   helper  native/build/nemoclaw-sandbox with the default policy's binds on /bin/true
//   bwrap   bwrap --unshare-all --die-with-parent with the same binds, fresh /proc, minimal /dev,
//           tmpfs /tmp, the workspace bound read-write, a new session
//   cli     bin/nemoclaw sandbox run -- true (Node start-up, policy, verification, audit included)
// The helper and bwrap are interleaved so both see the same machine state; medians and the
// helper/bwrap ratio are printed (targets: ratio <= 1.0, cli median < 150 ms).
// `--compare BIN` adds another helper binary (e.g. one built from an earlier commit:
// `git archive REV native | tar -x -C DIR && make -C DIR/native`) to the same interleaved rounds,
// bare and with the default policy: before/after a change on the same machine state.
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSandboxSpec, helperPath, workloadEnv } from '../src/sandbox/index.ts';
import { bareHelperArgv } from './helper-argv.ts';
import { report } from './summary.ts';

const args = process.argv.slice(2);
const ci = args.indexOf('--compare');
const compare = ci >= 0 ? (args.splice(ci, 2)[1] ?? null) : null;
if (ci >= 0 && (compare === null || !existsSync(compare))) {
  process.stderr.write(`bench/sandbox-start: --compare needs a helper binary (got ${compare ?? 'nothing'})\n`);
  process.exit(2);
}
const N = Number(args[0] ?? 50);
const WARMUP = 5;
const root = fileURLToPath(new URL('..', import.meta.url));
if (spawnSync('bwrap', ['--version'], { stdio: 'ignore' }).status !== 0) {
  process.stderr.write('bench/sandbox-start: bwrap (the baseline) is missing; run: apt-get install -y bubblewrap  (or npm run setup as root)\n');
  process.exit(1);
}
const workspace = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-'));
const home = mkdtempSync(join(tmpdir(), 'nemoclaw-bench-home-'));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env, cwd: workspace });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')} ... exited ${r.status ?? r.signal}: ${String(r.stderr).trim()}`);
  return ms;
}

const spec = defaultSandboxSpec();
const helper = helperPath();
// Same isolation as bwrap --unshare-all (namespaces, binds) plus Landlock and seccomp, but no
// cgroup leaf: bwrap creates none, so this is the like-for-like row. The default policy's pids
// limit adds a cgroup v1 leaf (mkdir, attach, rmdir), measured on its own row.
const { pids: _pids, ...limitsWithoutCgroup } = spec.limits;
const helperArgs = bareHelperArgv({ ...spec, limits: limitsWithoutCgroup }, workspace, ['/bin/true']);
const helperDefaultArgs = bareHelperArgv(spec, workspace, ['/bin/true']);
// As nemoclaw runs it: the compiled seccomp filter from the cache (native/PROTOCOL.md).
const helperCachedArgs = ['--seccomp-cache', join(home, 'seccomp'), ...helperArgs];

// bwrap with the same view: symlinks (merged /usr) as symlinks, everything else bound read-only.
const bwrapArgs = ['--unshare-all', '--die-with-parent', '--new-session', '--clearenv'];
for (const p of spec.filesystem.readOnly) {
  if (!existsSync(p)) continue;
  if (lstatSync(p).isSymbolicLink()) bwrapArgs.push('--symlink', readlinkSync(p), p);
  else bwrapArgs.push('--ro-bind', p, p);
}
bwrapArgs.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--bind', workspace, workspace, '--chdir', workspace);
for (const [k, v] of Object.entries(workloadEnv({}))) bwrapArgs.push('--setenv', k, v);
bwrapArgs.push('/bin/true');

const cli = join(root, 'bin', 'nemoclaw');
const cliEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: home };

try {
  for (let i = 0; i < WARMUP; i++) {
    time(helper, helperArgs);
    time(helper, helperCachedArgs); // fills the cache
    time('bwrap', bwrapArgs);
    time(cli, ['sandbox', 'run', '--workspace', workspace, '--', 'true'], cliEnv);
  }
  const ours: number[] = [];
  const theirs: number[] = [];
  const oursDefault: number[] = [];
  const other: number[] = [];
  const otherDefault: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < N; i++) {
    ours.push(time(helper, helperArgs));
    cached.push(time(helper, helperCachedArgs));
    theirs.push(time('bwrap', bwrapArgs));
    oursDefault.push(time(helper, helperDefaultArgs));
    if (compare !== null) {
      other.push(time(compare, helperArgs));
      otherDefault.push(time(compare, helperDefaultArgs));
    }
  }
  const full: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < N; i++) {
    full.push(time(cli, ['sandbox', 'run', '--workspace', workspace, '--', 'true'], cliEnv));
    bare.push(time(process.execPath, ['-e', '0']));
  }
  const f = (x: number): string => `${x.toFixed(2)} ms`;
  const ratio = median(ours) / median(theirs);
  process.stdout.write(
    [
      `sandbox start-up, /bin/true, N=${N} each (medians)`,
      `  helper (nemoclaw-sandbox)        ${f(median(ours))}   (namespaces, binds, Landlock, seccomp; no cgroup)`,
      `  helper, seccomp filter cached    ${f(median(cached))}   (as nemoclaw runs it), ratio to bwrap ${(median(cached) / median(theirs)).toFixed(2)}`,
      `  bwrap --unshare-all              ${f(median(theirs))}`,
      `  ratio helper/bwrap               ${ratio.toFixed(2)}   (target <= 1.00) ${ratio <= 1 ? 'ok' : 'MISSED'}`,
      `  helper, default policy           ${f(median(oursDefault))}   (adds the pids cgroup leaf), ratio to bwrap ${(median(oursDefault) / median(theirs)).toFixed(2)}`,
      ...(compare !== null
        ? [
            `  --compare ${compare}: ${f(median(other))}, ratio to bwrap ${(median(other) / median(theirs)).toFixed(2)} (this helper: ${(median(ours) / median(other)).toFixed(2)}x it)`,
            `    with the default policy: ${f(median(otherDefault))}, ratio to bwrap ${(median(otherDefault) / median(theirs)).toFixed(2)} (this helper: ${(median(oursDefault) / median(otherDefault)).toFixed(2)}x it)`,
          ]
        : []),
      `  nemoclaw sandbox run -- true     ${f(median(full))}   (target < 150 ms) ${median(full) < 150 ? 'ok' : 'MISSED'}`,
      `  node -e 0 (Node start-up alone)  ${f(median(bare))}`,
      '',
    ].join('\n'),
  );
  report({ bench: 'sandbox-start', metric: 'helper start, /bin/true (median)', value: median(ours), unit: 'ms', ratio, baseline: 'bwrap', target: 'ratio <= 1.00', met: ratio <= 1 });
  report({ bench: 'sandbox-start', metric: 'sandbox run -- true (median)', value: median(full), unit: 'ms', ratio: median(full) / median(bare), baseline: 'node -e 0', target: '< 150 ms', met: median(full) < 150 });
} finally {
  rmSync(workspace, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
