// Checkpoint signing for one writer: the current epoch's signer (reloaded when another writer
// rotated, replaced when its private key is lost), the checkpoint file (its torn tail repaired on
// open, its newest entries read back to resume from), signing and storing a checkpoint over the
// chain, and key rotation. Runs under the directory lock like chain.ts.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Chain, WriterContext } from './chain.ts';
import type { Checkpoint, CheckpointReason } from './checkpoint.ts';
import { parseCheckpoint, signCheckpoint } from './checkpoint.ts';
import type { EpochKey, Signer } from './keys.ts';
import { cleanOrphanKeys, commitRotation, createEpochKey, currentSigner, readKeyring } from './keys.ts';
import type { RecordEvent } from './record.ts';
import { normalizeEvent } from './record.ts';
import { CHECKPOINTS_FILE, datasync, readLogId, writeAll } from './segments.ts';
import { keysDir } from './files.ts';

/** A new epoch's key, created but not yet in force (see Sealer.prepareRotation). */
export interface NextEpoch {
  info: EpochKey;
  signer: Signer;
}

export class Sealer {
  /** `nemoclaw-audit/<log id>`, set by open(). */
  origin = '';
  /** The last checkpoint this writer signed or resumed from. */
  lastCp: Checkpoint | null = null;
  /** Tree size of the last checkpoint that carried the frontier (-1: none yet). */
  lastFrontierSize = -1;
  private signer: Signer | null = null;
  /** Set when the current epoch's private key is missing: the next commit rotates. */
  private lostKey: { keyId: string; epoch: number } | null = null;
  private keysStamp = '';
  private cpFd: number | null = null;

  private readonly ctx: WriterContext;

  constructor(ctx: WriterContext) {
    this.ctx = ctx;
  }

  /** Under the lock, at open: the log id, the signer, orphan keys cleaned, the checkpoint file repaired. */
  open(): void {
    this.origin = `nemoclaw-audit/${readLogId(this.ctx.dir)}`;
    this.loadSigner(true);
    // The epoch loadSigner has just read from keys.json: reading the file again cost every open
    // ~0.1 ms (issue 23).
    const current = this.signer ?? this.lostKey;
    if (current !== null) cleanOrphanKeys(this.ctx.home, current.epoch);
    this.repairCheckpointFile();
  }

  /** No usable signer (its private key is lost): the next commit must rotate. */
  get keyLost(): boolean {
    return this.signer === null;
  }

