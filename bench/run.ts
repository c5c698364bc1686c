// `npm run bench [-- NAME...] [--dir DIR] [--timeout S]`: runs every benchmark in bench/ (or the
// named ones) one after another on the project's Node, each in its own process with its output
// shown as it comes, then prints one table of the figures they reported (bench/summary.ts): value,
// ratio to the baseline measured in the same run, target, met. Exits 1 when a benchmark failed or
// missed a target it states. Benchmarks are never timed assertions in the test suite
// (docs/design.md "Testing and benchmarks"); this only gathers what they print.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOutcome } from './summary.ts';
import { SUMMARY_PREFIX, benchmarkFiles, parseRows, summaryTable } from './summary.ts';

function parseArgs(argv: string[]): { dir: string; names: string[]; timeoutS: number } {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  let timeoutS = 1800;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--dir') dir = argv[++i] ?? dir;
    else if (a === '--timeout') timeoutS = Number(argv[++i]);
    else names.push(a.replace(/\.ts$/, ''));
  }
  if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new Error('--timeout needs a positive number of seconds');
  return { dir, names, timeoutS };
}

/** Runs one benchmark, echoing its output except the summary lines, which it collects. */
function runOne(dir: string, file: string, timeoutS: number): Promise<BenchOutcome> {
  const name = file.replace(/\.ts$/, '');
  const t0 = performance.now();
  process.stdout.write(`\n== bench/${file}\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(dir, file)], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let all = '';
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      all += d;
      const lines = (partial + d).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (!l.startsWith(SUMMARY_PREFIX)) process.stdout.write(`${l}\n`);
    });
    const timer = setTimeout(() => {
      process.stderr.write(`bench/run: ${file} ran past ${timeoutS} s, killed\n`);
      child.kill('SIGKILL');
    }, timeoutS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (partial !== '' && !partial.startsWith(SUMMARY_PREFIX)) process.stdout.write(`${partial}\n`);
      resolve({ name, status: code, rows: parseRows(all), seconds: (performance.now() - t0) / 1000 });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      process.stderr.write(`bench/run: ${file}: ${err.message}\n`);
      resolve({ name, status: null, rows: [], seconds: 0 });
    });
  });
}

const { dir, names, timeoutS } = parseArgs(process.argv.slice(2));
const all = benchmarkFiles(dir);
const unknown = names.filter((n) => !all.includes(`${n}.ts`));
if (unknown.length > 0) {
  process.stderr.write(`bench/run: no benchmark ${unknown.join(', ')} (have: ${all.map((f) => f.replace(/\.ts$/, '')).join(', ')})\n`);
  process.exit(2);
}
const chosen = names.length > 0 ? all.filter((f) => names.includes(f.replace(/\.ts$/, ''))) : all;
const outcomes: BenchOutcome[] = [];
for (const f of chosen) outcomes.push(await runOne(dir, f, timeoutS));
process.stdout.write(`\n== summary (${outcomes.map((o) => `${o.name} ${o.seconds.toFixed(0)} s`).join(', ')})\n${summaryTable(outcomes)}\n`);
const failed = outcomes.some((o) => o.status !== 0 || o.rows.length === 0 || o.rows.some((r) => r.met === false));
process.exitCode = failed ? 1 : 0;
