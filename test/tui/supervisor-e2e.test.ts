// End to end with the built CLI (bin/nemoclaw) in real pseudo-terminals, against a real
// supervisor and a real sandbox: `nemoclaw tui --demo` runs a strict sandbox whose curl waits on
// an approval; a second `nemoclaw tui` attaches to the same supervisor; `a` in the first lets the
// curl through and both see the decision; resize; `q` restores the terminal. `tui --headless`
// prints NDJSON and never loads Ink (a module-resolution trace says so).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endedAfterEach, spawnOnScreen } from './helpers/pty.ts';
import type { Run } from './helpers/pty.ts';
import { waitFor } from '../helpers/wait.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(root, 'bin/nemoclaw');
const TRACE_HOOK = join(root, 'test/tui/fixtures/trace-modules.mjs');

const track = endedAfterEach();

/** A short NEMOCLAW_HOME (unix socket paths are limited) under the test file's private one. */
function freshHome(): string {
  return mkdtempSync(join(process.env.NEMOCLAW_HOME as string, 'h'));
}

function launch(home: string, cols: number, rows: number, args: string[]): Run {
  const run = spawnOnScreen(BIN, ['tui', ...args], cols, rows, {
    cwd: root,
    env: { ...process.env, NEMOCLAW_HOME: home, CI: 'true', TERM: 'xterm-256color', NEMOCLAW_NVIDIA_SMI: join(root, 'test/tui/fixtures/fake-nvidia-smi') } as Record<string, string>,
  });
  return track(run);
}

async function see(r: Run, text: string | RegExp): Promise<void> {
  const has = (): boolean => (typeof text === 'string' ? r.screen.text().includes(text) : text.test(r.screen.text()));
  await waitFor(has, () => `${String(text)} on the screen:\n${r.screen.text()}\nexited: ${JSON.stringify(r.exited)}`, { withinMs: 30_000 });
}

