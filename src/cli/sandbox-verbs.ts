// `nemoclaw <name> status | logs | connect | exec | stop | start | restart | destroy | pins | unpin`: main.ts
// routes here when argv[2] is not a verb but argv[3] is one of these. Unknown names get
// "did you mean" suggestions from the supervisor (edit distance).
import type { Command } from 'commander';
import type { LogsFlags } from './sandboxes.ts';
import { UsageError, showOn } from './output.ts';
import { client, printOut, runVerb, svExit } from './supervisor-client.ts';
import { confirm } from './confirm.ts';
import { registerChat } from './chat.ts';

// status and logs live in sandboxes.ts, which main.ts's fast path loads without this file's
// chat, confirm and commander (issue 23). Imported here only by import(): a module that is also
// imported statically would be a shared chunk of the bundle behind an entry file that re-exports
// it, one file more for the fast path to load.
export { parseSince } from './output.ts';
const views = () => import('./sandboxes.ts');
// exec and connect live in exec.ts, which the fast path loads for `NAME exec` (the same reason).
const sessions = () => import('./exec.ts');

const enc = encodeURIComponent;

export function register(program: Command): void {
  const name = process.argv[2] ?? '';
  const cmd = program.command(name).description(`manage sandbox ${name}`);
  cmd
    .command('status')
    .description('state, restarts, last exit, enforcement')
    .option('--json', 'print {"sandbox": {...}}')
    .action(async (flags: { json?: boolean }) => (await views()).sandboxStatus(name, flags));
  for (const verb of ['stop', 'start', 'restart'] as const) {
    cmd
      .command(verb)
      .description(`${verb} the sandbox`)
      .option('--json', 'print {"sandbox": {...}}')
      .action(async (flags: { json?: boolean }) => (await views()).sandboxLifecycle(name, verb, flags));
  }
  cmd
    .command('destroy')
    .description('stop the sandbox and delete its state (policy revisions, home, logs)')
    .option('--yes', 'do not ask')
    .option('--json', 'print {"destroyed": name}')
    .action((flags: { yes?: boolean; json?: boolean }) =>
      runVerb(flags, async () => {
        if (!flags.yes) {
          if (!process.stdin.isTTY) {
            process.stderr.write(`nemoclaw: destroy deletes ${name}'s home, logs and policy revisions; confirm with --yes\n`);
            return svExit.usage;
          }
          if (!(await confirm(`destroy sandbox ${name} and delete its home, logs and policy revisions? [y/N] `))) return svExit.failure;
        }
        const c = await client();
        const r = await c.call('DELETE', `/v1/sandboxes/${enc(name)}`);
        printOut(flags, r, `destroyed ${name}\n`);
        return svExit.ok;
      }),
    );
  cmd
    .command('pins')
    .description('binaries pinned on first use (exe path and sha256)')
    .option('--json', 'print {"pins": {path: sha256}}')
    .action(async (flags: { json?: boolean }) => (await views()).sandboxPins(name, flags));
  cmd
    .command('unpin')
    .description('forget the pin of a binary (every pin without PATH), e.g. after a legitimate upgrade; its next use pins it again')
    .argument('[path]', 'the binary as the sandbox sees it, e.g. /usr/bin/curl')
    .option('--json', 'print {"unpinned": [paths], "pins": {...}}')
    .action((path: string | undefined, flags: { json?: boolean }) =>
      runVerb(flags, async () => {
        if (path !== undefined && !path.startsWith('/')) throw new UsageError(`unpin: ${path} is not an absolute path (see: nemoclaw ${name} pins)`);
        const q = path !== undefined ? `?${new URLSearchParams({ path })}` : '';
        const r = await (await client()).call<{ unpinned: string[] }>('DELETE', `/v1/sandboxes/${enc(name)}/pins${q}`);
        const show = showOn(process.stdout);
        const human = r.unpinned.length > 0 ? r.unpinned.map((p) => `unpinned ${show(p)}: its next use in ${name} pins it again\n`).join('') : `nothing pinned in ${name}\n`;
        printOut(flags, r, human);
        return svExit.ok;
      }),
    );
  cmd
    .command('logs')
    .description("the agent's output (stdout and stderr), oldest first")
    .option('--follow', 'keep printing new lines')
    .option('--since <when>', 'only lines newer than this (30s, 10m, 2h, 1d, or a date)')
    .option('--tail <n>', 'only the last N lines')
    .option('--json', 'NDJSON {"ts","stream","line"} per line')
    .option('--raw', "the workload's bytes as they are, escape sequences included, also on a terminal")
    .action(async (flags: LogsFlags) => (await views()).sandboxLogs(name, flags));
  cmd
    .command('exec')
    .description('run a command inside the running sandbox, with exactly its restrictions')
    .option('--tty', 'on a pseudo-terminal inside the sandbox')
    .argument('<command...>', 'command and arguments (after --)')
    .action(async (command: string[], flags: { tty?: boolean }) => (await sessions()).sandboxExec(name, command, flags));
  registerChat(cmd, name);
  cmd
    .command('connect')
    .description('an interactive shell inside the running sandbox (PTY, same restrictions)')
    .action(async () => {
      const { attach } = await sessions();
      await runVerb({}, () => attach(name, ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -i; else exec sh -i; fi'], true));
    });
}
