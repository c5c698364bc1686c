// The writer's view of the hash chain: what the log looks like up to (segment, offset), how it
// catches up with other writers' appends (hashing their lines, following their segment
// rotations, truncating a torn tail a dead writer left), how a batch of events is serialised onto
// it, and how a full segment is closed and the next one linked to it. Everything here runs under
// the directory lock (log.ts takes it around each group commit).
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint } from './checkpoint.ts';
import { fsyncDir } from './files.ts';
import { MerkleFrontier, leafHash, leafHashAt } from './merkle.ts';
import type { AuditEventInput, RecordEvent } from './record.ts';
import { GENESIS_PREV, formatLine, normalizeEvent, parseHead } from './record.ts';
import { retentionCut } from './retention.ts';
import { listSegments, segmentName, writeAll } from './segments.ts';

/** What the parts of one writer (log.ts, chain.ts, sealer.ts) share. */
export interface WriterContext {
  readonly home: string;
  /** home/audit */
  readonly dir: string;
  /** Clock for record timestamps, checkpoint times and aggregation windows. */
  readonly now: () => number;
  /** Recovery records found while opening or catching up; the next group commit writes them first. */
  readonly recoveries: AuditEventInput[];
}

/** The chain fields a failed group commit restores (see Chain.undo). */
export interface ChainSnapshot {
  segment: number;
  offset: number;
  size: number;
  lastHash: string;
  frontier: MerkleFrontier;
  sinceCp: number;
}

export class Chain {
  segment = 1;
  offset = 0;
  /** Records in the whole log (the seq of the last one). */
  size = 0;
  lastHash = GENESIS_PREV;
  frontier = new MerkleFrontier();
  /** Records not yet covered by a checkpoint, and when the first of them was seen. */
  sinceCp = 0;
  firstUncheckpointedAt = 0;
  private segFd: number | null = null;

  private readonly ctx: WriterContext;

  constructor(ctx: WriterContext) {
    this.ctx = ctx;
  }

  openSegFd(): number {
    if (this.segFd === null) this.segFd = openSync(join(this.ctx.dir, segmentName(this.segment)), 'a+', 0o600);
    return this.segFd;
  }

  closeSegFd(): void {
    if (this.segFd !== null) closeSync(this.segFd);
    this.segFd = null;
  }

  /**
   * Takes the chain state from a checkpoint carrying a frontier when it is consistent with itself
   * and with the segment it names (true), else from the start of the log (false; a checkpoint of
   * this log that does not match is recorded as a rescan).
   */
  resumeAt(cp: Checkpoint | null, origin: string): boolean {
    if (cp !== null && cp.origin === origin && cp.frontier !== undefined) {
      try {
        const f = MerkleFrontier.from(cp.size, cp.frontier);
        const segPath = join(this.ctx.dir, segmentName(cp.segment));
        if (f.root() === cp.root && existsSync(segPath) && statSync(segPath).size >= cp.offset) {
          this.frontier = f;
          this.size = cp.size;
          this.lastHash = cp.last_hash;
          this.segment = cp.segment;
          this.offset = cp.offset;
          this.firstUncheckpointedAt = 0;
          return true;
        }
      } catch {
        // fall through to a full scan
      }
      this.ctx.recoveries.push({ kind: 'audit.recovery', activity: 'rescan', detail: { reason: 'last checkpoint does not match the log' } });
    }
    this.resumeFromScratch();
    return false;
  }

  resumeFromScratch(): void {
    const segs = listSegments(this.ctx.dir);
    this.segment = segs[0] ?? 1;
    this.offset = 0;
    // After a prune (retention.ts) the log starts at a signed cut, not at genesis.
    const cut = retentionCut(this.ctx.dir, segs[0]);
    if (cut !== null) {
      this.size = cut.size;
      this.lastHash = cut.last_hash;
      this.frontier = MerkleFrontier.from(cut.size, cut.frontier);
      return;
    }
    this.size = 0;
    this.lastHash = GENESIS_PREV;
    this.frontier = new MerkleFrontier();
  }