describe('nemoclaw tui against a real supervisor', () => {
  it('--demo: pending curl approval; a second tui attaches; a -> curl succeeds in both; resize; q restores', async () => {
    const home = freshHome();
    const first = launch(home, 160, 48, ['--demo', '--home', home, '--layout', 'approvals-first']);
    await see(first, /curl -> host\.nemoclaw\.internal:\d+/);
    await see(first, '● 1 pending');
    expect(first.screen.bufferType).toBe('alternate');
    // The denials of the scripted workload reached their feeds.
    await see(first, 'unshare');
    await see(first, '/admin');

    // A second TUI on the same NEMOCLAW_HOME attaches (the supervisor's lock says one runs).
    const second = launch(home, 120, 40, []);
    await see(second, /curl -> host\.nemoclaw\.internal:\d+/);
    await see(second, '● 1 pending');

    first.p.write('a');
    await see(first, '○ 0 pending');
    await see(first, '/report HTTP 200');
    // The decision made in the first TUI is reflected in the attached one.
    await see(second, '○ 0 pending');
    await see(second, '/report HTTP 200');

    second.p.write('q');
    expect((await second.exit).exitCode).toBe(0);
    await second.screen.flush();
    expect(second.screen.bufferType).toBe('normal');

    first.p.resize(100, 30);
    first.screen.resize(100, 30);
    await waitFor(() => [...(first.screen.lines()[0] ?? '')].length === 100 && first.screen.text().includes('Approvals'), () => `layout at 100x30:\n${first.screen.text()}`);
    first.p.resize(70, 20);
    first.screen.resize(70, 20);
    await see(first, 'need 80x24, have 70x20');
    first.p.resize(120, 40);
    first.screen.resize(120, 40);
    await see(first, 'Approvals');

    first.p.write('q');
    // Nothing pending any more: q quits without asking.
    expect((await first.exit).exitCode).toBe(0);
    await first.screen.flush();
    expect(first.screen.raw).toContain('\u001b[?1049l');
    expect(first.screen.bufferType).toBe('normal');
    // The in-process supervisor went with the TUI: its lock is released.
    expect(existsSync(join(home, 'run', 'supervisor.lock'))).toBe(false);
  }, 120_000);

  it('--headless: NDJSON on stdout, same events as serve --headless, Ink never loaded', async () => {
    const home = freshHome();
    const trace = join(home, 'modules.trace');
    // Runs until told to stop (--seconds 0), and is told once the demo's last step shows: no fixed window.
    const proc = spawn(BIN, ['tui', '--demo', '--headless', '--home', home, '--seconds', '0'], {
      env: { ...process.env, NEMOCLAW_HOME: home, NEMOCLAW_MODULE_TRACE: trace, NODE_OPTIONS: `--import=${TRACE_HOOK}` },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // Approve the demo's waiting curl through stdin, as with serve --headless.
    let approved = false;
    proc.stdout.on('data', () => {
      if (approved) return;
      const p = out.split('\n').filter((l) => l.includes('"approval.pending"'))[0];
      if (!p) return;
      approved = true;
      proc.stdin.write(`${JSON.stringify({ approve: (JSON.parse(p) as { item: { id: string } }).item.id })}\n`);
    });
    const exited = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    try {
      await waitFor(() => out.includes('/report HTTP 200'), () => `the approved curl's "/report HTTP 200" on stdout:\n${out}\nstderr:\n${err}`, { withinMs: 30_000 });
    } finally {
      proc.kill('SIGTERM');
    }
    expect(await exited, err).toBe(0);
    const lines = out.split('\n').filter((l) => l !== '');
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events[0]).toMatchObject({ type: 'supervisor.started', seq: 1 });
    expect(events.some((e) => e.type === 'sandbox.state' && e.state === 'running')).toBe(true);
    expect(events.some((e) => e.type === 'helper' && (e.event as { type: string }).type === 'syscall_denied')).toBe(true);
    expect(events.find((e) => e.type === 'decision.result')).toMatchObject({ ok: true, verdict: 'allow' });
    expect(events.some((e) => e.type === 'log' && String(e.line).includes('/report HTTP 200'))).toBe(true);
    const modules = readFileSync(trace, 'utf8');
    // bin/nemoclaw runs the build (dist/bundle/*/*.js, or dist/*.js without esbuild) while it is
    // fresh, the sources otherwise: either way the headless door is loaded and the TUI's never is.
    expect(modules).toMatch(/\/(src\/headless\/index\.ts|dist\/(bundle\/)?headless\/index\.js)\b/);
    expect(modules).not.toMatch(/node_modules\/(ink|react)\//);
    expect(modules).not.toMatch(/\/(src\/tui\/index\.ts|dist\/(bundle\/)?tui\/index\.js)\b/);
  }, 60_000);

  it('--headless attached to a running supervisor: the same stream, decisions on stdin reach it', async () => {
    const home = freshHome();
    // The owner: a headless demo (its own supervisor) that runs until told to stop.
    const owner = spawn(BIN, ['tui', '--demo', '--headless', '--home', home, '--seconds', '0'], { env: { ...process.env, NEMOCLAW_HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
    let ownerOut = '';
    owner.stdout.on('data', (d: Buffer) => (ownerOut += d.toString()));
    const ownerExit = new Promise<number | null>((r) => owner.on('exit', (c) => r(c)));
    try {
      await waitFor(() => ownerOut.includes('"approval.pending"'), () => `the owner's pending approval:\n${ownerOut}`, { withinMs: 30_000 });
      const client = spawn(BIN, ['tui', '--headless'], { env: { ...process.env, NEMOCLAW_HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      client.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const lines = (): Array<Record<string, unknown>> => out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      const pending = await waitFor(() => lines().find((l) => l.type === 'approval.pending'), () => `pending on the attached client:\n${out}`, { withinMs: 30_000 });
      expect(lines()[0]).toMatchObject({ type: 'supervisor.started', seq: 1 });
      client.stdin.write(`${JSON.stringify({ approve: (pending.item as { id: string }).id })}\n`);
      await waitFor(() => lines().find((l) => l.type === 'decision.result'), () => `decision result:\n${out}`, { withinMs: 30_000 });
      expect(lines().find((l) => l.type === 'decision.result')).toMatchObject({ ok: true, verdict: 'allow' });
      // The owner sees the decision made by the attached client, and the curl succeed.
      await waitFor(() => ownerOut.includes('"approval.decided"') && ownerOut.includes('/report HTTP 200'), () => `owner output:\n${ownerOut}`, { withinMs: 30_000 });
      client.kill('SIGTERM');
    } finally {
      owner.kill('SIGTERM');
      expect(await ownerExit).toBe(0);
    }
  }, 60_000);
});
