// The command table: one row per top-level verb, each implemented in its own file and loaded
// only when used, so that `nemoclaw sandbox run` does not pay for the TUI or the audit code.
import type { Command } from 'commander';

export interface CommandModule {
  /** Adds the verb (and its sub-verbs) to the program. */
  register(program: Command): void;
}

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<CommandModule>;
}

export const COMMANDS: readonly CommandEntry[] = [
  // One row per verb; each helper file exports `register`. Keep rows sorted by importance.
  { name: 'policy', summary: 'validate, explain, simulate, learn and revise sandbox policies', load: () => import('./policy.ts') },
  { name: 'sandbox', summary: 'run a command in a kernel-enforced sandbox', load: () => import('./sandbox.ts') },
  { name: 'approvals', summary: 'list and decide pending egress/exec approvals (needs `nemoclaw serve`)', load: () => import('./approvals.ts') },
  { name: 'doctor', summary: 'check what this host offers the sandbox', load: () => import('./doctor.ts') },
  { name: 'demo', summary: 'show an allowed and a denied action in real sandboxes', load: () => import('./demo.ts') },
  { name: 'tui', summary: 'the terminal workstation: live feeds and keyboard approvals (--demo, --headless)', load: () => import('./tui.ts') },
  { name: 'serve', summary: 'run the supervisor for this NEMOCLAW_HOME (--headless: NDJSON events/decisions)', load: () => import('./serve.ts') },
  { name: 'onboard', summary: 'set up a sandbox step by step (blueprint, inference, presets, workspace)', load: () => import('./onboard.ts') },
  { name: 'create', summary: 'create and start a long-running sandbox (needs `nemoclaw serve`)', load: () => import('./sandboxes.ts').then((m) => ({ register: m.registerCreate })) },
  { name: 'list', summary: 'sandboxes and their state', load: () => import('./sandboxes.ts').then((m) => ({ register: m.registerList })) },
  { name: 'events', summary: 'the supervisor event stream (--follow, --since SEQ)', load: () => import('./sandboxes.ts').then((m) => ({ register: m.registerEvents })) },
  { name: 'completion', summary: 'shell completions: nemoclaw completion bash|zsh', load: () => import('./completion.ts') },
  { name: 'audit', summary: 'verify, tail and export the tamper-evident audit trail', load: () => import('./audit.ts') },
  { name: 'providers', summary: 'model providers for inference.local, keys kept outside every sandbox', load: () => import('./providers.ts') },
  { name: 'agents', summary: 'agents installed on this host for sandboxes to run: install, list, remove', load: () => import('./agents.ts') },
  { name: 'inference', summary: "a sandbox's inference route: provider, model aliases, privacy mode", load: () => import('./inference.ts') },
  { name: 'models', summary: 'local NIM and vLLM containers, registered as local providers when ready', load: () => import('./models.ts') },
];

/** Verbs of `nemoclaw <sandbox-name> VERB` (src/cli/sandbox-verbs.ts); main.ts routes on them. */
export const SANDBOX_VERBS: readonly string[] = ['status', 'logs', 'connect', 'exec', 'stop', 'start', 'restart', 'destroy', 'pins', 'unpin', 'chat'];
