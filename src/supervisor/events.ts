// Typed events of the supervisor's bus. Every event has a sequence number (per supervisor run,
// from 1, no holes), a time and the sandbox it concerns (null for the supervisor itself).
import type { ApprovalItem } from '../approvals/index.ts';
import type { EgressEvent } from '../egress/index.ts';
import type { HelperEvent } from '../sandbox/index.ts';
import type { InferenceEvent, ModelRoute } from '../inference/index.ts';
import type { ChatEvent } from '../agents/index.ts';

export type SandboxState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'exited' | 'failed';
export type RestartPolicy = 'never' | 'on-failure' | 'always';

interface Base {
  seq: number;
  ts: string;
  sandbox: string | null;
}

export type BusEventBody =
  | { type: 'supervisor.started'; pid: number; recovered: string[]; staleLock: number | null }
  | { type: 'supervisor.stopping'; reason: string }
  | { type: 'sandbox.created'; blueprint: string | null; digest: string | null; workspace: string; restart: RestartPolicy }
  | { type: 'sandbox.state'; state: SandboxState; pid: number | null; reason: string | null; code: number | null; signal: string | null; restarts: number }
  | { type: 'sandbox.backoff'; delayMs: number; attempt: number }
  | { type: 'sandbox.destroyed' }
  /** The warm pool of a blueprint (or `default`) and workspace now holds `warm` ready sandboxes (issue 23). */
  | { type: 'pool.changed'; pool: string; workspace: string; warm: number }
  | { type: 'sandbox.unpinned'; paths: string[] }
  | { type: 'sandbox.exec'; argv0: string; argc: number; tty: boolean; pid: number | null }
  | { type: 'sandbox.exec_exit'; argv0: string; code: number | null; signal: string | null }
  | { type: 'sandbox.limit_hit'; limit: 'log_rate'; dropped: number }
  | { type: 'helper'; event: HelperEvent }
  | { type: 'egress'; event: EgressEvent }
  | { type: 'approval.pending'; item: ApprovalItem }
  | { type: 'approval.decided'; id: string; verdict: string; always: boolean; by: string; reason: string }
  | { type: 'policy.revision'; rev: number; reloaded: boolean; closed: number }
  | { type: 'inference'; event: InferenceEvent }
  | { type: 'inference.route'; rev: number; mode: string; models: ModelRoute[]; author: string }
  | { type: 'log'; stream: 'stdout' | 'stderr'; line: string }
  /** A chat turn's events (src/supervisor/chat.ts), each with the turn it belongs to. */
  | (ChatEvent & { turn: string });

export type BusEvent = Base & BusEventBody;
export type BusEventType = BusEventBody['type'];

/** Sent on a stream when the client fell behind further than the buffer reaches. */
export interface DroppedNotice {
  type: 'stream.dropped';
  /** Events between the client's cursor and the oldest one still buffered. */
  count: number;
  /** The next event the client will get. */
  resumeSeq: number;
}
