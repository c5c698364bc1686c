// The operator's terminal is part of the host: text a workload controls (here the path of an exec
// it wants approved) must reach it inert, never as escape sequences that retitle the window, clear
// the screen or draw a fake prompt (red-team case #1's family, through nemoclaw's own prompt).
// There is no unsandboxed counterpart: the prompt exists only around a sandbox. The control case
// (an ordinary unlisted path) proves that the question is asked and answered at all.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, PROBE_SRC, PYTHON, TMP, cliEnv, removeSuiteHome, run } from './harness.ts';

let ws = '';
beforeAll(async () => {
  ws = fs.mkdtempSync(path.join(TMP, 'nemoclaw-escape-opterm-'));
  const r = await run('gcc', ['-O1', '-Wall', '-Werror', '-static', '-o', path.join(ws, 'ask-inject'), path.join(PROBE_SRC, 'ask-inject.c')], { cwd: ws, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`build failed: ${r.stderr}`);
  fs.writeFileSync(
    path.join(ws, 'policy.yaml'),
    [
      'version: 1',
      'filesystem_policy:',
      '  include_workdir: true',
      '  read_only: [/usr, /bin, /lib, /lib64]',
      'landlock: { compatibility: hard_requirement }',
      `exec: { allow: [${JSON.stringify(path.join(ws, 'ask-inject'))}, "/bin/*"], unmatched: ask }`,
      '',
    ].join('\n'),
  );
}, 120_000);
afterAll(() => {
  if (ws) fs.rmSync(ws, { recursive: true, force: true });
  removeSuiteHome();
});

async function operatorSession(cmd: string[]): Promise<{ screen: string; code: number | null; text: string }> {
  const r = await run(PYTHON, [path.join(PROBE_SRC, 'pty-answer.py'), '[y/N]', 'n', CLI, 'sandbox', 'run', '--workspace', ws, '--policy', path.join(ws, 'policy.yaml'), '--', ...cmd], {
    cwd: ws,
    env: cliEnv(),
    timeoutMs: 60_000,
  });
  const screen = Buffer.from(r.stdout.trim(), 'hex').toString('utf8');
  return { screen, code: r.code, text: `exit ${r.code}\nterminal: ${JSON.stringify(screen)}\nstderr: ${r.stderr}` };
}

describe('nemoclaw prompts show workload-controlled text inert on the operator terminal', () => {
  it('control: an exec outside the allowlist is asked about on the terminal, and "n" denies it', async () => {
    const s = await operatorSession(['/bin/sh', '-c', '/usr/sbin/nologin; echo "exit=$?"']);
    expect(s.screen, s.text).toContain('[y/N]');
    expect(s.screen, s.text).not.toContain('This account is currently not available');
  }, 90_000);

  it('an exec path full of escape sequences reaches the terminal without a single ESC, BEL, C1 or bidi control', async () => {
    const s = await operatorSession(['./ask-inject']);
    expect(s.screen, s.text).toContain('[y/N]');
    expect(s.screen, s.text).toContain('NEMOCLAW-INJECTED-TITLE'); // shown, but inert
    expect(s.screen, s.text).toContain('FAKE-PROMPT\\u009b?1049h\\u202eexe.gnp'); // readable as what it is
    // The prompt is the only place the path is printed; the terminal's own CR/LF are the only controls left.
    const raw = [...s.screen].filter((ch) => /[\p{Cc}\p{Bidi_Control}]/u.test(ch) && ch !== '\r' && ch !== '\n');
    expect(raw, `raw control characters reached the operator's terminal\n${s.text}`).toEqual([]);
  }, 90_000);
});
