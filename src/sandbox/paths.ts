// Which host paths a sandbox may be given to write, and which paths inside them stay read-only.
// Pure decision functions over tables; the facts they need (real paths, modes) are passed in so
// that every rule is unit-tested without touching the filesystem.
import { posix } from 'node:path';

/**
 * Shared system locations that are never a workspace or a read-write path: writing there
 * reaches other users' and programs' files (sockets in /tmp, system binaries, every home), and
 * reading there reaches everything below. `/tmp` and `/var/tmp` inside a policy's read_write mean
 * the sandbox's private tmpfs (argv.ts PRIVATE_TMPFS), so this table only bites the workspace and
 * other read-write binds, which are the host's own directories.
 */
export const SHARED_SYSTEM_DIRS: readonly string[] = [
  '/',
  '/tmp',
  '/var/tmp',
  '/dev/shm',
  '/home',
  '/root',
  '/etc',
  '/usr',
  '/var',
  '/proc',
  '/sys',
  '/dev',
  '/run',
  '/boot',
  '/opt',
  '/srv',
  '/mnt',
  '/media',
];

/**
 * Paths inside the workspace that the host runs or obeys later, outside any sandbox: git hooks
 * and config (core.hooksPath, core.fsmonitor, filter drivers run on the next `git status`),
 * attributes that select those filters, submodule URLs, editor task/launch settings, direnv, and
 * nemoclaw's own project files. The workload may read them but not change them (helper
 * `--protect`). Relative to the workspace.
 *
 * The helper can only protect what exists (a mount needs a mount point, and making one inside
 * the sandbox would write to the host anyway). So a missing entry whose absence is common and
 * whose empty placeholder changes nothing for git or the tools is created empty on the host
 * before the run (`placeholder`): directories (invisible to git) and `.envrc` (direnv asks
 * before it loads any new or changed .envrc). `inRepo`: only when `.git` is already a directory,
 * never turning a plain directory into something that looks like a repository. Entries without
 * a placeholder (.git/config, .gitmodules, .gitattributes: an empty one would show up in
 * `git status`) are protected when they exist.
 */
export interface ProtectedEntry {
  path: string;
  kind: 'dir' | 'file';
  placeholder: 'always' | 'inRepo' | 'never';
}

export const WORKSPACE_PROTECTED_TABLE: readonly ProtectedEntry[] = [
  { path: '.git/hooks', kind: 'dir', placeholder: 'inRepo' },
  { path: '.git/info', kind: 'dir', placeholder: 'inRepo' },
  { path: '.git/config', kind: 'file', placeholder: 'never' },
  { path: '.gitmodules', kind: 'file', placeholder: 'never' },
  { path: '.gitattributes', kind: 'file', placeholder: 'never' },
  { path: '.vscode', kind: 'dir', placeholder: 'always' },
  { path: '.idea', kind: 'dir', placeholder: 'always' },
  { path: '.envrc', kind: 'file', placeholder: 'always' },
  { path: '.nemoclaw', kind: 'dir', placeholder: 'never' },
];

export const WORKSPACE_PROTECTED: readonly string[] = WORKSPACE_PROTECTED_TABLE.map((e) => e.path);

/** Pure: the table entries to create as empty placeholders, given which exist (lstat) and whether `.git` is a real directory. */
export function placeholdersNeeded(exists: (rel: string) => boolean, gitIsDir: boolean): ProtectedEntry[] {
  return WORKSPACE_PROTECTED_TABLE.filter((e) => !exists(e.path) && (e.placeholder === 'always' || (e.placeholder === 'inRepo' && gitIsDir)));
}

