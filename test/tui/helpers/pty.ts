// A program on a real pseudo-terminal (@lydell/node-pty) whose output feeds a screen emulator
// (@xterm/headless, convertEol off: the PTY already turns \n into \r\n), with its exit recorded.
import pty from '@lydell/node-pty';
import { afterEach } from 'vitest';
import { XtermStdout } from './xterm.ts';

export interface Run {
  p: pty.IPty;
  screen: XtermStdout;
  exit: Promise<{ exitCode: number; signal?: number }>;
  exited: { exitCode: number; signal?: number } | null;
}

/** Spawns `file args` on a `cols`x`rows` PTY (TERM xterm-256color); `exited` is set once it exits. */
export function spawnOnScreen(file: string, args: string[], cols: number, rows: number, opts: { cwd: string; env: Record<string, string> }): Run {
  const screen = new XtermStdout(cols, rows, { convertEol: false });
  const p = pty.spawn(file, args, { name: 'xterm-256color', cols, rows, cwd: opts.cwd, env: opts.env });
  p.onData((d) => screen.write(d));
  const run: Run = { p, screen, exit: Promise.resolve({ exitCode: -1 }), exited: null };
  run.exit = new Promise<{ exitCode: number; signal?: number }>((resolve) =>
    p.onExit((e) => {
      run.exited = e;
      resolve(e);
    }),
  );
  return run;
}

/**
 * For this test file: every run handed to the returned function is ended after each test
 * (SIGTERM, up to 5 s to exit, then SIGKILL) and its screen disposed. Returns the run it is given.
 */
export function endedAfterEach(): (run: Run) => Run {
  const running: Run[] = [];
  afterEach(async () => {
    for (const r of running.splice(0)) {
      if (!r.exited) {
        r.p.kill('SIGTERM');
        await Promise.race([r.exit, new Promise((res) => setTimeout(res, 5000))]);
        if (!r.exited) r.p.kill('SIGKILL');
      }
      r.screen.dispose();
    }
  });
  return (run) => {
    running.push(run);
    return run;
  };
}
