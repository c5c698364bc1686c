// Output helpers shared by every command: --json printing and the documented exit codes.

/** Exit codes documented in README.md ("Exit codes"). */
export const exitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
  sandboxFailed: 125,
  notFound: 127,
} as const;

/** A mistake in how a command was called; printed as one line, exit 2. */
export class UsageError extends Error {}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
