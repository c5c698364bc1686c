// The agents component's only public door (design.md "Component map", "Planned": Agents): adapters
// for the agents nemoclaw runs (OpenClaw first), their install on the host, and what a sandbox
// needs to run one. User view: docs/agents.md.
export { ADAPTERS, AgentSpecError, AgentInstallError, agentsDir, parseAgentSpec, installDir, installAgent, verifyInstall, listAgents, findInstall, removeAgent } from './install.ts';
export type { InstallOptions, InstallResult } from './install.ts';
export { OPENCLAW_VERSION, openclaw } from './openclaw.ts';
export type { AgentAdapter, InstalledAgent } from './types.ts';
export { agentReady } from './types.ts';
// Running an installed agent in a sandbox: the read-only binds, the generated config, the environment.
export { prepareAgentRun, openclawConfig, installHint, AgentNotInstalledError, SANDBOX_HOME, GATEWAY_PORT, PLACEHOLDER_KEY, PROVIDER_ID } from './run.ts';
export type { AgentRun, AgentRunInput } from './run.ts';
// Tool-call approvals: the shipped OpenClaw plugin and the config that enables it.
export { OPENCLAW_PLUGIN_DIR, pluginsConfig } from './tool-approvals.ts';
// A chat turn: the argv run inside the sandbox and its answer as events.
export { chatArgv, chatEnv, parseTurn, TURN_TIMEOUT_S } from './chat.ts';
export type { ChatEvent } from './chat.ts';
