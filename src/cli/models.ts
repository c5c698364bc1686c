// `nemoclaw models start|list|status|logs|stop|rm`: local NIM, vLLM and OpenAI-compatible servers
// as containers through the Docker Engine API, registered as `local` router providers once ready
// (docs/models.md). dockerode is loaded here only, inside the actions, so other verbs never pay
// for it (docs/design.md, "CLI start-up").
import type { Command } from 'commander';
import type * as ModelsDoor from '../models/index.ts';
import { exitCodes, exitQuietlyOnEpipe, printJson, showOn, writeOut } from './output.ts';

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

interface StartFlags {
  engine: string;
  image: string;
  model?: string;
  port?: string;
  gpus?: string;
  env?: string[];
  credentialEnv?: string;
  cache?: string;
  restart?: string;
  readyTimeout?: string;
  dryRun?: boolean;
  json?: boolean;
}

type ModelsModule = typeof ModelsDoor;

async function open(): Promise<{ m: ModelsModule; models: InstanceType<ModelsModule['Models']> }> {
  const m = await import('../models/index.ts');
  const { nemoclawHome } = await import('../state/index.ts');
  return { m, models: new m.Models(nemoclawHome()) };
}

/** Provider registrations made by a models command, audited like `providers add|remove`. */
export async function auditChanges(changes: Array<{ activity: string; name: string; detail: Record<string, string | null> }>): Promise<void> {
  if (changes.length === 0) return;
  const { openAuditLog } = await import('../audit/index.ts');
  const { nemoclawHome } = await import('../state/index.ts');
  const log = await openAuditLog({ home: nemoclawHome() });
  try {
    for (const c of changes) {
      await log.append({ kind: 'inference.decision', activity: c.activity, target: c.name, actor: { process: 'nemoclaw models', pid: process.pid }, detail: c.detail }, { durable: true });
    }
  } finally {
    await log.close();
  }
}

/** Runs one action: a ModelError is one line on stderr (or JSON) with its exit code. */
async function run(flags: { json?: boolean }, body: (mod: Awaited<ReturnType<typeof open>>) => Promise<number>): Promise<void> {
  const mod = await open();
  // What changed behind our back first: it explains an error that follows ("no model X").
  const notes = (): void => {
    for (const n of mod.models.notes.splice(0)) process.stderr.write(`nemoclaw: ${showOn(process.stderr)(n)}\n`);
  };
  try {
    process.exitCode = await body(mod);
  } catch (err) {
    if (!(err instanceof mod.m.ModelError)) throw err;
    notes();
    if (flags.json) printJson({ ok: false, reason: err.message });
    else process.stderr.write(`nemoclaw: ${showOn(process.stderr)(err.message)}\n`);
    process.exitCode = err.code === 'usage' ? exitCodes.usage : exitCodes.failure;
  } finally {
    notes();
    await auditChanges(mod.models.changes);
  }
}

function line(i: ModelsDoor.ModelInfo): string {
  const ready = i.ready === null ? '' : i.ready ? '  ready' : '  not ready';
  const code = i.exitCode !== null && i.state !== 'running' ? ` (exit ${i.exitCode})` : '';
  return `${i.name}  ${i.engine}  ${i.image}  ${i.model ?? '-'}  127.0.0.1:${i.port}  ${i.state}${code}${ready}  ${i.registered ? 'provider registered' : 'not registered'}  gpus ${i.gpus}\n`;
}

/**
 * `models list [--json]` as its commander action runs it. Exported for the commander-free fast
 * path (commands.ts FAST_VERBS, issue 23), which passes the same flags commander does.
 */
export async function modelsList(flags: { json?: boolean }): Promise<void> {
  // `nemoclaw models list | head -1`: status 0, quietly, as the other listings.
  exitQuietlyOnEpipe();
  await run(flags, async ({ models }) => {
    const list = await models.list();
    if (flags.json) printJson(list);
    else if (list.length === 0) writeOut('no models: nemoclaw models start NAME --engine vllm --image IMAGE --model ID\n');
    else for (const i of list) writeOut(line(i));
    return exitCodes.ok;
  });
}

