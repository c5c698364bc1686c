// `nemoclaw NAME logs` on the operator's terminal (issue 18). A sandbox's output is untrusted: a
// workload that prints OSC 52 (write the clipboard), OSC 0/2 (set the title), CSI 2J/H (clear the
// screen), DECSET (alternate screen, mouse tracking, bracketed paste, cursor keys), an 8-bit C1
// CSI and bidi overrides must leave the operator's terminal as it was, with the text readable.
// The terminal is a real PTY read by a terminal emulator (@xterm/headless), so what is asserted is
// what a terminal does with the bytes, not how they look in a string.
//
// The control (`logs --raw`, the same bytes on purpose) shows that each attack does reach the
// emulator and is detected there: title changed, clipboard asked, screen cleared, modes set.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, MAIN, NODE, serveFresh, until } from '../supervisor/harness.ts';
import type { Served } from '../supervisor/harness.ts';
import { spawnOnScreen } from '../tui/helpers/pty.ts';
import type { Run } from '../tui/helpers/pty.ts';
import { waitFor } from '../tui/helpers/wait.ts';

const ESC = '\u001b';
const BEL = '\u0007';
/** What the workload prints, on stdout and again on stderr: every attack, each between readable words. */
const PAYLOAD = [
  `clip:${ESC}]52;c;cHduZWQ=${BEL}`,
  `icon:${ESC}]0;PWNED-ICON${BEL}`,
  `title:${ESC}]2;PWNED${BEL}`,
  `clear:${ESC}[2J${ESC}[H`,
  `modes:${ESC}[?1000h${ESC}[?2004h${ESC}[?1h${ESC}[?7l${ESC}[?1049h`,
  'c1:\u009b?66h',
  'bidi:\u202eevil.exe\u202c\u2066iso\u2069',
  'END-OF-PAYLOAD',
].join(' ');

const COLS = 400;
const ROWS = 20;
const MARKER = 'OPERATOR-SCREEN-BEFORE-LOGS';

interface Seen {
  run: Run;
  titles: string[];
  clipboard: string[];
}

let sv: Served;
let ws: string;
const runs: Run[] = [];

beforeAll(async () => {
  ({ sv, ws } = await serveFresh());
  writeFileSync(join(ws, 'payload'), `${PAYLOAD}\n`);
  const c = await cli(sv.home, ['create', 'noisy', '--workspace', ws, '--', '/bin/sh', '-c', 'cat payload; cat payload >&2; exec sleep 1000']);
  expect(c.code, c.stderr).toBe(0);
  // Both lines are in the log before any test looks at it.
  await until('both payload lines in the log', async () => {
    const r = await cli(sv.home, ['noisy', 'logs', '--json']);
    return r.stdout.split('\n').filter((l) => l.includes('END-OF-PAYLOAD')).length === 2;
  });
}, 120_000);

afterAll(async () => {
  for (const r of runs) {
    if (!r.exited) r.p.kill('SIGKILL');
    r.screen.dispose();
  }
  await sv?.stop();
});

/** `nemoclaw noisy logs ARGS` on a fresh PTY whose screen already shows MARKER; watches title and clipboard requests. */
function logsOnTerminal(args: string[]): Seen {
  const env = { ...process.env, NEMOCLAW_HOME: sv.home, TERM: 'xterm-256color' } as Record<string, string>;
  const run = spawnOnScreen(NODE, ['--disable-warning=ExperimentalWarning', MAIN, 'noisy', 'logs', ...args], COLS, ROWS, { cwd: ws, env });
  runs.push(run);
  const seen: Seen = { run, titles: [], clipboard: [] };
  run.screen.term.write(`${MARKER}\r\n`);
  run.screen.term.onTitleChange((t) => seen.titles.push(t));
  run.screen.term.parser.registerOscHandler(52, (data) => {
    seen.clipboard.push(data);
    return true;
  });
  return seen;
}

async function finished(s: Seen): Promise<void> {
  const e = await s.run.exit;
  expect(e.exitCode, s.run.screen.text()).toBe(0);
  await s.run.screen.flush();
}

/** The terminal is as it was before `logs` ran: no title, no clipboard request, same screen, default modes. */
function expectUntouched(s: Seen): void {
  const term = s.run.screen.term;
  const why = `screen:\n${s.run.screen.text()}\nraw: ${JSON.stringify(s.run.screen.raw)}`;
  expect(s.titles, why).toEqual([]);
  expect(s.clipboard, why).toEqual([]);
  expect(s.run.screen.bufferType, why).toBe('normal');
  expect(s.run.screen.lines()[0], why).toBe(MARKER); // neither cleared nor overwritten from the home position
  expect(term.modes, why).toMatchObject({
    mouseTrackingMode: 'none',
    bracketedPasteMode: false,
    applicationCursorKeysMode: false,
    applicationKeypadMode: false,
    wraparoundMode: true,
  });
}

/** Each attack is shown as text on the screen: the operator can read what the workload tried. */
function expectReadable(s: Seen): void {
  const text = s.run.screen.text();
  const lines = text.split('\n').filter((l) => l.includes('END-OF-PAYLOAD'));
  expect(lines.length, text).toBe(2); // stdout and stderr, one line each
  for (const l of lines) {
    expect(l).toContain('clip:\\x1b]52;c;cHduZWQ=\\x07');
    expect(l).toContain('title:\\x1b]2;PWNED\\x07');
    expect(l).toContain('clear:\\x1b[2J\\x1b[H');
    expect(l).toContain('modes:\\x1b[?1000h');
    expect(l).toContain('c1:\\u009b?66h');
    expect(l).toContain('bidi:\\u202eevil.exe\\u202c\\u2066iso\\u2069');
    expect(l).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  }
}

describe('nemoclaw NAME logs on the operator terminal', { timeout: 60_000 }, () => {
  it('control: --raw passes the bytes on, and the terminal model sees every attack', async () => {
    const s = logsOnTerminal(['--raw']);
    await finished(s);
    expect(s.titles).toContain('PWNED');
    expect(s.clipboard).toContain('c;cHduZWQ=');
    expect(s.run.screen.bufferType).toBe('alternate');
    expect(s.run.screen.term.modes).toMatchObject({ mouseTrackingMode: 'vt200', bracketedPasteMode: true, applicationCursorKeysMode: true, applicationKeypadMode: true, wraparoundMode: false });
  });

  it('logs: title, clipboard, screen and modes untouched; every attack readable as text', async () => {
    const s = logsOnTerminal([]);
    await finished(s);
    expectUntouched(s);
    expectReadable(s);
  });

  it('logs --follow: the same, while following', async () => {
    const s = logsOnTerminal(['--follow']);
    await waitFor(() => s.run.screen.raw.split('END-OF-PAYLOAD').length === 3, () => `both lines written:\n${JSON.stringify(s.run.screen.raw)}`);
    s.run.p.kill('SIGINT');
    await finished(s);
    expectUntouched(s);
    expectReadable(s);
  });

  it('to a pipe, logs keeps the bytes (redirecting logs on purpose)', async () => {
    const r = await cli(sv.home, ['noisy', 'logs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${PAYLOAD}\n`);
    expect(r.stderr).toBe(`${PAYLOAD}\n`);
  });
});
