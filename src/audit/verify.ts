// verifyAudit: recomputes the hash chain, seq continuity, RFC 6962 roots and checkpoint
// signatures of a whole audit directory, and reports the first problem. Read-only; safe to run
// while writers append (a partial last line may then read as torn-tail).
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint } from './checkpoint.ts';
import { checkpointProblem, parseCheckpoint, parseCheckpointText } from './checkpoint.ts';

export { parseCheckpointText } from './checkpoint.ts';
import { auditDir } from './files.ts';
import type { Keyring } from './keys.ts';
import { readKeyring } from './keys.ts';
import { DirLock } from './lock.ts';
import { CHECKPOINTS_FILE, LOG_ID_FILE, listSegments, segmentName } from './segments.ts';
import { EMPTY_ROOT, MerkleFrontier, leafHashAt } from './merkle.ts';
import { GENESIS_PREV, parseHead } from './record.ts';
import type { Retention } from './retention.ts';
import { readRetentions, retentionProblem } from './retention.ts';
import type { VerifyStatus } from './status.ts';
import { formatStatus } from './status.ts';

export type { VerifyStatus } from './status.ts';
export { formatStatus } from './status.ts';

export interface VerifyReport {
  /** One of the documented statuses as a string: ok, tampered(seq), truncated(expected>=N, found M), torn-tail, unauthenticated-tail(k). */
  summary: string;
  status: VerifyStatus;
  /** Records read (tree size). */
  records: number;
  /** Merkle root of what was read. */
  root: string;
  segments: number[];
  checkpoints: { total: number; valid: number; invalid: number; latestSize: number | null };
  /** Largest tree size covered by a matching, validly signed checkpoint (or the trusted one). */
  authenticatedSize: number;
  /** Human-readable details, most important first. */
  problems: string[];
  /**
   * Segments removed by a signed prune (`audit prune`, a size budget): the chain was verified
   * from the cut it states. Null when the log is complete from record 1.
   */
  pruned: { fromSegment: number; toSegment: number; records: number; lastTs: string; at: string; reason: string } | null;
}

/** The chain's state at the end of one segment (what a prune cuts at). */
export interface SegmentBoundary {
  segment: number;
  /** Tree size after the segment's last record. */
  size: number;
  root: string;
  lastHash: string;
  frontier: string[];
  lastTs: string;
  bytes: number;
}

export interface VerifyOptions {
  home: string;
  /** A checkpoint held outside this machine (object, JSON text, or a path to a file holding one or more). */
  trustedCheckpoint?: Checkpoint | string;
  /** keys.json to check signatures with (default home/keys/audit/keys.json; it holds public keys only). */
  keys?: string;
  /** Filled with the chain's state at the end of each segment read (for prune.ts). */
  boundaries?: SegmentBoundary[];
}

/**
 * A file the caller named (keys, trusted checkpoint) that cannot be read or is not what it should
 * be: bad input, said in one line (the CLI names its flag), not a verdict on the log. Matched by
 * name, so that the CLI need not load this file to recognise it.
 */
export class AuditInputError extends Error {
  override readonly name = 'AuditInputError';
  readonly input: 'keys' | 'trustedCheckpoint';
  constructor(input: 'keys' | 'trustedCheckpoint', message: string) {
    super(message);
    this.input = input;
  }
}

/** The text of a file the caller named, or AuditInputError saying why it cannot be read. */
function inputText(input: AuditInputError['input'], path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new AuditInputError(input, `cannot read it: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'a directory, not a file' : e.code === 'EACCES' ? 'permission denied' : e.message}`);
  }
}

function loadTrusted(tc: Checkpoint | string): Checkpoint {
  if (typeof tc !== 'string') return parseCheckpoint(tc);
  const text = tc.trimStart().startsWith('{') || tc.trimStart().startsWith('[') ? tc : inputText('trustedCheckpoint', tc);
  const { cps } = parseCheckpointText(text);
  if (cps.length === 0) throw new AuditInputError('trustedCheckpoint', 'no checkpoint in it');
  return cps.reduce((a, b) => (b.size >= a.size ? b : a));
}

/** The keyring the caller named instead of the home's. */
function loadKeys(path: string): Keyring {
  const text = inputText('keys', path);
  let k: Keyring;
  try {
    k = JSON.parse(text) as Keyring;
  } catch {
    throw new AuditInputError('keys', 'not JSON (a keys.json is)');
  }
  // The same check readKeyring makes of the home's own keys.json.
  if (typeof k !== 'object' || k === null || k.v !== 1 || !Array.isArray(k.epochs)) throw new AuditInputError('keys', 'not a keys.json (version 1, with epochs)');
  return k;
}

