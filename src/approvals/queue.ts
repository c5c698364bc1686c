// The approval queue: pending actions the policy does not cover (unmatched egress, exec asks,
// an agent's tool calls) waiting for an operator's decision. Identical pending requests share one item; the first
// decision wins; a timeout denies; close() denies everything pending (fail closed).
// Everything is timers and promises: nothing here blocks the event loop.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';

export type ApprovalKind = 'egress' | 'exec' | 'tool';
export type ApprovalVerdict = 'allow' | 'deny';

/** An agent's tool call (kind `tool`), as its plugin reported it through the sandbox's proxy. */
export interface ToolCall {
  /** The tool's name as the agent names it (e.g. `exec`). */
  name: string;
  /** The arguments as JSON text, cut to a bound: sandbox-controlled, shown only through inert(). */
  args: string;
  /** The agent's session (key or id), when it said. */
  session: string | null;
  /** Why the agent says it calls the tool, when it said. */
  reason: string | null;
}

export interface ApprovalRequest {
  sandbox: string;
  kind: ApprovalKind;
  binary: string | null;
  host?: string;
  port?: number;
  method?: string;
  path?: string;
  /** kind `tool`: the call asked about. */
  tool?: ToolCall;
  /** Overrides the queue's default timeout for this item (ms). */
  timeoutMs?: number;
}

export interface ApprovalItem {
  id: string;
  sandbox: string;
  kind: ApprovalKind;
  binary: string | null;
  host: string | null;
  port: number | null;
  method: string | null;
  path: string | null;
  /** kind `tool`: the call asked about (absent for other kinds). */
  tool?: ToolCall;
  /** ms since the epoch */
  firstSeen: number;
  lastSeen: number;
  count: number;
  expiresAt: number;
}

export interface DecidedBy {
  /** OS user name */
  user: string;
  /** Where the decision came from: `tty:/dev/pts/3`, `ssh:10.0.0.5`, `tui`, `headless`, `timeout`, `shutdown` */
  origin: string;
}

export interface ApprovalDecisionInput {
  verdict: ApprovalVerdict;
  always: boolean;
  by: DecidedBy;
}

export interface ApprovalResult {
  id: string;
  verdict: ApprovalVerdict;
  always: boolean;
  by: DecidedBy;
  /** `withdrawn`: every requester gave up waiting (e.g. the agent's tool call was cancelled). */
  reason: 'operator' | 'timeout' | 'closed' | 'overflow' | 'withdrawn';
  /** For `always` decisions: whether the persistence hook succeeded. */
  persisted?: boolean;
  persistError?: string;
}

/** Called for `always` decisions before waiters are released (e.g. PolicyStore.addAlwaysRule). */
export type PersistHook = (item: ApprovalItem, decision: ApprovalDecisionInput) => Promise<void> | void;

export interface ApprovalQueueOptions {
  /** Default time an item waits before it is denied (ms). Default 60 000. */
  timeoutMs?: number;
  persist?: PersistHook;
  now?: () => number;
  /** Most distinct pending items one sandbox may have; further new requests are denied at once (default 100). */
  maxPendingPerSandbox?: number;
}

export interface ApprovalQueueEvents {
  added: [ApprovalItem];
  updated: [ApprovalItem];
  decided: [ApprovalItem, ApprovalResult];
}

/** An "always" decision the queue refuses before deciding: the item stays pending. */
export class ApprovalRefusedError extends Error {}

/**
 * Why an "always" answer cannot be recorded for this item, or null when it can. Checked before
 * anything is decided, so a refused answer leaves the item pending for a once/deny answer:
 *  - allow always for an unknown calling program would write a rule for every program;
 *  - deny always for exec has nothing to write: policies have no exec deny list.
 * Deny always for an unknown program is accepted: it only narrows.
 */
