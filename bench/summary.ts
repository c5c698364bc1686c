// The one summary `npm run bench` (bench/run.ts) prints: each benchmark reports its headline
// figures as machine-readable lines next to its own human-readable output, and the runner
// collects them into one table of value, baseline ratio and target. A line is
//   nemoclaw-bench {"bench":"policy","metric":"decision p99","value":0.4,"unit":"µs",...}
// so a benchmark stays runnable (and readable) on its own.
import { readdirSync } from 'node:fs';

export const SUMMARY_PREFIX = 'nemoclaw-bench ';

export interface SummaryRow {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  /** value relative to the baseline measured in the same run, and what that baseline is. */
  ratio?: number;
  baseline?: string;
  /** The target in words ("< 150 ms", ">= 0.80"), and whether this run met it. */
  target?: string;
  met?: boolean;
}

/** Prints one summary line (stdout); call once per headline figure. */
export function report(row: SummaryRow): void {
  process.stdout.write(`${SUMMARY_PREFIX}${JSON.stringify(row)}\n`);
}

/** The summary lines in a benchmark's output; anything else (and malformed lines) is ignored. */
export function parseRows(output: string): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith(SUMMARY_PREFIX)) continue;
    try {
      const r = JSON.parse(line.slice(SUMMARY_PREFIX.length)) as Partial<SummaryRow>;
      if (typeof r.bench === 'string' && typeof r.metric === 'string' && typeof r.value === 'number' && typeof r.unit === 'string') rows.push(r as SummaryRow);
    } catch {
      // not ours
    }
  }
  return rows;
}

/** Files in bench/ that are benchmarks (not this module, the runner or shared helpers). */
export const NOT_BENCHMARKS: readonly string[] = ['run.ts', 'summary.ts', 'helper-argv.ts'];

export function benchmarkFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_BENCHMARKS.includes(f))
    .sort();
}

export interface BenchOutcome {
  name: string;
  /** Exit status; null when killed (signal or time limit). */
  status: number | null;
  rows: SummaryRow[];
  seconds: number;
}

function fmt(v: number): string {
  const a = Math.abs(v);
  return a >= 1000 ? Math.round(v).toLocaleString('en') : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** The one table: a row per figure, and a row for a benchmark that failed or reported nothing. */
export function summaryTable(outcomes: readonly BenchOutcome[]): string {
  const header = ['benchmark', 'metric', 'value', 'ratio to baseline', 'target', 'met'];
  const lines: string[][] = [];
  for (const o of outcomes) {
    for (const r of o.rows) {
      lines.push([
        o.name,
        r.metric,
        `${fmt(r.value)} ${r.unit}`,
        r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}${r.baseline ? ` (${r.baseline})` : ''}`,
        r.target ?? '',
        r.met === undefined ? '' : r.met ? 'yes' : 'NO',
      ]);
    }
    if (o.status !== 0 || o.rows.length === 0) {
      const why = o.status === null ? 'killed' : o.status !== 0 ? `exit ${o.status}` : 'no figures reported';
      lines.push([o.name, `(${why}; see its output above)`, '', '', '', o.status === 0 ? '' : 'NO']);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}
