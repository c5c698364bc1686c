// nemoclaw command line. Only the module of the verb being run is imported (start-up time is a
// feature: `nemoclaw sandbox run -- true` must stay well under 150 ms).
import { Command, CommanderError } from 'commander';
import { COMMANDS, SANDBOX_VERBS } from './commands.ts';
import { UsageError, exitCodes } from './output.ts';

async function main(argv: string[]): Promise<number> {
  const program = new Command('nemoclaw')
    .description('Security runtime and terminal workstation for autonomous AI agents')
    .version('0.1.0')
    .exitOverride()
    .showHelpAfterError(false);

  const verb = argv[2];
  const chosen = COMMANDS.filter((c) => c.name === verb);
  if (chosen.length === 0 && verb !== undefined && !verb.startsWith('-') && SANDBOX_VERBS.includes(argv[3] ?? '')) {
    // `nemoclaw <name> status|logs|...`: a sandbox name in the verb's place.
    (await import('./sandbox-verbs.ts')).register(program);
  } else {
    const toLoad = chosen.length > 0 ? chosen : COMMANDS; // help or an unknown verb: show them all
    for (const entry of toLoad) (await entry.load()).register(program);
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
    if (err instanceof UsageError) {
      process.stderr.write(`nemoclaw: ${err.message}\n`);
      return exitCodes.usage;
    }
    if (err instanceof Error && err.name === 'HomeError') {
      // NEMOCLAW_HOME (or HOME) gives no absolute state directory (src/state/home.ts): a setting to
      // fix, said in one line. Matched by name so that every verb does not load src/state first.
      process.stderr.write(`nemoclaw: ${err.message}\n`);
      return exitCodes.failure;
    }
    throw err;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`nemoclaw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
