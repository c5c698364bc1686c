// Tool-call approvals for OpenClaw (docs/agents.md "Tool-call approvals"): the plugin shipped in
// openclaw-plugin/ (plain ESM, run by the install's Node inside the sandbox) is bound read-only
// into the sandbox and enabled by the generated config, without `openclaw plugins install`
// (which would need capability consent and a writable state). Its hook asks
// approvals.nemoclaw.internal through the sandbox's proxy (src/egress approvals-hook.ts).
import { chownSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_MODE_HOST_ID } from '../sandbox/index.ts';
import { writeFileAtomic } from '../state/index.ts';

/**
 * The plugin's directory in this checkout. Named from the repository root, so the path is the same
 * whether this module runs from src/agents/ or from the build's dist/agents/ (same depth).
 */
export const OPENCLAW_PLUGIN_DIR = fileURLToPath(new URL('../../src/agents/openclaw-plugin', import.meta.url));
export const PLUGIN_ID = 'nemoclaw';

/**
 * Copies the plugin beside the sandbox's generated config (outside its writable HOME; bound
 * read-only) and returns the copy's directory. A copy, not the checkout's directory, because
 * OpenClaw loads a plugin only when its directory and entry file belong to the uid it runs as (or
 * root) inside the sandbox: files of the host's root appear there as the overflow id, and the
 * plugin would be skipped with a warning, its hook never run. When the supervisor runs as root,
 * the copy is given to the workload's host id (ROOT_MODE_HOST_ID, as `nemoclaw demo` does for its
 * workspace); otherwise the caller's own files already map to the workload's id. Rewritten at every
 * start, so a copy changed on the host is replaced by the shipped one.
 */
export function pluginCopy(configDir: string): string {
  const dir = join(configDir, 'openclaw-plugin');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const root = process.getuid?.() === 0;
  for (const f of readdirSync(OPENCLAW_PLUGIN_DIR)) {
    const to = join(dir, f);
    writeFileAtomic(to, readFileSync(join(OPENCLAW_PLUGIN_DIR, f)), 0o644);
    if (root) chownSync(to, ROOT_MODE_HOST_ID, ROOT_MODE_HOST_ID);
  }
  if (root) chownSync(dir, ROOT_MODE_HOST_ID, ROOT_MODE_HOST_ID);
  return dir;
}
/** OpenClaw accepts hook budgets up to 600 s (its docs/plugins/hooks/reference.md). */
const HOOK_BUDGET_MAX_MS = 600_000;

export interface ToolApprovalSettings {
  /** Where the plugin is inside the sandbox (pluginCopy's directory, bound at the same path). */
  pluginDir: string;
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
    load: { paths: [s.pluginDir] },
    entries: {
      [PLUGIN_ID]: {
        enabled: true,
        config: { workspace: s.workspace, ask: [...s.ask], waitMs },
        hooks: { timeouts: { before_tool_call: waitMs + 5_000 } },
      },
    },
  };
}
