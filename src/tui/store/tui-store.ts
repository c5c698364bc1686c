// The TUI's data lives here, outside React. Events are applied to bounded ring buffers as they
// arrive; immutable snapshots are published at most every `publishIntervalMs` (10 Hz by default),
// coalescing any number of events into one publish. Under a flood (`busyEventsPerSecond`) the
// interval stretches to `busyPublishIntervalMs` (4 Hz): every publish is a full frame, and a feed
// scrolling thousands of lines a second is no more readable at 10 Hz, while the frames saved keep
// the CPU free for keystrokes. React reads it with useSyncExternalStore.
import type { GpuProcess, GpuSample, GpuStatus, HostSample } from '../../telemetry/index.ts';
import { ChatLog, type ChatView } from './chat.ts';
import { collapse, type Collapsed, type CollapseOptions } from './collapse.ts';
import type { DecidedApproval, ModelRow, ModelsStatus, PendingApproval, SandboxInfo, TuiEvent } from './events.ts';
import { RingBuffer } from './ring-buffer.ts';

export type SyscallEvent = Extract<TuiEvent, { type: 'syscall_denied' | 'exec_denied' }>;
export type EgressEvent = Extract<TuiEvent, { type: 'egress_denied' | 'egress_allowed' }>;
export type LogEvent = Extract<TuiEvent, { type: 'log' }>;
export type LimitEvent = Extract<TuiEvent, { type: 'limit_hit' }>;
export type InferenceEvent = Extract<TuiEvent, { type: 'inference' }>;
export type AuditEvent = Extract<TuiEvent, { type: 'audit' }>;

export interface Feed<T> {
  /** Oldest first. */
  readonly items: readonly T[];
  /** Entries the ring buffer overwrote. */
  readonly dropped: number;
  /** Entries ever added (after collapsing). */
  readonly total: number;
}

export interface SandboxRow extends SandboxInfo {
  denials: number;
  pendingApprovals: number;
  lastLimit?: string;
}

export interface GpuSeries {
  latest: GpuSample;
  /** Utilisation %, oldest first. */
  util: readonly number[];
  /** Memory used %, oldest first. */
  mem: readonly number[];
}

export interface TuiSnapshot {
  readonly version: number;
  readonly publishedAt: number;
  /** Events ingested since the store was created. */
  readonly totalEvents: number;
  readonly sandboxes: readonly SandboxRow[];
  readonly syscalls: Feed<Collapsed<SyscallEvent>>;
  readonly egress: Feed<Collapsed<EgressEvent>>;
  /** Oldest first. */
  readonly pending: readonly PendingApproval[];
  readonly decided: Feed<DecidedApproval>;
  readonly logs: Feed<Collapsed<LogEvent>>;
  readonly limits: Feed<LimitEvent>;
  readonly inference: Feed<InferenceEvent>;
  readonly audit: Feed<AuditEvent>;
  readonly gpu: { readonly status: GpuStatus; readonly gpus: readonly GpuSeries[]; readonly processes: readonly GpuProcess[] };
  readonly host: { readonly latest: HostSample | null; readonly cpu: readonly number[]; readonly mem: readonly number[] };
  readonly models: { readonly status: ModelsStatus; readonly rows: readonly ModelRow[] };
  /** Each sandbox's conversation with its agent (Agent chat pane). */
  readonly chat: Readonly<Record<string, ChatView>>;
}

export interface StoreCapacities {
  syscalls: number;
  egress: number;
  decided: number;
  logs: number;
  limits: number;
  inference: number;
  audit: number;
  /** Points of history per GPU / host series. */
  history: number;
}

export const defaultCapacities: StoreCapacities = {
  syscalls: 2000,
  egress: 2000,
  decided: 500,
  logs: 5000,
  limits: 500,
  inference: 1000,
  audit: 1000,
  history: 240,
};

/** Log lines longer than this are cut when stored (one huge line must not freeze the UI). */
export const MAX_LINE_CHARS = 2048;

export interface TuiStoreOptions {
  publishIntervalMs?: number;
  /** Interval while events arrive at `busyEventsPerSecond` or more (default 250 ms). */
  busyPublishIntervalMs?: number;
  /** Ingest rate that counts as a flood (default 1,000 events/s). */
  busyEventsPerSecond?: number;
  capacities?: Partial<StoreCapacities>;
  collapse?: CollapseOptions;
  now?: () => number;
}

