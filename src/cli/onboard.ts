// `nemoclaw onboard`: a wizard for the first sandbox (blueprint, inference provider and the
// environment variable that holds its key, presets, workspace), then a summary box and the
// commands to use it. Every answer has a flag; `--non-interactive` takes flags and defaults only.
// The key's value is never read into the sandbox or printed: only whether the variable is set.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { SandboxView } from '../supervisor/index.ts';
import { UsageError } from './output.ts';
import { client, runVerb, svExit } from './supervisor-client.ts';

interface OnboardFlags {
  nonInteractive?: boolean;
  name?: string;
  blueprint?: string;
  provider?: string;
  credentialEnv?: string;
  model?: string;
  presets?: string;
  workspace?: string;
  restart?: string;
  serve?: boolean;
  localModel?: string;
  /** false with --no-models: the blueprint's declared models are not started. */
  models?: boolean;
  json?: boolean;
}

/** A local model onboard starts (docs/models.md, "Onboard"): one of LOCAL_OFFERS, with its key variable. */
export interface LocalChoice {
  id: string;
  name: string;
  engine: string;
  image: string;
  model: string;
  credentialEnv: string | null;
}

const PROVIDERS = ['nvidia', 'openai', 'nim-local', 'vllm', 'none'] as const;

export interface Answers {
  name: string;
  blueprint: string;
  provider: string;
  credentialEnv: string | null;
  model: string | null;
  presets: string[];
  workspace: string;
  restart: string;
  localModel: LocalChoice | null;
}

/** A box of lines, width fitted to the longest (plain ASCII/Unicode box drawing, no colour). */
export function summaryBox(title: string, rows: Array<[string, string]>, commands: string[]): string {
  const body = [title, ...rows.map(([k, v]) => `  ${k.padEnd(10)} ${v}`)];
  const width = Math.max(...body.map((l) => l.length), ...commands.map((c) => c.length)) + 2;
  const line = (s: string): string => `│ ${s.padEnd(width - 2)} │\n`;
  return `┌${'─'.repeat(width)}┐\n${body.map(line).join('')}├${'─'.repeat(width)}┤\n${commands.map(line).join('')}└${'─'.repeat(width)}┘\n`;
}

/** Questions on stderr, answers line by line from stdin (works for a terminal and a pipe). */
type Lines = AsyncIterator<string>;

async function ask(lines: Lines, q: string, def: string, valid?: (v: string) => string | null): Promise<string> {
  for (let i = 0; i < 5; i++) {
    process.stderr.write(`${q} [${def}]: `);
    const next = await lines.next();
    if (next.done) process.stderr.write('\n');
    const a = (next.done ? '' : next.value).trim() || def;
    const why = valid?.(a) ?? null;
    if (why === null) return a;
    process.stderr.write(`  ${why}\n`);
  }
  throw new UsageError(`onboard: no valid answer for "${q}"`);
}

/** One of the local offers by id, with the variable holding the key its server needs (NIM, gated models). */
async function localChoice(id: string, credentialEnv: string | undefined): Promise<LocalChoice> {
  const { LOCAL_OFFERS, localName } = await import('./declared-models.ts');
  const o = LOCAL_OFFERS.find((x) => x.id === id);
  if (o === undefined) throw new UsageError(`onboard: --local-model ${id}: one of ${LOCAL_OFFERS.map((x) => x.id).join(', ')}`);
  const env = credentialEnv ?? o.credentialEnv ?? '-';
  if (env !== '-' && !/^[A-Z_][A-Z0-9_]*$/.test(env)) throw new UsageError(`onboard: --credential-env ${env}: an environment variable name (or - for none)`);
  return { id: o.id, name: localName(o.id), engine: o.engine, image: o.image, model: o.model, credentialEnv: env === '-' ? null : env };
}

