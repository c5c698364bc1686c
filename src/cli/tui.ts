// `nemoclaw tui [--theme T] [--layout L] [--demo] [--headless] [--ascii]`: the terminal workstation.
// Attaches to the supervisor that owns NEMOCLAW_HOME (its lock says whether one runs; a second
// `tui` attaches too), or runs one in-process for as long as the TUI is open. --headless prints the
// same NDJSON stream as `serve --headless` (and takes the same decisions on stdin) and never loads
// Ink. --demo runs a scripted `strict` sandbox (in a temporary NEMOCLAW_HOME unless --home) that
// does allowed work, is denied a syscall and egress, and waits on an approval. Preferences
// (layout, theme, hidden panes, sizes) are saved to $NEMOCLAW_HOME/config.json atomically.
import type { Command } from 'commander';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { holderAlive, homePaths, readLockHolder, writeJsonAtomic } from '../state/index.ts';
import type { ApiClient, Supervisor } from '../supervisor/index.ts';
import { UsageError } from './output.ts';
import { svExit } from './supervisor-client.ts';

interface TuiFlags {
  theme?: string;
  layout?: string;
  demo?: boolean;
  headless?: boolean;
  ascii?: boolean;
  home?: string;
  seconds?: string;
}

/** Reads the `tui` preferences from $NEMOCLAW_HOME/config.json (missing or unreadable: none). */
export function readPreferences(home: string): Record<string, unknown> | undefined {
  try {
    const cfg = JSON.parse(readFileSync(homePaths(home).config, 'utf8')) as Record<string, unknown>;
    const t = cfg.tui;
    return typeof t === 'object' && t !== null ? (t as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the `tui` key of $NEMOCLAW_HOME/config.json (other keys kept), durably and atomically. */
export function savePreferences(home: string, prefs: unknown): void {
  const file = homePaths(home).config;
  let cfg: Record<string, unknown> = {};
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) cfg = v as Record<string, unknown>;
  } catch {
    // none yet (or unreadable: replaced)
  }
  cfg.tui = prefs;
  writeJsonAtomic(file, cfg);
}

interface Connection {
  api: ApiClient;
  /** Set when this process runs the supervisor. */
  sup: Supervisor | null;
}

/** Attaches to the running supervisor of `home`, or starts one in this process. */
async function connect(home: string, warn: (line: string) => void): Promise<Connection> {
  const { ApiClient: Client, SupervisorRunningError, startSupervisor } = await import('../supervisor/index.ts');
  const paths = homePaths(home);
  const holder = readLockHolder(paths.lock);
  if (holder && holderAlive(holder)) return { api: new Client(paths.api), sup: null };
  try {
    const sup = await startSupervisor({ home, onWarning: warn });
    return { api: new Client(sup.apiSocket), sup };
  } catch (err) {
    if (err instanceof SupervisorRunningError) return { api: new Client(paths.api), sup: null };
    throw err;
  }
}

/** `serve --headless` output for a client attached over the API: bus events as NDJSON, decisions on stdin. */
async function attachedHeadless(api: ApiClient): Promise<{ close(): void }> {
  const { parseChatLine, parseDecision } = await import('../headless/index.ts');
  const { createInterface } = await import('node:readline');
  const write = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);
  let since = 0;
  let stopped = false;
  let cur: { abort(): void } | null = null;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const s = api.stream(`/v1/events?follow=1&since=${since}`, (line) => {
          if (typeof line.seq === 'number') since = line.seq;
          write(line);
        });
        cur = s;
        await s.done;
      } catch {
        // supervisor gone for a moment: retry below
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 500));
    }
  };
  void loop();
  const user = process.env.USER ?? 'headless';
  const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
  rl.on('line', (line) => {
    if (line.trim() === '') return;
    const c = parseChatLine(line);
    if (c !== null) {
      const path = `/v1/sandboxes/${encodeURIComponent(c.sandbox)}/chat`;
      const ask = 'cancel' in c ? api.call<{ cancelled: string | null }>('POST', `${path}/cancel`) : api.call<{ turn: string }>('POST', `${path}?wait=0`, { message: c.message });
      ask.then(
        (r) => write({ type: 'chat.result', sandbox: c.sandbox, ok: true, ...r }),
        (err: unknown) => write({ type: 'chat.result', sandbox: c.sandbox, ok: false, reason: err instanceof Error ? err.message : String(err) }),
      );
      return;
    }
    const d = parseDecision(line);
    if (typeof d === 'string') return write({ type: 'decision.error', reason: d });
    api.call<{ result: { verdict: string; always: boolean; persisted?: boolean; persistError?: string } }>('POST', `/v1/approvals/${encodeURIComponent(d.id)}/decision`, { verdict: d.verdict, always: d.always, by: { user, origin: 'headless' } }).then(
      (r) => write({ type: 'decision.result', id: d.id, ok: true, verdict: r.result.verdict, always: r.result.always, persisted: r.result.persisted ?? null, ...(r.result.persistError !== undefined ? { persistError: r.result.persistError } : {}) }),
      (err: unknown) => write({ type: 'decision.result', id: d.id, ok: false, reason: err instanceof Error ? err.message : String(err) }),
    );
  });
  return {
    close() {
      stopped = true;
      cur?.abort();
      rl.close();
    },
  };
}