export function alwaysRefusal(item: Pick<ApprovalItem, 'kind' | 'binary' | 'host' | 'port' | 'tool'>, verdict: ApprovalVerdict): string | null {
  if (item.kind === 'tool') {
    // Written as tools.allow / tools.deny: the tool by name, whatever its arguments.
    return item.tool === undefined ? '"always" needs the tool\'s name, and this tool ask has none; answer once' : null;
  }
  if (item.kind === 'exec') {
    if (item.binary === null) return '"always" needs the path of the executable, and this exec ask has none; answer once';
    if (verdict === 'deny') {
      return `"deny always" cannot be recorded for exec: policies have no exec deny list (every exec outside exec.allow is asked or denied by exec.unmatched); deny once, or set exec.unmatched: deny`;
    }
    return null;
  }
  if (item.host === null || item.port === null) return '"always" needs a host and port, and this egress ask has none; answer once';
  if (verdict === 'allow' && item.binary === null) {
    return `"allow always" refused: the calling program is unknown, so the rule would allow ${item.host}:${item.port} for every program; approve once or deny`;
  }
  return null;
}

interface Entry {
  item: ApprovalItem;
  key: string;
  waiters: Array<(r: ApprovalResult) => void>;
  timer: NodeJS.Timeout;
  deciding: boolean;
}

function keyOf(r: ApprovalRequest): string {
  const tool = r.tool ? [r.tool.name, r.tool.args, r.tool.session] : null;
  return JSON.stringify([r.sandbox, r.kind, r.binary, r.host ?? null, r.port ?? null, r.method ?? null, r.path ?? null, tool]);
}

export class ApprovalQueue extends EventEmitter<ApprovalQueueEvents> {
  private readonly entries = new Map<string, Entry>();
  private readonly byKey = new Map<string, Entry>();
  private readonly timeoutMs: number;
  private persist: PersistHook | undefined;
  private readonly now: () => number;
  private closed = false;
  private readonly maxPerSandbox: number;

