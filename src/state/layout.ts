// The one layout of nemoclaw's state directory (NEMOCLAW_HOME, see home.ts) and the sandbox-name
// rule. Every component builds its paths from here, so the supervisor, the policy CLI and the
// audit log cannot drift apart:
//   run/supervisor.lock   the supervisor that owns this home (lock.ts: pid + start time)
//   run/api.sock          control API (HTTP/1.1 over a unix socket, 0600, directory 0700)
//   run/approvals.sock    the approval queue's control API
//   run/x/<id>            per-sandbox exec and egress proxy sockets (short: sun_path is 108 bytes)
//   sandboxes/<name>/     spec.json, state.json, pins.json, policy/ (revisions), home/, logs/
//   audit/                the hash-chained log (src/audit)
//   keys/                 signing keys, beside the log and never inside it (src/audit)
//   config.json           operator preferences (the TUI's layout and theme)
import { join } from 'node:path';
import { nemoclawHome } from './home.ts';

export interface HomePaths {
  home: string;
  run: string;
  lock: string;
  api: string;
  approvals: string;
  sockets: string;
  sandboxes: string;
  audit: string;
  keys: string;
  config: string;
}

export function homePaths(home: string = nemoclawHome()): HomePaths {
  const run = join(home, 'run');
  return {
    home,
    run,
    lock: join(run, 'supervisor.lock'),
    api: join(run, 'api.sock'),
    approvals: join(run, 'approvals.sock'),
    sockets: join(run, 'x'),
    sandboxes: join(home, 'sandboxes'),
    audit: join(home, 'audit'),
    keys: join(home, 'keys'),
    config: join(home, 'config.json'),
  };
}

/** Sandbox names: what a shell, a path component and a DNS label all accept. */
export const NAME_RE = /^[a-z][a-z0-9-]{0,39}$/;

/** Top-level CLI verbs: a sandbox with one of these names could not be addressed as `nemoclaw <name> ...`. */
export const RESERVED_NAMES: readonly string[] = ['policy', 'sandbox', 'approvals', 'doctor', 'demo', 'audit', 'serve', 'onboard', 'create', 'list', 'events', 'completion', 'tui', 'help', 'providers', 'inference', 'agents', 'models'];

/** The rule in words, for refusals. */
export const NAME_RULE = "lower-case letters, digits and '-', starting with a letter, at most 40, not a nemoclaw command";

/** Whether a sandbox may have this name (the supervisor refuses to create any other). */
export function validName(name: string): boolean {
  return NAME_RE.test(name) && !RESERVED_NAMES.includes(name);
}

export interface SandboxPaths {
  dir: string;
  /** What was asked for; written once, and its presence is what makes the sandbox exist. */
  spec: string;
  state: string;
  pins: string;
  /** PolicyStore directory (revisions/). */
  policy: string;
  /** The sandbox's private HOME. */
  home: string;
  logs: string;
  /** {"ts","stream","line"} per line of the workload's output. */
  output: string;
}

/**
 * The files of one sandbox. Not the name rule (the supervisor also reaches leftovers such as
 * `.destroyed-<name>-<hex>`), but never a path outside sandboxes/: a name that is not a single
 * path component throws.
 */
export function sandboxPaths(paths: HomePaths, name: string): SandboxPaths {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw new Error(`not a sandbox directory name: ${JSON.stringify(name)}`);
  const dir = join(paths.sandboxes, name);
  const logs = join(dir, 'logs');
  return { dir, spec: join(dir, 'spec.json'), state: join(dir, 'state.json'), pins: join(dir, 'pins.json'), policy: join(dir, 'policy'), home: join(dir, 'home'), logs, output: join(logs, 'output.ndjson') };
}