function untilSignal(seconds: number | null): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    process.once('SIGHUP', done);
    if (seconds !== null) setTimeout(done, seconds * 1000).unref();
  });
}

const DEMO_NOTE = `nemoclaw tui --demo: stdout is not a terminal, so the demo runs headless instead: the
supervisor's events as NDJSON on stdout for a few seconds. A 'strict' sandbox writes a file in its
workspace (allowed), tries unshare (denied syscall), curls /admin on a loopback origin (denied
egress) and curls /report, which waits for an approval (approval.pending). Decide on stdin with
{"approve":"<id>"} or run the demo in a terminal and press a.
`;

export function register(program: Command): void {
  program
    .command('tui')
    .description('the terminal workstation: sandboxes, denials, approvals, GPU, logs (attaches to the running supervisor or runs one)')
    .option('--theme <name>', 'theme from themes/ (dark, light, high-contrast, ansi, no-colour)')
    .option('--layout <name>', 'layout preset (overview, approvals-first, monitoring)')
    .option('--demo', 'run a scripted strict sandbox that is denied a syscall and egress and waits on an approval')
    .option('--headless', 'print the supervisor events as NDJSON (like serve --headless); decisions on stdin; no UI')
    .option('--ascii', 'ASCII borders and charts')
    .option('--home <dir>', '--demo: NEMOCLAW_HOME to use (default: a temporary one, removed on exit)')
    .option('--seconds <n>', 'headless --demo: how long to run (default 8; 0: until a signal)')
    .action(async (flags: TuiFlags) => {
      const { nemoclawHome } = await import('../state/index.ts');
      let headless = flags.headless === true;
      let seconds: number | null = null;
      if (flags.demo && !headless && !process.stdout.isTTY) {
        process.stderr.write(DEMO_NOTE);
        headless = true;
      }
      if (flags.demo && headless) {
        const s = Number(flags.seconds ?? '8');
        if (!Number.isFinite(s) || s < 0) throw new UsageError('--seconds: a number of seconds');
        seconds = s === 0 ? null : s;
      }
      const tempHome = flags.demo && flags.home === undefined ? mkdtempSync('/tmp/nemoclaw-demo-') : null;
      // --home is a directory the operator typed: made absolute here, like NEMOCLAW_HOME must be.
      const home = (flags.home !== undefined ? resolve(flags.home) : null) ?? tempHome ?? nemoclawHome();
      const prefsHome = tempHome ? nemoclawHome() : home;
      let warnings: string[] | null = headless ? null : [];
      const warn = (line: string): void => {
        if (warnings) warnings.push(line);
        else if (!headless) console.warn(line);
        else process.stderr.write(`nemoclaw: ${line}\n`);
      };
      let conn: Connection;
      try {
        conn = await connect(home, warn);
      } catch (err) {
        if (tempHome) rmSync(tempHome, { recursive: true, force: true });
        throw err;
      }
      let demo: { close(): Promise<void> } | null = null;
      const cleanup = async (): Promise<void> => {
        await demo?.close().catch(() => undefined);
        await conn.sup?.close('tui exit');
        if (tempHome) rmSync(tempHome, { recursive: true, force: true });
      };
      try {
        if (headless) {
          // The stream first, then the demo, so its first events are printed too.
          let h: { close(): void };
          if (conn.sup) {
            const { runHeadless } = await import('../headless/index.ts');
            h = runHeadless({ bus: conn.sup.bus, approvals: conn.sup.approvals, chat: conn.sup.chat });
          } else h = await attachedHeadless(conn.api);
          if (conn.sup) process.stderr.write(`nemoclaw: supervisor ${process.pid} serving ${conn.sup.apiSocket}\n`);
          if (flags.demo) demo = await (await import('./tui-demo.ts')).startDemo(conn.api);
          await untilSignal(seconds);
          h.close();
          process.exitCode = svExit.ok;
          return;
        }
        const { runTui, exitCodeFor, LAYOUT_NAMES, SupervisorDataSource } = await import('../tui/index.ts');
        if (flags.layout !== undefined && !(LAYOUT_NAMES as readonly string[]).includes(flags.layout)) throw new UsageError(`--layout: one of ${LAYOUT_NAMES.join(', ')}`);
        const source = new SupervisorDataSource({ api: conn.api, origin: 'tui' });
        if (flags.demo) demo = await (await import('./tui-demo.ts')).startDemo(conn.api);
        const saved = readPreferences(prefsHome) as Parameters<typeof runTui>[0]['preferences'];
        const pending = warnings;
        warnings = null;
        const exit = runTui({
          source,
          theme: flags.theme,
          layout: flags.layout as Parameters<typeof runTui>[0]['layout'],
          ascii: flags.ascii === true,
          preferences: saved,
          onPreferences: (p) => {
            try {
              savePreferences(prefsHome, p);
            } catch (err) {
              console.warn(`preferences not saved: ${(err as Error).message}`);
            }
          },
        });
        for (const l of pending ?? []) console.warn(l);
        process.exitCode = exitCodeFor(await exit);
      } finally {
        await cleanup();
      }
    });
}
