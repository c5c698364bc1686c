// `nemoclaw list | events` and the views of one sandbox, `nemoclaw NAME status | logs`: clients of
// the supervisor's API (src/supervisor; create.ts makes sandboxes). list, status and logs are also
// what main.ts's fast path runs without commander (issue 23), so their bodies are functions of the
// parsed flags.
import type { Command } from 'commander';
import type { BusEvent, LearningView, SandboxView } from '../supervisor/index.ts';
import { UsageError, exitQuietlyOnEpipe, jsonText, parseSince, showOn, stderr, stdout } from './output.ts';
// src/state is loaded with the light client anyway; a static import spares `list` without a
// supervisor the bundle's entry file for a lazily imported state door (issue 23).
import { homePaths, sandboxPaths } from '../state/index.ts';
import { ApiClient, SupervisorUnavailableError } from '../supervisor/client.ts';
import { client, printOut, runVerb, svExit } from './supervisor-client.ts';

export function describeSandbox(s: SandboxView): string {
  const exit = s.lastExit ? `  last exit: ${s.lastExit.reason}${s.lastExit.code !== null ? ` ${s.lastExit.code}` : ''}${s.lastExit.signal ? ` ${s.lastExit.signal}` : ''}` : '';
  const learning = s.learning ? `  LEARNING (${s.learning.destinations} destination${s.learning.destinations === 1 ? '' : 's'} seen)` : '';
  return `${s.name}  ${s.state}${s.pid ? ` (pid ${s.pid})` : ''}  restart=${s.restart} restarts=${s.restarts}${learning}${exit}\n`;
}

/** `nemoclaw list [--json]`. */
export function listSandboxes(flags: { json?: boolean }): Promise<void> {
  // `list | head` ends quietly with status 0, as every listing does (output.ts).
  exitQuietlyOnEpipe();
  return runVerb(flags, async () => {
    let list: SandboxView[];
    let live = true;
    try {
      list = (await new ApiClient().call<{ sandboxes: SandboxView[] }>('GET', '/v1/sandboxes')).sandboxes;
    } catch (err) {
      if (!(err instanceof SupervisorUnavailableError)) throw err;
      // Without a supervisor nothing runs; what is on disk is still worth showing.
      live = false;
      list = await onDisk();
    }
    const human = list.length === 0 ? 'no sandboxes (create one: nemoclaw create NAME --blueprint dev)\n' : list.map(describeSandbox).join('');
    printOut(flags, { supervisor: live, sandboxes: list }, live ? human : `${human}(no supervisor is running: nothing runs; start one with  nemoclaw serve &)\n`);
    return svExit.ok;
  });
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('sandboxes and their state')
    .option('--json', 'print {"supervisor": bool, "sandboxes": [...]}')
    .action((flags: { json?: boolean }) => listSandboxes(flags));
}

/** What a sandbox in learning mode has been seen doing, and the command that turns it into a revision. */
export function learningLine(name: string, l: LearningView): string {
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  const what = [
    l.egress ? `egress (unmatched audited): ${plural(l.destinations, 'distinct destination')}` : null,
    l.exec ? `exec (outside the allowlist allowed): ${plural(l.execs, 'path')}` : null,
  ].filter((x) => x !== null);
  return `learning: ${what.join('; ')} since ${l.since}; propose a revision: nemoclaw policy learn --sandbox ${name}`;
}

export function statusText(s: SandboxView): string {
  const lines = [
    describeSandbox(s).trimEnd(),
    `  blueprint: ${s.blueprint ?? '(none)'}${s.blueprintDigest ? ` sha256:${s.blueprintDigest.slice(0, 12)}` : ''}   policy revision: ${s.policyRevision ?? '-'}`,
    `  workspace: ${s.workspace}`,
    `  command:   ${JSON.stringify(s.command)}`,
    `  created:   ${s.createdAt}${s.startedAt ? `   started: ${s.startedAt}` : ''}`,
  ];
  if (s.enforcement) lines.push(`  enforcement: ${JSON.stringify(s.enforcement)}`);
  // Learning mode lets unmatched actions through: say so, with what it has seen (issue 22).
  if (s.learning) lines.push(`  ${learningLine(s.name, s.learning)}`);
  return `${lines.join('\n')}\n`;
}

