// The agents component's only public door (design.md "Component map", "Planned": Agents): adapters
// for the agents nemoclaw runs (OpenClaw first), their install on the host, and what a sandbox
// needs to run one. User view: docs/agents.md.
export { ADAPTERS, AgentSpecError, AgentInstallError, agentsDir, parseAgentSpec, installDir, installAgent, verifyInstall, listAgents, findInstall, removeAgent } from './install.ts';
export type { InstallOptions, InstallResult } from './install.ts';
export { OPENCLAW_VERSION, openclaw } from './openclaw.ts';
export type { AgentAdapter, InstalledAgent } from './types.ts';
