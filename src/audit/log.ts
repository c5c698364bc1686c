// The audit log writer: hash-chained JSONL segments, group commit, signed checkpoints, torn-tail
// recovery, key rotation. Concurrency design (docs/audit.md, "Concurrency and crashes"):
//  - Every writer (the supervisor, each one-shot `nemoclaw sandbox run`) appends to the same
//    chain. The directory lock (lock.ts) is taken only around one group commit; under it the
//    writer first catches up with what other writers appended since its last commit (hashing the
//    new lines into its chain state and Merkle frontier), then writes its batch with one write(2),
//    fsyncs when asked or when a checkpoint is due, and signs the checkpoint.
//  - Records are never written outside the lock, so a partial last line seen under the lock can
//    only be the torn tail of a writer that died mid-write: it is truncated and a recovery record
//    is appended. An acknowledged record was completely written before its promise resolved, so it
//    is never part of a torn tail.
//  - Resuming is cheap: each checkpoint carries the Merkle frontier and the byte position it
//    covers, so a new writer reads only the records after the last checkpoint.
// This file holds the queue, the group commit and the timers; the parts it drives share one
// WriterContext: chain.ts (chain state, catch-up, serialisation, segment rotation), sealer.ts
// (signer, checkpoint file, signing, key rotation) and segments.ts (file names, write/fsync).
import { DenialAggregator } from './aggregate.ts';
import type { ChainSnapshot, WriterContext } from './chain.ts';
import { Chain } from './chain.ts';
import type { Checkpoint, CheckpointReason } from './checkpoint.ts';
import { auditDir, ensurePrivateDirs } from './files.ts';
import { fingerprint } from './keys.ts';
import { cleanLockLeftovers, DirLock } from './lock.ts';
import type { AuditEventInput, RecordEvent } from './record.ts';
import { DENIAL_KINDS, normalizeEvent } from './record.ts';
import type { NextEpoch } from './sealer.ts';
import { Sealer } from './sealer.ts';
import { datasync, writeAll } from './segments.ts';

export interface OpenOptions {
  home: string;
  /** Rotate to a new segment once the current one reaches this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Checkpoint after this many records (default 100). */
  checkpointEvery?: number;
  /** Checkpoint this long after the first uncheckpointed record (default 1000 ms). */
  checkpointIntervalMs?: number;
  /** Idle heartbeat checkpoint period (default 60 s; 0 disables). */
  heartbeatMs?: number;
  /** How long a commit waits for another writer's lock (default 10 s). */
  lockTimeoutMs?: number;
  /** Aggregate denials per minute (default true). */
  aggregateDenials?: boolean;
  /** Called with every checkpoint this writer signs (e.g. to export it over OTLP). */
  onCheckpoint?: (cp: Checkpoint) => void;
  /** Called after each commit with the exact lines (no newline) this writer just wrote. */
  onRecords?: (lines: string[]) => void;
  /** Clock for record timestamps and aggregation windows (tests). */
  now?: () => number;
}

export interface AppendOptions {
  /** Resolve only once the record is fsynced (use before acting on a security decision). */
  durable?: boolean;
}

export interface AuditLog {
  readonly home: string;
  readonly dir: string;
  /**
   * Appends one event. Resolves with its seq once the record is written (in the page cache, so a
   * crash of this process cannot lose it) or, with durable, once it is fsynced.
   */
  append(event: AuditEventInput, opts?: AppendOptions): Promise<{ seq: number }>;
  /** Commits everything pending, fsyncs and signs a checkpoint covering it. */
  flush(): Promise<void>;
  /** Signs a checkpoint now (after committing what is pending). */
  checkpoint(reason?: CheckpointReason): Promise<Checkpoint>;
  /** Starts a new signing epoch: the rotation is recorded in the log and the old private key deleted. */
  rotateKey(): Promise<{ keyId: string; epoch: number }>;
  /** Flushes denial summaries, commits, writes the shutdown checkpoint and releases everything. */
  close(): Promise<void>;
  /** fingerprint() keyed for this log's install. */
  fingerprint(value: string | Buffer): string;
  /** The last checkpoint this writer signed or resumed from. */
  readonly lastCheckpoint: Checkpoint | null;
}

interface Pending {
  event: RecordEvent;
  durable: boolean;
  resolve: (r: { seq: number }) => void;
  reject: (e: unknown) => void;
}

