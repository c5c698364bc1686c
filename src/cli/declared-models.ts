// Local models a sandbox is created with (docs/models.md, "Blueprints"): a blueprint's `models:`
// (create and onboard) and onboard's local choice, started through src/models before the sandbox
// so that the provider is registered when the supervisor seeds the sandbox's route. Loaded only
// when a blueprint declares models or onboard offers them: dockerode stays out of every other verb.
import type { BlueprintModel } from '../policy/index.ts';
import type * as ModelsDoor from '../models/index.ts';
import { showOn } from './output.ts';

export interface DeclaredStart {
  name: string;
  engine: string;
  image: string;
  model?: string;
  gpus?: string;
  port?: number;
  credentialEnv?: string;
  restart?: string;
}

/** The route a new sandbox starts with when its blueprint's inference names a local engine. */
export interface Seed {
  provider: string;
  model: string;
}

/** Which engine a blueprint's `inference.provider` means when it names a local one. */
const LOCAL_PROVIDER_ENGINE: Readonly<Record<string, string>> = { vllm: 'vllm', 'nim-local': 'nim' };

export function fromBlueprint(m: BlueprintModel, gpusFlag: (g: BlueprintModel['gpus']) => string | undefined): DeclaredStart {
  return { name: m.name, engine: m.engine, image: m.image, model: m.model, gpus: gpusFlag(m.gpus), port: m.port, credentialEnv: m.credential_env, restart: m.restart };
}

/**
 * Starts each model unless ours already runs with the same spec (src/models Models.ensure), with
 * progress on stderr; returns false after one line (or JSON) on the first refusal or failure, and
 * the exit code to end with. Registrations are audited like `nemoclaw models start`.
 */
export async function ensureModels(list: DeclaredStart[], flags: { json?: boolean; readyTimeoutMs?: number }, blueprint?: string): Promise<{ ok: true } | { ok: false; code: number; reason: string }> {
  const m: typeof ModelsDoor = await import('../models/index.ts');
  const { nemoclawHome } = await import('../state/index.ts');
  const { auditChanges } = await import('./models.ts');
  const { exitCodes } = await import('./output.ts');
  const models = new m.Models(nemoclawHome());
  const say = (l: string): void => void process.stderr.write(`${showOn(process.stderr)(l)}\n`);
  const notes = (): void => {
    for (const n of models.notes.splice(0)) say(`nemoclaw: ${n}`);
  };
  let current: DeclaredStart | null = null;
  try {
    for (const d of list) {
      current = d;
      const r = await models.ensure({ ...d, readyTimeoutMs: flags.readyTimeoutMs }, say);
      say(`model ${d.name} ${r.action === 'reused' ? 'already running: reused' : r.action === 'restarted' ? 'started again' : 'started'}; provider ${d.name} registered at ${r.info.url}`);
    }
    return { ok: true };
  } catch (err) {
    if (!(err instanceof m.ModelError)) throw err;
    notes();
    // A declared model's refusal names where it was declared, and how to go on without it.
    const reason =
      blueprint === undefined || current === null ? err.message : `blueprint ${blueprint}, model ${current.name}: ${err.message}${err.code === 'usage' ? '; or without its models: --no-models' : ''}`;
    if (!flags.json) say(`nemoclaw: ${reason}`);
    return { ok: false, code: err.code === 'usage' ? exitCodes.usage : exitCodes.failure, reason };
  } finally {
    notes();
    await auditChanges(models.changes);
  }
}

/**
 * A blueprint's declared models, started before its sandbox; null when it declares none (or does
 * not load: the supervisor then reports it with file:line:col). The seed is the first declared
 * model of the engine the blueprint's inference names (`vllm`, `nim-local`).
 */
export async function startBlueprintModels(blueprint: string, flags: { json?: boolean }): Promise<{ ok: true; seed: Seed | null; names: string[] } | { ok: false; code: number; reason: string } | null> {
  if (!(await mayDeclareModels(blueprint))) return null;
  const policy = await import('../policy/index.ts');
  let bp: Awaited<ReturnType<typeof policy.loadBlueprint>>;
  try {
    bp = await policy.loadBlueprint(blueprint);
  } catch {
    return null;
  }
  if (bp.spec.models.length === 0) return null;
  const list = bp.spec.models.map((x) => fromBlueprint(x, policy.gpusFlag));
  const r = await ensureModels(list, flags, bp.spec.name);
  if (!r.ok) return r;
  const engine = LOCAL_PROVIDER_ENGINE[bp.spec.inference.provider];
  const first = bp.spec.models.find((x) => x.engine === engine);
  const model = first?.model ?? bp.spec.inference.model;
  return { ok: true, seed: first !== undefined && model !== undefined ? { provider: first.name, model } : null, names: list.map((x) => x.name) };
}

