// The policy side of a sandbox's creation: which policy (blueprint, policy file or the default),
// the blueprint's agent command and environment, and the first revisions (the policy, then one
// per extra preset) in the sandbox's PolicyStore.
import { resolve } from 'node:path';
import type { Policy, PolicyStore, Revision } from '../policy/index.ts';
import { blueprintPolicy, compileSandboxSpec, defaultPolicy, loadBlueprint, loadPolicyFile, loadPreset } from '../policy/index.ts';
import { InvalidRequestError } from './types.ts';
import type { CreateInput } from './types.ts';

export interface CreationPolicy {
  policy: Policy;
  /** sha256 of the blueprint file, when one was used. */
  digest: string | null;
  /** Revision source: `blueprint:<name>@<sha256>`, `file:<path>` or `default`. */
  source: string;
  agentCommand: string[];
  agentEnv: Record<string, string>;
  /** The installed agent a blueprint pins (src/agents), null otherwise. */
  agent: { name: string; version: string } | null;
}

export async function creationPolicy(input: Pick<CreateInput, 'blueprint' | 'policy'>): Promise<CreationPolicy> {
  try {
    let out: CreationPolicy;
    if (input.blueprint !== undefined) {
      const bp = await loadBlueprint(input.blueprint);
      out = { policy: blueprintPolicy(bp), digest: bp.digest, source: `blueprint:${bp.spec.name}@${bp.digest}`, agentCommand: bp.spec.agent.command, agentEnv: { ...bp.spec.agent.env }, agent: bp.spec.agent.version !== undefined ? { name: bp.spec.agent.name, version: bp.spec.agent.version } : null };
    } else if (input.policy !== undefined) {
      out = { policy: await loadPolicyFile(input.policy), digest: null, source: `file:${resolve(input.policy)}`, agentCommand: [], agentEnv: {}, agent: null };
    } else out = { policy: defaultPolicy(), digest: null, source: 'default', agentCommand: [], agentEnv: {}, agent: null };
    compileSandboxSpec(out.policy); // refuse now what could never start
    return out;
  } catch (err) {
    throw new InvalidRequestError(err instanceof Error ? err.message : String(err));
  }
}

/**
 * Writes the first revisions; returns the last one when it is exactly `policy` (no presets were
 * added): the sandbox's first start uses it as written instead of reading it back.
 */
export async function writeInitialRevisions(store: PolicyStore, policy: Policy, source: string, presets: readonly string[], name: string): Promise<Revision | null> {
  const { stringify } = await import('yaml');
  const text = stringify(policy);
  const first = await store.set(text, { author: 'supervisor', reason: `created ${name}`, source });
  for (const p of presets) {
    const preset = await loadPreset(p);
    await store.add(preset.network_policies, { author: 'supervisor', reason: `preset ${p} at creation`, source: `preset:${p}` });
  }
  return presets.length === 0 && first.meta !== undefined ? { meta: first.meta, text, policy } : null;
}