interface Request {
  checkpoint?: CheckpointReason;
  /** fsync the segment (no checkpoint needed). */
  sync?: boolean;
  rotate?: boolean;
  done: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
}

class Writer implements AuditLog {
  readonly home: string;
  readonly dir: string;
  private readonly lock: DirLock;
  private readonly segmentBytes: number;
  private readonly checkpointEvery: number;
  private readonly checkpointIntervalMs: number;
  private readonly heartbeatMs: number;
  private readonly lockTimeoutMs: number;
  private readonly onCheckpoint: ((cp: Checkpoint) => void) | undefined;
  private readonly onRecords: ((lines: string[]) => void) | undefined;
  private written: string[] = [];
  private readonly now: () => number;
  private readonly aggregator: DenialAggregator | null;

  private readonly ctx: WriterContext;
  private readonly chain: Chain;
  private readonly sealer: Sealer;

  private pending: Pending[] = [];
  private requests: Request[] = [];
  private running = false;
  private closed = false;
  /** Set when close() starts: appends are refused from then on, so none lands after the shutdown checkpoint. */
  private closing = false;
  private closePromise: Promise<void> | null = null;
  private cpTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private aggTimer: NodeJS.Timeout | null = null;

  constructor(o: OpenOptions) {
    this.home = o.home;
    this.dir = auditDir(o.home);
    this.lock = new DirLock(this.dir);
    this.segmentBytes = o.segmentBytes ?? 64 * 1024 * 1024;
    this.checkpointEvery = o.checkpointEvery ?? 100;
    this.checkpointIntervalMs = o.checkpointIntervalMs ?? 1000;
    this.heartbeatMs = o.heartbeatMs ?? 60_000;
    this.lockTimeoutMs = o.lockTimeoutMs ?? 10_000;
    this.onCheckpoint = o.onCheckpoint;
    this.onRecords = o.onRecords;
    this.now = o.now ?? Date.now;
    this.aggregator = o.aggregateDenials === false ? null : new DenialAggregator();
    this.ctx = { home: this.home, dir: this.dir, now: this.now, recoveries: [] };
    this.chain = new Chain(this.ctx);
    this.sealer = new Sealer(this.ctx);
  }

  get lastCheckpoint(): Checkpoint | null {
    return this.sealer.lastCp;
  }

  fingerprint(value: string | Buffer): string {
    return fingerprint(value, this.home);
  }