function normalize(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** child is parent itself or lies beneath it. */
export function isSameOrUnder(child: string, parent: string): boolean {
  const c = normalize(child);
  const p = normalize(parent);
  return c === p || p === '/' || c.startsWith(`${p}/`);
}

export interface WritableFacts {
  /** The path as given (workspace or read-write bind). */
  path: string;
  /** Its real path (symlinks resolved), or the path itself when it does not exist. */
  real: string;
  /** st_mode of the real path, when it exists. */
  mode: number | null;
}

const S_ISVTX = 0o1000;
const S_IWOTH = 0o002;

/**
 * Why a path must not be handed to the sandbox for writing, or null. `home` is the operator's
 * HOME: binding it would give the workload ~/.ssh, ~/.bashrc and every credential store.
 */
export function sharedLocationRefusal(what: string, f: WritableFacts, home: string | null): string | null {
  for (const p of [normalize(f.path), normalize(f.real)]) {
    if (SHARED_SYSTEM_DIRS.includes(p)) return `${what}: ${f.path} is a shared system location; use a project directory`;
    if (home !== null && home !== '' && p === normalize(home)) return `${what}: ${f.path} is your home directory; use a project directory`;
  }
  // A world-writable sticky directory is another /tmp: other users' files and sockets live there.
  if (f.mode !== null && (f.mode & S_ISVTX) !== 0 && (f.mode & S_IWOTH) !== 0) {
    return `${what}: ${f.path} is a world-writable shared directory (sticky, like /tmp); use a project directory`;
  }
  return null;
}

/**
 * nemoclaw's own state (NEMOCLAW_HOME: audit log and its signing key) must never be writable by a
 * sandbox, nor contain one: a workload could rewrite its own audit trail. Real paths in.
 */
export function stateOverlapRefusal(what: string, writableReal: string, stateReal: string): string | null {
  if (isSameOrUnder(stateReal, writableReal)) return `${what}: ${writableReal} contains nemoclaw's state directory ${stateReal}; use another workspace or NEMOCLAW_HOME`;
  if (isSameOrUnder(writableReal, stateReal)) return `${what}: ${writableReal} lies inside nemoclaw's state directory ${stateReal}; use another workspace or NEMOCLAW_HOME`;
  return null;
}

/**
 * Why a path must not be shown to the sandbox even read-only, or null (real paths in). nemoclaw's
 * state holds the per-sandbox CA keys, the audit signing key and the proxy and control sockets: a
 * workload that could read a CA key could mint certificates its peers trust, and one that could
 * reach a proxy socket could write its own caller preamble. The operator's home holds ~/.ssh and
 * every credential store. `deliberate` lists state files the caller binds on purpose (the proxy's
 * CA trust bundle: certificates only).
 */
export function readOnlyRefusal(roReal: string, stateReal: string, home: string | null, deliberate: readonly string[]): string | null {
  const what = `read-only path ${roReal}`;
  if (isSameOrUnder(stateReal, roReal)) return `${what} contains nemoclaw's state directory ${stateReal} (CA keys, sockets); list narrower paths or move NEMOCLAW_HOME`;
  if (isSameOrUnder(roReal, stateReal) && !deliberate.some((d) => normalize(d) === normalize(roReal))) {
    return `${what} lies inside nemoclaw's state directory ${stateReal} (CA keys, sockets); nothing there may be bound into a sandbox`;
  }
  if (home !== null && home !== '' && normalize(home) !== '/' && isSameOrUnder(normalize(home), roReal)) {
    return `${what} contains your home directory ${home} (~/.ssh and every credential store); list the project directories you need instead`;
  }
  return null;
}

/**
 * Absolute paths to pass as `--protect`: the workspace's table entries plus any extra files
 * (the policy or blueprint file this run obeys) that lie inside a writable path. Deduplicated,
 * sorted so that argv is stable.
 */
export function protectedPaths(workspace: string | null, writable: readonly string[], extra: readonly string[]): string[] {
  const out = new Set<string>();
  if (workspace !== null) for (const rel of WORKSPACE_PROTECTED) out.add(posix.join(normalize(workspace), rel));
  for (const f of extra) {
    const n = normalize(f);
    if (writable.some((w) => n !== normalize(w) && isSameOrUnder(n, w))) out.add(n);
  }
  return [...out].sort();
}
