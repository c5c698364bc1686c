// `nemoclaw inference set|get`: a sandbox's route (aliases, provider, real model, privacy mode).
// `set` goes through the running supervisor, which stores a new route revision, audits it and
// publishes it; the router reads it on the sandbox's next request, so no restart. Without a
// supervisor the route is stored for the next start. `get` reads the stored routes.
import type { Command } from 'commander';
import { exitCodes, exitQuietlyOnEpipe, printJson, showOn, stdout } from './output.ts';
import { runVerb, svExit } from './supervisor-client.ts';

interface SetFlags {
  sandbox: string;
  provider: string;
  model: string;
  alias?: string;
  mode?: string;
  add?: boolean;
  idleTimeout?: string;
  rpm?: string;
  tpm?: string;
  sticky?: boolean;
  json?: boolean;
}

function positive(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer`);
  return n;
}

function describeRoute(r: { sandbox: string; rev: number; mode: string; sticky?: boolean; models: Array<{ alias: string; provider: string; model: string }>; idleTimeoutMs?: number; budget?: { requestsPerMinute?: number; tokensPerMinute?: number } }): string {
  const lines = [`${r.sandbox}  rev ${r.rev}  ${r.mode}${r.idleTimeoutMs !== undefined ? `  idle ${r.idleTimeoutMs / 1000}s` : ''}${r.budget?.requestsPerMinute !== undefined ? `  ${r.budget.requestsPerMinute} req/min` : ''}${r.budget?.tokensPerMinute !== undefined ? `  ${r.budget.tokensPerMinute} tok/min` : ''}${r.sticky === true ? '  sticky' : ''}`];
  for (const m of r.models) lines.push(`  ${m.alias} -> ${m.provider}/${m.model}`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  const cmd = program.command('inference').description("a sandbox's inference route: provider, model aliases, privacy mode");

  cmd
    .command('set')
    .description('route a sandbox to a provider and model (applies to its next request; audited)')
    .requiredOption('--sandbox <name>', 'the sandbox')
    .requiredOption('--provider <name>', 'a provider from `nemoclaw providers list`')
    .requiredOption('--model <id>', "the provider's model id")
    .option('--alias <name>', 'what the sandbox writes in `model` (default: the model id)')
    .option('--mode <mode>', 'local-only | cloud-with-redaction | cloud-allowed (default: cloud-with-redaction, or the current mode)')
    .option('--add', 'add this alias to the allowed models instead of replacing the route')
    .option('--idle-timeout <seconds>', 'end a stream with an error after this long without a byte (default 120)')
    .option('--rpm <n>', 'requests per minute (429 beyond)')
    .option('--tpm <n>', 'tokens per minute (429 beyond)')
    .option('--sticky', 'once a request is found sensitive, this sandbox sends nothing more to the cloud (until the route changes)')
    .option('--json', 'print JSON')
    .action((flags: SetFlags) =>
      runVerb(flags, async () => {
        let body: Record<string, unknown>;
        try {
          const idle = positive(flags.idleTimeout, '--idle-timeout');
          const rpm = positive(flags.rpm, '--rpm');
          const tpm = positive(flags.tpm, '--tpm');
          body = {
            provider: flags.provider,
            model: flags.model,
            alias: flags.alias,
            mode: flags.mode,
            add: flags.add === true,
            idleTimeoutMs: idle !== undefined ? idle * 1000 : undefined,
            budget: rpm !== undefined || tpm !== undefined ? { requestsPerMinute: rpm, tokensPerMinute: tpm } : undefined,
            sticky: flags.sticky === true ? true : undefined,
            author: process.env.USER ?? 'cli',
          };
        } catch (err) {
          process.stderr.write(`nemoclaw: ${(err as Error).message}\n`);
          return exitCodes.usage;
        }
        const { SupervisorUnavailableError } = await import('../supervisor/client.ts');
        const { client } = await import('./supervisor-client.ts');
        let route: Parameters<typeof describeRoute>[0];
        let applied = true;
        try {
          const api = await client();
          route = (await api.call<{ route: typeof route }>('PUT', `/v1/sandboxes/${encodeURIComponent(flags.sandbox)}/inference`, body)).route;
        } catch (err) {
          if (!(err instanceof SupervisorUnavailableError)) throw err;
          // No supervisor: stored for the sandbox's next start, audited from here.
          const { ProviderStore, RouteStore, RouteError } = await import('../inference/index.ts');
          const { nemoclawHome } = await import('../state/index.ts');
          const home = nemoclawHome();
          if (!new ProviderStore(home).get(flags.provider)) {
            process.stderr.write(`nemoclaw: no provider ${showOn(process.stderr)(flags.provider)}: nemoclaw providers add NAME --type T --url URL\n`);
            return svExit.usage;
          }
          try {
            route = new RouteStore(home).set(flags.sandbox, body as never);
          } catch (e) {
            if (e instanceof RouteError) {
              process.stderr.write(`nemoclaw: ${e.message}\n`);
              return svExit.usage;
            }
            throw e;
          }
          const { openAuditLog } = await import('../audit/index.ts');
          const log = await openAuditLog({ home });
          await log.append({ kind: 'inference.decision', activity: 'route_set', sandbox: flags.sandbox, target: `${flags.provider}/${flags.model}`, decision: route.mode, actor: { process: 'nemoclaw inference set', pid: process.pid }, detail: { rev: route.rev } }, { durable: true });
          await log.close();
          applied = false;
        }
        if (flags.json) printJson({ route, applied });
        else stdout.write(showOn(stdout)(describeRoute(route) + (applied ? '' : '(no supervisor running: stored, applies when the sandbox runs)\n'), { newlines: true }));
        return exitCodes.ok;
      }),
    );

  cmd
    .command('get')
    .description('the inference route of one sandbox, or of all')
    .option('--sandbox <name>', 'one sandbox')
    .option('--json', 'print JSON')
    .action(async (flags: { sandbox?: string; json?: boolean }) => {
      // A listing: `| head` ends it quietly with status 0 (output.ts).
      exitQuietlyOnEpipe();
      const { RouteStore } = await import('../inference/index.ts');
      const { nemoclawHome } = await import('../state/index.ts');
      const store = new RouteStore(nemoclawHome());
      const routes = flags.sandbox !== undefined ? [store.get(flags.sandbox)].filter((r) => r !== null) : store.list();
      if (flags.json) printJson(flags.sandbox !== undefined ? (routes[0] ?? null) : routes);
      else if (routes.length === 0) stdout.write(`no inference route${flags.sandbox !== undefined ? ` for ${showOn(stdout)(flags.sandbox)}` : 's'}: nemoclaw inference set --sandbox NAME --provider P --model M\n`);
      else for (const r of routes) stdout.write(showOn(stdout)(describeRoute(r), { newlines: true }));
      process.exitCode = flags.sandbox !== undefined && routes.length === 0 ? exitCodes.failure : exitCodes.ok;
    });
}