async function gather(flags: OnboardFlags): Promise<Answers> {
  const policy = await import('../policy/index.ts');
  const { validName } = await import('../supervisor/index.ts');
  const blueprints = await policy.listBlueprints();
  const presetNames = (await policy.listPresets()).map((p) => p.name);
  const checkName = (v: string): string | null => (validName(v) ? null : 'lower-case letters, digits and -, starting with a letter, not a nemoclaw command');
  const checkBlueprint = (v: string): string | null => (blueprints.includes(v) || v.endsWith('.yaml') ? null : `one of ${blueprints.join(', ')} (or a .yaml file)`);
  // Any provider stored with `nemoclaw providers add` (docs/inference.md), besides the built-in choices.
  const { ProviderStore } = await import('../inference/index.ts');
  const { nemoclawHome } = await import('../state/index.ts');
  const stored = new ProviderStore(nemoclawHome()).list().map((p) => p.name);
  const choices = [...new Set([...PROVIDERS, ...stored])];
  const checkProvider = (v: string): string | null => (choices.includes(v) ? null : `one of ${choices.join(', ')} (or add one: nemoclaw providers add)`);
  const checkEnv = (v: string): string | null => (v === '-' || /^[A-Z_][A-Z0-9_]*$/.test(v) ? null : 'an environment variable name like NVIDIA_API_KEY (or - for none)');
  const checkPresets = (v: string): string | null => {
    const bad = v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-' && !presetNames.includes(s));
    return bad.length === 0 ? null : `unknown preset ${bad.join(', ')}; known: ${presetNames.join(', ')}`;
  };
  const bpOf = async (b: string) => policy.loadBlueprint(b);
  const splitPresets = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-');

  if (flags.nonInteractive) {
    const a = {
      name: flags.name ?? 'my-agent',
      blueprint: flags.blueprint ?? 'dev',
    };
    for (const [v, check] of [[a.name, checkName], [a.blueprint, checkBlueprint]] as const) {
      const why = check(v);
      if (why) throw new UsageError(`onboard: ${v}: ${why}`);
    }
    const bp = await bpOf(a.blueprint);
    if (flags.localModel !== undefined && flags.provider !== undefined) throw new UsageError('onboard: --local-model is the provider (local-ID): not both with --provider');
    const local = flags.localModel !== undefined ? await localChoice(flags.localModel, flags.credentialEnv) : null;
    if (local !== null) {
      const why = checkPresets(flags.presets ?? '');
      if (why) throw new UsageError(`onboard: ${flags.presets}: ${why}`);
      return { ...a, provider: local.name, credentialEnv: null, model: local.model, presets: splitPresets(flags.presets ?? ''), workspace: resolve(flags.workspace ?? process.cwd()), restart: flags.restart ?? 'on-failure', localModel: local };
    }
    const provider = flags.provider ?? bp.spec.inference.provider;
    const credentialEnv = flags.credentialEnv ?? bp.spec.inference.credential_env ?? null;
    for (const [v, check] of [[provider, checkProvider], [credentialEnv ?? '-', checkEnv], [flags.presets ?? '', checkPresets]] as const) {
      const why = check(v);
      if (why) throw new UsageError(`onboard: ${v}: ${why}`);
    }
    return { ...a, provider, credentialEnv: credentialEnv === '-' ? null : credentialEnv, model: flags.model ?? bp.spec.inference.model ?? null, presets: splitPresets(flags.presets ?? ''), workspace: resolve(flags.workspace ?? process.cwd()), restart: flags.restart ?? 'on-failure', localModel: null };
  }

  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, terminal: false });
  const lines: Lines = rl[Symbol.asyncIterator]();
  try {
    process.stderr.write('nemoclaw onboard: a sandboxed agent in six questions (Enter keeps the [default])\n');
    const name = await ask(lines, '1/6 sandbox name', flags.name ?? 'my-agent', checkName);
    process.stderr.write(`    blueprints: ${blueprints.join(', ')}\n`);
    const blueprint = await ask(lines, '2/6 blueprint', flags.blueprint ?? 'dev', checkBlueprint);
    const bp = await bpOf(blueprint);
    // Local models are offered only where doctor finds Docker and a GPU (docs/models.md, "Onboard").
    const { LOCAL_OFFERS, localModelsAvailable } = await import('./declared-models.ts');
    const offers = (await localModelsAvailable()).ok ? LOCAL_OFFERS.map((o) => `local:${o.id}`) : [];
    if (offers.length > 0) {
      const { gpuMemoryNeedGiB } = await import('../models/index.ts');
      process.stderr.write(`    local models (doctor found Docker and a GPU): ${LOCAL_OFFERS.map((o) => `local:${o.id} (${o.engine} ${o.model}, about ${gpuMemoryNeedGiB(o.engine, o.model, o.image)} GiB of GPU memory)`).join(', ')}\n`);
    }
    const checkProviderOrLocal = (v: string): string | null => (offers.includes(v) ? null : checkProvider(v));
    const picked = await ask(lines, `3/6 inference provider (${[...choices, ...offers].join(', ')})`, flags.provider ?? bp.spec.inference.provider, checkProviderOrLocal);
    if (picked.startsWith('local:')) {
      const offer = LOCAL_OFFERS.find((o) => `local:${o.id}` === picked)!;
      const keyEnv = offer.credentialEnv === undefined ? '-' : await ask(lines, `4/6 environment variable holding the ${offer.engine === 'nim' ? 'NGC' : 'Hugging Face'} key the model server needs (- for none)`, flags.credentialEnv ?? offer.credentialEnv, checkEnv);
      const local = await localChoice(offer.id, keyEnv);
      process.stderr.write(`    presets: ${presetNames.join(', ')} (the blueprint already has: ${bp.spec.policy.presets.join(', ') || 'none'})\n`);
      const presets = await ask(lines, '5/6 extra presets, comma-separated (- for none)', flags.presets ?? '-', checkPresets);
      const workspace = await ask(lines, '6/6 workspace directory', flags.workspace ?? process.cwd());
      return { name, blueprint, provider: local.name, credentialEnv: null, model: local.model, presets: splitPresets(presets), workspace: resolve(workspace), restart: flags.restart ?? 'on-failure', localModel: local };
    }
    const provider = picked;
    const envDef = flags.credentialEnv ?? bp.spec.inference.credential_env ?? (provider === 'openai' ? 'OPENAI_API_KEY' : provider === 'nvidia' ? 'NVIDIA_API_KEY' : '-');
    const credentialEnv = provider === 'none' ? '-' : await ask(lines, '4/6 environment variable holding the API key (- for none)', envDef, checkEnv);
    process.stderr.write(`    presets: ${presetNames.join(', ')} (the blueprint already has: ${bp.spec.policy.presets.join(', ') || 'none'})\n`);
    const presets = await ask(lines, '5/6 extra presets, comma-separated (- for none)', flags.presets ?? '-', checkPresets);
    const workspace = await ask(lines, '6/6 workspace directory', flags.workspace ?? process.cwd());
    return { name, blueprint, provider, credentialEnv: credentialEnv === '-' ? null : credentialEnv, model: flags.model ?? bp.spec.inference.model ?? null, presets: splitPresets(presets), workspace: resolve(workspace), restart: flags.restart ?? 'on-failure', localModel: null };
  } finally {
    rl.close();
  }
}

