// Output helpers shared by every command: --json printing, showing untrusted text, and the
// documented exit codes.
import { inert, inertJson } from '../text/index.ts';
import type { InertOptions } from '../text/index.ts';

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
  process.stdout.write(`${jsonText(value, 2)}\n`);
}

/**
 * JSON as the CLI prints it: C1, DEL and bidi controls that JSON.stringify leaves raw are written
 * as \uXXXX (the same value for any parser), so `--json` on a terminal is inert too.
 */
export function jsonText(value: unknown, indent?: number): string {
  return inertJson(String(JSON.stringify(value, null, indent)));
}

/** Shows workload-controlled text; what it returns is what may be written. */
export type Show = (text: string, opts?: InertOptions) => string;

const asIs: Show = (text) => text;

/**
 * How to show text the workload controls (log lines, exec paths, hosts, file names) on `stream`:
 * inert (control characters and bidi overrides as visible escapes, src/text) when it is a
 * terminal, which is outside the sandbox and must not take orders from it; the exact text when it
 * is a pipe or a file, or when the operator asked for it (`logs --raw`). Each stream
 * decides for itself: `logs > file` still shows the stderr lines inert on the terminal.
 */
export function showOn(stream: { isTTY?: boolean }, raw = false): Show {
  return stream.isTTY === true && !raw ? inert : asIs;
}
