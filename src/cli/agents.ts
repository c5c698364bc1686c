// `nemoclaw agents install|list|remove`: agents installed on the host for sandboxes to run
// (docs/agents.md). An install is built aside and renamed into place only once it runs, so a
// failed or interrupted install leaves nothing a sandbox could pick up.
import type { Command } from 'commander';
import { exitCodes, exitQuietlyOnEpipe, printJson, showOn, stdout } from './output.ts';

function fail(flags: { json?: boolean }, line: string, code: number = exitCodes.failure): number {
  if (flags.json) printJson({ ok: false, reason: line });
  else process.stderr.write(`nemoclaw: ${showOn(process.stderr)(line)}\n`);
  return code;
}

/** The parsed agent spec, or null after a usage error was reported (exit code set). */
function parsedOrUsage<T>(parse: () => T, flags: { json?: boolean }): T | null {
  try {
    return parse();
  } catch (err) {
    process.exitCode = fail(flags, (err as Error).message, exitCodes.usage);
    return null;
  }
}

function size(bytes: number | null): string {
  return bytes === null ? '-' : `${Math.round(bytes / 1024 / 1024)} MB`;
}

/**
 * `agents list [--json]` as its commander action runs it. Exported for the commander-free fast
 * path (commands.ts FAST_VERBS, issue 23), which passes the same flags commander does.
 */
export async function agentsList(flags: { json?: boolean }): Promise<void> {
  // A listing: `| head` ends it quietly with status 0 (output.ts).
  exitQuietlyOnEpipe();
  const a = await import('../agents/index.ts');
  const list = a.listAgents();
  if (flags.json) {
    printJson({ agents: list });
    return;
  }
  if (list.length === 0) {
    stdout.write(`no agents installed in ${a.agentsDir()}; install one: nemoclaw agents install openclaw\n`);
    return;
  }
  for (const i of list) {
    const pinned = a.ADAPTERS[i.agent]?.defaultVersion === i.version ? ' (pinned)' : '';
    stdout.write(`${i.agent}@${i.version}${pinned}  Node ${i.nodeVersion}  ${size(i.bytes)}  installed ${i.installedAt}  ${i.dir}\n`);
  }
}

export function register(program: Command): void {
  const cmd = program.command('agents').description('agents installed on this host for sandboxes to run (OpenClaw)');

  cmd
    .command('install <agent>')
    .description('install an agent (openclaw or openclaw@VERSION; default: the pinned version) with Node 24, and check that it runs')
    .option('--force', 'reinstall even when a working install is there')
    .option('--json', 'print the install as JSON')
    .action(async (spec: string, flags: { force?: boolean; json?: boolean }) => {
      const a = await import('../agents/index.ts');
      const parsed = parsedOrUsage(() => a.parseAgentSpec(spec), flags);
      if (parsed === null) return;
      const version = parsed.version ?? parsed.adapter.defaultVersion;
      const tty = process.stderr.isTTY === true;
      if (!flags.json) process.stderr.write(`installing ${parsed.adapter.name}@${version} into ${a.installDir(parsed.adapter, version)}\n`);
      try {
        const r = await a.installAgent(parsed.adapter, version, {
          force: flags.force === true,
          // Progress on stderr; on a terminal the package count rewrites its own line.
          onProgress: (line) => {
            if (flags.json) return;
            if (tty && line.startsWith('  ')) process.stderr.write(`\r\x1b[K${line}`);
            else process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
          },
        });
        if (tty && !flags.json) process.stderr.write('\r\x1b[K');
        if (flags.json) printJson({ ok: true, already: r.already, ms: r.ms, install: r.install });
        else stdout.write(`${r.already ? 'already installed' : 'installed'}: ${r.install.agent}@${r.install.version} (${r.install.verified}, Node ${r.install.nodeVersion}, ${size(r.install.bytes)}) in ${r.install.dir}${r.already ? '' : ` in ${(r.ms / 1000).toFixed(1)} s`}\n`);
      } catch (err) {
        process.exitCode = fail(flags, `agents install ${spec}: ${(err as Error).message}`);
      }
    });

  cmd
    .command('list')
    .description('installed agents: version, Node, size, where')
    .option('--json', 'print JSON')
    .action(agentsList);

  cmd
    .command('remove <agent>')
    .description('remove an install (openclaw@VERSION, or openclaw for the only one installed)')
    .option('--json', 'print JSON')
    .action(async (spec: string, flags: { json?: boolean }) => {
      const a = await import('../agents/index.ts');
      const parsed = parsedOrUsage(() => a.parseAgentSpec(spec), flags);
      if (parsed === null) return;
      let version = parsed.version;
      if (version === null) {
        const have = a.listAgents().filter((i) => i.agent === parsed.adapter.name);
        if (have.length !== 1) {
          process.exitCode = have.length === 0 ? fail(flags, `${parsed.adapter.name} is not installed`) : fail(flags, `several versions installed (${have.map((i) => i.version).join(', ')}): name one, ${parsed.adapter.name}@VERSION`, exitCodes.usage);
          return;
        }
        version = have[0]!.version;
      }
      const removed = a.removeAgent(parsed.adapter, version);
      if (!removed) {
        process.exitCode = fail(flags, `${parsed.adapter.name}@${version} is not installed`);
        return;
      }
      if (flags.json) printJson({ ok: true, removed: `${parsed.adapter.name}@${version}` });
      else stdout.write(`removed ${parsed.adapter.name}@${version}\n`);
    });
}
