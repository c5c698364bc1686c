// The contract between the TUI and whatever feeds it (the supervisor client later, the
// ScriptedDataSource now). Plain data only: every event is JSON-serialisable so it can cross the
// supervisor's control socket unchanged.
import type { WatchedModel, WatchStatus } from '../../models/index.ts';
import type { ChatEntry } from './chat.ts';
import type { GpuProcess, GpuSample, GpuStatus, HostSample } from '../../telemetry/index.ts';

/** The Models pane's feed: 'off' until the pane is first shown (dockerode is loaded only then). */
export type ModelsStatus = { state: 'off' } | WatchStatus;
export type ModelRow = WatchedModel;

export type SandboxState = 'creating' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface SandboxInfo {
  name: string;
  state: SandboxState;
  blueprint: string;
  /** Policy revision number currently applied. */
  policyRevision: number;
  /** Epoch ms when the workload started, if it has. */
  startedAt?: number;
  pid?: number;
  /** Percent of one core. */
  cpuPercent?: number;
  memoryBytes?: number;
  /** Degraded enforcement (best_effort) reasons, shown loudly. */
  degraded?: string[];
  /** One line per policy section, e.g. "filesystem: ro /usr /lib, rw /tmp" (details view). */
  policySummary?: string[];
  /** What the helper reported it enforced, e.g. {landlock: "abi 6", seccomp: "filter+notify"} (details view). */
  enforcement?: Record<string, string>;
  /** Set while the sandbox is in learning mode: unmatched actions let through and recorded. */
  learning?: LearningInfo;
  /** Its inference route: privacy mode, then alias -> provider/model for each alias (docs/inference.md). */
  inference?: { mode: string; models: string };
}

/** Learning mode as the supervisor reports it (docs/policy.md "Simulate and learn"). */
export interface LearningInfo {
  /** Unmatched egress is audited. */
  egress: boolean;
  /** Execs outside the allowlist are allowed and recorded. */
  exec: boolean;
  /** Distinct destinations (host:port) seen that the policy does not cover. */
  destinations: number;
  /** Distinct exec paths seen outside the allowlist. */
  execs: number;
}

/** A proposed revision learned from a sandbox's recorded decisions; nothing is written yet. */
export interface LearnProposal {
  sandbox: string;
  /** The revision it was proposed against (applying requires it to be still current). */
  rev: number | null;
  /** The proposed policy text. */
  text: string;
  /** Unified diff from the current revision; empty when nothing would change. */
  diff: string;
  /** host:port of each learned destination. */
  destinations: string[];
  exec: string[];
  /** Decisions read, and recorded denials (never proposed). */
  read: number;
  denied: number;
}

export type ApprovalKind = 'egress' | 'exec' | 'syscall' | 'tool';
export type Verdict = 'allow' | 'deny';

export interface PendingApproval {
  id: string;
  sandbox: string;
  kind: ApprovalKind;
  /** One line, e.g. "curl -> api.example.com:443". */
  summary: string;
  binary?: string;
  /** host:port for egress, path for exec, syscall name for syscall, the tool's name for tool. */
  target?: string;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms at which the supervisor decides on_timeout (usually deny). */
  timeoutAt: number;
  /** The policy rule an "always" decision would write, as the supervisor will write it (YAML). */
  alwaysRule?: { allow: string; deny: string };
}

export interface DecidedApproval {
  id: string;
  sandbox: string;
  summary: string;
  verdict: Verdict;
  always: boolean;
  /** Who decided: 'tui', 'cli', 'timeout', 'policy', an operator name... */
  by: string;
  ts: number;
}

export type TuiEvent =
  | { type: 'sandbox_state'; ts: number; sandbox: SandboxInfo }
  | { type: 'sandbox_removed'; ts: number; sandbox: string }
  | { type: 'sandbox_stats'; ts: number; sandbox: string; cpuPercent: number; memoryBytes: number }
  | { type: 'syscall_denied'; ts: number; sandbox: string; pid: number; binary: string; syscall: string; rule: string }
  | { type: 'exec_denied'; ts: number; sandbox: string; pid: number; binary: string; path: string; rule: string }
  | { type: 'egress_denied'; ts: number; sandbox: string; binary: string; host: string; port: number; rule: string; reason?: string }
  | { type: 'egress_allowed'; ts: number; sandbox: string; binary: string; host: string; port: number; rule: string }
  | { type: 'approval_pending'; ts: number; approval: PendingApproval }
  | { type: 'approval_decided'; ts: number; decision: DecidedApproval }
  | { type: 'limit_hit'; ts: number; sandbox: string; limit: string; value: string }
  | { type: 'log'; ts: number; sandbox: string; stream: 'stdout' | 'stderr' | 'system'; line: string }
  | { type: 'inference'; ts: number; sandbox: string; backend: string; model: string; decision: string; latencyMs: number; tokens?: number }
  | { type: 'audit'; ts: number; seq: number; kind: string; summary: string }
  | { type: 'gpu_sample'; ts: number; gpus: GpuSample[] }
  | { type: 'gpu_processes'; ts: number; processes: GpuProcess[] }
  | { type: 'gpu_status'; ts: number; status: GpuStatus }
  | { type: 'host_sample'; ts: number; sample: HostSample }
  /** One entry of a sandbox's conversation, live (src/tui/store/chat.ts). */
  | { type: 'chat'; ts: number; sandbox: string; entry: ChatEntry }
  /** A sandbox's conversation as the supervisor keeps it (on attach, and after a supervisor restart). */
  | { type: 'chat_history'; ts: number; sandbox: string; entries: ChatEntry[]; busy: string | null }
  /** This home's model containers (the whole list each time: there are few). */
  | { type: 'models'; ts: number; status: ModelsStatus; models: ModelRow[] };

export type TuiEventType = TuiEvent['type'];

export interface DecisionResult {
  ok: boolean;
  /** Why it failed (already decided, unknown id, timed out...). */
  error?: string;
}

/**
 * What the TUI needs from its backend. The supervisor's client implements this over the control
 * socket; ScriptedDataSource implements it for the demo and tests.
 */
export interface TuiDataSource {
  /** Start delivering events; returns a function that stops delivery. Events may arrive in bursts. */
  events(onEvent: (event: TuiEvent) => void): () => void;
  /**
   * Decide a pending approval. The source must later emit `approval_decided` for it (also when the
   * decision came from elsewhere: another TUI, the CLI, a timeout), which is what updates the UI.
   */
  decide(approvalId: string, verdict: Verdict, always: boolean): Promise<DecisionResult>;
  /** Current sandboxes (used to seed the sandboxes pane on attach). */
  sandboxes(): Promise<readonly SandboxInfo[]>;
  /** Propose a revision from what the sandbox did in the last `minutes` (writes nothing). Absent: not offered. */
  learn?(sandbox: string, minutes: number): Promise<{ ok: true; proposal: LearnProposal } | { ok: false; error: string }>;
  /** Write a reviewed proposal as the next revision, only if its base revision is still current. */
  applyLearned?(proposal: LearnProposal): Promise<{ ok: true; rev: number } | { ok: false; error: string }>;
  /** Start a chat turn with the sandbox's agent; its events arrive as `chat` events. Absent: no chat. */
  chat?(sandbox: string, message: string): Promise<{ ok: true; turn: string } | { ok: false; error: string }>;
  /** Cancel the sandbox's turn in progress. */
  chatCancel?(sandbox: string): Promise<{ ok: true; turn: string | null } | { ok: false; error: string }>;
}
