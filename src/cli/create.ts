// `nemoclaw create NAME`: a long-running sandbox in the supervisor, with its blueprint's local
// models started first. Apart from list, status and logs (sandboxes.ts), whose fast path would
// otherwise have to check the sources of the models and blueprint code this lazily loads
// (src/cli/freshness.ts, issue 23).
import type { Command } from 'commander';
import type { SandboxView } from '../supervisor/index.ts';
import { UsageError } from './output.ts';
import { client, printOut, runVerb, svExit } from './supervisor-client.ts';

interface CreateFlags {
  blueprint?: string;
  policy?: string;
  workspace?: string;
  restart?: string;
  env?: string[];
  stopped?: boolean;
  /** false with --no-models: the blueprint's declared models are not started. */
  models?: boolean;
  json?: boolean;
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

export function registerCreate(program: Command): void {
  program
    .command('create <name>')
    .description('create a sandbox and start it (needs `nemoclaw serve`)')
    .option('--blueprint <name>', 'blueprint (its policy, agent command and environment)')
    .option('--policy <file>', 'policy YAML instead of a blueprint')
    .option('--workspace <dir>', 'directory bound read-write as the workdir (default: the current directory)')
    .option('--restart <policy>', 'never | on-failure | always', 'never')
    .option('--env <K=V>', 'extra environment for the agent (repeatable)', collect)
    .option('--stopped', 'create without starting')
    .option('--no-models', "do not start the blueprint's declared local models")
    .option('--json', 'print {"sandbox": {...}}')
    .argument('[command...]', 'agent command (after --); default: the blueprint agent command')
    .action((name: string, command: string[], flags: CreateFlags) =>
      runVerb(flags, async () => {
        const env: Record<string, string> = {};
        for (const kv of flags.env ?? []) {
          const i = kv.indexOf('=');
          if (i <= 0) throw new UsageError(`--env ${kv}: expected NAME=VALUE`);
          env[kv.slice(0, i)] = kv.slice(i + 1);
        }
        const c = await client();
        // The blueprint's local models first (docs/models.md, "Blueprints"), once the supervisor
        // answers, so their providers exist when it seeds the sandbox's route.
        let inference: { provider: string; credentialEnv: null; model: string } | undefined;
        if (flags.blueprint !== undefined && flags.models !== false && !flags.stopped) {
          await c.call('GET', '/v1/health');
          const { startBlueprintModels } = await import('./declared-models.ts');
          const m = await startBlueprintModels(flags.blueprint, flags);
          if (m !== null && !m.ok) {
            if (flags.json) process.stdout.write(`${JSON.stringify({ ok: false, reason: m.reason })}\n`);
            return m.code;
          }
          if (m?.seed) inference = { provider: m.seed.provider, credentialEnv: null, model: m.seed.model };
        }
        // node:path taken here, not imported: the bundle's stand-in for an imported builtin costs
        // list, status and logs, which never resolve a path, a few hundred getters (issue 23).
        const { resolve } = process.getBuiltinModule('node:path');
        const body = {
          name,
          blueprint: flags.blueprint,
          policy: flags.policy !== undefined ? resolve(flags.policy) : undefined,
          workspace: resolve(flags.workspace ?? process.cwd()),
          restart: flags.restart,
          command: command.length > 0 ? command : undefined,
          env,
          start: !flags.stopped,
          inference,
        };
        const r = await c.call<{ sandbox: SandboxView }>('POST', '/v1/sandboxes', body);
        // Imported here, not at the top: a static import would make sandboxes.ts a chunk shared
        // with this file, one more bundle file for every list, status and logs (issue 23).
        const { describeSandbox } = await import('./sandboxes.ts');
        printOut(flags, r, `created ${describeSandbox(r.sandbox)}  next: nemoclaw ${name} status | nemoclaw ${name} logs --follow | nemoclaw ${name} connect\n`);
        return r.sandbox.state === 'failed' ? svExit.failure : svExit.ok;
      }),
    );
}