function refuser(a: Answers, flags: OnboardFlags): (code: number, reason: string) => number {
  return (code, reason) => {
    if (flags.json) process.stdout.write(`${JSON.stringify({ answers: a, ok: false, reason }, null, 2)}\n`);
    else process.stderr.write(`nemoclaw: ${reason}\n`);
    return code;
  };
}

/**
 * Before anything starts (the supervisor included): onboard's local model needs doctor's docker
 * engine and gpu rows to pass and its GPU memory to be free (docs/models.md, "Onboard"). Null when
 * it may go ahead, else the exit code after one line.
 */
async function checkLocalModel(a: Answers, flags: OnboardFlags): Promise<number | null> {
  if (a.localModel === null) return null;
  const dm = await import('./declared-models.ts');
  const av = await dm.localModelsAvailable();
  if (!av.ok) return refuser(a, flags)(svExit.usage, av.why);
  const why = await dm.gpuMemoryRefusal(a.localModel);
  return why === null ? null : refuser(a, flags)(svExit.usage, why);
}

/**
 * Onboard's local model and the blueprint's declared models, started before the sandbox so their
 * providers exist when its route is set; null when all are ready, else the exit code after one line
 * (ensureModels prints it unless --json).
 */
async function startLocalModels(a: Answers, flags: OnboardFlags): Promise<number | null> {
  const dm = await import('./declared-models.ts');
  const refuse = (code: number, reason: string): number => (flags.json ? refuser(a, flags)(code, reason) : code);
  if (a.localModel !== null) {
    const l = a.localModel;
    const r = await dm.ensureModels([{ name: l.name, engine: l.engine, image: l.image, model: l.model, credentialEnv: l.credentialEnv ?? undefined }], flags);
    if (!r.ok) return refuse(r.code, r.reason);
  }
  if (flags.models === false) return null;
  const m = await dm.startBlueprintModels(a.blueprint, flags);
  if (m !== null && !m.ok) return refuse(m.code, m.reason);
  // The blueprint's local engine (`vllm`, `nim-local`) is the model it declares: route to that.
  if (m?.seed && a.localModel === null && (a.provider === 'vllm' || a.provider === 'nim-local')) {
    a.provider = m.seed.provider;
    a.model = m.seed.model;
  }
  return null;
}