  async open(): Promise<void> {
    // Building the writer loaded node:crypto (the bundle loads it at first use: milliseconds of
    // main-thread work): I/O that came in meanwhile is served before the key is loaded and the
    // chain resumed under the lock.
    await ioTurn();
    ensurePrivateDirs(this.dir);
    cleanLockLeftovers(this.dir);
    try {
      await this.lock.acquire(this.lockTimeoutMs);
    } catch (err) {
      this.lock.dispose();
      throw err;
    }
    try {
      this.sealer.open();
      this.resume();
      this.catchUp();
    } catch (err) {
      this.chain.closeSegFd();
      this.lock.dispose();
      throw err;
    }
    this.lock.release();
    // Records left unsigned by a writer that exited without close() (or crashed) get signed now,
    // so the unauthenticated window stays short.
    if (this.ctx.recoveries.length > 0) await this.enqueueRequest({ checkpoint: 'recovery' });
    else if (this.chain.sinceCp > 0) await this.enqueueRequest({ checkpoint: 'open' });
    if (this.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => {
        // Seal idle periods too, so that a gap in checkpoints is visible (journald CVE-2023-31438).
        if (!this.running && this.pending.length === 0) {
          this.enqueueRequest({ checkpoint: this.chain.sinceCp > 0 ? 'interval' : 'heartbeat' }).catch(() => undefined);
        }
      }, this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Sets the chain state from the last checkpoint when it is consistent, else from the start. */
  private resume(): void {
    const { last, resume: cp } = this.sealer.readCheckpointTail();
    this.sealer.lastCp = last;
    const resumed = this.chain.resumeAt(cp, this.sealer.origin);
    this.sealer.lastFrontierSize = resumed && cp !== null ? cp.size : -1;
  }

  /** Under the lock: picks up another writer's key rotation, then its appends. */
  private catchUp(): void {
    this.sealer.loadSigner(false);
    this.chain.catchUp();
  }

  append(input: AuditEventInput, opts: AppendOptions = {}): Promise<{ seq: number }> {
    if (this.closing) return Promise.reject(new Error('audit log is closed'));
    let event: RecordEvent;
    try {
      event = normalizeEvent(input);
    } catch (err) {
      return Promise.reject(err);
    }
    const durable = opts.durable === true;
    if (this.aggregator !== null && DENIAL_KINDS.has(input.kind) && input.count === undefined) {
      const t = this.now();
      this.flushAggregates(t);
      const offer = this.aggregator.offer(input, t);
      if (!offer.write) {
        // Counted, not written: the minute's summary record will carry it. A durable caller
        // gets the seq of the minute's first record once that record is on disk.
        if (!durable) return offer.first;
        return offer.first.then(async (r) => {
          await this.enqueueRequest({ sync: true });
          return r;
        });
      }
      const p = this.enqueue(event, durable);
      this.aggregator.opened(input, t, p);
      this.armAggregateTimer();
      return p;
    }
    return this.enqueue(event, durable);
  }

  private enqueue(event: RecordEvent, durable: boolean): Promise<{ seq: number }> {
    return new Promise((resolve, reject) => {
      this.pending.push({ event, durable, resolve, reject });
      this.kick();
    });
  }

  private flushAggregates(nowMs: number): void {
    if (this.aggregator === null) return;
    for (const s of this.aggregator.drain(nowMs)) this.enqueue(normalizeEvent(s), false).catch(() => undefined);
  }

  private armAggregateTimer(): void {
    if (this.aggTimer !== null || this.aggregator === null) return;
    const t = this.now();
    const wait = 60_000 - (t % 60_000) + 5;
    this.aggTimer = setTimeout(() => {
      this.aggTimer = null;
      this.flushAggregates(this.now());
      if (this.aggregator !== null && this.aggregator.size > 0) this.armAggregateTimer();
    }, wait);
    this.aggTimer.unref();
  }

  private enqueueRequest(r: Omit<Request, 'done'>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.requests.push({ ...r, done: { resolve, reject } });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    // setImmediate lets every append of the current tick join the same group commit.
    setImmediate(() => {
      this.drain().catch(() => undefined);
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0 || this.requests.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const reqs = this.requests;
        this.requests = [];
        await this.commit(batch, reqs);
      }
    } finally {
      this.running = false;
    }
  }

  /** One group commit under the lock. */
  private async commit(batch: Pending[], reqs: Request[]): Promise<void> {
    const chain = this.chain;
    const sealer = this.sealer;
    const lines = this.onRecords !== undefined ? this.written : null;
    const results: number[] = [];
    const cps: Checkpoint[] = [];
    let rotated: { keyId: string; epoch: number } | null = null;
    try {
      await this.lock.acquire(this.lockTimeoutMs);
    } catch (err) {
      for (const p of batch) p.reject(err);
      for (const r of reqs) r.done.reject(err);
      return;
    }
    let acked = false;
    let saved: ChainSnapshot | null = null;
    try {
      this.catchUp();
      saved = chain.snapshot();
      const events: { event: RecordEvent; pending: Pending | null }[] = [];
      for (const r of this.ctx.recoveries.splice(0)) events.push({ event: normalizeEvent(r), pending: null });
      for (const p of batch) events.push({ event: p.event, pending: p });
      const rotate = reqs.some((r) => r.rotate === true) || sealer.keyLost;
      let next: NextEpoch | null = null;
      if (rotate) {
        const prepared = sealer.prepareRotation();
        next = prepared.next;
        events.push({ event: prepared.event, pending: null });
      }
      const durable = batch.some((p) => p.durable) || reqs.some((r) => r.sync === true);
      const seqs = chain.writeEvents(events.map((e) => e.event), lines);
      if (events.length > 0) await writeAll(chain.openSegFd(), seqs.buf);
      for (let i = 0; i < events.length; i++) if (events[i]?.pending !== null) results.push(seqs.first + i);
      // Non-durable appends are acknowledged as soon as write(2) returned: the bytes are in the
      // kernel, so no crash of this process can lose them, and the caller need not wait for the
      // fsync and the signature (the next group commit gathers meanwhile).
      batch.forEach((p, i) => {
        if (!p.durable) p.resolve({ seq: results[i] as number });
      });
      acked = events.length > 0;

      const t = this.now();
      let reason: CheckpointReason | null = reqs.find((r) => r.checkpoint !== undefined)?.checkpoint ?? null;
      if (reason === null && chain.sinceCp >= this.checkpointEvery) reason = 'count';
      if (reason === null && chain.sinceCp > 0 && t - chain.firstUncheckpointedAt >= this.checkpointIntervalMs) reason = 'interval';
      const rotateSegment = chain.offset >= this.segmentBytes;
      if (rotate) reason = 'key-rotation';
      else if (rotateSegment) reason = 'rotation';
      const synced = reason !== null || durable ? datasync(chain.openSegFd()) : null;
      // The outgoing key signs its last checkpoint (over the rotation record), unless it is lost.
      // Signed while the segment syncs (the signature needs only the chain state), stored after.
      let cp: Checkpoint | null = null;
      try {
        cp = reason !== null && !sealer.keyLost ? sealer.prepare(chain, reason) : null;
      } finally {
        if (synced !== null) await synced;
      }
      if (cp !== null) cps.push(await sealer.store(cp, chain, reason === 'shutdown' || rotate || rotateSegment));
      if (rotate && next !== null) {
        sealer.adopt(next, chain.size);
        cps.push(await sealer.sign(chain, 'key-rotation', true));
        rotated = { keyId: next.info.keyId, epoch: next.info.epoch };
      }
      if (rotateSegment) await chain.startSegment(sealer.lastCp, lines);
    } catch (err) {
      // Undo a half-done batch so the file never holds records nobody was told about, unless a
      // checkpoint already covers them. Otherwise re-derive the state from disk at the next commit.
      this.written = [];
      const undone = saved !== null && !acked && cps.length === 0 && chain.undo(saved);
      if (!undone) {
        chain.closeSegFd();
        this.resume();
      }
      this.lock.release();
      for (const p of batch) p.reject(err);
      for (const r of reqs) r.done.reject(err);
      return;
    }
    this.lock.release();
    batch.forEach((p, i) => {
      if (p.durable) p.resolve({ seq: results[i] as number });
    });
    const lastCp = cps[cps.length - 1] ?? sealer.lastCp;
    for (const r of reqs) r.done.resolve(r.rotate === true ? rotated : lastCp);
    // Exporters run after the records are safe; their failures must not affect the log.
    const written = this.written.splice(0);
    if (written.length > 0) {
      try {
        this.onRecords?.(written);
      } catch {
        // ignored
      }
    }
    for (const cp of cps) {
      try {
        this.onCheckpoint?.(cp);
      } catch {
        // ignored
      }
    }
    this.armCheckpointTimer();
  }

  private armCheckpointTimer(): void {
    if (this.cpTimer !== null || this.chain.sinceCp === 0 || this.closed) return;
    const wait = Math.max(1, this.chain.firstUncheckpointedAt + this.checkpointIntervalMs - this.now());
    this.cpTimer = setTimeout(() => {
      this.cpTimer = null;
      if (this.chain.sinceCp > 0 && !this.closed) this.enqueueRequest({ checkpoint: 'interval' }).catch(() => undefined);
    }, wait);
    this.cpTimer.unref();
  }

  async flush(): Promise<void> {
    await this.enqueueRequest({ checkpoint: 'interval' });
  }

  async checkpoint(reason: CheckpointReason = 'interval'): Promise<Checkpoint> {
    return (await this.enqueueRequest({ checkpoint: reason })) as Checkpoint;
  }

  async rotateKey(): Promise<{ keyId: string; epoch: number }> {
    return (await this.enqueueRequest({ rotate: true })) as { keyId: string; epoch: number };
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    this.flushAggregates(Infinity);
    try {
      await this.enqueueRequest({ checkpoint: 'shutdown' });
    } finally {
      this.closed = true;
      for (const t of [this.cpTimer, this.aggTimer]) if (t !== null) clearTimeout(t);
      if (this.heartbeat !== null) clearInterval(this.heartbeat);
      this.chain.closeSegFd();
      this.sealer.close();
      this.lock.dispose();
    }
  }
}

/**
 * One turn of the event loop, so that I/O already waiting (a sandbox's ready report, whose go a
 * one-shot `sandbox run` sends) is handled between the long synchronous steps of an open rather
 * than after all of them: the log is opened while the process has other work, and none of it
 * should wait for the log's crypto (issue 23).
 */
function ioTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Opens (creating if needed) the audit log under home/audit and recovers a torn tail. */
export async function openAuditLog(opts: OpenOptions): Promise<AuditLog> {
  // The caller has usually just loaded this module (milliseconds of main-thread work).
  await ioTurn();
  const w = new Writer(opts);
  await w.open();
  return w;
}
