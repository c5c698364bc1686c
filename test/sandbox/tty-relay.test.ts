// Without --tty the operator's terminal never enters the sandbox: the helper gets pipes for the
// terminal fds and nemoclaw relays (real CLI, real helper, real PTY via node-pty).
import { describe, expect, it } from 'vitest';
import { runCliOnPty, tempDirs } from './build-helper.ts';
import type { PtyRun } from './build-helper.ts';

// HOME and NEMOCLAW_HOME outside the workspace: a workspace holding either is refused.
const [scratch, stateHome] = tempDirs('nemoclaw-test-relay-', 'nemoclaw-test-home-') as [string, string];

/** Runs the CLI on a PTY; `feed` is written once `when` appears on the screen. */
function onPty(cmd: string[], feed: Array<[string, string]> = []): Promise<PtyRun> {
  const pending = [...feed];
  return runCliOnPty(['sandbox', 'run', '--workspace', scratch, '--', ...cmd], {
    cwd: scratch,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: stateHome, NEMOCLAW_HOME: stateHome },
    onScreen: (text, write) => {
      while (pending.length > 0 && text.includes((pending[0] as [string, string])[0])) write((pending.shift() as [string, string])[1]);
    },
  });
}

describe('terminal relay without --tty', () => {
  it('fds 0-2 of the workload are not terminals; its output and exit status still arrive', async () => {
    const r = await onPty(['sh', '-c', 'for fd in 0 1 2; do test -t $fd && echo "fd$fd=tty" || echo "fd$fd=pipe"; done; echo err >&2; exit 7']);
    expect(r.text).toContain('fd0=pipe');
    expect(r.text).toContain('fd1=pipe');
    expect(r.text).toContain('fd2=pipe');
    expect(r.text).toContain('err');
    expect(r.code).toBe(7);
  });

  it('what the operator types reaches the workload, and end-of-file (^D) too', async () => {
    const r = await onPty(['sh', '-c', 'echo ready; read line; echo "got=$line"; cat >/dev/null; echo eof-seen'], [
      ['ready', 'hello\r'],
      ['got=hello', '\x04'],
    ]);
    expect(r.text).toContain('got=hello');
    expect(r.text).toContain('eof-seen');
    expect(r.code).toBe(0);
  });

  it('a workload that never reads stdin ends the run at once (the terminal is not held)', async () => {
    const r = await onPty(['true']);
    expect(r.code).toBe(0);
  });
});