interface Anchor {
  cp: Checkpoint;
  trusted: boolean;
}

const ROTATION_MARK = Buffer.from('"kind":"audit.key_rotation"');

function readPrefix(path: string, limit?: number): Buffer {
  const b = readWithSpareByte(path, limit);
  return b.subarray(1);
}

/** The file's bytes at [1, size]; byte 0 is spare so leafHashAt can prefix the first line in place. */
function readWithSpareByte(path: string, limit?: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = Math.min(fstatSync(fd).size, limit ?? Infinity);
    const buf = Buffer.allocUnsafe(size + 1);
    buf[0] = 10;
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, 1 + got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got + 1);
  } finally {
    closeSync(fd);
  }
}

/** Sizes of the files as of one instant, taken under the writers' lock. */
interface Snapshot {
  segments: Map<number, number>;
  checkpoints: number;
}

/**
 * Takes the byte sizes of every segment and of the checkpoint file while holding the writers'
 * lock, so that verify reads a consistent log even while writers append (no half-written line
 * looks like a torn tail). Null when the lock cannot be had (read-only copy, busy writer).
 */
async function snapshot(dir: string): Promise<Snapshot | null> {
  const lock = new DirLock(dir);
  try {
    await lock.acquire(2000);
  } catch {
    lock.dispose();
    return null;
  }
  try {
    const segments = new Map<number, number>();
    for (const seg of listSegments(dir)) segments.set(seg, statSync(join(dir, segmentName(seg))).size);
    const cp = join(dir, CHECKPOINTS_FILE);
    return { segments, checkpoints: existsSync(cp) ? statSync(cp).size : 0 };
  } finally {
    lock.dispose();
  }
}

export async function verifyAudit(opts: VerifyOptions): Promise<VerifyReport> {
  const dir = auditDir(opts.home);
  const snap = existsSync(dir) ? await snapshot(dir) : null;
  return verifyAuditSync({ ...opts, snapshot: snap });
}

