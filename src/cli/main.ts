// nemoclaw command line. Only the module of the verb being run is imported, from the table in
// commands.ts (start-up time is a feature, docs/design.md "Component map": every verb that starts
// no sandbox within 1.5x of `node -e 0`, issue 23). This file and commands.ts import nothing but
// output.ts (whose only import is src/text), freshness.ts (node:fs and node:url, which Node has
// loaded anyway) and, past --version, commander, so that stays true as the table grows: a new
// verb is a row in commands.ts (its module in VERB_MODULES) and a file exporting register(). The
// verbs scripts call in loops and the listings (list, NAME status|logs, approvals list, audit
// verify|tail|checkpoints, providers|agents list, policy presets...) in their plain shapes skip
// commander too: commands.ts's FAST_VERBS, parsed by fastRoute(). Run from
// dist/, each way first makes sure the build is not older than the sources of what it will load
// (freshness.ts): the verb's module's, for commander's verbs too (commanderPlan()), and runs the
// sources when it is.
import { COMMANDS, SANDBOX_VERBS, commanderPlan, fastRoute, loadCommand, runFast } from './commands.ts';
import { type Loads, buildStaleness, runSources } from './freshness.ts';
import { UsageError, exitCodes, exitQuietlyOnEpipe, stderr, stdoutIsTerminal, writeOut } from './output.ts';

const VERSION = '0.1.0';

/**
 * What the build recorded for these arguments (their stdout, status 0), if anything: the file
 * scripts/build.mjs recordedName() names for them (their words, encoded: no argument names a path).
 */
function recorded(args: string[]): string | undefined {
  try {
    const dir = process.getBuiltinModule('node:url').fileURLToPath(new URL('./recorded/', import.meta.url));
    return process.getBuiltinModule('node:fs').readFileSync(`${dir}${encodeURIComponent(args.join(' '))}.txt`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Goes on only if the build may run a command that loads `loads`; else runs the sources instead. */
function fresh(loads: Loads): void {
  const why = buildStaleness(loads);
  if (why !== null) runSources(why);
}

async function main(argv: string[]): Promise<number> {
  // `nemoclaw --version` alone is answered before commander loads: its seven modules and the
  // builtins they pull in cost about a third of Node's own start-up (issue 23). Same output as
  // commander's: the version and a newline.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    fresh(['cli/main']);
    exitQuietlyOnEpipe();
    writeOut(`${VERSION}\n`);
    return 0;
  }
  // `nemoclaw list`, `NAME status`, `audit tail`...: the plain shapes in commands.ts's FAST_VERBS
  // run the verb's own function without commander (issue 23); anything else is commander's.
  // NEMOCLAW_CLI_FAST=0 sends them to commander too: test/cli/fast-path.test.ts compares the two.
  const fast = process.env.NEMOCLAW_CLI_FAST === '0' ? undefined : fastRoute(argv.slice(2));
  // `nemoclaw --help` or `completion bash` to a pipe or file: the output the same command gave
  // when the build was made (scripts/build.mjs records it in dist/cli/recorded/ by running
  // this file), printed without loading commander or the verb (issue 23). Only for commands whose
  // output depends on nothing but the build; not on a terminal, whose width commander wraps help
  // to; not from the sources, which have no recording.
  if (fast === undefined && argv.length <= 4 && !stdoutIsTerminal()) {
    const text = recorded(argv.slice(2));
    if (text !== undefined) {
      fresh('all');
      exitQuietlyOnEpipe();
      writeOut(text);
      return 0;
    }
  }
  try {
    if (fast === undefined) {
      // Only what commander will load: main's own sources and the verb module's.
      const plan = commanderPlan(argv.slice(2));
      fresh(['cli/main', ...plan.modules]);
      return await parse(argv, plan);
    }
    fresh(['cli/main', fast.verb.module]);
    await runFast(fast.verb, fast.name, fast.flags, fast.operands);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.write(`nemoclaw: ${err.message}\n`);
      return exitCodes.usage;
    }
    if (err instanceof Error && err.name === 'HomeError') {
      // NEMOCLAW_HOME (or HOME) gives no absolute state directory (src/state/home.ts): a setting to
      // fix, said in one line. Matched by name so that every verb does not load src/state first.
      stderr.write(`nemoclaw: ${err.message}\n`);
      return exitCodes.failure;
    }
    throw err;
  }
}

/** Runs argv through commander: the exit status, or what the verb threw that is not commander's. */
async function parse(argv: string[], plan: ReturnType<typeof commanderPlan>): Promise<number> {
  const { Command, CommanderError } = await import('commander');
  const program = new Command('nemoclaw')
    .description('Security runtime and terminal workstation for autonomous AI agents')
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError(false)
    // Help and the version to a reader that goes away (`nemoclaw help | head`): status 0, quietly.
    .configureOutput({
      writeOut: (text) => {
        exitQuietlyOnEpipe();
        writeOut(text);
      },
    });

  if (plan.sandboxVerbs) {
    // `nemoclaw <name> status|logs|...`: a sandbox name in the verb's place.
    (await import('./sandbox-verbs.ts')).register(program);
  } else {
    // A verb loads its module and nothing else.
    for (const entry of plan.entries) (await loadCommand(entry)).register(program, { commands: COMMANDS, sandboxVerbs: SANDBOX_VERBS });
    if (plan.entries.length === 0) {
      // --version, --help, no verb or an unknown one: the table's names and summaries are all that
      // is shown, so no verb module (nor zod, yaml, Ink...) is loaded for them (issue 23).
      for (const entry of COMMANDS) program.command(entry.name).description(entry.summary);
    }
  }

  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help') return 0;
      return exitCodes.usage;
    }
    throw err;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    stderr.write(`nemoclaw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