type Listener = () => void;

export interface PublishPacing {
  intervalMs: number;
  busyIntervalMs: number;
  busyEventsPerSecond: number;
}

/**
 * The wait before the next publish, from the window just published: `events` arrived over
 * `windowMs`. A flood stretches the interval (never below the normal one); otherwise it is normal.
 */
export function nextPublishInterval(events: number, windowMs: number, p: PublishPacing): number {
  const rate = windowMs > 0 ? (events * 1000) / windowMs : 0;
  return rate >= p.busyEventsPerSecond ? Math.max(p.intervalMs, p.busyIntervalMs) : p.intervalMs;
}

function feed<T>(buf: RingBuffer<T>): Feed<T> {
  return Object.freeze({ items: buf.toArray(), dropped: buf.dropped, total: buf.total });
}

function pushCollapsed<E>(buf: RingBuffer<Collapsed<E>>, event: E, key: string, ts: number, options: CollapseOptions | undefined): void {
  const window = options?.window ?? 4;
  const recent: (Collapsed<E> | undefined)[] = [];
  for (let i = 0; i < window; i++) recent.push(buf.peekFromEnd(i));
  const result = collapse(recent, event, key, ts, options);
  if (result.kind === 'merge') buf.replaceFromEnd(result.back, result.entry);
  else buf.push(result.entry);
}

export function syscallKey(e: SyscallEvent): string {
  return e.type === 'syscall_denied' ? `s|${e.sandbox}|${e.binary}|${e.syscall}|${e.rule}` : `x|${e.sandbox}|${e.binary}|${e.path}|${e.rule}`;
}
export function egressKey(e: EgressEvent): string {
  return `${e.type}|${e.sandbox}|${e.binary}|${e.host}|${e.port}|${e.rule}`;
}

function clip(line: string): string {
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
}

function pct(used: number | null, total: number | null): number {
  if (used === null || total === null || total <= 0) return 0;
  return Math.max(0, Math.min(100, (used / total) * 100));
}

export class TuiStore {
  readonly #pacing: PublishPacing;
  /** The interval the next timer is armed with (see nextPublishInterval). */
  #interval: number;
  /** Events ingested since the last publish. */
  #windowEvents = 0;
  readonly #caps: StoreCapacities;
  readonly #collapse: CollapseOptions | undefined;
  readonly #now: () => number;
  readonly #listeners = new Set<Listener>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #dirty = false;
  #disposed = false;
  #version = 0;
  #totalEvents = 0;
  #snapshot: TuiSnapshot;

  readonly #sandboxes = new Map<string, SandboxRow>();
  readonly #pending = new Map<string, PendingApproval>();
  readonly #syscalls: RingBuffer<Collapsed<SyscallEvent>>;
  readonly #egress: RingBuffer<Collapsed<EgressEvent>>;
  readonly #decided: RingBuffer<DecidedApproval>;
  readonly #logs: RingBuffer<Collapsed<LogEvent>>;
  readonly #limits: RingBuffer<LimitEvent>;
  readonly #inference: RingBuffer<InferenceEvent>;
  readonly #audit: RingBuffer<AuditEvent>;
  #gpuStatus: GpuStatus = { state: 'starting' };
  readonly #gpuSeries = new Map<number, { latest: GpuSample; util: RingBuffer<number>; mem: RingBuffer<number> }>();
  #gpuProcesses: readonly GpuProcess[] = [];
  #host: HostSample | null = null;
  readonly #hostCpu: RingBuffer<number>;
  readonly #hostMem: RingBuffer<number>;
  readonly #chat = new ChatLog();
  #models: TuiSnapshot['models'] = Object.freeze({ status: { state: 'off' as const }, rows: Object.freeze([]) });