/** `nemoclaw NAME status [--json]`. */
export function sandboxStatus(name: string, flags: { json?: boolean }): Promise<void> {
  exitQuietlyOnEpipe();
  return runVerb(flags, async () => {
    const r = await (await client()).call<{ sandbox: SandboxView }>('GET', `/v1/sandboxes/${encodeURIComponent(name)}`);
    printOut(flags, r, statusText(r.sandbox));
    return svExit.ok;
  });
}

/**
 * `nemoclaw NAME stop|start|restart [--json]`: the sandbox as the supervisor left it. Here, beside
 * status, for the fast path (commands.ts FAST_VERBS) as much as for commander.
 */
export function sandboxLifecycle(name: string, verb: 'stop' | 'start' | 'restart', flags: { json?: boolean }): Promise<void> {
  return runVerb(flags, async () => {
    const r = await (await client()).call<{ sandbox: SandboxView }>('POST', `/v1/sandboxes/${encodeURIComponent(name)}/${verb}`);
    printOut(flags, r, describeSandbox(r.sandbox));
    return svExit.ok;
  });
}

/** `nemoclaw NAME pins [--json]`: binaries pinned on first use. */
export function sandboxPins(name: string, flags: { json?: boolean }): Promise<void> {
  exitQuietlyOnEpipe();
  return runVerb(flags, async () => {
    const r = await (await client()).call<{ pins: Record<string, string> }>('GET', `/v1/sandboxes/${encodeURIComponent(name)}/pins`);
    // The path is the workload's own file name: one inert line per pin on a terminal.
    const show = showOn(stdout);
    const rows = Object.entries(r.pins).map(([exe, sha]) => `${show(sha)}  ${show(exe)}\n`);
    printOut(flags, r, rows.length > 0 ? rows.join('') : `nothing pinned in ${name}\n`);
    return svExit.ok;
  });
}

export interface LogsFlags {
  follow?: boolean;
  since?: string;
  tail?: string;
  json?: boolean;
  raw?: boolean;
}

/** `nemoclaw NAME logs [--follow] [--since WHEN] [--tail N] [--json] [--raw]`. */
export function sandboxLogs(name: string, flags: LogsFlags): Promise<void> {
  return runVerb(flags, async () => {
    const q = new URLSearchParams();
    if (flags.since !== undefined) q.set('since', String(parseSince(flags.since)));
    if (flags.tail !== undefined) {
      const n = Number(flags.tail);
      if (!Number.isInteger(n) || n < 0) throw new UsageError('--tail: a number of lines');
      q.set('tail', String(n));
    }
    if (flags.follow) q.set('follow', '1');
    const c = await client();
    // The workload's output is untrusted: on a terminal its escape sequences would reach the
    // operator's (clipboard, title, screen, modes), so each stream shows it inert unless --raw.
    // Newlines and tabs stay, so the log reads as the workload wrote it. Both through output.ts's
    // writers (building either process stream costs start-up time, issue 23); `logs | head`
    // ends quietly when head has read enough.
    exitQuietlyOnEpipe();
    const showOut = showOn(stdout, flags.raw);
    const showErr = showOn(stderr, flags.raw);
    const s = c.stream(`/v1/sandboxes/${encodeURIComponent(name)}/logs?${q}`, (r) => {
      const text = `${String(r.line)}\n`;
      if (flags.json) stdout.write(`${flags.raw ? JSON.stringify(r) : jsonText(r)}\n`);
      else if (r.stream === 'stderr') stderr.write(showErr(text, { newlines: true, tabs: 'keep' }));
      else stdout.write(showOut(text, { newlines: true, tabs: 'keep' }));
    });
    process.once('SIGINT', () => s.abort());
    await s.done;
    return svExit.ok;
  });
}

