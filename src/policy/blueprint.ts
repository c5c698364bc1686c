// Blueprints (how an agent environment is built) and presets (policy fragments), both shipped
// under blueprints/ at the repository root. A blueprint's digest is the sha256 of its file bytes,
// recorded by whoever applies it, so a sandbox can say exactly which blueprint built it.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import * as z from 'zod/mini';
import { defaultPolicy } from './compile.ts';
import { diagnosticAt, parsePolicy, parsePreset, parseWithSchema, PolicyError } from './load.ts';
import { blueprintModelSchemas } from './blueprint-models.ts';
import { endpointLabel, networkPolicyConflicts } from './overlap.ts';
import { described, policySchemas } from './schema.ts';
import type { NetworkPolicy, Policy, Preset } from './schema.ts';
import { blueprintsDir } from './types.ts';
import { parseSize } from './units.ts';

function presetsDir(): string {
  return join(blueprintsDir(), 'presets');
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Builds the blueprint schema on first use, as schema.ts does the policy's (issue 23): a verb
 * that never reads a blueprint (`policy validate` of a policy file) does not construct it.
 */
function build() {
  const { approvalsSchema, duration, networkPoliciesSchema, toolsSchema } = policySchemas();
  const { blueprintModelsSchema } = blueprintModelSchemas();
  const sizeText = z.union([z.string(), z.number()]).check(
    z.superRefine((v, ctx) => {
      if (parseSize(v) === null) ctx.addIssue({ code: 'custom', message: `not a size: ${JSON.stringify(v)}` });
    }),
  );

  const eventName = z.enum([
    'egress.denied',
    'egress.asked',
    'egress.audited',
    'exec.denied',
    'exec.asked',
    'syscall.denied',
    'approval.timeout',
    'inference.redacted',
    'inference.blocked',
    'sandbox.degraded',
    'sandbox.exited',
  ]);

  const nonEmpty = () => z.string().check(z.minLength(1));
  const loopbackPort = () => z.number().check(z.int(), z.gte(1), z.lte(65535));

  const blueprintSchema = z.strictObject({
    name: z.string().check(z.regex(NAME, 'blueprint names are lower-case letters, digits and `-`')),
    version: z.string().check(z.regex(SEMVER, 'version must be semver (e.g. 1.2.0)')),
    description: nonEmpty(),
    agent: z.strictObject({
      name: nonEmpty(),
      /** The agent's pinned version: the supervisor binds that install (`nemoclaw agents install`) read-only. */
      version: z.optional(nonEmpty()),
      /** argv of the agent inside the sandbox. */
      command: z.array(nonEmpty()).check(z.minLength(1)),
      /** Steps run (in a sandbox with the install policy) to put the agent in place. */
      install: z._default(
        z.array(
          z.strictObject({
            run: described(z.array(nonEmpty()).check(z.minLength(1)), 'argv, no shell'),
            description: z.optional(z.string()),
          }),
        ),
        [],
      ),
      config_template: z.optional(
        z.strictObject({
          path: described(nonEmpty(), 'relative to the sandbox HOME'),
          content: z.string(),
        }),
      ),
      env: z._default(z.record(z.string().check(z.regex(/^[A-Z_][A-Z0-9_]*$/)), z.string()), {}),
    }),
    policy: z.strictObject({
      base: described(z._default(nonEmpty(), 'default'), '`default` or a policy file relative to the blueprint'),
      presets: z._default(z.array(z.string().check(z.regex(NAME))), []),
      /** Loopback ports of the agent's own servers (OpenClaw's gateway), added to the base's. */
      loopback: z.optional(z.strictObject({ bind: z.optional(z.array(loopbackPort())), connect: z.optional(z.array(loopbackPort())) })),
      network_policies: described(z.optional(networkPoliciesSchema), 'extra rules on top of base and presets'),
      /** The agent's tool calls asked, allowed or refused (docs/approvals.md "Tool calls"). */
      tools: z.optional(toolsSchema),
    }),
    inference: z.strictObject({
      profile: nonEmpty(),
      provider: z.enum(['nvidia', 'openai', 'nim-local', 'vllm', 'none']),
      endpoint: z.optional(z.string().check(z.url())),
      model: z.optional(nonEmpty()),
      credential_env: z.optional(z.string().check(z.regex(/^[A-Z_][A-Z0-9_]*$/))),
      routing: z.enum(['local-only', 'cloud-with-redaction', 'cloud-allowed']),
    }),
    /** Local model servers started before the sandbox (docs/models.md, "Blueprints"). */
    models: blueprintModelsSchema,
    monitoring: z._default(
      z.strictObject({
        alerts: z._default(
          z.array(
            z.strictObject({
              event: eventName,
              severity: z.enum(['info', 'warning', 'critical']),
              threshold: described(z._default(z.number().check(z.int(), z.gte(1)), 1), 'alert after this many events'),
              window: described(z.optional(duration), 'within this long'),
            }),
          ),
          [],
        ),
      }),
      { alerts: [] },
    ),
    approvals: z._default(
      z.extend(approvalsSchema, {
        approvers: described(z._default(z.array(nonEmpty()).check(z.minLength(1)), ['operator']), 'who may answer asks'),
        allow_always: described(z._default(z.boolean(), true), 'whether "always" answers may write policy revisions'),
      }),
      { approvers: ['operator'], allow_always: true },
    ),
    resources: z._default(
      z.strictObject({
        memory: z.optional(sizeText),
        cpu: z.optional(z.string().check(z.regex(/^[0-9]+(?:\.[0-9]+)?%$/, 'cpu is a percentage of one core, e.g. 200%'))),
        pids: z.optional(z.number().check(z.int(), z.gte(1))),
        gpus: z.optional(z.union([z.literal('all'), z.number().check(z.int(), z.gte(0))])),
      }),
      {},
    ),
  });
  return blueprintSchema;
}

let built: ReturnType<typeof build> | undefined;

/** The blueprint file schema (zod/mini), built on the first call. */
export function blueprintSchema(): ReturnType<typeof build> {
  built ??= build();
  return built;
}

export type BlueprintSpec = z.output<ReturnType<typeof build>>;

export interface Blueprint {
  /** Absolute path of the file it was loaded from. */
  file: string;
  /** sha256 (hex) of the file bytes. */
  digest: string;
  spec: BlueprintSpec;
  /** The base policy, resolved at load time (`default` or the referenced file). */
  base: Policy;
  /** The presets named in `policy.presets`, loaded. */
  presets: Preset[];
}

export async function listPresets(): Promise<{ name: string; description: string; file: string }[]> {
  const dir = presetsDir();
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
  // Read together (one read at a time cost a thread-pool round trip each: ~20 of `policy
  // presets`' ~140 ms), parsed in order, so the first broken file named is the same as before.
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  return files.map((file, i) => {
    const p = parsePreset(texts[i] as string, file);
    return { name: p.preset.name, description: p.preset.description, file };
  });
}

async function loadPresetFile(file: string): Promise<Preset> {
  return parsePreset(await readFile(file, 'utf8'), file);
}

/** A shipped preset by name, or a preset file by path. */
export async function loadPreset(nameOrPath: string): Promise<Preset> {
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.endsWith('.yaml');
  if (!looksLikePath && !NAME.test(nameOrPath)) throw new Error(`not a preset name: ${JSON.stringify(nameOrPath)}`);
  const file = looksLikePath ? resolve(nameOrPath) : join(presetsDir(), `${nameOrPath}.yaml`);
  try {
    return await loadPresetFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const known = (await readdir(presetsDir()).catch(() => [])).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5));
      throw new Error(`no preset ${JSON.stringify(nameOrPath)}; known presets: ${known.join(', ')}`, { cause: err });
    }
    throw err;
  }
}

