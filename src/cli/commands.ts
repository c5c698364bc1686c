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
  { name: 'audit', summary: 'verify, tail and export the tamper-evident audit trail', load: () => import('./audit.ts') },
];