  /**
   * Brings the chain state up to the end of the log (under the lock): hashes what other writers
   * appended, follows their rotations, and truncates a torn tail left by a dead writer.
   */
  catchUp(): void {
    for (;;) {
      const fd = this.openSegFd();
      const size = fstatSync(fd).size;
      if (size < this.offset) {
        // Someone cut the file below what we had seen: not ours to repair. Rescan and record it;
        // verify will report the damage against the checkpoints.
        this.ctx.recoveries.push({ kind: 'audit.recovery', activity: 'shrunk', detail: { segment: this.segment, expected_bytes: this.offset, found_bytes: size } });
        this.closeSegFd();
        this.resumeFromScratch();
        continue;
      }
      if (size > this.offset) this.absorb(fd, size);
      const next = join(this.ctx.dir, segmentName(this.segment + 1));
      if (!existsSync(next)) return;
      this.closeSegFd();
      this.segment += 1;
      this.offset = 0;
    }
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
      this.ctx.recoveries.push({ kind: 'audit.recovery', activity: 'chain-anomaly', detail: { segment: this.segment, after_offset: this.offset } });
    }
    if (start < got) {
      // Torn tail: the writer that held the lock died mid-write. Nothing in it was acknowledged.
      ftruncateSync(fd, this.offset + start - 1);
      this.ctx.recoveries.push({
        kind: 'audit.recovery',
        activity: 'torn-tail',
        detail: { segment: this.segment, truncated_bytes: got - start, after_seq: this.size },
      });
    }
    this.offset += start - 1;
    if (this.sinceCp > 0 && this.firstUncheckpointedAt === 0) this.firstUncheckpointedAt = this.ctx.now();
  }

  /**
   * Serialises events onto the chain (state is updated; the caller writes the bytes). Each line,
   * without its newline, is also pushed onto `lines` when given.
   */
  writeEvents(events: RecordEvent[], lines: string[] | null): { buf: Buffer; first: number } {
    const first = this.size + 1;
    if (events.length === 0) return { buf: Buffer.alloc(0), first };
    const ts = new Date(this.ctx.now()).toISOString();
    let text = '';
    for (const ev of events) {
      this.size += 1;
      const line = formatLine(this.size, ts, this.lastHash, ev);
      const h = leafHash(line);
      this.frontier.push(h);
      this.lastHash = h;
      text += line;
      if (lines !== null) lines.push(line.slice(0, -1));
    }
    const buf = Buffer.from(text);
    this.offset += buf.length;
    if (this.sinceCp === 0) this.firstUncheckpointedAt = this.ctx.now();
    this.sinceCp += events.length;
    return { buf, first };
  }

  /** Opens segment n+1 and links it to segment n (and its last checkpoint) with its first record. */
  async startSegment(lastCp: Checkpoint | null, lines: string[] | null): Promise<void> {
    const prev = this.segment;
    this.closeSegFd();
    this.segment += 1;
    this.offset = 0;
    const fd = this.openSegFd();
    fsyncDir(this.ctx.dir);
    const { buf } = this.writeEvents(
      [
        normalizeEvent({
          kind: 'audit.segment',
          activity: 'open',
          detail: { previous_segment: prev, previous_last_hash: this.lastHash, checkpoint_size: lastCp?.size ?? 0, checkpoint_root: lastCp?.root ?? '' },
        }),
      ],
      lines,
    );
    await writeAll(fd, buf);
  }

  snapshot(): ChainSnapshot {
    return { segment: this.segment, offset: this.offset, size: this.size, lastHash: this.lastHash, frontier: this.frontier.clone(), sinceCp: this.sinceCp };
  }

  /**
   * Cuts the current segment back to a snapshot taken in it and restores the state (a batch that
   * failed before anyone was told about it). False when that cannot be done here: the caller
   * re-derives the state from disk.
   */
  undo(saved: ChainSnapshot): boolean {
    if (this.segFd === null || this.segment !== saved.segment) return false;
    try {
      ftruncateSync(this.segFd, saved.offset);
    } catch {
      return false;
    }
    Object.assign(this, saved);
    return true;
  }
}
