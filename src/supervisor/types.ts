// Shapes and errors shared by the lifecycle, the API server and the client.
import type { AuditEventInput } from '../audit/index.ts';
import type { RestartPolicy, SandboxState } from './events.ts';
import type { LearningView } from './learning.ts';
import type { SandboxStateFile } from './state.ts';

export interface AuditFn {
  (event: AuditEventInput, durable?: boolean): void;
}

export class NotFoundError extends Error {
  readonly suggestions: string[];
  constructor(name: string, suggestions: string[]) {
    super(`no sandbox named ${name}${suggestions.length > 0 ? ` (did you mean ${suggestions.join(', ')}?)` : ''}`);
    this.suggestions = suggestions;
  }
}

export class InvalidRequestError extends Error {}

/** unpin of a path that has no pin. */
export class NotPinnedError extends Error {}

export interface CreateInput {
  name: string;
  blueprint?: string;
  policy?: string;
  workspace: string;
  command?: string[];
  restart?: RestartPolicy;
  env?: Record<string, string>;
  start?: boolean;
  /** Presets merged on top of the blueprint's (each one a policy revision). */
  presets?: string[];
  /** Inference choice recorded with the sandbox (the key itself never leaves the host env). */
  inference?: InferenceChoice;
}

export interface InferenceChoice {
  provider: string;
  credentialEnv: string | null;
  model: string | null;
}

export interface SandboxView {
  name: string;
  state: SandboxState;
  desired: 'running' | 'stopped';
  pid: number | null;
  restarts: number;
  restart: RestartPolicy;
  blueprint: string | null;
  blueprintDigest: string | null;
  workspace: string;
  command: string[];
  presets: string[];
  inference: InferenceChoice | null;
  createdAt: string;
  startedAt: string | null;
  lastExit: SandboxStateFile['lastExit'];
  policyRevision: number | null;
  enforcement: Record<string, unknown> | null;
  /** Set while the current revision is in learning mode (src/supervisor/learning.ts). */
  learning: LearningView | null;
  /** The installed agent this sandbox runs (src/agents), or null for a command of its own. */
  agent: { name: string; version: string } | null;
  /** Why its last start failed, with the command that fixes it where there is one (e.g. the agent is not installed). */
  startError: string | null;
}

