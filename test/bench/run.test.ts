// `npm run bench` (bench/run.ts): runs every benchmark in bench/ and prints one table of the
// figures they report (bench/summary.ts). Checked on stand-in benchmarks in a scratch directory
// (one meets its target, one misses, one crashes, one reports nothing) and on the real policy
// benchmark, the quickest; no figure is asserted, only that it is reported (benchmarks are never
// timed assertions, docs/design.md "Testing and benchmarks").
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NOT_BENCHMARKS, benchmarkFiles, parseRows, summaryTable } from '../../bench/summary.ts';
import { root } from '../sandbox/build-helper.ts';

const runner = join(root, 'bench', 'run.ts');
const scratch = mkdtempSync(join(tmpdir(), 'nemoclaw-test-bench-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const summary = join(root, 'bench', 'summary.ts');
writeFileSync(join(scratch, 'fast.ts'), `import { report } from ${JSON.stringify(summary)};\nconsole.log('fast: human line');\nreport({ bench: 'fast', metric: 'thing', value: 3, unit: 'ms', ratio: 0.5, baseline: 'other', target: '< 5 ms', met: true });\n`);
writeFileSync(join(scratch, 'slow.ts'), `import { report } from ${JSON.stringify(summary)};\nreport({ bench: 'slow', metric: 'thing', value: 9, unit: 'ms', target: '< 5 ms', met: false });\n`);
writeFileSync(join(scratch, 'crash.ts'), `console.log('about to fail');\nprocess.exit(3);\n`);
writeFileSync(join(scratch, 'quiet.ts'), `console.log('no figures');\n`);
writeFileSync(join(scratch, 'summary.ts'), `throw new Error('a helper module, never run');\n`);

function bench(...args: string[]): { status: number | null; stdout: string } {
  const r = spawnSync(process.execPath, [runner, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout };
}

describe('npm run bench', () => {
  it('package.json runs bench/run.ts, and every file in bench/ but the helpers is a benchmark it runs', () => {
    expect(spawnSync('npm', ['pkg', 'get', 'scripts.bench'], { cwd: root, encoding: 'utf8' }).stdout.trim()).toBe('"node bench/run.ts"');
    const files = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts'));
    expect(benchmarkFiles(join(root, 'bench'))).toEqual(files.filter((f) => !NOT_BENCHMARKS.includes(f)).sort());
    expect(benchmarkFiles(join(root, 'bench'))).toContain('sandbox-start.ts');
  });

  it('runs each benchmark, shows its own output, and ends with one table; a failure or a missed target exits 1', () => {
    const r = bench('--dir', scratch);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('fast: human line');
    expect(r.stdout).toContain('about to fail');
    expect(r.stdout).not.toContain('nemoclaw-bench {'); // machine lines go to the table only
    const table = r.stdout.slice(r.stdout.indexOf('== summary'));
    expect(table).toMatch(/\| fast +\| thing +\| 3\.00 ms \| 0\.50 \(other\) +\| < 5 ms \| yes \|/);
    expect(table).toMatch(/\| slow +\| thing +\| 9\.00 ms \| +\| < 5 ms \| NO +\|/);
    expect(table).toMatch(/\| crash +\| \(exit 3; see its output above\)/);
    expect(table).toMatch(/\| quiet +\| \(no figures reported; see its output above\)/);
    expect(table).not.toContain('summary |');
  });

  it('runs only the named benchmarks; an unknown name is refused with the list', () => {
    const r = bench('--dir', scratch, 'fast');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('about to fail');
    const bad = spawnSync(process.execPath, [runner, '--dir', scratch, 'nope'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('no benchmark nope (have: crash, fast, quiet, slow)');
  });

  it('the real policy benchmark reports its figure with ratio and target', () => {
    const r = bench('policy');
    const table = r.stdout.slice(r.stdout.indexOf('== summary'));
    expect(table).toMatch(/\| policy +\| egress decision p99, 500 rules \| [\d.]+ µs \| [\d.]+ \(linear scan\) \| < 10 µs \| (yes|NO) +\|/);
  });

  it('parseRows ignores malformed and foreign lines; summaryTable lines up columns', () => {
    const rows = parseRows('x\nnemoclaw-bench {bad\nnemoclaw-bench {"bench":"b","metric":"m","value":1234.5,"unit":"u"}\nnemoclaw-bench {"bench":"b"}\n');
    expect(rows).toEqual([{ bench: 'b', metric: 'm', value: 1234.5, unit: 'u' }]);
    const t = summaryTable([{ name: 'b', status: 0, rows, seconds: 1 }]).split('\n');
    expect(t).toHaveLength(3);
    expect(new Set(t.map((l) => l.length)).size).toBe(1);
    expect(t[2]).toContain('1,235 u');
  });
});