/** Starts `nemoclaw serve` in the background (its output in $NEMOCLAW_HOME/run/serve.log). */
async function startBackgroundSupervisor(): Promise<void> {
  const { spawn } = await import('node:child_process');
  const { mkdirSync, openSync } = await import('node:fs');
  const { homePaths, ApiClient } = await import('../supervisor/index.ts');
  const p = homePaths();
  mkdirSync(p.run, { recursive: true, mode: 0o700 });
  const log = openSync(`${p.run}/serve.log`, 'a', 0o600);
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] as string, 'serve'], { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  const api = new ApiClient();
  for (let i = 0; i < 100; i++) {
    try {
      await api.call('GET', '/v1/health');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`the supervisor did not come up; see ${p.run}/serve.log`);
}

export function register(program: Command): void {
  program
    .command('onboard')
    .description('set up a sandboxed agent: blueprint, inference provider and key variable, presets, workspace')
    .option('--non-interactive', 'no questions: flags and defaults only')
    .option('--name <name>', 'sandbox name (default my-agent)')
    .option('--blueprint <name>', 'blueprint (default dev)')
    .option('--provider <p>', `inference provider: ${PROVIDERS.join(' | ')} (default: the blueprint's)`)
    .option('--credential-env <VAR>', "environment variable holding the provider's API key (- for none)")
    .option('--model <id>', "model (default: the blueprint's)")
    .option('--presets <a,b>', 'extra policy presets')
    .option('--workspace <dir>', 'workspace directory (default: the current directory)')
    .option('--restart <policy>', 'never | on-failure | always', 'on-failure')
    .option('--serve', 'start a background supervisor if none is running')
    .option('--local-model <id>', 'start a local model (Docker and a GPU): qwen2.5-7b | qwen2.5-0.5b | llama3.1-8b | nim-llama3.1-8b')
    .option('--no-models', "do not start the blueprint's declared local models")
    .option('--json', 'print {"sandbox": {...}, "answers": {...}} instead of the summary box')
    .argument('[command...]', "agent command (after --); default: the blueprint's agent")
    .action((command: string[], flags: OnboardFlags) =>
      runVerb(flags, async () => {
        const a = await gather(flags);
        const early = await checkLocalModel(a, flags);
        if (early !== null) return early;
        const { SupervisorUnavailableError } = await import('../supervisor/index.ts');
        const c = await client();
        try {
          await c.call('GET', '/v1/health');
        } catch (err) {
          if (!(err instanceof SupervisorUnavailableError)) throw err;
          let start = flags.serve === true;
          if (!start && !flags.nonInteractive && process.stdin.isTTY) {
            const { createInterface } = await import('node:readline/promises');
            const rl = createInterface({ input: process.stdin, output: process.stderr });
            start = !/^n/i.test((await rl.question('no supervisor is running; start one in the background now? [Y/n] ')).trim());
            rl.close();
          }
          if (!start) throw err;
          await startBackgroundSupervisor();
        }
        // Local models before the sandbox, so their providers exist when its route is seeded.
        const refused = await startLocalModels(a, flags);
        if (refused !== null) return refused;
        const r = await c.call<{ sandbox: SandboxView }>('POST', '/v1/sandboxes', {
          name: a.name,
          blueprint: a.blueprint,
          workspace: a.workspace,
          restart: a.restart,
          presets: a.presets,
          inference: { provider: a.provider, credentialEnv: a.credentialEnv, model: a.model },
          command: command.length > 0 ? command : undefined,
        });
        let s = r.sandbox;
        // Never "running" for a sandbox that did not start or crash-loops (docs/agents.md): a
        // failed start ends here with its one-line reason; an agent is waited for until it says
        // it is ready, or until it exits.
        const fail = (why: string): number => {
          if (flags.json) process.stdout.write(`${JSON.stringify({ sandbox: s, answers: a, ok: false, reason: why }, null, 2)}\n`);
          else process.stderr.write(`nemoclaw: sandbox ${s.name} ${why}\n`);
          return svExit.failure;
        };
        let agentReady: number | null = null;
        if (s.state !== 'running' || s.agent !== null) {
          if (s.agent !== null && s.state === 'running' && !flags.json) process.stderr.write(`waiting for ${s.agent.name} to be ready in ${s.name}...\n`);
          const { waitAgentReady } = await import('./chat.ts');
          const ready = await waitAgentReady(s.name);
          s = ready.sandbox;
          if (!ready.ok) return fail(ready.reason);
          agentReady = ready.ms;
        }
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ sandbox: s, answers: a }, null, 2)}\n`);
          return svExit.ok;
        }
        const keyState = a.credentialEnv === null ? 'no key' : `key from $${a.credentialEnv} (${process.env[a.credentialEnv] ? 'set' : 'NOT set in this shell'})`;
        process.stdout.write(
          summaryBox(
            `nemoclaw: sandbox ${s.name} is ${s.state}${agentReady !== null && s.agent !== null ? `, ${s.agent.name} ready (${(agentReady / 1000).toFixed(1)} s)` : ''}`,
            [
              ['blueprint', `${a.blueprint}${s.blueprintDigest ? ` (sha256:${s.blueprintDigest.slice(0, 12)})` : ''}`],
              ['inference', `${a.provider}${a.model ? ` ${a.model}` : ''}, ${keyState}`],
              ['presets', a.presets.join(', ') || '(blueprint only)'],
              ['workspace', a.workspace],
              ['restart', a.restart],
              ['policy', `revision ${s.policyRevision ?? '-'}`],
            ],
            [...(s.agent !== null ? [`nemoclaw ${s.name} chat`] : []), `nemoclaw ${s.name} connect`, `nemoclaw ${s.name} status`, `nemoclaw ${s.name} logs --follow`],
          ),
        );
        return svExit.ok;
      }),
    );
}
