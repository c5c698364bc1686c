// Colour output with chalk forced to full colour (the vitest worker's stdout is not a TTY, so
// chalk would otherwise emit nothing and prove nothing). FORCE_COLOR must be set before Ink and
// chalk load, hence the dynamic import.
import { afterEach, describe, expect, it } from 'vitest';
import { FakeStdin, XtermStdout } from './helpers/xterm.ts';
import { waitFor } from '../helpers/wait.ts';

process.env['FORCE_COLOR'] = '3';
const { startTui } = await import('../../src/tui/run.ts');
const { ScriptedDataSource } = await import('../../src/tui/store/scripted-source.ts');
const { demoScript } = await import('../../src/tui/store/demo-script.ts');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function sgrFor(theme: string | undefined, env: { NO_COLOR?: string } = {}): Promise<string[]> {
  const out = new XtermStdout(80, 24);
  const source = new ScriptedDataSource(demoScript({ loopTimes: 0 }), { speed: 4 });
  const saved = process.env['NO_COLOR'];
  if (env.NO_COLOR !== undefined) process.env['NO_COLOR'] = env.NO_COLOR;
  const handle = startTui({
    source,
    ...(theme !== undefined ? { theme } : {}),
    stdout: out as unknown as NodeJS.WriteStream,
    stdin: new FakeStdin() as unknown as NodeJS.ReadStream,
    telemetry: false,
    handleProcessEvents: false,
    captureConsole: false,
    store: { publishIntervalMs: 20 },
  });
  if (saved === undefined) delete process.env['NO_COLOR'];
  else process.env['NO_COLOR'] = saved;
  cleanups.push(async () => {
    handle.quit();
    await handle.exited;
    source.stop();
    out.dispose();
  });
  await waitFor(() => out.text().includes('ap-1'), 'first frame');
  // eslint-disable-next-line no-control-regex
  return [...out.raw.matchAll(/\u001b\[([0-9;]*)m/g)].map((m) => m[1] ?? '');
}

const isColour = (p: string): boolean => p.split(';').some((n) => /^(3[0-8]|4[0-8]|9[0-7]|10[0-7])$/.test(n));

describe('colours', () => {
  it('the default (ansi) theme uses the terminal palette: colours, but never 24-bit', async () => {
    const sgr = await sgrFor(undefined);
    expect(sgr.some(isColour)).toBe(true);
    expect(sgr.filter((p) => p.includes('38;2;') || p.includes('48;2;'))).toEqual([]);
  });

  it('NO_COLOR: no colours, focus still visible through bold/inverse', async () => {
    const sgr = await sgrFor(undefined, { NO_COLOR: '1' });
    expect(sgr.filter(isColour)).toEqual([]);
    expect(sgr.some((p) => p.split(';').includes('1') || p.split(';').includes('7'))).toBe(true);
  });

  it('an explicit theme overrides NO_COLOR', async () => {
    const sgr = await sgrFor('high-contrast', { NO_COLOR: '1' });
    expect(sgr.some(isColour)).toBe(true);
  });
});
