#!/usr/bin/env node
// Prints the plain closing line CI readers understand ("N passed, N failed") from the JSON
// report vitest writes next to its normal output, then names every test that did not run, with
// the reason its skipUnless() recorded (test/helpers/skip.ts): a skip is never silent. Under
// CI=true (CI runs as root with the helper built) any skip is a failure: exit status 1.
// Plain JavaScript: runs on any Node.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const file = process.argv[2] ?? 'node_modules/.cache/nemoclaw/vitest-report.json';
try {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  process.stdout.write(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  for (const f of report.testResults ?? []) {
    for (const t of f.assertionResults ?? []) {
      if (t.status === 'passed' || t.status === 'failed') continue;
      const why = t.meta?.skipReason ?? (t.status === 'todo' ? 'todo' : 'no reason recorded (skip with skipUnless() from test/helpers/skip.ts)');
      process.stdout.write(`  skipped: ${relative(process.cwd(), f.name)} > ${t.fullName}: ${why}\n`);
    }
  }
  if (skipped > 0 && process.env.CI === 'true') {
    process.stdout.write(`tests: CI runs every test, and ${skipped} did not run\n`);
    process.exitCode = 1;
  }
} catch (err) {
  process.stdout.write(`tests: no report at ${file} (${err instanceof Error ? err.message : String(err)})\n`);
}
