// Keeps the operator's terminal out of the sandbox. Without --tty, a workload that inherited a
// terminal as fd 0-2 could change its line discipline and termios, inject input (TIOCSTI is
// filtered, the rest of the tty ioctl surface is not) or read what the operator types to other
// programs later. So a terminal fd is never handed to the helper: the helper gets a pipe, and
// this process copies bytes between the pipe and the terminal (which stays in its own modes).
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';

export type StdioChoice = 'inherit' | 'pipe' | 'ignore';

export interface StdioFacts {
  /** isatty() of fds 0, 1, 2. */
  tty: readonly [boolean, boolean, boolean];
  /** Whether we are in the terminal's foreground process group (reading it would stop us otherwise). */
  foreground: boolean;
}

export interface StdioPlan {
  /** What the helper gets as fds 0-2. */
  stdio: [StdioChoice, StdioChoice, StdioChoice];
  /** Which of fds 0-2 we relay (terminal <-> pipe). */
  relay: [boolean, boolean, boolean];
}

/**
 * Pure: how fds 0-2 reach the helper. `pipe` mode (API callers such as the supervisor) and
 * `--tty` (the helper relays through a PTY of the sandbox's own) are unchanged. Otherwise a
 * terminal fd becomes a relayed pipe; a terminal stdin of a background job becomes /dev/null,
 * because reading it would stop nemoclaw with SIGTTIN (the workload reads EOF instead).
 */
export function planStdio(mode: 'inherit' | 'pipe', ptyRequested: boolean, f: StdioFacts): StdioPlan {
  if (mode === 'pipe') return { stdio: ['pipe', 'pipe', 'pipe'], relay: [false, false, false] };
  if (ptyRequested) return { stdio: ['inherit', 'inherit', 'inherit'], relay: [false, false, false] };
  const stdin: StdioChoice = !f.tty[0] ? 'inherit' : f.foreground ? 'pipe' : 'ignore';
  return {
    stdio: [stdin, f.tty[1] ? 'pipe' : 'inherit', f.tty[2] ? 'pipe' : 'inherit'],
    relay: [stdin === 'pipe', f.tty[1], f.tty[2]],
  };
}

/** Whether this process is in its terminal's foreground process group (/proc/self/stat pgrp == tpgid). */
export function inForeground(): boolean {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // After "pid (comm) ": state ppid pgrp session tty_nr tpgid ...; comm may hold spaces and ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[2] === fields[5];
  } catch {
    return false;
  }
}

export function stdioFacts(): StdioFacts {
  const tty = [isatty(0), isatty(1), isatty(2)] as const;
  // Only a terminal stdin asks whether we are in the foreground (planStdio reads it for nothing else).
  return { tty, foreground: tty[0] && inForeground() };
}

/** A running relay. `tap` diverts terminal input (e.g. to an exec question) while set. */
export interface InputRelay {
  tap(fn: ((chunk: Buffer) => void) | null): void;
  stop(): void;
}

/**
 * Starts copying: our stdin -> the helper's stdin pipe (EOF passed on), the helper's stdout and
 * stderr pipes -> our fds 1 and 2. Returns the input side (null when stdin is not relayed).
 */
export function startRelay(child: ChildProcess, relay: StdioPlan['relay']): InputRelay | null {
  if (relay[1]) child.stdout?.pipe(process.stdout, { end: false });
  if (relay[2]) child.stderr?.pipe(process.stderr, { end: false });
  if (!relay[0] || !child.stdin) return null;
  const sink = child.stdin;
  const input = process.stdin;
  let tapFn: ((chunk: Buffer) => void) | null = null;
  const onData = (chunk: Buffer): void => {
    if (tapFn !== null) tapFn(chunk);
    else if (!sink.writableEnded) sink.write(chunk);
  };
  const onEnd = (): void => {
    sink.end();
  };
  input.on('data', onData);
  input.on('end', onEnd);
  input.on('error', onEnd);
  return {
    tap(fn) {
      tapFn = fn;
    },
    stop() {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onEnd);
      // Stop reading the terminal so that nemoclaw can exit; nothing more goes anywhere.
      input.pause();
      (input as { unref?: () => void }).unref?.();
    },
  };
}
