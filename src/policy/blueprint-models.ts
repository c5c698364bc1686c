// A blueprint's `models:` section (docs/models.md, "Blueprints"): the local model servers that
// `nemoclaw create` and `onboard` start (through src/models) before the sandbox. Validated here with
// the rest of the blueprint so a mistake is a file:line:col diagnostic, before any engine is asked.
// The engine names mirror src/models/presets.ts ENGINES (policy must not load the models door, which
// loads dockerode); a test checks the two lists agree.
import * as z from 'zod/mini';

export const MODEL_ENGINES = ['nim', 'vllm', 'openai-compatible'] as const;

/** The container's (and provider's) name, as src/models requires it. */
const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** The `--gpus` text src/models takes: all, none, or ids joined by commas. */
export function gpusFlag(g: BlueprintModel['gpus']): string | undefined {
  return Array.isArray(g) ? g.join(',') : g;
}

/** The `models:` schemas, built with the blueprint schema on first use (schema.ts, policySchemas). */
export function blueprintModelSchemas() {
  /** `all`, `none`, or a list of device ids (indexes or GPU-… uuids), as `--gpus` takes them. */
  const gpus = z.union([
    z.enum(['all', 'none']),
    z
      .array(z.union([z.number().check(z.int(), z.gte(0)), z.string().check(z.regex(/^GPU-[0-9a-fA-F-]+$/, 'a GPU index or a GPU-… uuid'))]))
      .check(z.minLength(1)),
  ]);
  const blueprintModelSchema = z.strictObject({
    name: z.string().check(z.regex(MODEL_NAME, 'model names are lower-case letters, digits, `.`, `_` and `-` (the container and provider name)')),
    engine: z.enum(MODEL_ENGINES),
    image: z.string().check(z.minLength(1), z.regex(/^[^\s]+$/, 'an image reference without spaces')),
    /** The model id it serves (vLLM loads it; for NIM it names the served model). */
    model: z.optional(z.string().check(z.minLength(1))),
    /** Default: all for nim and vllm, none for openai-compatible (the preset's). */
    gpus: z.optional(gpus),
    /** Host port on 127.0.0.1 (default 8000). */
    port: z.optional(z.number().check(z.int(), z.gte(1024), z.lte(65535))),
    /** The variable holding the engine's own key (NIM: NGC_API_KEY; vLLM: HF_TOKEN). */
    credential_env: z.optional(z.string().check(z.regex(ENV_NAME))),
    restart: z.optional(z.enum(['no', 'on-failure', 'unless-stopped'])),
  }).check(z.superRefine((m, ctx) => {
    if (m.engine === 'nim' && m.credential_env === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a NIM needs its NGC key: credential_env naming the variable that holds it (passed as NGC_API_KEY)' });
    }
    if (m.engine === 'vllm' && m.model === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'vllm needs model: the model id it loads' });
  }));

  const blueprintModelsSchema = z._default(z.array(blueprintModelSchema), []).check(
    z.superRefine((models, ctx) => {
      // Each entry alone is fine (zod runs this only then); two together can still collide on the
      // engine's names and ports.
      const names = new Map<string, number>();
      const ports = new Map<number, number>();
      models.forEach((m, i) => {
        const n = names.get(m.name);
        if (n !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `model name ${m.name} is declared twice (also entry ${n + 1})` });
        else names.set(m.name, i);
        const port = m.port ?? 8000;
        const p = ports.get(port);
        if (p !== undefined) ctx.addIssue({ code: 'custom', path: [i, ...(m.port !== undefined ? ['port'] : [])], message: `port ${port} is already used by model ${models[p]!.name}` });
        else ports.set(port, i);
      });
    }),
  );
  return { blueprintModelSchema, blueprintModelsSchema };
}

export type BlueprintModel = z.output<ReturnType<typeof blueprintModelSchemas>['blueprintModelSchema']>;
