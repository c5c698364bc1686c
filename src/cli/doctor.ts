// `nemoclaw doctor [--json]`: prints src/sandbox's host checks as a table (or JSON) and exits 1
// when a check the sandbox cannot do without fails.
import type { Command } from 'commander';
import type { CheckResult } from '../sandbox/index.ts';
import { runDoctor } from '../sandbox/index.ts';
import { exitCodes, exitQuietlyOnEpipe, printJson, stdout } from './output.ts';

const MARK: Record<CheckResult['status'], string> = { pass: 'ok  ', warn: 'warn', fail: 'FAIL' };

function table(checks: CheckResult[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines: string[] = [];
  for (const c of checks) {
    lines.push(`${MARK[c.status]}  ${c.name.padEnd(width)}  ${c.detail}${c.required || c.status === 'pass' ? '' : '  (optional)'}`);
    if (c.status !== 'pass' && c.fix) lines.push(`${' '.repeat(width + 8)}fix: ${c.fix}`);
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check what this host offers the sandbox (kernel, Landlock, seccomp, namespaces, cgroups, helper, Docker, GPU)')
    .option('--json', 'print the checks as JSON')
    .action(async (flags: { json?: boolean }) => {
      // A listing: `| head` ends it quietly with status 0 (output.ts).
      exitQuietlyOnEpipe();
      const report = await runDoctor();
      if (flags.json) printJson(report);
      else {
        stdout.write(`${table(report.checks)}\n`);
        stdout.write(report.ok ? 'nemoclaw can run sandboxes here.\n' : 'nemoclaw cannot run sandboxes here: fix the FAIL rows above.\n');
      }
      process.exitCode = report.ok ? exitCodes.ok : exitCodes.failure;
    });
}
