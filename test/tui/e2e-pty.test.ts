// End to end in a real pseudo-terminal: scripts/tui-preview.ts (the demo workload) under
// @lydell/node-pty, its output fed to @xterm/headless. CI=true on purpose: Ink would render
// nothing to the TTY if runTui did not pass `interactive`.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnOnScreen } from './helpers/pty.ts';
import type { Run } from './helpers/pty.ts';
import { waitFor } from '../helpers/wait.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const preview = fileURLToPath(new URL('../../scripts/tui-preview.ts', import.meta.url));

const running: Run[] = [];
afterEach(() => {
  for (const r of running.splice(0)) {
    try {
      r.p.kill('SIGKILL');
    } catch {
      // already gone
    }
    r.screen.dispose();
  }
});

function launch(cols: number, rows: number, args: string[] = []): Run {
  const run = spawnOnScreen(process.execPath, ['--disable-warning=ExperimentalWarning', preview, '--fake-gpu', ...args], cols, rows, {
    cwd: root,
    env: { ...process.env, CI: 'true', TERM: 'xterm-256color', FAKE_NVIDIA_SMI_LOOPS: '300' } as Record<string, string>,
  });
  running.push(run);
  return run;
}

async function see(r: Run, text: string): Promise<void> {
  await waitFor(() => r.screen.text().includes(text), () => `"${text}" on the screen:\n${r.screen.text()}\nraw tail: ${JSON.stringify(r.screen.raw.slice(-400))}\nexited: ${JSON.stringify(r.exited)}`, { withinMs: 15_000 });
}

describe('tui-preview in a real pseudo-terminal', () => {
  it('pending approval -> a -> curl succeeds; resize; q quits and restores the terminal', async () => {
    const r = launch(100, 30);
    await see(r, 'curl -> api.example.com:443');
    await see(r, '● 1 pending');
    expect(r.screen.bufferType).toBe('alternate');

    r.p.write('a');
    await see(r, '✓ allow');
    await see(r, 'curl succeeded');
    await see(r, '○ 0 pending');

    r.p.resize(130, 40);
    r.screen.resize(130, 40);
    await waitFor(() => [...(r.screen.lines()[0] ?? '')].length === 130 && r.screen.text().includes('8 Agent chat'), 'layout at 130x40');
    r.p.resize(70, 20);
    r.screen.resize(70, 20);
    await see(r, 'need 80x24, have 70x20');
    r.p.resize(100, 30);
    r.screen.resize(100, 30);
    await see(r, '8 Agent chat');

    r.p.write('q');
    const { exitCode } = await r.exit;
    expect(exitCode).toBe(0);
    await r.screen.flush();
    expect(r.screen.raw).toContain('\u001b[?1049l');
    expect(r.screen.bufferType).toBe('normal');
  });

  it('SIGTERM restores the terminal and exits 143', async () => {
    const r = launch(80, 24);
    await see(r, 'curl -> api.example.com');
    r.p.kill('SIGTERM');
    const result = await r.exit;
    expect(result).toMatchObject({ exitCode: 143 });
    await r.screen.flush();
    expect(r.screen.raw).toContain('\u001b[?1049l');
    expect(r.screen.bufferType).toBe('normal');
  });

  it('a crash restores the terminal, then reports the error (exit 70)', async () => {
    // The crash comes once the screen is drawn (on SIGUSR2), not after a fixed time.
    const r = launch(80, 24, ['--crash-on-sigusr2']);
    await see(r, '2 Approvals');
    r.p.kill('SIGUSR2');
    const result = await r.exit;
    expect(result).toMatchObject({ exitCode: 70 });
    await r.screen.flush();
    expect(r.screen.bufferType).toBe('normal');
    expect(r.screen.raw).toContain('\u001b[?1049l');
    expect(r.screen.text()).toContain('simulated crash');
  });
});
