// A TuiDataSource that replays a script of events on a clock. It is a complete implementation of
// the interface (decisions, timeouts that fail closed, reactions to decisions), used by the demo,
// the preview script and the tests until the supervisor client exists.
import type { DecisionResult, PendingApproval, SandboxInfo, TuiDataSource, TuiEvent, Verdict } from './events.ts';

/** Builds the event when it is emitted; `now` is the emission time (epoch ms). */
export type EventFactory = (now: number) => TuiEvent;

export interface ScriptStep {
  /** Delay after the previous step of the same sequence (ms, scaled by `speed`). */
  afterMs: number;
  event: EventFactory;
}

export interface Script {
  steps: readonly ScriptStep[];
  /** Steps run after a decision on the given approval id (`allow` / `deny`). */
  onDecision?: Readonly<Record<string, { allow?: readonly ScriptStep[]; deny?: readonly ScriptStep[] }>>;
  /** Background activity, repeated `times` times after the main steps (bounded by construction). */
  loop?: { steps: readonly ScriptStep[]; times: number };
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export interface ScriptedSourceOptions {
  clock?: Clock;
  /** Divides every delay: 2 = twice as fast. */
  speed?: number;
  /** Who decisions made through decide() are attributed to. */
  decidedBy?: string;
}

interface Queued {
  due: number;
  seq: number;
  make: EventFactory;
}

export class ScriptedDataSource implements TuiDataSource {
  readonly #script: Script;
  readonly #clock: Clock;
  readonly #speed: number;
  readonly #by: string;
  readonly #listeners = new Set<(e: TuiEvent) => void>();
  readonly #sandboxes = new Map<string, SandboxInfo>();
  readonly #pending = new Map<string, PendingApproval>();
  readonly #timeouts = new Map<string, unknown>();
  #queue: Queued[] = [];
  #seq = 0;
  #timer: unknown;
  #started = false;
  #emitted = 0;

  constructor(script: Script, options: ScriptedSourceOptions = {}) {
    this.#script = script;
    this.#clock = options.clock ?? realClock;
    this.#speed = options.speed !== undefined && options.speed > 0 ? options.speed : 1;
    this.#by = options.decidedBy ?? 'tui';
  }

  /** Number of events emitted so far. */
  get emitted(): number {
    return this.#emitted;
  }

  events(onEvent: (event: TuiEvent) => void): () => void {
    this.#listeners.add(onEvent);
    if (!this.#started) {
      this.#started = true;
      let at = this.#clock.now();
      at = this.#enqueue(this.#script.steps, at);
      const loop = this.#script.loop;
      if (loop !== undefined) for (let i = 0; i < loop.times; i++) at = this.#enqueue(loop.steps, at);
      this.#arm();
    }
    return () => {
      this.#listeners.delete(onEvent);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  async decide(approvalId: string, verdict: Verdict, always: boolean): Promise<DecisionResult> {
    const result = this.#decide(approvalId, verdict, always, this.#by);
    return result;
  }

  async sandboxes(): Promise<readonly SandboxInfo[]> {
    return [...this.#sandboxes.values()];
  }

  /** Stop all timers; nothing more is emitted. */
  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    for (const h of this.#timeouts.values()) this.#clock.clearTimeout(h);
    this.#timeouts.clear();
  }

  #decide(id: string, verdict: Verdict, always: boolean, by: string): DecisionResult {
    const p = this.#pending.get(id);
    if (p === undefined) return { ok: false, error: `no pending approval ${id}` };
    this.#pending.delete(id);
    const h = this.#timeouts.get(id);
    if (h !== undefined) this.#clock.clearTimeout(h);
    this.#timeouts.delete(id);
    const now = this.#clock.now();
    this.#emit({ type: 'approval_decided', ts: now, decision: { id, sandbox: p.sandbox, summary: p.summary, verdict, always, by, ts: now } });
    const reaction = this.#script.onDecision?.[id]?.[verdict];
    if (reaction !== undefined) {
      this.#enqueue(reaction, now);
      this.#arm();
    }
    return { ok: true };
  }

  #enqueue(steps: readonly ScriptStep[], start: number): number {
    let at = start;
    for (const step of steps) {
      at += Math.max(0, step.afterMs) / this.#speed;
      this.#queue.push({ due: at, seq: this.#seq++, make: step.event });
    }
    this.#queue.sort((a, b) => a.due - b.due || a.seq - b.seq);
    return at;
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = this.#queue[0];
    if (next === undefined) return;
    const delay = Math.max(0, next.due - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#runDue();
    }, delay);
  }

  #runDue(): void {
    const now = this.#clock.now();
    // Bounded: only the entries due now (reactions queued meanwhile wait for the next timer).
    const due: Queued[] = [];
    while (this.#queue.length > 0 && (this.#queue[0] as Queued).due <= now) due.push(this.#queue.shift() as Queued);
    for (const q of due) this.#emit(q.make(now));
    this.#arm();
  }

  #emit(event: TuiEvent): void {
    if (event.type === 'sandbox_state') this.#sandboxes.set(event.sandbox.name, event.sandbox);
    if (event.type === 'sandbox_removed') this.#sandboxes.delete(event.sandbox);
    if (event.type === 'approval_pending') {
      const a = event.approval;
      this.#pending.set(a.id, a);
      const handle = this.#clock.setTimeout(() => {
        this.#timeouts.delete(a.id);
        this.#decide(a.id, 'deny', false, 'timeout');
      }, Math.max(0, a.timeoutAt - this.#clock.now()));
      this.#timeouts.set(a.id, handle);
    }
    this.#emitted += 1;
    for (const l of [...this.#listeners]) l(event);
  }
}