/** verifyAudit without the lock snapshot (reads the files as they are). */
export function verifyAuditSync(opts: VerifyOptions & { snapshot?: Snapshot | null }): VerifyReport {
  const dir = auditDir(opts.home);
  const problems: string[] = [];
  // Tampering evidence comes in two precisions: a chain break pins one record, a checkpoint
  // whose root does not match only says "somewhere in (a, b]". Report the pinned record when it
  // falls in that range.
  const pinned: number[] = [];
  const ranges: { from: number; to: number }[] = [];
  const tamper = (seq: number, why: string): void => {
    pinned.push(seq);
    problems.push(`tampered at seq ${seq}: ${why}`);
  };
  const tamperRange = (from: number, to: number, why: string): void => {
    ranges.push({ from, to });
    problems.push(`tampered in seq ${from}..${to}: ${why}`);
  };

  const ring: Keyring | null = opts.keys !== undefined ? loadKeys(opts.keys) : readKeyring(opts.home);
  if (ring === null) problems.push('no keyring (keys/audit/keys.json): signatures cannot be checked, so nothing counts as signed');
  const limits = opts.snapshot ?? null;
  const logIdPath = join(dir, LOG_ID_FILE);
  const origin = existsSync(logIdPath) ? `nemoclaw-audit/${readFileSync(logIdPath, 'utf8').trim()}` : null;

  // Checkpoints: every line must be a validly signed checkpoint of this log.
  const anchors: Anchor[] = [];
  let total = 0;
  let invalid = 0;
  const cpPath = join(dir, CHECKPOINTS_FILE);
  if (existsSync(cpPath)) {
    const parsed = parseCheckpointText(readPrefix(cpPath, limits?.checkpoints).toString('utf8'));
    total = parsed.cps.length + parsed.bad;
    if (parsed.bad > 0) {
      invalid += parsed.bad;
      tamper(0, `${parsed.bad} unreadable line(s) in ${CHECKPOINTS_FILE}`);
    }
    if (parsed.torn) problems.push(`${CHECKPOINTS_FILE} ends with a partial line (crash while writing a checkpoint)`);
    for (const cp of parsed.cps) {
      if (ring === null) {
        invalid += 1;
        continue;
      }
      const why = origin !== null && cp.origin !== origin ? `origin ${cp.origin} is not this log (${origin})` : checkpointProblem(cp, ring);
      if (why === null) anchors.push({ cp, trusted: false });
      else {
        invalid += 1;
        tamper(cp.size, `checkpoint of size ${cp.size} (${cp.ts}): ${why}`);
      }
    }
  }
  if (opts.trustedCheckpoint !== undefined) {
    const tc = loadTrusted(opts.trustedCheckpoint);
    // With no keyring the operator's own anchor is still taken at its word (it came from outside).
    const why = origin !== null && tc.origin !== origin ? `origin ${tc.origin} is not this log` : ring === null ? null : checkpointProblem(tc, ring);
    if (why === null) anchors.push({ cp: tc, trusted: true });
    else tamper(tc.size, `trusted checkpoint of size ${tc.size}: ${why}`);
  }
  anchors.sort((a, b) => a.cp.size - b.cp.size);

  // A signed prune: the segments it names are not read (a crash may have left some of them), and
  // the chain resumes from the cut it signed. Anything else missing still breaks `seq`.
  let cut: Retention | null = null;
  const retentions = readRetentions(dir);
  if (retentions.bad > 0) tamper(0, `${retentions.bad} unreadable line(s) in retention.jsonl`);
  for (const r of retentions.list) {
    const why = retentionProblem(r, ring, origin);
    if (why !== null) tamper(r.size + 1, `retention checkpoint for segments ${r.from_segment}..${r.to_segment} (${r.ts}): ${why}`);
    else if (cut === null || r.size > cut.size) cut = r;
  }

  // Scan the chain.
  const present = limits === null ? listSegments(dir) : [...limits.segments.keys()];
  const segments = cut === null ? present : present.filter((s) => s > (cut as Retention).to_segment);
  const frontier = cut === null ? new MerkleFrontier() : MerkleFrontier.from(cut.size, cut.frontier);
  let lastHash = cut === null ? GENESIS_PREV : cut.last_hash;
  let count = cut === null ? 0 : cut.size;
  let torn = false;
  let ai = 0;
  let authenticated = count;
  if (cut !== null) {
    // Checkpoints at or before the cut cover records that are gone; the signed cut stands for them.
    while (ai < anchors.length && (anchors[ai] as Anchor).cp.size <= count) {
      if ((anchors[ai] as Anchor).trusted && (anchors[ai] as Anchor).cp.size < count) problems.push(`the trusted checkpoint (size ${(anchors[ai] as Anchor).cp.size}) predates the retention cut at ${count}: it cannot be checked against the records kept`);
      ai++;
    }
    if (segments.length > 0 && segments[0] !== cut.to_segment + 1) tamper(count + 1, `segment ${cut.to_segment + 1} is missing after the retention cut (only segments ${cut.from_segment}..${cut.to_segment} were pruned)`);
  }
  const rotations: { seq: number; from: string; to: string }[] = [];
  const checkAnchors = (segment: number, offset: number): void => {
    while (ai < anchors.length && (anchors[ai] as Anchor).cp.size === count) {
      const { cp, trusted } = anchors[ai] as Anchor;
      ai++;
      const root = count === 0 ? EMPTY_ROOT : frontier.root();
      const where = count === 0 || (cp.segment === segment && cp.offset === offset);
      if (cp.root !== root || (count > 0 && cp.last_hash !== lastHash) || !where) {
        tamperRange(authenticated + 1, count, `records ${authenticated + 1}..${count} do not match the ${trusted ? 'trusted ' : ''}checkpoint of size ${cp.size} signed ${cp.ts}`);
      } else authenticated = count;
    }
  };
  if (cut === null) checkAnchors(segments[0] ?? 1, 0);
  scan: for (let si = 0; si < segments.length; si++) {
    const seg = segments[si] as number;
    const buf = readWithSpareByte(join(dir, segmentName(seg)), limits?.segments.get(seg));
    let rot = buf.indexOf(ROTATION_MARK);
    let start = 1;
    let lastLine = -1;
    while (start < buf.length) {
      const nl = buf.indexOf(10, start);
      const expected = count + 1;
      if (nl < 0) {
        if (si === segments.length - 1) {
          torn = true;
          problems.push(`segment ${seg} ends with a partial record after seq ${count} (${buf.length - start} bytes; a writer crashed mid-write)`);
        } else tamper(expected, `segment ${seg} ends with a partial record`);
        break;
      }
      const head = parseHead(buf, start, nl);
      if (head === null) {
        tamper(expected, `record in segment ${seg} at byte ${start - 1} is not a well-formed audit record`);
        break scan;
      }
      if (head.seq !== expected) {
        tamper(expected, head.seq > expected ? `seq jumps from ${count} to ${head.seq} (records or a segment deleted)` : `seq ${head.seq} where ${expected} was expected (records reordered or duplicated)`);
        break scan;
      }
      if (buf.toString('latin1', head.prevAt, head.prevAt + 64) !== lastHash) {
        const at = Math.max(1, count);
        tamper(at, `record ${expected} does not chain to record ${count} (one of them was edited)`);
        break scan;
      }
      const h = leafHashAt(buf, start, nl + 1);
      frontier.push(h);
      lastHash = h;
      count = expected;
      if (rot >= 0 && rot < nl) {
        try {
          const r = JSON.parse(buf.toString('utf8', start, nl)) as { event: { detail?: { from_key?: string; to_key?: string } } };
          rotations.push({ seq: count, from: String(r.event.detail?.from_key), to: String(r.event.detail?.to_key) });
        } catch {
          // a malformed record still hashes; the chain decides
        }
        rot = buf.indexOf(ROTATION_MARK, nl);
      }
      lastLine = start;
      start = nl + 1;
      checkAnchors(seg, start - 1);
    }
    if (opts.boundaries !== undefined && lastLine >= 0) {
      const ts = /"ts":"([^"]+)"/.exec(buf.toString('utf8', lastLine, Math.min(buf.length, lastLine + 200)))?.[1] ?? '';
      opts.boundaries.push({ segment: seg, size: count, root: frontier.root(), lastHash, frontier: [...frontier.stack], lastTs: ts, bytes: buf.length - 1 });
    }
  }

  // The keyring must agree with the rotation records the log itself carries (keys.json is not
  // signed; the log is): each rotation closes the old key's range at its seq.
  if (ring !== null) {
    for (const r of rotations) {
      const from = ring.epochs.find((e) => e.keyId === r.from);
      const to = ring.epochs.find((e) => e.keyId === r.to);
      // A crash between the rotation record and publishing the new key leaves `to` unknown: an
      // aborted rotation. Nothing can be signed by an unpublished key, so that is not tampering.
      if (to === undefined) continue;
      if (from === undefined || from.toSize !== r.seq || to.fromSize !== r.seq) {
        tamper(r.seq, `keys.json disagrees with the key rotation recorded at seq ${r.seq}`);
      }
    }
    for (const e of ring.epochs.slice(1)) {
      // A rotation inside the pruned segments took its record with it.
      if (cut !== null && e.fromSize <= cut.size) continue;
      if (!rotations.some((r) => r.to === e.keyId) && e.fromSize <= count) tamper(e.fromSize, `key ${e.keyId} (epoch ${e.epoch}) has no rotation record in the log`);
    }
  }

  const expectedSize = anchors.reduce((m, a) => Math.max(m, a.cp.size), 0);
  const candidates = [...pinned];
  for (const r of ranges) {
    const inside = pinned.filter((p) => p >= r.from && p <= r.to + 1);
    candidates.push(inside.length > 0 ? Math.min(...inside) : r.from);
  }
  const tampered = candidates.length > 0 ? Math.min(...candidates) : null;
  let status: VerifyStatus;
  if (tampered !== null) status = { kind: 'tampered', seq: tampered };
  else if (expectedSize > count) {
    status = { kind: 'truncated', expected: expectedSize, found: count };
    problems.unshift(`a checkpoint covers ${expectedSize} records but only ${count} are present`);
  } else if (torn) status = { kind: 'torn-tail' };
  else if (count > authenticated) {
    status = { kind: 'unauthenticated-tail', count: count - authenticated };
    problems.push(`${count - authenticated} record(s) after the last signed checkpoint are chained but not yet signed`);
  } else status = { kind: 'ok' };

  return {
    summary: formatStatus(status),
    status,
    records: count,
    root: frontier.root(),
    segments,
    checkpoints: { total, valid: anchors.filter((a) => !a.trusted).length, invalid, latestSize: anchors.length > 0 ? expectedSize : null },
    authenticatedSize: authenticated,
    problems,
    pruned: cut === null ? null : { fromSegment: cut.from_segment, toSegment: cut.to_segment, records: cut.size, lastTs: cut.last_ts, at: cut.ts, reason: cut.reason },
  };
}
