// Types and plain constants of the agents component (a light door: design.md "Component map").

/** One agent nemoclaw knows how to install and run (src/agents/openclaw.ts first). */
export interface AgentAdapter {
  name: string;
  /** The version installed when none is named (the one the blueprints pin). */
  defaultVersion: string;
  npmPackage: string;
  /** Lowest Node [major, minor] the agent runs on. */
  minNode: [number, number];
  /** The entry script, relative to the install directory. */
  entry: string[];
  /** npm 11 allowScripts for the install: true runs that package's install scripts, false refuses them. */
  allowScripts: Record<string, boolean>;
  versionArgs: string[];
  versionMatches: (output: string, version: string) => boolean;
  /** A line of the agent's output (colour sequences removed) that says it is ready to answer (its gateway listens). */
  readyLine: RegExp;
  /**
   * Lines that must also have appeared before the agent counts as ready: OpenClaw's start line of
   * nemoclaw's tool-approval plugin. OpenClaw skips a plugin it does not trust with only a warning
   * and would then run every tool unasked; without the line no turn is sent (fail closed).
   */
  alsoReady?: readonly RegExp[];
  /** Environment every run of the agent gets (install check and sandbox alike). */
  env: Record<string, string>;
  /** What a chat turn's command gets on top of the sandbox's environment (`nemoclaw NAME chat`). */
  chatEnv?: Record<string, string>;
}

/** Whether the agent's output since its start says it is ready: its ready line and every `alsoReady` line. */
export function agentReady(adapter: Pick<AgentAdapter, 'readyLine' | 'alsoReady'>, lines: readonly string[]): boolean {
  return lines.some((l) => adapter.readyLine.test(l)) && (adapter.alsoReady ?? []).every((re) => lines.some((l) => re.test(l)));
}

/** What `agents list` shows for one install (read from its manifest.json). */
export interface InstalledAgent {
  agent: string;
  version: string;
  dir: string;
  /** The Node 24 runtime copied into the install (bound read-only into sandboxes with it). */
  node: string;
  nodeVersion: string;
  /** The entry script (`node ENTRY`). */
  entry: string;
  installedAt: string;
  /** What `--version` printed when the install was verified. */
  verified: string;
  bytes: number | null;
}
