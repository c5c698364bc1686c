// What the CLI shows of a sandbox's doings on the operator's terminal (issue 18). Output, exec
// paths, binary names and the hosts a workload asks for are untrusted: a workload that prints or
// names OSC 52 (write the clipboard), OSC 0/2 (set the title), CSI 2J/H (clear the screen),
// DECSET (alternate screen, mouse tracking, bracketed paste, cursor keys), an 8-bit C1 CSI or bidi
// overrides must leave the operator's terminal as it was, with the text readable. The terminal is
// a real PTY read by a terminal emulator (@xterm/headless), so what is asserted is what a terminal
// does with the bytes, not how they look in a string.
//
// Controls: `logs --raw` (the same bytes, on purpose) shows that each attack does reach the
// emulator and is detected there (title changed, clipboard asked, screen cleared, modes set); and
// each verb's output to a pipe still carries the exact bytes.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalQueue, serveApprovals } from '../../src/approvals/index.ts';
import type { ApprovalsServer } from '../../src/approvals/index.ts';
import { openAuditLog } from '../../src/audit/index.ts';
import { PolicyStore } from '../../src/policy/index.ts';
import { cli, freshHome, MAIN, NODE, serveFresh } from '../supervisor/harness.ts';
import type { CliResult, Served } from '../supervisor/harness.ts';
import { spawnOnScreen } from '../tui/helpers/pty.ts';
import type { Run } from '../tui/helpers/pty.ts';
import { waitFor } from '../helpers/wait.ts';

const ESC = '\u001b';
const BEL = '\u0007';
/** Every attack, each after a readable word. */
const ATTACKS = [
  `clip:${ESC}]52;c;cHduZWQ=${BEL}`,
  `icon:${ESC}]0;PWNED-ICON${BEL}`,
  `title:${ESC}]2;PWNED${BEL}`,
  `clear:${ESC}[2J${ESC}[H`,
  `modes:${ESC}[?1000h${ESC}[?2004h${ESC}[?1h${ESC}[?7l${ESC}[?1049h`,
  'c1:\u009b?66h',
  'bidi:\u202eevil.exe\u202c\u2066iso\u2069',
];
/** What the workload prints, on stdout and again on stderr. */
const PAYLOAD = [...ATTACKS, 'END-OF-PAYLOAD'].join(' ');
/** A file name a workload can give its own binary: every attack, no '/' and no NUL. */
const EVIL_NAME = ATTACKS.join('_');

/** Each attack as the operator reads it on the screen. */
const READABLE = [
  'clip:\\x1b]52;c;cHduZWQ=\\x07',
  'title:\\x1b]2;PWNED\\x07',
  'clear:\\x1b[2J\\x1b[H',
  'modes:\\x1b[?1000h\\x1b[?2004h\\x1b[?1h\\x1b[?7l\\x1b[?1049h',
  'c1:\\u009b?66h',
  'bidi:\\u202eevil.exe\\u202c\\u2066iso\\u2069',
];

const COLS = 1000; // wide enough that no line here wraps
const ROWS = 120; // tall enough that no verb here scrolls MARKER off the screen
const MARKER = 'OPERATOR-SCREEN-BEFORE';

interface Seen {
  run: Run;
  titles: string[];
  clipboard: string[];
}

const runs: Run[] = [];
afterAll(() => {
  for (const r of runs) {
    if (!r.exited) r.p.kill('SIGKILL');
    r.screen.dispose();
  }
});

