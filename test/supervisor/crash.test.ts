// SIGKILL the supervisor while sandboxes run (one with an exec session open): every sandbox
// process is gone (PDEATHSIG chain: helper -> init -> everything in the pid namespace), the
// state on disk is consistent when a new supervisor comes back (restart policies applied), and
// nothing is left pending.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SandboxView } from '../../src/supervisor/index.ts';
import { cli, events, freshHome, pidsWith, serve, workspace } from './harness.ts';
import { waitFor } from '../helpers/wait.ts';

describe('supervisor crash', { timeout: 120_000 }, () => {
  it('SIGKILL: no sandbox process left; restart policies applied when it comes back', async () => {
    const home = freshHome();
    const ws = workspace(home);
    const marker = `${process.pid}${Date.now() % 100000}`;
    const sv = await serve(home);
    const mk = (name: string, restart: string, secs: string) => sv.api.call<{ sandbox: SandboxView }>('POST', '/v1/sandboxes', { name, workspace: ws, restart, command: ['sleep', secs] });
    let execd: ReturnType<typeof cli>;
    try {
      await mk('keep', 'always', `${marker}1`);
      await mk('once', 'never', `${marker}2`);
      await mk('fail', 'on-failure', `${marker}3`);
      // an exec'd process, and its session, inside "keep"
      execd = cli(home, ['keep', 'exec', '--', 'sleep', `${marker}4`]);
      await waitFor(() => pidsWith(`${marker}4`).length >= 2, 'exec running', { withinMs: 15_000 }); // the CLI's argv and the sandboxed sleep
      const before = [1, 2, 3, 4].flatMap((i) => pidsWith(`${marker}${i}`));
      expect(before.length).toBeGreaterThanOrEqual(5);
    } catch (err) {
      await sv.stop(); // a failure before the kill must not leave this supervisor running
      throw err;
    }

    sv.proc.kill('SIGKILL');
    await sv.exited;
    // Bounded poll: the kernel tears the sandboxes down asynchronously.
    const left = await waitFor(() => {
      const still = [1, 2, 3].flatMap((i) => pidsWith(`${marker}${i}`)).concat(pidsWith(`sleep\0${marker}4`));
      return still.length === 0 ? 'none' : null;
    }, 'sandbox processes gone', { everyMs: 20 });
    expect(left).toBe('none');
    await execd; // the CLI client saw its connection close

    // Disk still says what was running (the crash wrote nothing).
    const st = JSON.parse(readFileSync(join(home, 'sandboxes', 'keep', 'state.json'), 'utf8')) as { state: string };
    expect(st.state).toBe('running');

    const sv2 = await serve(home);
    try {
      const view = async (n: string) => (await sv2.api.call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${n}`)).sandbox;
      await waitFor(async () => (await view('keep')).state === 'running', 'keep restarted', { withinMs: 15_000 });
      await waitFor(async () => (await view('fail')).state === 'running', 'fail restarted', { withinMs: 15_000 });
      const once = await view('once');
      expect(once.state).toBe('exited');
      expect(once.lastExit?.reason).toBe('supervisor_lost');
      expect((await view('keep')).lastExit?.reason).toBe('supervisor_lost');
      expect(pidsWith(`${marker}1`).length).toBeGreaterThan(0);
      expect(pidsWith(`${marker}2`)).toEqual([]);
      expect((await sv2.api.call<{ items: unknown[] }>('GET', '/v1/approvals')).items).toEqual([]);
      const started = (await events(sv2.api)).find((e) => e.type === 'supervisor.started');
      expect(started).toMatchObject({ recovered: ['fail', 'keep'] });
    } finally {
      await sv2.stop();
    }
    // A clean stop takes its sandboxes down too, and they are recorded as coming back.
    expect([1, 3].flatMap((i) => pidsWith(`${marker}${i}`))).toEqual([]);
    const keep = JSON.parse(readFileSync(join(home, 'sandboxes', 'keep', 'state.json'), 'utf8')) as { state: string; desired: string; lastExit: { reason: string } };
    expect(keep).toMatchObject({ state: 'exited', desired: 'running', lastExit: { reason: 'supervisor_stopped' } });
  });
});