async function onDisk(): Promise<SandboxView[]> {
  const { readdirSync, readFileSync } = process.getBuiltinModule('node:fs');
  const p = homePaths();
  let names: string[];
  try {
    names = readdirSync(p.sandboxes).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
  const out: SandboxView[] = [];
  for (const name of names.sort()) {
    try {
      const f = sandboxPaths(p, name);
      const rec = JSON.parse(readFileSync(f.spec, 'utf8')) as Record<string, unknown>;
      const st = JSON.parse(readFileSync(f.state, 'utf8')) as Record<string, unknown>;
      out.push({ name, state: 'stopped', desired: st.desired, pid: null, restarts: st.restarts, restart: rec.restart, blueprint: rec.blueprint, blueprintDigest: rec.blueprintDigest, workspace: rec.workspace, command: rec.command, presets: rec.presets ?? [], inference: rec.inference ?? null, createdAt: rec.createdAt, startedAt: st.startedAt, lastExit: st.lastExit, policyRevision: null, enforcement: null } as SandboxView);
    } catch {
      // incomplete
    }
  }
  return out;
}

export function formatEvent(e: BusEvent | Record<string, unknown>): string {
  const o = e as Record<string, unknown>;
  const head = `${String(o.seq ?? '-').padStart(6)} ${String(o.ts ?? '').slice(11, 23)} ${o.sandbox ?? '-'} ${o.type}`;
  const { seq: _a, ts: _b, sandbox: _c, type: _d, ...rest } = o;
  if (o.type === 'helper' || o.type === 'egress') {
    const ev = o.event as Record<string, unknown>;
    const { type, ...f } = ev;
    return `${head}.${String(type)} ${JSON.stringify(f)}\n`;
  }
  if (o.type === 'log') return `${head} ${String(o.stream)}: ${JSON.stringify(o.line).slice(1, -1)}\n`;
  return `${head} ${JSON.stringify(rest)}\n`;
}

export interface EventsFlags {
  follow?: boolean;
  since: string;
  sandbox?: string;
  json?: boolean;
}

/**
 * `nemoclaw events [--follow] [--since SEQ] [--sandbox NAME] [--json]` as its commander action
 * runs it; exported for the fast path (commands.ts FAST_VERBS): scripts poll it with --since.
 */
export function sandboxEvents(flags: EventsFlags): Promise<void> {
  return runVerb(flags, async () => {
    const since = Number(flags.since);
    if (!Number.isInteger(since) || since < 0) throw new UsageError('--since: a sequence number');
    const c = await client();
    const q = new URLSearchParams({ since: String(since) });
    if (flags.follow) q.set('follow', '1');
    if (flags.sandbox) q.set('sandbox', flags.sandbox);
    // formatEvent already writes log lines and helper fields JSON-escaped; on a terminal the
    // C1 and bidi controls that JSON.stringify leaves raw are shown inert too. `events | head`
    // ends quietly when head has read enough.
    exitQuietlyOnEpipe();
    const show = showOn(stdout);
    const s = c.stream(`/v1/events?${q}`, (e) => stdout.write(flags.json ? `${jsonText(e)}\n` : show(formatEvent(e), { newlines: true })));
    const stop = (): void => s.abort();
    process.once('SIGINT', stop);
    await s.done;
    return svExit.ok;
  });
}

export function registerEvents(program: Command): void {
  program
    .command('events')
    .description('the supervisor event stream (resumable: --since SEQ)')
    .option('--follow', 'keep streaming new events')
    .option('--since <seq>', 'only events after this sequence number', '0')
    .option('--sandbox <name>', 'only this sandbox')
    .option('--json', 'NDJSON, one event per line')
    .action((flags: EventsFlags) => sandboxEvents(flags));
}
