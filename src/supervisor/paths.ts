// Where the supervisor keeps things under NEMOCLAW_HOME (default ~/.nemoclaw):
//   run/supervisor.lock   pid of the supervisor that owns this home (O_EXCL, stale ones taken over)
//   run/api.sock          control API (HTTP/1.1 over a unix socket, 0600, directory 0700)
//   run/x/<id>            per-sandbox exec sockets and egress proxy sockets (short: sun_path is 108 bytes)
//   sandboxes/<name>/     spec.json, state.json, policy/ (revisions), home/, logs/
import { homedir } from 'node:os';
import { join } from 'node:path';

export function nemoclawHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.NEMOCLAW_HOME !== undefined && env.NEMOCLAW_HOME !== '' ? env.NEMOCLAW_HOME : join(homedir(), '.nemoclaw');
}

export interface HomePaths {
  home: string;
  run: string;
  lock: string;
  api: string;
  sockets: string;
  sandboxes: string;
}

export function homePaths(home: string = nemoclawHome()): HomePaths {
  const run = join(home, 'run');
  return { home, run, lock: join(run, 'supervisor.lock'), api: join(run, 'api.sock'), sockets: join(run, 'x'), sandboxes: join(home, 'sandboxes') };
}

/** Sandbox names: what a shell, a path component and a DNS label all accept. */
export const NAME_RE = /^[a-z][a-z0-9-]{0,39}$/;

/** Top-level CLI verbs: a sandbox with one of these names could not be addressed as `nemoclaw <name> ...`. */
export const RESERVED_NAMES: readonly string[] = ['policy', 'sandbox', 'approvals', 'doctor', 'demo', 'audit', 'serve', 'onboard', 'create', 'list', 'events', 'completion', 'tui', 'help'];

export function validName(name: string): boolean {
  return NAME_RE.test(name) && !RESERVED_NAMES.includes(name);
}

export function sandboxDir(paths: HomePaths, name: string): string {
  return join(paths.sandboxes, name);
}