/** A shipped blueprint by name (`openclaw`, `strict`, `dev`) or a blueprint file by path. */
export async function loadBlueprint(nameOrPath: string): Promise<Blueprint> {
  const looksLikePath = nameOrPath.includes('/') || nameOrPath.endsWith('.yaml');
  const file = looksLikePath ? resolve(nameOrPath) : join(blueprintsDir(), `${nameOrPath}.yaml`);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !looksLikePath) throw new Error(`no blueprint ${JSON.stringify(nameOrPath)} in ${blueprintsDir()}`, { cause: err });
    throw new PolicyError([{ file, line: 1, col: 1, message: `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, snippet: '' }], { cause: err });
  }
  const text = bytes.toString('utf8');
  const spec = parseWithSchema(text, file, blueprintSchema());
  let base: Policy;
  if (spec.policy.base === 'default') base = defaultPolicy();
  else {
    const basePath = isAbsolute(spec.policy.base) ? spec.policy.base : join(dirname(file), spec.policy.base);
    let baseText: string;
    try {
      baseText = await readFile(basePath, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new PolicyError([diagnosticAt(text, file, ['policy', 'base'], `cannot read ${basePath} (${code})`)], { cause: err });
    }
    base = parsePolicy(baseText, basePath);
  }
  const presets: Preset[] = [];
  for (const [i, name] of spec.policy.presets.entries()) {
    try {
      presets.push(await loadPreset(name));
    } catch (err) {
      if (err instanceof PolicyError) throw err;
      throw new PolicyError([diagnosticAt(text, file, ['policy', 'presets', i], err instanceof Error ? err.message : String(err))], { cause: err });
    }
  }
  return { file, digest: createHash('sha256').update(bytes).digest('hex'), spec, base, presets };
}

export function blueprintDigest(bp: Blueprint): string {
  return bp.digest;
}

/**
 * The policy a blueprint builds: base, then each preset's rules, then the blueprint's own rules,
 * then its approval settings and resources (as limits). Pure: everything was read at load time.
 * A rule name defined twice with different content is an error, never a silent override.
 */
export function blueprintPolicy(bp: Blueprint): Policy {
  const policy: Policy = structuredClone(bp.base);
  const rules: Record<string, NetworkPolicy> = { ...(policy.network_policies ?? {}) };
  const source = new Map<string, string>(Object.keys(rules).map((n) => [n, 'the base policy']));
  const add = (from: string, more: Record<string, NetworkPolicy>) => {
    for (const [name, np] of Object.entries(more)) {
      if (rules[name] !== undefined && JSON.stringify(rules[name]) !== JSON.stringify(np)) {
        throw new Error(`blueprint ${bp.spec.name}: rule ${name} from ${from} conflicts with an earlier rule of the same name`);
      }
      rules[name] = np;
      source.set(name, from);
    }
  };
  for (const p of bp.presets) add(`preset ${p.preset.name}`, p.network_policies);
  add('the blueprint', bp.spec.policy.network_policies ?? {});
  // Each file was validated alone; rules from two of them can still grant one request different addresses.
  const clash = networkPolicyConflicts(rules)[0];
  if (clash) {
    const from = (path: (string | number)[]) => `${endpointLabel(path)} (${source.get(String(path[0])) ?? '?'})`;
    throw new Error(`blueprint ${bp.spec.name}: ${from(clash.left)} and ${from(clash.right)} both match ${clash.overlap} with different allowed_ips ([${clash.leftGrant}] vs [${clash.rightGrant}])`);
  }
  if (Object.keys(rules).length > 0) policy.network_policies = rules;
  const lb = bp.spec.policy.loopback;
  if (lb !== undefined) {
    policy.loopback = {
      bind: [...new Set([...(policy.loopback?.bind ?? []), ...(lb.bind ?? [])])],
      connect: [...new Set([...(policy.loopback?.connect ?? []), ...(lb.connect ?? [])])],
    };
  }
  if (bp.spec.policy.tools !== undefined) policy.tools = { ...(policy.tools ?? {}), ...bp.spec.policy.tools };
  const a = bp.spec.approvals;
  policy.approvals = {
    ...(policy.approvals ?? {}),
    ...(a.unmatched_egress !== undefined ? { unmatched_egress: a.unmatched_egress } : {}),
    ...(a.timeout !== undefined ? { timeout: a.timeout } : {}),
    ...(a.on_timeout !== undefined ? { on_timeout: a.on_timeout } : {}),
  };
  const r = bp.spec.resources;
  if (r.memory !== undefined || r.cpu !== undefined || r.pids !== undefined) {
    policy.limits = {
      ...(policy.limits ?? {}),
      ...(r.memory !== undefined ? { memory: r.memory } : {}),
      ...(r.cpu !== undefined ? { cpu: r.cpu } : {}),
      ...(r.pids !== undefined ? { pids: r.pids } : {}),
    };
  }
  return policy;
}

export async function listBlueprints(): Promise<string[]> {
  return (await readdir(blueprintsDir())).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}