  constructor(opts: ApprovalQueueOptions = {}) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.persist = opts.persist;
    this.now = opts.now ?? Date.now;
    this.maxPerSandbox = opts.maxPendingPerSandbox ?? 100;
  }

  /** Sets (or replaces) the persistence hook used for `always` decisions. */
  setPersistHook(hook: PersistHook | undefined): void {
    this.persist = hook;
  }

  /**
   * Queues a request (or joins an identical pending one) and resolves with the decision. When
   * `signal` aborts, this requester stops waiting (its promise resolves deny, `withdrawn`); an item
   * nobody waits for any more is withdrawn from the queue, so no operator answers a stale ask.
   */
  request(req: ApprovalRequest, opts: { signal?: AbortSignal } = {}): Promise<ApprovalResult> {
    const p = this.enqueue(req);
    const signal = opts.signal;
    if (!signal || p.entry === null) return p.result;
    const entry = p.entry;
    const waiter = entry.waiters[entry.waiters.length - 1] as (r: ApprovalResult) => void;
    const withdraw = (): void => {
      const i = entry.waiters.indexOf(waiter);
      if (i < 0 || entry.deciding) return;
      entry.waiters.splice(i, 1);
      waiter({ id: entry.item.id, verdict: 'deny', always: false, by: { user: 'nemoclaw', origin: 'withdrawn' }, reason: 'withdrawn' });
      if (entry.waiters.length === 0 && this.entries.get(entry.item.id) === entry) {
        this.finish(entry, { verdict: 'deny', always: false, by: { user: 'nemoclaw', origin: 'withdrawn' } }, 'withdrawn');
      }
    };
    if (signal.aborted) withdraw();
    else {
      signal.addEventListener('abort', withdraw, { once: true });
      void p.result.then(() => signal.removeEventListener('abort', withdraw));
    }
    return p.result;
  }

  private enqueue(req: ApprovalRequest): { result: Promise<ApprovalResult>; entry: Entry | null } {
    if (this.closed) {
      return { result: Promise.resolve({ id: '', verdict: 'deny', always: false, by: { user: 'nemoclaw', origin: 'shutdown' }, reason: 'closed' }), entry: null };
    }
    const key = keyOf(req);
    const existing = this.byKey.get(key);
    const t = this.now();
    if (existing && !existing.deciding) {
      existing.item.count++;
      existing.item.lastSeen = t;
      const p = new Promise<ApprovalResult>((resolve) => existing.waiters.push(resolve));
      this.emit('updated', { ...existing.item });
      return { result: p, entry: existing };
    }
    let pendingHere = 0;
    for (const e of this.entries.values()) if (e.item.sandbox === req.sandbox && !e.deciding) pendingHere++;
    if (pendingHere >= this.maxPerSandbox) {
      // A sandbox cannot bury the operator in questions: past the cap, new ones are denied.
      return { result: Promise.resolve({ id: '', verdict: 'deny', always: false, by: { user: 'nemoclaw', origin: 'overflow' }, reason: 'overflow' }), entry: null };
    }
    const timeout = req.timeoutMs ?? this.timeoutMs;
    let id = randomBytes(4).toString('hex');
    while (this.entries.has(id)) id = randomBytes(4).toString('hex');
    const item: ApprovalItem = {
      id,
      sandbox: req.sandbox,
      kind: req.kind,
      binary: req.binary,
      host: req.host ?? null,
      port: req.port ?? null,
      method: req.method ?? null,
      path: req.path ?? null,
      ...(req.tool !== undefined ? { tool: { ...req.tool } } : {}),
      firstSeen: t,
      lastSeen: t,
      count: 1,
      expiresAt: t + timeout,
    };
    const entry: Entry = {
      item,
      key,
      waiters: [],
      deciding: false,
      timer: setTimeout(() => {
        this.finish(entry, { verdict: 'deny', always: false, by: { user: 'nemoclaw', origin: 'timeout' } }, 'timeout');
      }, timeout),
    };
    entry.timer.unref();
    const p = new Promise<ApprovalResult>((resolve) => entry.waiters.push(resolve));
    this.entries.set(id, entry);
    this.byKey.set(key, entry);
    this.emit('added', { ...item });
    return { result: p, entry };
  }

  /** Pending items, oldest first. */
  list(): ApprovalItem[] {
    return [...this.entries.values()].filter((e) => !e.deciding).map((e) => ({ ...e.item }));
  }

  get(id: string): ApprovalItem | undefined {
    const e = this.entries.get(id);
    return e ? { ...e.item } : undefined;
  }

  /**
   * Decides a pending item. The first decision wins: a later one (or an unknown id) returns null.
   * For `always`, the persistence hook runs before the waiters are released. An `always` answer
   * that alwaysRefusal() rejects throws ApprovalRefusedError and leaves the item pending. When
   * "allow always" cannot be persisted, the request is denied (fail closed: the operator asked
   * for a rule and did not get one, so nothing is let through on its strength); the result says
   * `verdict: 'deny'`, `persisted: false` and why.
   */
  async decide(id: string, decision: ApprovalDecisionInput): Promise<ApprovalResult | null> {
    const entry = this.entries.get(id);
    if (!entry || entry.deciding) return null;
    if (decision.always) {
      const refused = alwaysRefusal(entry.item, decision.verdict);
      if (refused !== null) throw new ApprovalRefusedError(refused);
    }
    entry.deciding = true;
    clearTimeout(entry.timer);
    // New identical requests arriving while we persist start a fresh item (they will see the new rule).
    this.byKey.delete(entry.key);
    let persisted: boolean | undefined;
    let persistError: string | undefined;
    if (decision.always && this.persist) {
      try {
        await this.persist({ ...entry.item }, decision);
        persisted = true;
      } catch (err) {
        persisted = false;
        persistError = err instanceof Error ? err.message : String(err);
      }
    } else if (decision.always) {
      persisted = false;
      persistError = 'no persistence hook configured';
    }
    const applied = persisted === false && decision.verdict === 'allow' ? { ...decision, verdict: 'deny' as const } : decision;
    return this.finish(entry, applied, 'operator', persisted, persistError);
  }

  /** Denies every pending item (fail closed) and refuses new ones. */
  close(): void {
    this.closed = true;
    for (const entry of [...this.entries.values()]) {
      if (entry.deciding) continue;
      this.finish(entry, { verdict: 'deny', always: false, by: { user: 'nemoclaw', origin: 'shutdown' } }, 'closed');
    }
  }

  private finish(entry: Entry, d: ApprovalDecisionInput, reason: ApprovalResult['reason'], persisted?: boolean, persistError?: string): ApprovalResult {
    clearTimeout(entry.timer);
    this.entries.delete(entry.item.id);
    if (this.byKey.get(entry.key) === entry) this.byKey.delete(entry.key);
    const result: ApprovalResult = { id: entry.item.id, verdict: d.verdict, always: d.always, by: d.by, reason };
    if (persisted !== undefined) result.persisted = persisted;
    if (persistError !== undefined) result.persistError = persistError;
    for (const w of entry.waiters) w(result);
    entry.waiters = [];
    this.emit('decided', { ...entry.item }, result);
    return result;
  }
}