  /** (Re)loads the current epoch's signer when keys.json changed (another writer rotated). */
  loadSigner(force: boolean): void {
    const { home } = this.ctx;
    if (!force) {
      let stamp = 'none';
      try {
        stamp = keysStampOf(home);
      } catch {
        // created below
      }
      if (stamp === this.keysStamp && (this.signer !== null || this.lostKey !== null)) return;
    }
    try {
      this.signer = currentSigner(home);
      this.lostKey = null;
    } catch (err) {
      const ring = readKeyring(home);
      const cur = ring?.epochs[ring.epochs.length - 1];
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || cur === undefined) throw err;
      // The current private key is gone (deleted, or a restore without keys). Logging goes on:
      // the next commit starts a new epoch, recorded in the log like any rotation.
      this.signer = null;
      this.lostKey = { keyId: cur.keyId, epoch: cur.epoch };
      this.ctx.recoveries.push({ kind: 'audit.recovery', activity: 'lost-signing-key', detail: { key_id: cur.keyId, epoch: cur.epoch } });
    }
    this.keysStamp = keysStampOf(home);
  }

  private cpPath(): string {
    return join(this.ctx.dir, CHECKPOINTS_FILE);
  }

  /** Drops a partial last line of the checkpoint file (a writer died while appending it). */
  private repairCheckpointFile(): void {
    const path = this.cpPath();
    if (!existsSync(path)) return;
    const fd = openSync(path, 'r+');
    try {
      const size = fstatSync(fd).size;
      if (size === 0) return;
      // Every open looks: one byte answers for a file that ends with its newline.
      const last = Buffer.alloc(1);
      if (readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 10) return;
      const back = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(back);
      readSync(fd, buf, 0, back, size - back);
      if (buf[back - 1] === 10) return;
      const nl = buf.lastIndexOf(10);
      const keep = nl < 0 ? (back === size ? 0 : size - back) : size - back + nl + 1;
      ftruncateSync(fd, keep);
      this.ctx.recoveries.push({ kind: 'audit.recovery', activity: 'checkpoint-torn-tail', detail: { file: CHECKPOINTS_FILE, truncated_bytes: size - keep } });
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The newest checkpoint, and the newest one carrying a Merkle frontier (the resume point),
   * reading the checkpoint file backwards in growing windows.
   */
  readCheckpointTail(): { last: Checkpoint | null; resume: Checkpoint | null } {
    const path = this.cpPath();
    if (!existsSync(path)) return { last: null, resume: null };
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      let last: Checkpoint | null = null;
      // The newest checkpoint (a few KB at most) usually carries the frontier: a small window first.
      for (let back = Math.min(size, 8 * 1024); ; back = Math.min(size, back * 4)) {
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

  /** Creates the next epoch's key and the record announcing it; the caller writes the record, then adopt()s the key. */
  prepareRotation(): { next: NextEpoch; event: RecordEvent } {
    const signer = this.signer ?? (this.lostKey as { keyId: string; epoch: number });
    const next = createEpochKey(this.ctx.home, signer.epoch + 1, 0);
    const event = normalizeEvent({
      kind: 'audit.key_rotation',
      activity: this.signer === null ? 'replace-lost-key' : 'rotate',
      actor: { pid: process.pid, process: 'nemoclaw' },
      detail: { from_key: signer.keyId, from_epoch: signer.epoch, to_key: next.info.keyId, to_epoch: next.info.epoch, to_public_key: next.info.publicKey },
    });
    return { next, event };
  }

  /** Puts the next epoch in force from tree size `size` (the old private key is deleted). */
  adopt(next: NextEpoch, size: number): void {
    commitRotation(this.ctx.home, next.info, size);
    this.signer = next.signer;
    this.lostKey = null;
    this.loadSigner(true);
  }

  /** Signs a checkpoint over the chain as it stands and appends it to the checkpoint file. */
  async sign(chain: Chain, reason: CheckpointReason, sync: boolean): Promise<Checkpoint> {
    return this.store(this.prepare(chain, reason), chain, sync);
  }

  /** The checkpoint over the chain as it stands, signed; nothing is written or changed yet (see store). */
  prepare(chain: Chain, reason: CheckpointReason): Checkpoint {
    const signer = this.signer as Signer;
    const withFrontier = reason !== 'count' && reason !== 'interval' && reason !== 'heartbeat' ? true : this.lastFrontierSize < 0 || chain.size - this.lastFrontierSize >= 1024;
    return signCheckpoint(
      {
        v: 1,
        origin: this.origin,
        size: chain.size,
        root: chain.frontier.root(),
        last_hash: chain.lastHash,
        segment: chain.segment,
        offset: chain.offset,
        key_id: signer.keyId,
        epoch: signer.epoch,
        ts: new Date(this.ctx.now()).toISOString(),
        reason,
      },
      withFrontier ? [...chain.frontier.stack] : undefined,
      signer,
    );
  }

  /**
   * Appends a prepare()d checkpoint to the checkpoint file; the chain must not have moved since.
   * Only after the records it covers are on disk: a checkpoint that outlived them in a crash
   * would read as truncation.
   */
  async store(cp: Checkpoint, chain: Chain, sync: boolean): Promise<Checkpoint> {
    if (this.cpFd === null) this.cpFd = openSync(this.cpPath(), 'a', 0o600);
    await writeAll(this.cpFd, Buffer.from(`${JSON.stringify(cp)}\n`));
    if (sync) await datasync(this.cpFd);
    chain.sinceCp = 0;
    chain.firstUncheckpointedAt = 0;
    this.lastCp = cp;
    if (cp.frontier !== undefined) this.lastFrontierSize = chain.size;
    return cp;
  }

  close(): void {
    if (this.cpFd !== null) closeSync(this.cpFd);
    this.cpFd = null;
  }
}

/** keys.json as it is on disk now (inode, mtime, size): changed when another writer rotated. */
function keysStampOf(home: string): string {
  const st = statSync(join(keysDir(home), 'keys.json'));
  return `${st.ino}:${st.mtimeMs}:${st.size}`;
}
