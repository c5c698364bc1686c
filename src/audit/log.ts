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
import {
  closeSync,
  existsSync,
  fdatasync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
  write,
} from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DenialAggregator } from './aggregate.ts';
import type { Checkpoint, CheckpointReason } from './checkpoint.ts';
import { parseCheckpoint, signCheckpoint } from './checkpoint.ts';
import { auditDir, createFileExclusive, ensurePrivateDirs, fsyncDir } from './files.ts';
import type { Signer } from './keys.ts';
import { cleanOrphanKeys, commitRotation, createEpochKey, currentSigner, fingerprint, readKeyring } from './keys.ts';
import { cleanLockLeftovers, DirLock } from './lock.ts';
import { MerkleFrontier, leafHash, leafHashAt } from './merkle.ts';
import type { AuditEventInput, RecordEvent } from './record.ts';
import { DENIAL_KINDS, GENESIS_PREV, formatLine, normalizeEvent, parseHead } from './record.ts';

export const CHECKPOINTS_FILE = 'checkpoints.jsonl';
export const LOG_ID_FILE = 'log-id';

export function segmentName(n: number): string {
  return `seg-${String(n).padStart(6, '0')}.jsonl`;
}

export function listSegments(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const n of names) {
    const m = /^seg-(\d{6,})\.jsonl$/.exec(n);
    if (m !== null) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

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

function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      write(fd, buf, off, buf.length - off, null, (err, n) => {
        if (err !== null) reject(err);
        else if (off + n < buf.length) step(off + n);
        else resolve();
      });
    };
    step(0);
  });
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err === null ? resolve() : reject(err))));
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

  private origin = '';
  private signer: Signer | null = null;
  /** Set when the current epoch's private key is missing: the next commit rotates. */
  private lostKey: { keyId: string; epoch: number } | null = null;
  private keysStamp = '';
  // Chain state: what the log looks like up to (segment, offset).
  private segment = 1;
  private offset = 0;
  private size = 0;
  private lastHash = GENESIS_PREV;
  private frontier = new MerkleFrontier();
  private segFd: number | null = null;
  private cpFd: number | null = null;
  private sinceCp = 0;
  private firstUncheckpointedAt = 0;
  private lastCp: Checkpoint | null = null;
  /** Tree size of the last checkpoint that carried the frontier (-1: none yet). */
  private lastFrontierSize = -1;
  private recoveries: AuditEventInput[] = [];

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
  }

  get lastCheckpoint(): Checkpoint | null {
    return this.lastCp;
  }

  fingerprint(value: string | Buffer): string {
    return fingerprint(value, this.home);
  }

  async open(): Promise<void> {
    ensurePrivateDirs(this.dir);
    cleanLockLeftovers(this.dir);
    try {
      await this.lock.acquire(this.lockTimeoutMs);
    } catch (err) {
      this.lock.dispose();
      throw err;
    }
    try {
      this.origin = `nemoclaw-audit/${this.logId()}`;
      this.loadSigner(true);
      cleanOrphanKeys(this.home);
      this.repairCheckpointFile();
      this.resume();
      this.catchUp();
    } catch (err) {
      this.closeSegFd();
      this.lock.dispose();
      throw err;
    }
    this.lock.release();
    // Records left unsigned by a writer that exited without close() (or crashed) get signed now,
    // so the unauthenticated window stays short.
    if (this.recoveries.length > 0) await this.enqueueRequest({ checkpoint: 'recovery' });
    else if (this.sinceCp > 0) await this.enqueueRequest({ checkpoint: 'open' });
    if (this.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => {
        // Seal idle periods too, so that a gap in checkpoints is visible (journald CVE-2023-31438).
        if (!this.running && this.pending.length === 0) {
          this.enqueueRequest({ checkpoint: this.sinceCp > 0 ? 'interval' : 'heartbeat' }).catch(() => undefined);
        }
      }, this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  private logId(): string {
    const path = join(this.dir, LOG_ID_FILE);
    if (!existsSync(path)) createFileExclusive(path, `${randomBytes(8).toString('hex')}\n`, 0o600);
    const id = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{16}$/.test(id)) throw new Error(`${path}: not a log id`);
    return id;
  }

  /** (Re)loads the current epoch's signer when keys.json changed (another writer rotated). */
  private loadSigner(force: boolean): void {
    let stamp = 'none';
    try {
      const st = statSync(join(this.home, 'keys', 'audit', 'keys.json'));
      stamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch {
      // created below
    }
    if (!force && stamp === this.keysStamp && (this.signer !== null || this.lostKey !== null)) return;
    try {
      this.signer = currentSigner(this.home);
      this.lostKey = null;
    } catch (err) {
      const ring = readKeyring(this.home);
      const cur = ring?.epochs[ring.epochs.length - 1];
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || cur === undefined) throw err;
      // The current private key is gone (deleted, or a restore without keys). Logging goes on:
      // the next commit starts a new epoch, recorded in the log like any rotation.
      this.signer = null;
      this.lostKey = { keyId: cur.keyId, epoch: cur.epoch };
      this.recoveries.push({ kind: 'audit.recovery', activity: 'lost-signing-key', detail: { key_id: cur.keyId, epoch: cur.epoch } });
    }
    const st = statSync(join(this.home, 'keys', 'audit', 'keys.json'));
    this.keysStamp = `${st.ino}:${st.mtimeMs}:${st.size}`;
  }

  private cpPath(): string {
    return join(this.dir, CHECKPOINTS_FILE);
  }

  /** Drops a partial last line of the checkpoint file (a writer died while appending it). */
  private repairCheckpointFile(): void {
    const path = this.cpPath();
    if (!existsSync(path)) return;
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      if (size === 0) return;
      const back = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(back);
      readSync(fd, buf, 0, back, size - back);
      if (buf[back - 1] === 10) return;
      const nl = buf.lastIndexOf(10);
      const keep = nl < 0 ? (back === size ? 0 : size - back) : size - back + nl + 1;
      ftruncateSync(fd, keep);
      this.recoveries.push({ kind: 'audit.recovery', activity: 'checkpoint-torn-tail', detail: { file: CHECKPOINTS_FILE, truncated_bytes: size - keep } });
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The newest checkpoint, and the newest one carrying a Merkle frontier (the resume point),
   * reading the checkpoint file backwards in growing windows.
   */
  private readCheckpointTail(): { last: Checkpoint | null; resume: Checkpoint | null } {
    const path = this.cpPath();
    if (!existsSync(path)) return { last: null, resume: null };
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      let last: Checkpoint | null = null;
      for (let back = Math.min(size, 64 * 1024); ; back = Math.min(size, back * 4)) {
        const buf = Buffer.alloc(back);
        readSync(fd, buf, 0, back, size - back);
        const lines = buf.toString('utf8').split('\n').filter((l) => l.length > 0);
        if (back < size) lines.shift(); // probably cut by the window
        for (let i = lines.length - 1; i >= 0; i--) {
          let cp: Checkpoint;
          try {
            cp = parseCheckpoint(JSON.parse(lines[i] as string));
          } catch {
            continue; // garbage; verify reports it
          }
          last ??= cp;
          if (cp.frontier !== undefined) return { last, resume: cp };
        }
        if (back >= size) return { last, resume: null };
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Sets the chain state from the last checkpoint when it is consistent, else from the start. */
  private resume(): void {
    const { last, resume: cp } = this.readCheckpointTail();
    this.lastCp = last;
    if (cp !== null && cp.origin === this.origin && cp.frontier !== undefined) {
      try {
        const f = MerkleFrontier.from(cp.size, cp.frontier);
        const segPath = join(this.dir, segmentName(cp.segment));
        if (f.root() === cp.root && existsSync(segPath) && statSync(segPath).size >= cp.offset) {
          this.frontier = f;
          this.size = cp.size;
          this.lastHash = cp.last_hash;
          this.segment = cp.segment;
          this.offset = cp.offset;
          this.firstUncheckpointedAt = 0;
          this.lastFrontierSize = cp.size;
          return;
        }
      } catch {
        // fall through to a full scan
      }
      this.recoveries.push({ kind: 'audit.recovery', activity: 'rescan', detail: { reason: 'last checkpoint does not match the log' } });
    }
    this.lastFrontierSize = -1;
    this.resumeFromScratch();
  }

  private openSegFd(): number {
    if (this.segFd === null) this.segFd = openSync(join(this.dir, segmentName(this.segment)), 'a+', 0o600);
    return this.segFd;
  }

  /**
   * Brings the chain state up to the end of the log (under the lock): hashes what other writers
   * appended, follows their rotations, and truncates a torn tail left by a dead writer.
   */
  private catchUp(): void {
    this.loadSigner(false);
    for (;;) {
      const fd = this.openSegFd();
      const size = fstatSync(fd).size;
      if (size < this.offset) {
        // Someone cut the file below what we had seen: not ours to repair. Rescan and record it;
        // verify will report the damage against the checkpoints.
        this.recoveries.push({ kind: 'audit.recovery', activity: 'shrunk', detail: { segment: this.segment, expected_bytes: this.offset, found_bytes: size } });
        this.closeSegFd();
        this.resumeFromScratch();
        continue;
      }
      if (size > this.offset) this.absorb(fd, size);
      const next = join(this.dir, segmentName(this.segment + 1));
      if (!existsSync(next)) return;
      this.closeSegFd();
      this.segment += 1;
      this.offset = 0;
    }
  }

  private resumeFromScratch(): void {
    const segs = listSegments(this.dir);
    this.segment = segs[0] ?? 1;
    this.offset = 0;
    this.size = 0;
    this.lastHash = GENESIS_PREV;
    this.frontier = new MerkleFrontier();
  }

  private absorb(fd: number, size: number): void {
    const len = size - this.offset;
    // One spare leading byte so that leafHashAt can prefix the first line with 0x00 in place.
    const buf = Buffer.alloc(len + 1);
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, 1 + got, len - got, this.offset + got);
      if (n === 0) break;
      got += n;
    }
    got += 1;
    let start = 1;
    let anomaly = false;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      const head = parseHead(buf, start, nl);
      if (head === null || head.seq !== this.size + 1 || buf.toString('latin1', head.prevAt, head.prevAt + 64) !== this.lastHash) anomaly = true;
      const h = leafHashAt(buf, start, nl + 1);
      this.frontier.push(h);
      this.size = head?.seq ?? this.size + 1;
      if (this.frontier.size !== this.size) anomaly = true;
      this.lastHash = h;
      this.sinceCp += 1;
      start = nl + 1;
    }
    if (anomaly) {
      this.recoveries.push({ kind: 'audit.recovery', activity: 'chain-anomaly', detail: { segment: this.segment, after_offset: this.offset } });
    }
    if (start < got) {
      // Torn tail: the writer that held the lock died mid-write. Nothing in it was acknowledged.
      ftruncateSync(fd, this.offset + start - 1);
      this.recoveries.push({
        kind: 'audit.recovery',
        activity: 'torn-tail',
        detail: { segment: this.segment, truncated_bytes: got - start, after_seq: this.size },
      });
    }
    this.offset += start - 1;
    if (this.sinceCp > 0 && this.firstUncheckpointedAt === 0) this.firstUncheckpointedAt = this.now();
  }

  private closeSegFd(): void {
    if (this.segFd !== null) closeSync(this.segFd);
    this.segFd = null;
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
    let saved: { segment: number; offset: number; size: number; lastHash: string; frontier: MerkleFrontier; sinceCp: number } | null = null;
    try {
      this.catchUp();
      saved = { segment: this.segment, offset: this.offset, size: this.size, lastHash: this.lastHash, frontier: this.frontier.clone(), sinceCp: this.sinceCp };
      const events: { event: RecordEvent; pending: Pending | null }[] = [];
      for (const r of this.recoveries.splice(0)) events.push({ event: normalizeEvent(r), pending: null });
      for (const p of batch) events.push({ event: p.event, pending: p });
      const rotate = reqs.some((r) => r.rotate === true) || this.signer === null;
      let next: ReturnType<typeof createEpochKey> | null = null;
      if (rotate) {
        const signer = this.signer ?? (this.lostKey as { keyId: string; epoch: number });
        next = createEpochKey(this.home, signer.epoch + 1, 0);
        events.push({
          event: normalizeEvent({
            kind: 'audit.key_rotation',
            activity: this.signer === null ? 'replace-lost-key' : 'rotate',
            actor: { pid: process.pid, process: 'nemoclaw' },
            detail: { from_key: signer.keyId, from_epoch: signer.epoch, to_key: next.info.keyId, to_epoch: next.info.epoch, to_public_key: next.info.publicKey },
          }),
          pending: null,
        });
      }
      const durable = batch.some((p) => p.durable) || reqs.some((r) => r.sync === true);
      const seqs = this.writeEvents(events.map((e) => e.event));
      if (events.length > 0) await writeAll(this.openSegFd(), seqs.buf);
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
      if (reason === null && this.sinceCp >= this.checkpointEvery) reason = 'count';
      if (reason === null && this.sinceCp > 0 && t - this.firstUncheckpointedAt >= this.checkpointIntervalMs) reason = 'interval';
      const rotateSegment = this.offset >= this.segmentBytes;
      if (rotate) reason = 'key-rotation';
      else if (rotateSegment) reason = 'rotation';
      if (reason !== null || durable) await datasync(this.openSegFd());
      // The outgoing key signs its last checkpoint (over the rotation record), unless it is lost.
      if (reason !== null && this.signer !== null) cps.push(await this.signAndStore(reason, reason === 'shutdown' || rotate || rotateSegment));
      if (rotate && next !== null) {
        commitRotation(this.home, next.info, this.size);
        this.signer = next.signer;
        this.lostKey = null;
        this.loadSigner(true);
        cps.push(await this.signAndStore('key-rotation', true));
        rotated = { keyId: next.info.keyId, epoch: next.info.epoch };
      }
      if (rotateSegment) await this.startSegment();
    } catch (err) {
      // Undo a half-done batch so the file never holds records nobody was told about, unless a
      // checkpoint already covers them. Otherwise re-derive the state from disk at the next commit.
      this.written = [];
      let undone = false;
      if (saved !== null && !acked && cps.length === 0 && this.segFd !== null && this.segment === saved.segment) {
        try {
          ftruncateSync(this.segFd, saved.offset);
          Object.assign(this, saved);
          undone = true;
        } catch {
          // fall back to a re-read
        }
      }
      if (!undone) {
        this.closeSegFd();
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
    const lastCp = cps[cps.length - 1] ?? this.lastCp;
    for (const r of reqs) r.done.resolve(r.rotate === true ? rotated : lastCp);
    // Exporters run after the records are safe; their failures must not affect the log.
    const lines = this.written.splice(0);
    if (lines.length > 0) {
      try {
        this.onRecords?.(lines);
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

  /** Serialises events onto the chain (state is updated; the caller writes the bytes). */
  private writeEvents(events: RecordEvent[]): { buf: Buffer; first: number } {
    const first = this.size + 1;
    if (events.length === 0) return { buf: Buffer.alloc(0), first };
    const ts = new Date(this.now()).toISOString();
    let text = '';
    for (const ev of events) {
      this.size += 1;
      const line = formatLine(this.size, ts, this.lastHash, ev);
      const h = leafHash(line);
      this.frontier.push(h);
      this.lastHash = h;
      text += line;
      if (this.onRecords !== undefined) this.written.push(line.slice(0, -1));
    }
    const buf = Buffer.from(text);
    this.offset += buf.length;
    if (this.sinceCp === 0) this.firstUncheckpointedAt = this.now();
    this.sinceCp += events.length;
    return { buf, first };
  }

  private async signAndStore(reason: CheckpointReason, sync: boolean): Promise<Checkpoint> {
    const signer = this.signer as Signer;
    const withFrontier = reason !== 'count' && reason !== 'interval' && reason !== 'heartbeat' ? true : this.lastFrontierSize < 0 || this.size - this.lastFrontierSize >= 1024;
    const cp = signCheckpoint(
      {
        v: 1,
        origin: this.origin,
        size: this.size,
        root: this.frontier.root(),
        last_hash: this.lastHash,
        segment: this.segment,
        offset: this.offset,
        key_id: signer.keyId,
        epoch: signer.epoch,
        ts: new Date(this.now()).toISOString(),
        reason,
      },
      withFrontier ? [...this.frontier.stack] : undefined,
      signer,
    );
    if (this.cpFd === null) this.cpFd = openSync(this.cpPath(), 'a', 0o600);
    await writeAll(this.cpFd, Buffer.from(`${JSON.stringify(cp)}\n`));
    if (sync) await datasync(this.cpFd);
    this.sinceCp = 0;
    this.firstUncheckpointedAt = 0;
    this.lastCp = cp;
    if (withFrontier) this.lastFrontierSize = this.size;
    return cp;
  }

  /** Opens segment n+1 and links it to segment n with its first record. */
  private async startSegment(): Promise<void> {
    const prev = this.segment;
    const lastCp = this.lastCp;
    this.closeSegFd();
    this.segment += 1;
    this.offset = 0;
    const fd = this.openSegFd();
    fsyncDir(this.dir);
    const { buf } = this.writeEvents([
      normalizeEvent({
        kind: 'audit.segment',
        activity: 'open',
        detail: { previous_segment: prev, previous_last_hash: this.lastHash, checkpoint_size: lastCp?.size ?? 0, checkpoint_root: lastCp?.root ?? '' },
      }),
    ]);
    await writeAll(fd, buf);
  }

  private armCheckpointTimer(): void {
    if (this.cpTimer !== null || this.sinceCp === 0 || this.closed) return;
    const wait = Math.max(1, this.firstUncheckpointedAt + this.checkpointIntervalMs - this.now());
    this.cpTimer = setTimeout(() => {
      this.cpTimer = null;
      if (this.sinceCp > 0 && !this.closed) this.enqueueRequest({ checkpoint: 'interval' }).catch(() => undefined);
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
      this.closeSegFd();
      if (this.cpFd !== null) closeSync(this.cpFd);
      this.cpFd = null;
      this.lock.dispose();
    }
  }
}

/** Opens (creating if needed) the audit log under home/audit and recovers a torn tail. */
export async function openAuditLog(opts: OpenOptions): Promise<AuditLog> {
  const w = new Writer(opts);
  await w.open();
  return w;
}
