// Full-screen layout at real sizes: the whole app (startTui) rendered into @xterm/headless.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startTui, type TuiHandle, type TuiPreferences } from '../../src/tui/run.ts';
import { demoScript } from '../../src/tui/store/demo-script.ts';
import { ScriptedDataSource } from '../../src/tui/store/scripted-source.ts';
import { waitFor } from '../helpers/wait.ts';
import { FakeStdin, XtermStdout } from './helpers/xterm.ts';

const fake = fileURLToPath(new URL('./fixtures/fake-nvidia-smi', import.meta.url));
const TITLES = ['1 Sandboxes', '2 Approvals', '3 Syscall denials', '4 Egress', '5 GPU & host', '6 Logs', '7 Audit', '8 Agent chat'];

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function start(cols: number, rows: number, extra: { theme?: string; ascii?: boolean } = {}): { handle: TuiHandle; out: XtermStdout; stdin: FakeStdin; source: ScriptedDataSource } {
  const out = new XtermStdout(cols, rows);
  const stdin = new FakeStdin();
  const source = new ScriptedDataSource(demoScript({ loopTimes: 20 }), { speed: 4 });
  process.env['FAKE_NVIDIA_SMI_LOOPS'] = '50';
  const handle = startTui({
    source,
    stdout: out as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    telemetry: { nvidiaSmi: fake, gpuIntervalMs: 200, hostIntervalMs: 500 },
    handleProcessEvents: false,
    captureConsole: false,
    store: { publishIntervalMs: 20 },
    ...extra,
  });
  cleanups.push(async () => {
    handle.quit();
    await handle.exited;
    source.stop();
    out.dispose();
  });
  return { handle, out, stdin, source };
}

async function screenHas(out: XtermStdout, text: string): Promise<void> {
  await waitFor(() => out.text().includes(text), () => `"${text}" on screen\n${out.text()}`);
}

describe('full screen through @xterm/headless', () => {
  for (const [cols, rows] of [
    [80, 24],
    [120, 40],
    [200, 60],
  ] as const) {
    it(`${cols}x${rows}: every pane title, nothing wraps, borders on the screen edges`, async () => {
      const { out } = start(cols, rows);
      await screenHas(out, 'ap-1');
      await screenHas(out, 'H100');
      await out.flush();
      expect(out.bufferType).toBe('alternate');
      const text = out.text();
      for (const t of TITLES) expect(text, t).toContain(t);
      expect(out.wrappedRows()).toEqual([]);
      const lines = out.lines();
      expect(lines).toHaveLength(rows);
      for (const l of lines) expect([...l].length).toBeLessThanOrEqual(cols);
      expect(lines[0]?.[0]).toBe('┌');
      expect([...(lines[0] ?? '')].at(-1)).toMatch(/[┐┓]/);
      expect([...(lines[rows - 2] ?? '')].at(-1)).toMatch(/[┘┛]/);
      expect(lines[rows - 1]).toContain('nemoclaw');
      expect(lines[rows - 1]).toContain('q quit');
    });
  }

  it('shows "terminal too small" below 80x24, and the panes again after growing', async () => {
    const { out } = start(120, 40);
    await screenHas(out, 'ap-1');
    out.resize(70, 20);
    await screenHas(out, 'terminal too small');
    await screenHas(out, 'need 80x24, have 70x20');
    expect(out.wrappedRows()).toEqual([]);
    out.resize(100, 30);
    await screenHas(out, '8 Agent chat');
    await out.flush();
    expect(out.text()).not.toContain('terminal too small');
    expect([...(out.lines()[0] ?? '')].length).toBe(100);
    expect(out.wrappedRows()).toEqual([]);
  });

  it('zoom, layout presets and the help overlay all fit the screen', async () => {
    const { out, stdin } = start(80, 24);
    await screenHas(out, 'ap-1');
    stdin.write('6z');
    await screenHas(out, 'zoom');
    expect(out.text()).not.toContain('1 Sandboxes');
    stdin.write('z:layout monitoring\r');
    await screenHas(out, 'monitoring');
    stdin.write('?');
    await screenHas(out, 'Esc/? close');
    await out.flush();
    expect(out.wrappedRows()).toEqual([]);
  });

  it('leaves the alternate screen when it quits', async () => {
    const { out, handle } = start(80, 24);
    await screenHas(out, 'ap-1');
    handle.quit();
    expect(await handle.exited).toEqual({ reason: 'quit' });
    await out.flush();
    expect(out.raw).toContain('\u001b[?1049h');
    expect(out.raw).toContain('\u001b[?1049l');
    expect(out.bufferType).toBe('normal');
  });

  it('no-colour theme: no colour sequences at all (colour.test.ts repeats this with colours forced on)', async () => {
    const { out } = start(80, 24, { theme: 'no-colour' });
    await screenHas(out, 'ap-1');
    // eslint-disable-next-line no-control-regex
    const sgr = [...out.raw.matchAll(/\u001b\[([0-9;]*)m/g)].map((m) => m[1] ?? '');
    const colours = sgr.filter((p) => p.split(';').some((n) => /^(3[0-8]|4[0-8]|9[0-7]|10[0-7])$/.test(n)));
    expect(colours).toEqual([]);
  });

  it('--ascii: nothing outside ASCII reaches the screen', async () => {
    const { out, stdin } = start(120, 40, { ascii: true });
    await screenHas(out, 'ap-1');
    await screenHas(out, 'H100');
    stdin.write('?');
    await screenHas(out, 'Esc/? close');
    await out.flush();
    const odd = [...out.text()].filter((c) => (c.codePointAt(0) ?? 0) > 0x7e);
    expect(odd).toEqual([]);
  });

  it('Ctrl-L repaints a screen something else wrote over', async () => {
    const { out, stdin, source } = start(100, 30);
    await screenHas(out, 'ap-1');
    source.stop(); // no new events: the rows under the garbage would not change by themselves
    out.term.write('\u001b[12;20HGARBAGE-FROM-ELSEWHERE');
    await screenHas(out, 'GARBAGE-FROM-ELSEWHERE');
    stdin.write('\u000c');
    // Ink erases its frame, then draws it again: wait for both.
    await waitFor(() => !out.text().includes('GARBAGE') && out.text().includes('3 Syscall denials'), () => `screen repainted\n${out.text()}`);
    expect(out.wrappedRows()).toEqual([]);
  });

  it('reports preference changes for the config, and starts from saved ones', async () => {
    const out = new XtermStdout(100, 30);
    const stdin = new FakeStdin();
    const source = new ScriptedDataSource(demoScript({ loopTimes: 0 }), { speed: 4 });
    const seen: TuiPreferences[] = [];
    const handle = startTui({
      source,
      stdout: out as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      telemetry: false,
      handleProcessEvents: false,
      captureConsole: false,
      preferences: { layout: 'approvals-first', hidden: ['chat'] },
      onPreferences: (p) => seen.push(p),
    });
    cleanups.push(async () => {
      handle.quit();
      await handle.exited;
      source.stop();
      out.dispose();
    });
    await screenHas(out, 'approvals-first');
    expect(handle.ui.getSnapshot().hidden).toEqual(['chat']);
    stdin.write(':layout monitoring\r');
    await waitFor(() => seen.some((p) => p.layout === 'monitoring'), 'layout change reported');
    stdin.write('T');
    await waitFor(() => seen.some((p) => p.theme !== 'ansi'), 'theme change reported');
    expect(seen.at(-1)?.hidden).toEqual(['chat']);
  });
});