/**
 * Whether the blueprint file may declare models, from its text alone: the policy component and the
 * blueprint's parse cost a `create` hundreds of milliseconds, and most blueprints declare none. Only
 * a file without a top-level `models:` key, or with `models: []`, is a sure no; anything else
 * (and a file that cannot be read) goes to the full load, which validates it.
 */
export async function mayDeclareModels(blueprint: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  const { join, resolve } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  // As src/policy loadBlueprint resolves it (a name in NEMOCLAW_BLUEPRINTS or the shipped folder, or a path).
  const isPath = blueprint.includes('/') || blueprint.endsWith('.yaml');
  const dir = process.env['NEMOCLAW_BLUEPRINTS'] ?? fileURLToPath(new URL('../../blueprints/', import.meta.url));
  let text: string;
  try {
    text = await readFile(isPath ? resolve(blueprint) : join(dir, `${blueprint}.yaml`), 'utf8');
  } catch {
    return true;
  }
  const keys = text.split('\n').filter((l) => /^["']?models["']?\s*:/.test(l));
  return !(keys.length === 0 || (keys.length === 1 && /^models:\s*\[\s*\]\s*(#.*)?$/.test(keys[0]!.trimEnd())));
}

/**
 * What onboard offers when doctor finds Docker and a GPU: data, one row per choice. Images are the
 * engines' public ones (vLLM's OpenAI server on Docker Hub, NVIDIA's NIM on nvcr.io); the memory
 * each needs is src/models' rough rule for its size (docs/models.md, "GPU memory").
 */
export const LOCAL_OFFERS: ReadonlyArray<{ id: string; engine: 'vllm' | 'nim'; image: string; model: string; credentialEnv?: string }> = [
  { id: 'qwen2.5-7b', engine: 'vllm', image: 'vllm/vllm-openai:v0.10.1', model: 'Qwen/Qwen2.5-7B-Instruct' },
  { id: 'qwen2.5-0.5b', engine: 'vllm', image: 'vllm/vllm-openai:v0.10.1', model: 'Qwen/Qwen2.5-0.5B-Instruct' },
  { id: 'llama3.1-8b', engine: 'vllm', image: 'vllm/vllm-openai:v0.10.1', model: 'meta-llama/Llama-3.1-8B-Instruct', credentialEnv: 'HF_TOKEN' },
  { id: 'nim-llama3.1-8b', engine: 'nim', image: 'nvcr.io/nim/meta/llama-3.1-8b-instruct:1.3', model: 'meta/llama-3.1-8b-instruct', credentialEnv: 'NGC_API_KEY' },
];

/** The model (container and provider) name onboard gives an offer. */
export const localName = (id: string): string => `local-${id}`;

/**
 * Whether local models can be offered: doctor's docker engine and gpu rows (the same probes, so
 * DOCKER_HOST and NEMOCLAW_NVIDIA_SMI count). `why` is one line naming the rows that did not pass.
 */
export async function localModelsAvailable(): Promise<{ ok: boolean; why: string }> {
  const { runDoctor, doctorContext } = await import('../sandbox/index.ts');
  const r = await runDoctor(doctorContext(), ['docker engine', 'gpu']);
  const bad = r.checks.filter((c) => c.status !== 'pass');
  if (bad.length === 0) return { ok: true, why: '' };
  return { ok: false, why: `local models need Docker and a GPU: ${bad.map((c) => `doctor ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('; ')}` };
}

/** The one-line refusal when the model's GPU memory is not free (src/models checks it again at start), else null. */
export async function gpuMemoryRefusal(l: { name: string; engine: string; image: string; model: string }): Promise<string | null> {
  const m: typeof ModelsDoor = await import('../models/index.ts');
  if (!m.isEngine(l.engine)) return null;
  try {
    m.checkGpuMemory({ name: l.name, needGiB: m.gpuMemoryNeedGiB(l.engine, l.model, l.image), gpus: m.PRESETS[l.engine].defaultGpus, gpusFound: await m.readGpuMemory() });
    return null;
  } catch (err) {
    if (err instanceof m.ModelError) return err.message;
    throw err;
  }
}
