// The policy component's only public door. Other components import from here, never from the
// files beside it.
import * as z from 'zod/mini';
import { blueprintSchema } from './blueprint.ts';
import { policySchemas } from './schema.ts';

export type { SandboxSpec, EgressRequest, EgressDecision, EgressVerdict } from './types.ts';
export { LIMIT_DEFAULTS } from './types.ts';
export type { Policy, NetworkPolicy, Endpoint, RestRule, Preset } from './schema.ts';
export { policySchemas } from './schema.ts';
export type { Diagnostic } from './load.ts';
export { PolicyError, parsePolicy, loadPolicyFile, parsePreset, formatDiagnostic, renderDiagnostic, documentKind } from './load.ts';
export { defaultPolicy, compileSandboxSpec, decideExec } from './compile.ts';
export type { EgressRuleSet } from './egress.ts';
export { compileEgressRules, decideEgress, normalizeRequestPath, ACCESS_METHODS } from './egress.ts';
export type { CanonicalHost, HostPattern } from './host.ts';
export { canonicalizeHost, parseHostPattern, hostMatches, formatIpv6, HOST_INTERNAL } from './host.ts';
export { globEscape } from './glob.ts';
export type { AddressClass, AddressCheck, AddressInfo, AddressAccess } from './address.ts';
export { parseIPv4, parseIPv6, parseIp, parseCidr, embeddedIPv4, addressInfo, classifyBytes, classifyAddress, formatIp, addressAllowed, checkAddress, allowedIpsEntryError } from './address.ts';
export { parseSize, parseDuration } from './units.ts';
export type { RevisionMeta, Revision, ChangeOptions, SetResult, AlwaysRule, ToolRule } from './store.ts';
export { PolicyStore, alwaysRuleName } from './store.ts';
export { MergeConflictError, mergeNetworkPolicies, removeNetworkPolicies, ruleInventory, droppedRules, unifiedDiff, staticChanges, STATIC_SECTIONS } from './merge.ts';
export type { Blueprint, BlueprintSpec } from './blueprint.ts';
export { MODEL_ENGINES, gpusFlag } from './blueprint-models.ts';
export type { BlueprintModel } from './blueprint-models.ts';
export { blueprintSchema, loadBlueprint, blueprintPolicy, blueprintDigest, listPresets, loadPreset, listBlueprints } from './blueprint.ts';
export { blueprintsDir } from './types.ts';
export type { TraceEvent } from './trace.ts';
export { parseTraceLine } from './trace.ts';
export type { Simulation, SimulationResult, Outcome } from './simulate.ts';
export { simulate } from './simulate.ts';
export type { LearnResult, LearnedRule } from './learn.ts';
export { learn } from './learn.ts';
export type { Explanation } from './explain.ts';
export { explainPolicy, renderExplanation } from './explain.ts';

/** JSON Schema (draft 2020-12) of policy files, generated from the zod schema, for editors. */
export function policyJsonSchema(kind: 'policy' | 'preset' | 'blueprint' = 'policy'): Record<string, unknown> {
  const schema = kind === 'blueprint' ? blueprintSchema() : policySchemas()[kind === 'policy' ? 'policySchema' : 'presetSchema'];
  return {
    ...z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }),
    title: `nemoclaw ${kind}`,
  };
}
