#!/usr/bin/env node
// Prints the plain closing line CI readers understand ("N passed, N failed") from the JSON
// report vitest writes next to its normal output. Plain JavaScript: runs on any Node.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'node_modules/.cache/nemoclaw/vitest-report.json';
try {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  process.stdout.write(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
} catch (err) {
  process.stdout.write(`tests: no report at ${file} (${err instanceof Error ? err.message : String(err)})\n`);
}