  constructor(options: TuiStoreOptions = {}) {
    this.#pacing = {
      intervalMs: options.publishIntervalMs ?? 100,
      busyIntervalMs: options.busyPublishIntervalMs ?? 250,
      busyEventsPerSecond: options.busyEventsPerSecond ?? 1000,
    };
    this.#interval = this.#pacing.intervalMs;
    this.#caps = { ...defaultCapacities, ...options.capacities };
    this.#collapse = options.collapse;
    this.#now = options.now ?? Date.now;
    this.#syscalls = new RingBuffer(this.#caps.syscalls);
    this.#egress = new RingBuffer(this.#caps.egress);
    this.#decided = new RingBuffer(this.#caps.decided);
    this.#logs = new RingBuffer(this.#caps.logs);
    this.#limits = new RingBuffer(this.#caps.limits);
    this.#inference = new RingBuffer(this.#caps.inference);
    this.#audit = new RingBuffer(this.#caps.audit);
    this.#hostCpu = new RingBuffer(this.#caps.history);
    this.#hostMem = new RingBuffer(this.#caps.history);
    this.#snapshot = this.#build();
  }

  /** For useSyncExternalStore. Arrow functions so they can be passed unbound. */
  subscribe = (listener: Listener): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  getSnapshot = (): TuiSnapshot => this.#snapshot;

  /** Apply one event. Cheap; never notifies synchronously. */
  ingest(event: TuiEvent): void {
    if (this.#disposed) return;
    this.#apply(event);
    this.#totalEvents += 1;
    this.#windowEvents += 1;
    this.#dirty = true;
    this.#schedule();
  }

  ingestMany(events: Iterable<TuiEvent>): void {
    for (const e of events) this.ingest(e);
  }

  /** Publish now if anything changed (the first frame, a keypress's frame, tests); restarts the interval. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (!this.#dirty || this.#disposed) return;
    this.#dirty = false;
    this.#windowEvents = 0;
    this.#snapshot = this.#build();
    for (const l of [...this.#listeners]) l();
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    // A quiet spell since the last publish means the flood is over: back to the normal pace.
    if (this.#now() - this.#snapshot.publishedAt > this.#interval) this.#interval = this.#pacing.intervalMs;
    const armed = this.#interval;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // The events of this window arrived within (about) the armed interval.
      this.#interval = nextPublishInterval(this.#windowEvents, armed, this.#pacing);
      this.flush();
    }, armed);
    this.#timer.unref?.();
  }

  #sandbox(name: string, ts: number): SandboxRow {
    let row = this.#sandboxes.get(name);
    if (row === undefined) {
      row = { name, state: 'running', blueprint: '?', policyRevision: 0, startedAt: ts, denials: 0, pendingApprovals: 0 };
      this.#sandboxes.set(name, row);
    }
    return row;
  }

  #updateSandbox(name: string, ts: number, patch: Partial<SandboxRow>): void {
    const row = this.#sandbox(name, ts);
    this.#sandboxes.set(name, { ...row, ...patch });
  }

  #apply(e: TuiEvent): void {
    switch (e.type) {
      case 'sandbox_state': {
        const prev = this.#sandboxes.get(e.sandbox.name);
        this.#sandboxes.set(e.sandbox.name, {
          ...e.sandbox,
          denials: prev?.denials ?? 0,
          pendingApprovals: prev?.pendingApprovals ?? 0,
          ...(prev?.lastLimit !== undefined ? { lastLimit: prev.lastLimit } : {}),
          cpuPercent: e.sandbox.cpuPercent ?? prev?.cpuPercent,
          memoryBytes: e.sandbox.memoryBytes ?? prev?.memoryBytes,
          policySummary: e.sandbox.policySummary ?? prev?.policySummary,
          enforcement: e.sandbox.enforcement ?? prev?.enforcement,
        } as SandboxRow);
        return;
      }
      case 'sandbox_removed':
        this.#sandboxes.delete(e.sandbox);
        this.#chat.remove(e.sandbox);
        return;
      case 'chat':
        this.#chat.add(e.sandbox, e.entry);
        return;
      case 'chat_history':
        this.#chat.replace(e.sandbox, e.entries, e.busy);
        return;
      case 'sandbox_stats':
        this.#updateSandbox(e.sandbox, e.ts, { cpuPercent: e.cpuPercent, memoryBytes: e.memoryBytes });
        return;
      case 'syscall_denied':
      case 'exec_denied':
        pushCollapsed(this.#syscalls, e, syscallKey(e), e.ts, this.#collapse);
        this.#updateSandbox(e.sandbox, e.ts, { denials: this.#sandbox(e.sandbox, e.ts).denials + 1 });
        return;
      case 'egress_denied':
        pushCollapsed(this.#egress, e, egressKey(e), e.ts, this.#collapse);
        this.#updateSandbox(e.sandbox, e.ts, { denials: this.#sandbox(e.sandbox, e.ts).denials + 1 });
        return;
      case 'egress_allowed':
        pushCollapsed(this.#egress, e, egressKey(e), e.ts, this.#collapse);
        return;
      case 'approval_pending':
        this.#pending.set(e.approval.id, e.approval);
        this.#recountPending();
        return;
      case 'approval_decided':
        this.#pending.delete(e.decision.id);
        this.#decided.push(e.decision);
        this.#recountPending();
        return;
      case 'limit_hit':
        this.#limits.push(e);
        this.#updateSandbox(e.sandbox, e.ts, { lastLimit: `${e.limit}=${e.value}` });
        pushCollapsed(this.#logs, { type: 'log', ts: e.ts, sandbox: e.sandbox, stream: 'system', line: `limit hit: ${e.limit} (${e.value})` }, `limit|${e.sandbox}|${e.limit}`, e.ts, { window: 1, maxGapMs: 60_000 });
        return;
      case 'log': {
        const ev = e.line.length > MAX_LINE_CHARS ? { ...e, line: clip(e.line) } : e;
        pushCollapsed(this.#logs, ev, `${ev.sandbox}|${ev.stream}|${ev.line}`, ev.ts, { window: 1, maxGapMs: 60_000 });
        return;
      }
      case 'inference':
        this.#inference.push(e);
        return;
      case 'audit':
        this.#audit.push(e.summary.length > MAX_LINE_CHARS ? { ...e, summary: clip(e.summary) } : e);
        return;
      case 'gpu_status':
        this.#gpuStatus = e.status;
        if (e.status.state === 'unavailable') this.#gpuSeries.clear();
        return;
      case 'gpu_sample':
        this.#gpuStatus = { state: 'ok' };
        for (const g of e.gpus) {
          let s = this.#gpuSeries.get(g.index);
          if (s === undefined) {
            s = { latest: g, util: new RingBuffer(this.#caps.history), mem: new RingBuffer(this.#caps.history) };
            this.#gpuSeries.set(g.index, s);
          }
          s.latest = g;
          s.util.push(g.utilization ?? 0);
          s.mem.push(pct(g.memoryUsed, g.memoryTotal));
        }
        return;
      case 'gpu_processes':
        this.#gpuProcesses = Object.freeze([...e.processes]);
        return;
      case 'host_sample':
        this.#host = e.sample;
        this.#hostCpu.push(e.sample.cpu);
        this.#hostMem.push(pct(e.sample.memUsed, e.sample.memTotal));
        return;
      case 'models':
        this.#models = Object.freeze({ status: e.status, rows: Object.freeze([...e.models]) });
        return;
      default:
        // Unknown event types from a newer supervisor are ignored.
        return;
    }
  }

  #recountPending(): void {
    const counts = new Map<string, number>();
    for (const p of this.#pending.values()) counts.set(p.sandbox, (counts.get(p.sandbox) ?? 0) + 1);
    for (const [name, row] of this.#sandboxes) {
      const n = counts.get(name) ?? 0;
      if (row.pendingApprovals !== n) this.#sandboxes.set(name, { ...row, pendingApprovals: n });
    }
  }

  #build(): TuiSnapshot {
    this.#version += 1;
    const gpus = [...this.#gpuSeries.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, s]) => Object.freeze({ latest: s.latest, util: s.util.toArray(), mem: s.mem.toArray() }));
    return Object.freeze({
      version: this.#version,
      publishedAt: this.#now(),
      totalEvents: this.#totalEvents,
      sandboxes: Object.freeze([...this.#sandboxes.values()].sort((a, b) => a.name.localeCompare(b.name))),
      syscalls: feed(this.#syscalls),
      egress: feed(this.#egress),
      pending: Object.freeze([...this.#pending.values()].sort((a, b) => a.createdAt - b.createdAt)),
      decided: feed(this.#decided),
      logs: feed(this.#logs),
      limits: feed(this.#limits),
      inference: feed(this.#inference),
      audit: feed(this.#audit),
      gpu: Object.freeze({ status: this.#gpuStatus, gpus: Object.freeze(gpus), processes: this.#gpuProcesses }),
      host: Object.freeze({ latest: this.#host, cpu: this.#hostCpu.toArray(), mem: this.#hostMem.toArray() }),
      chat: this.#chat.snapshot(),
      models: this.#models,
    });
  }
}
