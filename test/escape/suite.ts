// Declares the vitest cases for every probe row in one mode; used by unsandboxed.test.ts and
// sandboxed.test.ts (two files, so vitest runs the two modes in parallel workers).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProbes, removeSuiteHome, startSharedFixtures, type SharedFixtures } from './harness.ts';
import { MAX_RUN_LIMIT_MS, foreignAbiRowExpect, hostHas, hostNeedRowExpect, probeForeignAbis, type Decision } from './host.ts';
import { PROBES, type Mode, type ProbeRow } from './probes.ts';
import { matches, report, runRow } from './runner.ts';

export function defineProbeSuite(mode: Mode): void {
  let build = '';
  let shared: SharedFixtures | undefined;
  const results: Array<{ id: string; category: string; expected: string[]; host?: string; outcome: string; detail: string }> = [];
  // Host facts are probed while the tests are collected, so that each title says what this host
  // makes a host-dependent row expect. Each test file (mode) probes for itself: same run, same host.
  const abis = probeForeignAbis();

  beforeAll(async () => {
    build = await buildProbes();
    shared = await startSharedFixtures(build);
  }, 120_000);

  afterAll(async () => {
    await shared?.close();
    if (build) fs.rmSync(build, { recursive: true, force: true });
    removeSuiteHome();
    const out = process.env['NEMOCLAW_ESCAPE_RESULTS'];
    if (out) {
      fs.mkdirSync(out, { recursive: true });
      fs.writeFileSync(path.join(out, `${mode}.json`), `${JSON.stringify(results, null, 1)}\n`);
    }
  });

  const decide = (row: ProbeRow, m: Mode = mode): Decision => {
    const base = m === 'unsandboxed' ? [row.unsandboxed] : row.knownGap ? ['escaped' as const] : row.sandboxed;
    if (row.foreignAbi) return foreignAbiRowExpect(abis[row.foreignAbi], m, base);
    if (row.hostNeed) return hostNeedRowExpect(row.hostNeed, hostHas(row.hostNeed), m, base);
    return { expect: base, applicable: true, why: '' };
  };
  const expected = (row: ProbeRow): string[] => decide(row).expect;
  const gap = (row: ProbeRow): string => (mode !== 'unsandboxed' && row.knownGap ? ` (KNOWN GAP: ${row.knownGap})` : '');
  const hostNote = (row: ProbeRow): string => (decide(row).why ? ` (${decide(row).why})` : '');
  const title = (row: ProbeRow): string => `${row.id} [${row.category}${row.anchors.length ? ` #${row.anchors.join(',#')}` : ''}] -> ${expected(row).join(' | ')}${gap(row)}${hostNote(row)}`;

  const check = async (row: ProbeRow): Promise<void> => {
    if (!shared) throw new Error('fixtures did not start');
    const r = await runRow(row, mode, shared, build);
    const tag = r.outcome.kind === 'killed' ? `killed:${r.outcome.signal}` : r.outcome.kind;
    const d = decide(row);
    results.push({ id: row.id, category: row.category, expected: d.expect, ...(d.why ? { host: d.why } : {}), outcome: tag, detail: r.outcome.detail.slice(0, 400) });
    const why = `${report(row, mode, r)}${d.why ? `\n  host: ${d.why}` : ''}`;
    expect(matches(r.outcome, d.expect), why).toBe(true);
    if (mode !== 'unsandboxed' && !d.applicable) {
      // Nothing to prove here only if the host really refuses what the row attempts: the row's own
      // probe, run on the host now, must be refused as the host fact says (and never escape).
      const host = await runRow(row, 'unsandboxed', shared, build);
      expect(matches(host.outcome, decide(row, 'unsandboxed').expect), `host run of a row the host fact calls not applicable\n${report(row, 'unsandboxed', host)}\n  host: ${d.why}`).toBe(true);
    }
    if (mode !== 'unsandboxed' && r.outcome.kind !== 'refused') {
      // The result must come from a sandbox that really started and said what it enforced.
      expect(r.events.some((e) => e['type'] === 'ready'), `no ready event from the helper\n${why}`).toBe(true);
      if (row.event) {
        const [type, field, value] = row.event;
        const seen = r.events.some((e) => e['type'] === type && String(e[field]) === value);
        expect(seen, `no ${type} event with ${field}=${value} for what was stopped\n${why}\n${JSON.stringify(r.events.filter((e) => e['type'] !== 'ready')).slice(0, 1500)}`).toBe(true);
      }
    }
  };

  const rows = mode === 'pooled' ? PROBES.filter((p) => poolRefusal(p) === null) : PROBES;
  describe.concurrent(`escape probes, ${mode}`, () => {
    for (const row of rows.filter((p) => !p.heavy)) it(title(row), () => check(row), 60_000);
  });
  describe(`escape probes, ${mode}, heavy (one at a time)`, () => {
    // A row whose limit scales with the host's speed may take up to MAX_RUN_LIMIT_MS, plus its sample.
    for (const row of rows.filter((p) => p.heavy)) it(title(row), () => check(row), row.timeLimit ? MAX_RUN_LIMIT_MS + 120_000 : 60_000);
  });
}

/**
 * Why a row cannot run pooled (null: it can). A pooled sandbox is never built for an exec
 * allowlist under `unmatched: deny|ask` (Landlock must know the command first: the helper refuses
 * `--await-argv` there, and the supervisor's pool starts those fresh), and pooled-run.ts takes no
 * `sandbox run` flags (--tty).
 */
export function poolRefusal(row: ProbeRow): string | null {
  if (row.policy === 'exec-allowlist' || row.policy === 'exec-allowlist-ask' || row.policy === 'exec-globstar-ask') return 'exec allowlist: never pooled';
  if ((row.sandboxFlags ?? []).length > 0) return `sandbox run flags ${(row.sandboxFlags ?? []).join(' ')}`;
  return null;
}
