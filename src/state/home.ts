// Where nemoclaw keeps its state: $NEMOCLAW_HOME, or ~/.nemoclaw when it is unset or empty.
// Resolved here only, so every component (supervisor, one-shot `sandbox run`, the audit log, the
// policy CLI) agrees on one directory. The result is always absolute: a relative home would name a
// different directory for every working directory, so a CLI started elsewhere would miss the
// supervisor's lock and sockets, and the sandbox's "state is never writable" check would compare
// against the wrong place (docs/design.md, security invariants).
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** NEMOCLAW_HOME (or HOME, for the default) cannot give an absolute directory. */
export class HomeError extends Error {
  override name = 'HomeError';
}

function userHome(): string {
  const h = homedir(); // $HOME first: an empty or relative $HOME comes back as is
  if (isAbsolute(h)) return h;
  try {
    const p = userInfo().homedir;
    if (isAbsolute(p)) return p;
  } catch {
    // no passwd entry
  }
  throw new HomeError(`cannot place nemoclaw's state: HOME (${JSON.stringify(h)}) is not an absolute path; set NEMOCLAW_HOME to one`);
}

/** $NEMOCLAW_HOME (an empty value counts as unset), default ~/.nemoclaw; always absolute. */
export function nemoclawHome(env: NodeJS.ProcessEnv = process.env): string {
  const v = env['NEMOCLAW_HOME'];
  if (v === undefined || v === '') return join(userHome(), '.nemoclaw');
  if (!isAbsolute(v)) throw new HomeError(`NEMOCLAW_HOME must be an absolute path (got ${JSON.stringify(v)})`);
  return v;
}
