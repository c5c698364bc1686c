// The policy component's only public door. Other components import from here, never from the
// files beside it.
export type { SandboxSpec, EgressRequest, EgressDecision, EgressVerdict } from './types.ts';
export type { Policy, NetworkPolicy, Endpoint, RestRule, Preset } from './schema.ts';
export { policySchema, presetSchema } from './schema.ts';
export type { Diagnostic } from './load.ts';
export { PolicyError, parsePolicy, loadPolicyFile, parsePreset, formatDiagnostic, renderDiagnostic } from './load.ts';
export { defaultPolicy, compileSandboxSpec, decideExec } from './compile.ts';
export type { EgressRuleSet } from './egress.ts';
export { compileEgressRules, decideEgress, normalizeRequestPath, ACCESS_METHODS } from './egress.ts';
export type { CanonicalHost, HostPattern } from './host.ts';
export { canonicalizeHost, parseHostPattern, hostMatches } from './host.ts';
export { parseSize, parseDuration } from './units.ts';