/** `nemoclaw ARGS` on a fresh PTY whose screen already shows MARKER; records title and clipboard requests. */
function onTerminal(home: string, cwd: string, args: string[]): Seen {
  const env = { ...process.env, NEMOCLAW_HOME: home, TERM: 'xterm-256color' } as Record<string, string>;
  const run = spawnOnScreen(NODE, ['--disable-warning=ExperimentalWarning', MAIN, ...args], COLS, ROWS, { cwd, env });
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

async function finished(s: Seen, code = 0): Promise<void> {
  const e = await s.run.exit;
  expect(e.exitCode, s.run.screen.text()).toBe(code);
  await s.run.screen.flush();
}

/** The terminal is as it was before the verb ran: no title, no clipboard request, same screen, default modes. */
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

/** The screen lines that contain `anchor`: `count` of them, each showing every attack as text, none with a bidi control left. */
function expectReadable(s: Seen, anchor: string, count: number): void {
  const text = s.run.screen.text();
  const lines = text.split('\n').filter((l) => l.includes(anchor));
  expect(lines.length, text).toBe(count);
  for (const l of lines) {
    for (const r of READABLE) expect(l, text).toContain(r);
    expect(l).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  }
}

describe('nemoclaw NAME logs on the operator terminal', { timeout: 60_000 }, () => {
  let sv: Served;
  let ws: string;
  beforeAll(async () => {
    ({ sv, ws } = await serveFresh());
    writeFileSync(join(ws, 'payload'), `${PAYLOAD}\n`);
    const c = await cli(sv.home, ['create', 'noisy', '--workspace', ws, '--', '/bin/sh', '-c', 'cat payload; cat payload >&2; exec sleep 1000']);
    expect(c.code, c.stderr).toBe(0);
    // Both lines are in the sandbox's log file before any test looks at it.
    const log = join(sv.home, 'sandboxes', 'noisy', 'logs', 'output.ndjson');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').split('END-OF-PAYLOAD').length === 3, () => `both payload lines in ${log}`);
  }, 120_000);
  afterAll(async () => {
    await sv?.stop();
  });

  it('control: --raw passes the bytes on, and the terminal model sees every attack', async () => {
    const s = onTerminal(sv.home, ws, ['noisy', 'logs', '--raw']);
    await finished(s);
    expect(s.titles).toContain('PWNED');
    expect(s.clipboard).toContain('c;cHduZWQ=');
    expect(s.run.screen.bufferType).toBe('alternate');
    expect(s.run.screen.term.modes).toMatchObject({ mouseTrackingMode: 'vt200', bracketedPasteMode: true, applicationCursorKeysMode: true, applicationKeypadMode: true, wraparoundMode: false });
  });

  it('logs: title, clipboard, screen and modes untouched; every attack readable as text', async () => {
    const s = onTerminal(sv.home, ws, ['noisy', 'logs']);
    await finished(s);
    expectUntouched(s);
    expectReadable(s, 'END-OF-PAYLOAD', 2); // stdout and stderr, one line each
  });

  it('logs --follow: the same, while following', async () => {
    const s = onTerminal(sv.home, ws, ['noisy', 'logs', '--follow']);
    await waitFor(() => s.run.screen.raw.split('END-OF-PAYLOAD').length === 3, () => `both lines written:\n${JSON.stringify(s.run.screen.raw)}`);
    s.run.p.kill('SIGINT');
    await finished(s);
    expectUntouched(s);
    expectReadable(s, 'END-OF-PAYLOAD', 2);
  });

  it('to a pipe, logs keeps the bytes (redirecting logs on purpose)', async () => {
    const r = await cli(sv.home, ['noisy', 'logs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${PAYLOAD}\n`);
    expect(r.stderr).toBe(`${PAYLOAD}\n`);
  });
});

describe('other verbs that quote what a sandbox did', { timeout: 60_000 }, () => {
  const cwd = process.cwd();
  let home: string;
  let queue: ApprovalQueue;
  let server: ApprovalsServer;
  let eventsFile: string;
  beforeAll(async () => {
    home = freshHome();
    // An exec ask as a workload makes it: its own binary's name and the path it wants to run.
    queue = new ApprovalQueue({ timeoutMs: 120_000 });
    server = await serveApprovals(queue, join(home, 'run', 'approvals.sock'));
    void queue.request({ sandbox: 'box', kind: 'exec', binary: `/tmp/${EVIL_NAME}`, path: '/tmp/APPROVAL-ROW' });
    // The audit trail records the workload's binary and target as they were.
    const log = await openAuditLog({ home, heartbeatMs: 0 });
    await log.append({ kind: 'exec.denied', sandbox: 'box', binary: `/tmp/${EVIL_NAME}`, target: '/tmp/AUDIT-ROW', decision: 'deny' }, { durable: true });
    await log.close();
    // An event stream a sandbox produced, fed to policy learn.
    eventsFile = join(home, 'events.jsonl');
    writeFileSync(eventsFile, `${JSON.stringify({ type: 'egress', host: 'api.example.com', port: 443, binary: `/tmp/${EVIL_NAME}` })}\n`);
    // An exec ask answered "allow always" writes the workload's path into a policy revision.
    const store = new PolicyStore(join(home, 'sandboxes', 'box', 'policy'));
    await store.set('version: 1\nexec: { allow: ["/usr/bin/*"], unmatched: ask }\n', { author: 'operator', reason: 'base' });
    await store.addExecAllow({ path: `/tmp/${EVIL_NAME}`, author: 'operator', reason: `approval HISTORY-ROW: allow always exec /tmp/${EVIL_NAME}` });
  });
  afterAll(async () => {
    queue?.close();
    await server?.close();
  });

  const verbs: { name: string; args: () => string[]; anchor: string; count: number; piped: (r: CliResult) => string }[] = [
    { name: 'approvals list', args: () => ['approvals', 'list'], anchor: 'APPROVAL-ROW', count: 1, piped: (r) => r.stdout },
    { name: 'audit tail', args: () => ['audit', 'tail'], anchor: 'AUDIT-ROW', count: 1, piped: (r) => r.stdout },
    // The learned rule's comment and its binaries entry name the program (YAML escapes ESC in
    // the quoted entry, not in the comment, and neither C1 nor bidi controls).
    { name: 'policy learn', args: () => ['policy', 'learn', '--events', eventsFile], anchor: 'learned: 1 hit', count: 1, piped: (r) => r.stdout },
    { name: 'policy history', args: () => ['policy', 'history', '--sandbox', 'box'], anchor: 'HISTORY-ROW', count: 1, piped: (r) => r.stdout },
  ];
  for (const v of verbs) {
    it(`${v.name}: the terminal is untouched and the sandbox's text readable`, async () => {
      const s = onTerminal(home, cwd, v.args());
      await finished(s);
      expectUntouched(s);
      expectReadable(s, v.anchor, v.count);
    });
    it(`${v.name}: to a pipe, the bytes are kept`, async () => {
      const r = await cli(home, v.args());
      expect(r.code, r.stderr).toBe(0);
      expect(v.piped(r)).toContain(`${ESC}]2;PWNED${BEL}`);
      expect(v.piped(r)).toContain('\u202eevil.exe');
    });
  }
});