export function register(program: Command): void {
  const cmd = program.command('models').description('local NIM and vLLM containers (Docker Engine API), routed through inference.local');

  cmd
    .command('start <name>')
    .description('start a model container, wait until it is ready, register it as a local provider')
    .requiredOption('--engine <engine>', 'nim | vllm | openai-compatible')
    .requiredOption('--image <image>', 'the image (pulled when missing; or docker load it)')
    .option('--model <id>', 'the model id it serves (vLLM: the model to load)')
    .option('--port <n>', 'host port on 127.0.0.1 (default 8000)')
    .option('--gpus <gpus>', 'all | none | device ids such as 0,1 (default: all for nim and vllm)')
    .option('--env <k=v>', 'environment for the container (repeatable)', collect)
    .option('--credential-env <var>', "the engine's own key from this variable (NIM: NGC_API_KEY; vLLM: HF_TOKEN)")
    .option('--cache <dir>', 'weights cache directory (default: a named volume kept across rm)')
    .option('--restart <policy>', 'no | on-failure | unless-stopped', 'no')
    .option('--ready-timeout <s>', 'give up waiting for readiness after this many seconds (default 900)')
    .option('--dry-run', 'print the container spec the engine would receive, touch nothing')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: StartFlags) => {
      await run(flags, async ({ m, models }) => {
        const port = flags.port !== undefined ? Number(flags.port) : undefined;
        const opts = {
          name,
          engine: flags.engine,
          image: flags.image,
          model: flags.model,
          port,
          gpus: flags.gpus,
          env: flags.env,
          credentialEnv: flags.credentialEnv,
          cache: flags.cache,
          restart: flags.restart,
          readyTimeoutMs: flags.readyTimeout !== undefined ? Number(flags.readyTimeout) * 1000 : undefined,
        };
        if (flags.dryRun) {
          const spec = m.buildSpec(opts, models.home, process.env, 'ROUTER-KEY-NOT-GENERATED');
          // The engine's own key may be in Env: shown by name only.
          const env = (spec.create.Env ?? []).map((kv) => (kv.startsWith(`${m.PRESETS[spec.engine].engineKeyEnv ?? '\0'}=`) ? `${kv.split('=')[0]}=(from ${flags.credentialEnv})` : kv));
          printJson({ ...spec.create, Env: env });
          return exitCodes.ok;
        }
        const t0 = Date.now();
        const i = await models.start(opts, (l) => process.stderr.write(`${l}\n`));
        if (flags.json) printJson({ ...i, readyMs: Date.now() - t0 });
        else process.stdout.write(`model ${i.name} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${i.url}; provider ${i.name} registered (local): nemoclaw inference set --sandbox S --provider ${i.name} --model ${i.model ?? 'MODEL'}\n`);
        return exitCodes.ok;
      });
    });

  cmd
    .command('list')
    .description('models started by nemoclaw for this NEMOCLAW_HOME (only ours)')
    .option('--json', 'print JSON')
    .action(modelsList);

  cmd
    .command('status <name>')
    .description('one model: state, readiness probed now, registration')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      await run(flags, async ({ models }) => {
        const i = await models.status(name);
        if (flags.json) printJson(i);
        else {
          process.stdout.write(line(i));
          if (i.stats) process.stdout.write(`  cpu ${i.stats.cpuPercent}%  memory ${(i.stats.memoryBytes / 2 ** 20).toFixed(1)} MiB of ${(i.stats.memoryLimitBytes / 2 ** 30).toFixed(1)} GiB\n`);
        }
        return i.state === 'running' ? exitCodes.ok : exitCodes.failure;
      });
    });

  cmd
    .command('logs <name>')
    .description("the container's output (--follow: until it stops or Ctrl-C)")
    .option('--follow', 'keep printing')
    .action(async (name: string, flags: { follow?: boolean }) => {
      await run({}, async ({ models }) => {
        const ac = new AbortController();
        const onInt = (): void => ac.abort();
        process.once('SIGINT', onInt);
        process.once('SIGTERM', onInt);
        try {
          await models.logs(name, flags.follow === true, process.stdout, process.stderr, ac.signal);
        } finally {
          process.off('SIGINT', onInt);
          process.off('SIGTERM', onInt);
        }
        return exitCodes.ok;
      });
    });

  cmd
    .command('stop <name>')
    .description('unregister the provider, then stop the container (kept for start-up logs; rm removes it)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      await run(flags, async ({ models }) => {
        const r = await models.stop(name);
        if (flags.json) printJson({ ...r.info, unregistered: r.unregistered });
        else process.stdout.write(`stopped ${name}${r.unregistered ? `; provider ${name} unregistered` : ''}\n`);
        return exitCodes.ok;
      });
    });

  cmd
    .command('rm <name>')
    .description('unregister the provider and remove the container (the weights cache volume stays)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      await run(flags, async ({ models }) => {
        const unregistered = await models.rm(name);
        if (flags.json) printJson({ removed: name, unregistered });
        else process.stdout.write(`removed ${name}${unregistered ? `; provider ${name} unregistered` : ''}\n`);
        return exitCodes.ok;
      });
    });
}
