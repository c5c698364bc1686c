// Tool-call approvals for OpenClaw (docs/agents.md "Tool-call approvals"): the plugin shipped in
// openclaw-plugin/ (plain ESM, run by the install's Node inside the sandbox) is bound read-only
// into the sandbox and enabled by the generated config, without `openclaw plugins install`
// (which would need capability consent and a writable state). Its hook asks
// approvals.nemoclaw.internal through the sandbox's proxy (src/egress approvals-hook.ts).
import { fileURLToPath } from 'node:url';

/**
 * The plugin's directory in this checkout. Named from the repository root, so the path is the same
 * whether this module runs from src/agents/ or from the build's dist/agents/ (same depth).
 */
export const OPENCLAW_PLUGIN_DIR = fileURLToPath(new URL('../../src/agents/openclaw-plugin', import.meta.url));
export const PLUGIN_ID = 'nemoclaw';
/** OpenClaw accepts hook budgets up to 600 s (its docs/plugins/hooks/reference.md). */
const HOOK_BUDGET_MAX_MS = 600_000;

export interface ToolApprovalSettings {
  workspace: string;
  /** The policy's tools.ask (asked besides exec-type tools and writes outside the workspace). */
  ask: readonly string[];
  /** How long the supervisor's queue waits for the operator (the policy's approvals.timeout). */
  approvalTimeoutMs: number;
}

/**
 * The `plugins` block of OpenClaw's config. The plugin waits a little longer than the queue, so
 * the queue's own timeout (a deny the operator sees) normally answers first; OpenClaw's budget for
 * the hook is longer still, and it fails the hook closed when that runs out anyway.
 */
export function pluginsConfig(s: ToolApprovalSettings): Record<string, unknown> {
  const waitMs = Math.min(s.approvalTimeoutMs + 10_000, HOOK_BUDGET_MAX_MS - 10_000);
  return {
    load: { paths: [OPENCLAW_PLUGIN_DIR] },
    entries: {
      [PLUGIN_ID]: {
        enabled: true,
        config: { workspace: s.workspace, ask: [...s.ask], waitMs },
        hooks: { timeouts: { before_tool_call: waitMs + 5_000 } },
      },
    },
  };
}
