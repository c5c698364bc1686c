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

/**
 * A --since or --before value as ms since the epoch: an age (500ms, 30s, 10m, 2h, 7d) or a date
 * ("2026-11-22", "2026-11-22T01:00:00Z"). The one parser of every verb that takes such a flag
 * (audit, policy learn, NAME logs); here because output.ts is loaded by every verb anyway, and an
 * import from a verb's module would put that module in a chunk shared with the importer, one file
 * more for each of them to load (each costs ~0.3 ms, issue 23).
 */
export function parseSince(value: string, nowMs: number = Date.now()): number {
  const rel = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (rel !== null) {
    const unit = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[rel[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
    return nowMs - Number(rel[1]) * unit;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--since: not a time: ${value} (a duration such as 30s, 10m, 2h, 7d, or a date: 2026-11-22, RFC 3339)`);
  return t;
}

// process.stdout, once touched, builds a stream: node:stream and ~20 of Node's internal modules,
// and for a pipe a net.Socket (node:net) too, ~2 ms of a verb's start (issue 23); process.stderr
// the same. So `stdout` and `stderr` below write to fd 1 and 2 directly, and go over to the
// process stream the first time the fd does not take a whole write (EAGAIN on a non-blocking
// pipe, EPIPE...), for good, so that nothing written later overtakes what the stream still holds.
// Linux writes process.stdout and process.stderr synchronously to files, pipes and terminals, so
// code that writes through both keeps its order.
/** The status a reader going away ends the process with; null: not asked for (EPIPE is an error). */
let epipeStatus: number | null = null;

function attachEpipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(epipeStatus ?? exitCodes.ok);
    throw err;
  });
}

/** A writer of all of a text to fd 1 or 2 (see above). */
function directWriter(fd: 1 | 2, stream: () => NodeJS.WriteStream, onFallback: (err: NodeJS.ErrnoException) => void) {
  let viaStream = false;
  return {
    write(data: string | Uint8Array): void {
      if (viaStream) {
        stream().write(data);
        return;
      }
      const fs = process.getBuiltinModule('node:fs');
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let done = 0;
      try {
        while (done < bytes.length) done += fs.writeSync(fd, bytes, done);
      } catch (err) {
        onFallback(err as NodeJS.ErrnoException);
        viaStream = true;
        stream().write(bytes.subarray(done));
      }
    },
    get viaStream(): boolean {
      return viaStream;
    },
  };
}

const outWriter = directWriter(
  1,
  () => process.stdout,
  (err) => {
    if (epipeStatus === null) return;
    if (err.code === 'EPIPE') process.exit(epipeStatus);
    attachEpipe();
  },
);
const errWriter = directWriter(2, () => process.stderr, () => {});

/** Writes all of DATA (text, or bytes as they are) to stdout (see above). */
export function writeOut(data: string | Uint8Array): void {
  outWriter.write(data);
}

/**
 * From now on, stdout's reader going away (EPIPE) ends the process quietly with STATUS (0 unless
 * given): `nemoclaw audit tail | head`. Through process.stdout too, once writeOut uses it.
 */
export function exitQuietlyOnEpipe(status: number = exitCodes.ok): void {
  if (epipeStatus !== null) return;
  epipeStatus = status;
  if (outWriter.viaStream) attachEpipe();
}

const terminal: Record<1 | 2, boolean | undefined> = { 1: undefined, 2: undefined };

/**
 * process.stdout.isTTY (fd 1) or process.stderr.isTTY (fd 2) without building the stream when
 * the fd plainly is no terminal (a pipe, a file, /dev/null); any other character device gets the
 * real test.
 */
function fdIsTerminal(fd: 1 | 2): boolean {
  const known = terminal[fd];
  if (known !== undefined) return known;
  const fs = process.getBuiltinModule('node:fs');
  try {
    const st = fs.fstatSync(fd);
    if (!st.isCharacterDevice() || isDevNull(st)) return (terminal[fd] = false);
  } catch {
    // The fd closed: the real test decides.
  }
  return (terminal[fd] = (fd === 1 ? process.stdout : process.stderr).isTTY === true);
}

/** The character device /dev/null is (same device number), wherever the fd came from. */
function isDevNull(st: { isCharacterDevice(): boolean; rdev: number }): boolean {
  return st.isCharacterDevice() && st.rdev === process.getBuiltinModule('node:fs').statSync('/dev/null').rdev;
}

/**
 * Standard input is /dev/null, or there is none (fd 0 closed): nothing will ever be read from it,
 * known without building process.stdin (a stream; over /dev/null a file stream, ~3 ms).
 */
export function stdinAtEnd(): boolean {
  try {
    return isDevNull(process.getBuiltinModule('node:fs').fstatSync(0));
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EBADF';
  }
}

export function stdoutIsTerminal(): boolean {
  return fdIsTerminal(1);
}

/** stdout for showOn() and writing, as process.stdout would be, without building it (see above). */
export const stdout = {
  get isTTY(): boolean {
    return fdIsTerminal(1);
  },
  write: writeOut,
};

/** stderr for showOn() and writing, as process.stderr would be, without building it (see above). */
export const stderr = {
  get isTTY(): boolean {
    return fdIsTerminal(2);
  },
  write(data: string | Uint8Array): void {
    errWriter.write(data);
  },
};

export function printJson(value: unknown): void {
  writeOut(`${jsonText(value, 2)}\n`);
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
