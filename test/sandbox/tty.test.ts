// Exec asks without a supervisor, on a real pseudo-terminal: the operator answers on /dev/tty.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXEC_ASK_POLICY, answerEach, runCliOnPty, tempDirs } from './build-helper.ts';
import type { PtyRun } from './build-helper.ts';
import { describe, expect, it } from 'vitest';
import { askWallTimeMs } from '../escape/host.ts';

// HOME and NEMOCLAW_HOME outside the workspace: a workspace holding either is refused.
const [scratch, stateHome] = tempDirs('nemoclaw-test-tty-', 'nemoclaw-test-home-') as [string, string];

/** Runs the CLI on a PTY, answering every exec question with `answer`; resolves with exit code,
 * screen text and how long after the start the first question was on the screen. */
function runOnPty(args: string[], answer: string | null): Promise<PtyRun & { askedAfterMs: number | null }> {
  const start = Date.now();
  let askedAfterMs: number | null = null;
  // The shell tries each PATH entry after a denial: every question gets the same answer.
  const answering = answer === null ? null : answerEach('[y/N]', answer);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: stateHome, NEMOCLAW_HOME: stateHome };
  return runCliOnPty(args, {
    cwd: scratch,
    env,
    onScreen: (text, write) => {
      if (text.includes('[y/N]')) askedAfterMs ??= Date.now() - start;
      answering?.(text, write);
    },
  }).then((r) => ({ ...r, askedAfterMs }));
}

describe('exec asks on a terminal (real helper, real PTY)', () => {
  const policy = join(scratch, 'ask.yaml');
  writeFileSync(policy, EXEC_ASK_POLICY);

  it.each([
    ['y', 'allowed', 'exec_allowed'],
    ['n', 'denied', 'exec_denied'],
  ])('answer %s: the exec is %s', async (answer, _what, eventType) => {
    const events = join(scratch, `ev-${answer}.ndjson`);
    const cmd = 'id -u >/dev/null; echo "id=$?"';
    const r = await runOnPty(['sandbox', 'run', '--policy', policy, '--workspace', scratch, '--events', events, '--', 'sh', '-c', cmd], answer);
    expect(r.text).toMatch(/allow exec of .*\/id \(pid \d+\)\? \[y\/N\]/);
    expect(r.code).toBe(0);
    expect(r.text).toContain(answer === 'y' ? 'id=0' : 'id=126');
    const types = readFileSync(events, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types).toContain(eventType);
  });

  it('--tty gives the command a terminal owned by the sandbox (without it: none)', async () => {
    const withTty = await runOnPty(['sandbox', 'run', '--tty', '--workspace', scratch, '--', 'sh', '-c', 'test -t 0 && test -t 1 && echo tty-ok'], 'n');
    expect(withTty.code).toBe(0);
    expect(withTty.text).toContain('tty-ok');
    const without = await runOnPty(['sandbox', 'run', '--workspace', scratch, '--', 'sh', '-c', 'tty || echo no-ctty'], 'n');
    expect(without.text).toContain('no-ctty');
  });

  it('an unanswered question ends with the sandbox (wall time), not 60 s later', async () => {
    // The wall time must outlast the question's way to the screen, and how long that takes is this
    // host's speed: time it first (answered, no limit), then scale the limit (askWallTimeMs).
    const timed = await runOnPty(['sandbox', 'run', '--policy', policy, '--workspace', scratch, '--', 'sh', '-c', 'id -u'], 'n');
    expect(timed.askedAfterMs, `no question on the screen: ${timed.text}`).not.toBeNull();
    const wallMs = askWallTimeMs(timed.askedAfterMs ?? 0);
    const limited = join(scratch, 'ask-wall.yaml');
    writeFileSync(limited, readFileSync(policy, 'utf8') + `limits: { wall_time: ${wallMs}ms, pids: 64 }\n`);
    const r = await runOnPty(['sandbox', 'run', '--policy', limited, '--workspace', scratch, '--', 'sh', '-c', 'id -u'], null);
    const why = `wall time ${wallMs} ms (unlimited, the question was on the screen after ${timed.askedAfterMs} ms): ${r.text}`;
    expect(r.text, why).toMatch(/\[y\/N\]/);
    expect(r.text, why).toContain('the sandbox ended; denied');
    expect(r.code, why).toBe(137);
  });
});
