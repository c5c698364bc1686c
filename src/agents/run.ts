// What a sandbox needs to run an installed agent (design.md "Planned": Agents; docs/agents.md):
// the install (its code and its own Node 24) bound read-only, a config generated per sandbox and
// bound read-only, so the agent can neither change its code nor rewrite where its model calls go,
// and an environment that points it at them. Its state lives in the sandbox's private HOME
// (writable, kept across restarts of that sandbox). Credentials never appear (invariant 6): the
// model key is the router's, the agent holds a placeholder; the gateway token only guards the
// agent's own loopback port inside the sandbox's private network namespace.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../state/index.ts';
import { ADAPTERS, findInstall, installDir } from './install.ts';
import { pluginCopy, pluginsConfig } from './tool-approvals.ts';
import type { ToolApprovalSettings } from './tool-approvals.ts';

/** The agent's HOME inside every sandbox (the helper's private HOME). */
export const SANDBOX_HOME = '/home/sandbox';
/** The gateway's port on the sandbox's private loopback (the blueprints allow it: policy `loopback`). */
export const GATEWAY_PORT = 18789;
/** The key the agent sends to inference.local; the router drops it and adds the provider's (docs/inference.md). */
export const PLACEHOLDER_KEY = 'nemoclaw-placeholder';
/** OpenClaw's provider id for the router in the generated config. */
export const PROVIDER_ID = 'nemoclaw';

/** The agent is not installed: the one-line reason names the command that fixes it. */
export class AgentNotInstalledError extends Error {}

export interface AgentRunInput {
  agent: { name: string; version: string };
  /** Host directory for the generated config (sandboxes/<name>/agent), outside the writable HOME. */
  configDir: string;
  workspace: string;
  /** The sandbox's route aliases (the first is the agent's model); the fallback when it has none. */
  aliases: string[];
  fallbackModel: string | null;
  /** Tool-call approvals (docs/agents.md "Tool-call approvals"): the policy's tools.ask and approvals.timeout. */
  tools?: { ask: readonly string[]; approvalTimeoutMs: number };
}

export interface AgentRun {
  /** Host paths to bind read-only (same path inside). */
  readOnly: string[];
  /** Of those, the ones inside NEMOCLAW_HOME that are bound on purpose (src/sandbox readOnlyRefusal). */
  deliberate: string[];
  env: Record<string, string>;
  /** The generated config's path (host and sandbox alike). */
  configPath: string;
}

export function installHint(name: string, version: string): string {
  const adapter = ADAPTERS[name];
  const pinned = adapter !== undefined && adapter.defaultVersion === version;
  return `nemoclaw agents install ${name}${pinned ? '' : `@${version}`}`;
}

/** The gateway token this sandbox already has (kept across restarts), or a fresh one. */
function gatewayToken(configPath: string): string {
  try {
    const old = JSON.parse(readFileSync(configPath, 'utf8')) as { gateway?: { auth?: { token?: unknown } } };
    const t = old.gateway?.auth?.token;
    if (typeof t === 'string' && /^[0-9a-f]{48}$/.test(t)) return t;
  } catch {
    // first start
  }
  return randomBytes(24).toString('hex');
}

/** OpenClaw's config for one sandbox (what each key is for: docs/agents.md, "In a sandbox"; the package's own docs). */
export function openclawConfig(input: { aliases: string[]; workspace: string; token: string; pluginDir: string; tools?: Omit<ToolApprovalSettings, 'workspace' | 'pluginDir'> }): Record<string, unknown> {
  return {
    models: {
      // Only the configured inventory: no remote catalog, no other provider.
      mode: 'replace',
      catalogRefresh: { enabled: false },
      providers: {
        [PROVIDER_ID]: {
          baseUrl: 'http://inference.local/v1',
          apiKey: PLACEHOLDER_KEY,
          api: 'openai-completions',
          models: input.aliases.map((a) => ({ id: a, name: a, reasoning: false, input: ['text'], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 })),
        },
      },
    },
    agents: { defaults: { model: { primary: `${PROVIDER_ID}/${input.aliases[0]}` }, workspace: input.workspace } },
    // Memory search embeds through the router too. Left to itself OpenClaw picks OpenAI's
    // embeddings because OPENAI_API_KEY is set (the placeholder) and calls api.openai.com, which
    // the proxy then holds as an egress ask on every turn. (`memory.search`: the 2026.9 key; the
    // older agents.defaults.memorySearch makes OpenClaw rewrite its read-only config and fail.)
    memory: { search: { provider: 'openai', remote: { baseUrl: 'http://inference.local/v1', apiKey: PLACEHOLDER_KEY } } },
    gateway: { mode: 'local', port: GATEWAY_PORT, bind: 'loopback', auth: { mode: 'token', token: input.token } },
    update: { checkOnStart: false },
    telemetry: { enabled: false },
    logging: { file: `${SANDBOX_HOME}/.openclaw/logs/openclaw.log` },
    // The tool-approval plugin, bound read-only beside the install (tool-approvals.ts).
    plugins: pluginsConfig({ pluginDir: input.pluginDir, workspace: input.workspace, ask: input.tools?.ask ?? [], approvalTimeoutMs: input.tools?.approvalTimeoutMs ?? 60_000 }),
  };
}

/** Everything the supervisor adds to a sandbox that runs this agent; throws AgentNotInstalledError. */
export function prepareAgentRun(input: AgentRunInput): AgentRun {
  const adapter = ADAPTERS[input.agent.name];
  if (adapter === undefined) throw new AgentNotInstalledError(`unknown agent ${input.agent.name}`);
  const inst = findInstall(adapter, input.agent.version);
  if (inst === null || !existsSync(join(inst.dir, inst.node))) {
    throw new AgentNotInstalledError(`${adapter.name}@${input.agent.version} is not installed (${installDir(adapter, input.agent.version)}); run: ${installHint(adapter.name, input.agent.version)}`);
  }
  const aliases = input.aliases.length > 0 ? input.aliases : input.fallbackModel !== null ? [input.fallbackModel] : ['default'];
  mkdirSync(input.configDir, { recursive: true, mode: 0o755 });
  const configPath = join(input.configDir, 'openclaw.json');
  const pluginDir = pluginCopy(input.configDir);
  const cfg = openclawConfig({ aliases, workspace: input.workspace, token: gatewayToken(configPath), pluginDir, ...(input.tools !== undefined ? { tools: input.tools } : {}) });
  // 0644: the workload (an unprivileged id) reads it through its read-only bind.
  writeFileAtomic(configPath, `${JSON.stringify(cfg, null, 2)}\n`, 0o644);
  return {
    readOnly: [inst.dir, configPath, pluginDir],
    deliberate: [inst.dir, configPath, pluginDir],
    configPath,
    env: {
      ...adapter.env,
      PATH: `${join(inst.dir, 'runtime', 'bin')}:${join(inst.dir, 'node_modules', '.bin')}:/usr/local/bin:/usr/bin:/bin`,
      OPENCLAW_CONFIG_PATH: configPath,
      OPENCLAW_STATE_DIR: `${SANDBOX_HOME}/.openclaw`,
      NODE_COMPILE_CACHE: `${SANDBOX_HOME}/.cache/node-compile-cache`,
      OPENAI_BASE_URL: 'http://inference.local/v1',
      OPENAI_API_KEY: PLACEHOLDER_KEY,
      // The agent's CLI reaches its gateway on the sandbox's own private loopback, which every
      // sandbox's NO_PROXY already exempts (src/egress proxyEnvironment).
    },
  };
}
