// `nemoclaw providers add|list|remove|test`: model providers the inference router may send to, and
// their keys, kept under NEMOCLAW_HOME outside every sandbox (docs/inference.md). A key is read
// from the named variable or stdin at `add` time and never printed afterwards: `list` shows a
// fingerprint. Works with or without a running supervisor (the router reads the store per request).
import type { Command } from 'commander';
import { exitCodes, exitQuietlyOnEpipe, printJson, showOn, stdout } from './output.ts';

interface AddFlags {
  type: string;
  url: string;
  credentialEnv?: string;
  credentialStdin?: boolean;
  header?: string[];
  location?: string;
  json?: boolean;
}

/** One audit record per provider change: name, type, location, the key's fingerprint; never the key. */
async function auditChange(activity: 'provider_add' | 'provider_remove', name: string, detail: Record<string, string | null>): Promise<void> {
  const { openAuditLog } = await import('../audit/index.ts');
  const { nemoclawHome } = await import('../state/index.ts');
  const log = await openAuditLog({ home: nemoclawHome() });
  try {
    await log.append({ kind: 'inference.decision', activity, target: name, actor: { process: `nemoclaw providers`, pid: process.pid }, detail }, { durable: true });
  } finally {
    await log.close();
  }
}

function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of process.stdin) parts.push(c as Buffer);
  return Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
}

function fail(flags: { json?: boolean }, line: string, code: number = exitCodes.failure): number {
  if (flags.json) printJson({ ok: false, reason: line });
  else process.stderr.write(`nemoclaw: ${showOn(process.stderr)(line)}\n`);
  return code;
}

/**
 * `providers list [--json]` as its commander action runs it. Exported for the commander-free fast
 * path (commands.ts FAST_VERBS, issue 23), which passes the same flags commander does.
 */
export async function providersList(flags: { json?: boolean }): Promise<void> {
  // A listing: `| head` ends it quietly with status 0 (output.ts).
  exitQuietlyOnEpipe();
  const { ProviderStore } = await import('../inference/index.ts');
  const { nemoclawHome } = await import('../state/index.ts');
  const list = new ProviderStore(nemoclawHome()).list();
  // Header values may be tokens of their own: names only.
  const shown = list.map((p) => ({ name: p.name, type: p.type, url: p.url, location: p.location, key: p.fingerprint, headers: Object.keys(p.headers), createdAt: p.createdAt }));
  if (flags.json) printJson(shown);
  else if (shown.length === 0) stdout.write('no providers: nemoclaw providers add NAME --type T --url URL --credential-env VAR\n');
  else for (const p of shown) stdout.write(`${p.name}  ${p.type}  ${p.url}  ${p.location}  key ${p.key ?? '(none)'}${p.headers.length > 0 ? `  headers ${p.headers.join(',')}` : ''}\n`);
  process.exitCode = exitCodes.ok;
}

export function register(program: Command): void {
  const cmd = program.command('providers').description('model providers for the inference router, keys kept outside every sandbox');

  cmd
    .command('add <name>')
    .description('add a provider (its key from --credential-env VAR or --credential-stdin; stored 0600, never shown again)')
    .requiredOption('--type <type>', 'nvidia | openai | openai-compatible | anthropic | nim | vllm')
    .requiredOption('--url <url>', 'base URL, e.g. https://integrate.api.nvidia.com/v1 or http://127.0.0.1:8000/v1')
    .option('--credential-env <var>', 'read the key from this environment variable now')
    .option('--credential-stdin', 'read the key from standard input')
    .option('--header <k=v>', 'extra header sent to the provider (repeatable)', collect)
    .option('--location <where>', 'local | cloud (default: nim, vllm and loopback URLs local; others cloud)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: AddFlags) => {
      const { ProviderStore, ProviderError } = await import('../inference/index.ts');
      const { nemoclawHome } = await import('../state/index.ts');
      if (flags.credentialEnv !== undefined && flags.credentialStdin === true) {
        process.exitCode = fail(flags, '--credential-env and --credential-stdin exclude each other', exitCodes.usage);
        return;
      }
      let key: string | null = null;
      if (flags.credentialEnv !== undefined) {
        const v = process.env[flags.credentialEnv];
        if (v === undefined || v === '') {
          process.exitCode = fail(flags, `${flags.credentialEnv} is not set in this environment`, exitCodes.usage);
          return;
        }
        key = v;
      } else if (flags.credentialStdin === true) key = await readStdin();
      const headers: Record<string, string> = {};
      for (const h of flags.header ?? []) {
        const i = h.indexOf('=');
        if (i <= 0) {
          process.exitCode = fail(flags, `--header ${h}: expected K=V`, exitCodes.usage);
          return;
        }
        headers[h.slice(0, i)] = h.slice(i + 1);
      }
      try {
        const p = new ProviderStore(nemoclawHome()).add({ name, type: flags.type, url: flags.url, location: flags.location, headers, key });
        await auditChange('provider_add', p.name, { type: p.type, location: p.location, key_fp: p.fingerprint });
        if (flags.json) printJson(p);
        else stdout.write(`provider ${p.name}: ${p.type} ${p.url} (${p.location}${p.fingerprint !== null ? `, key ${p.fingerprint}` : ', no key'})\n`);
        process.exitCode = exitCodes.ok;
      } catch (err) {
        if (err instanceof ProviderError) process.exitCode = fail(flags, err.message, exitCodes.usage);
        else throw err;
      }
    });

  cmd
    .command('list')
    .description('providers, with the fingerprint of each key (never the key)')
    .option('--json', 'print JSON')
    .action(providersList);

  cmd
    .command('remove <name>')
    .description('remove a provider and its stored key')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      const { ProviderStore, ProviderError } = await import('../inference/index.ts');
      const { nemoclawHome } = await import('../state/index.ts');
      try {
        const had = new ProviderStore(nemoclawHome()).remove(name);
        if (had) await auditChange('provider_remove', name, {});
        if (flags.json) printJson({ removed: had ? name : null });
        else stdout.write(had ? `removed provider ${name}\n` : `no provider ${name}\n`);
        process.exitCode = had ? exitCodes.ok : exitCodes.failure;
      } catch (err) {
        if (err instanceof ProviderError) process.exitCode = fail(flags, err.message, exitCodes.usage);
        else throw err;
      }
    });

  cmd
    .command('test <name>')
    .description('one real request to the provider (GET models with its key): latency and model list')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: { json?: boolean }) => {
      // A listing: `| head` ends it quietly with status 0 (output.ts).
      exitQuietlyOnEpipe();
      const { ProviderStore, testProvider } = await import('../inference/index.ts');
      const { nemoclawHome } = await import('../state/index.ts');
      const r = await testProvider(new ProviderStore(nemoclawHome()), name);
      const show = showOn(stdout);
      if (flags.json) printJson(r);
      else if (r.ok) stdout.write(`${name}: ok in ${r.latencyMs} ms, ${r.models.length} models${r.models.length > 0 ? `: ${show(r.models.slice(0, 10).join(', '))}` : ''}\n`);
      else stdout.write(`${name}: failed after ${r.latencyMs} ms: ${show(r.error ?? 'unknown error')}\n`);
      process.exitCode = r.ok ? exitCodes.ok : exitCodes.failure;
    });
}
