// Shared set-up for the sandbox tests: the repository root, the CLI, temporary directories removed
// after the file, the exec-ask policy text, and a build of the native helper (`make -C native`),
// serialised with flock so that two test files starting together never compile into native/build
// at the same time.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn as ptySpawn } from '@lydell/node-pty';
import { afterAll } from 'vitest';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** The nemoclaw CLI of this checkout. */
export const bin = join(root, 'bin', 'nemoclaw');

/** Whether every directory above the checkout lets other users through (a clone under /root does not). */
function checkoutReachableByOthers(): boolean {
  for (let d = root; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * The command line that runs `argv` (whose first word is this checkout's `bin`) as an ordinary
 * user: `setpriv` to uid:uid. A checkout such users cannot reach (cloned under root's 0700 home,
 * as a newcomer in a container does) is bound, in a private mount namespace, at a directory they
 * can reach, so the test needs no change to the machine's permissions.
 */
let checkoutMountPoint: string | null = null;

export function asOrdinaryUser(argv: readonly string[], uid: number): [string, string[]] {
  const setpriv = ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
  if (checkoutReachableByOthers()) return [setpriv[0] as string, [...setpriv.slice(1), ...argv]];
  if (checkoutMountPoint === null) {
    const dir = mkdtempSync(join(tmpdir(), 'nemoclaw-checkout-'));
    chmodSync(dir, 0o755);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    checkoutMountPoint = dir;
  }
  const at = checkoutMountPoint;
  const rebased = argv.map((a) => (a === bin ? join(at, 'bin', 'nemoclaw') : a));
  const quoted = [...setpriv, ...rebased].map((w) => `'${w.replace(/'/g, "'\\''")}'`).join(' ');
  return ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind '${root}' '${at}' && exec ${quoted}`]];
}

/**
 * `sh -c script` as root in a mount namespace of its own (`unshare -m`, private propagation), so
 * that what it mounts (an overlay, a mask over /proc) is seen by nothing else. `$NEMOCLAW` is this
 * checkout's CLI; HOME and NEMOCLAW_HOME are `home`.
 */
export function inOwnMountNamespace(script: string, home: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NEMOCLAW_HOME: home, NEMOCLAW: bin },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One fresh directory under the system tmpdir per prefix, all removed (in order) after this test file. */
export function tempDirs(...prefixes: string[]): string[] {
  const dirs = prefixes.map((p) => mkdtempSync(join(tmpdir(), p)));
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return dirs;
}

/** A policy whose exec rule asks about every program but sh/dash. */
export const EXEC_ASK_POLICY = [
  'version: 1',
  'filesystem_policy: { include_workdir: true, read_only: [/usr, /bin, /lib, /lib64], read_write: [/tmp] }',
  'exec: { allow: ["/usr/bin/sh", "/usr/bin/dash"], unmatched: ask }',
  '',
].join('\n');

export interface HelperBuild {
  ok: boolean;
  output: string;
}

export function buildHelper(): HelperBuild {
  const lock = join(tmpdir(), 'nemoclaw-native-build.lock');
  const r = spawnSync('flock', [lock, 'make', '-s', '-C', join(root, 'native')], { encoding: 'utf8', timeout: 300_000 });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`;
  return { ok: r.status === 0 && existsSync(join(root, 'native', 'build', 'nemoclaw-sandbox')), output };
}

export interface PtyRun {
  code: number;
  /** Everything the CLI wrote to the terminal. */
  text: string;
}

/**
 * Runs the CLI on a real pseudo-terminal until it exits (30 s bound, then SIGKILL and a failure
 * showing the screen). `onScreen` sees the whole screen text after each chunk and may answer
 * through `write` (the operator typing).
 */
export function runCliOnPty(args: string[], opts: { cwd: string; env: Record<string, string>; cols?: number; onScreen?: (text: string, write: (s: string) => void) => void }): Promise<PtyRun> {
  return new Promise((resolve, reject) => {
    const p = ptySpawn(bin, args, { cols: opts.cols ?? 120, rows: 30, cwd: opts.cwd, env: { ...opts.env, TERM: 'xterm' } });
    let text = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`no exit; screen so far: ${text}`));
    }, 30_000);
    p.onData((d) => {
      text += d;
      opts.onScreen?.(text, (s) => p.write(s));
    });
    p.onExit(({ exitCode }) => {
      clearTimeout(timer);
      resolve({ code: exitCode, text });
    });
  });
}

/** An onScreen that gives every question ending in `prompt` the same answer, once each. */
export function answerEach(prompt: string, answer: string): (text: string, write: (s: string) => void) => void {
  let answered = 0;
  return (text, write) => {
    for (const asked = text.split(prompt).length - 1; answered < asked; answered++) write(`${answer}\r`);
  };
}
