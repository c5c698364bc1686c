// Signed retention checkpoints (issue 19): the statement that lets old segments be deleted
// without `audit verify` calling it tampering. One JSON line per prune in audit/retention.jsonl,
// signed by the current epoch's key, stating which segments were removed and the chain at the
// cut: tree size, RFC 6962 root, last hash, and the Merkle frontier verify resumes from. The
// signed text is
//   <origin>\nretention <from>..<to>\n<size>\n<base64 root>\nlast <hash>\nlast_ts <ts>\nlog_size <n>\nkey <id> <epoch>\nts <ts>\nreason <why>\n
// A segment deleted without such a line still breaks `seq` at the gap and reads as tampering.
import { sign, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EpochKey, Keyring, Signer } from './keys.ts';
import { keyIdOf, publicKeyFromRaw } from './keys.ts';
import { MerkleFrontier } from './merkle.ts';

export const RETENTION_FILE = 'retention.jsonl';

export interface RetentionBody {
  v: 1;
  origin: string;
  /** The segments removed, inclusive: always a prefix of the log. */
  from_segment: number;
  to_segment: number;
  /** Records removed: the tree size at the cut (the next record is size + 1). */
  size: number;
  root: string;
  last_hash: string;
  /** Timestamp of the last record removed. */
  last_ts: string;
  /** Tree size when the prune was signed: the key must have been current then. */
  log_size: number;
  key_id: string;
  epoch: number;
  /** When the prune was signed. */
  ts: string;
  /** Why: `before <time>` or `size budget <bytes>`. */
  reason: string;
}

export interface Retention extends RetentionBody {
  /** Merkle frontier at the cut (its root must equal `root`, which is signed). */
  frontier: string[];
  sig: string;
}

export function retentionText(b: RetentionBody): string {
  return (
    `${b.origin}\nretention ${b.from_segment}..${b.to_segment}\n${b.size}\n${Buffer.from(b.root, 'hex').toString('base64')}\n` +
    `last ${b.last_hash}\nlast_ts ${b.last_ts}\nlog_size ${b.log_size}\nkey ${b.key_id} ${b.epoch}\nts ${b.ts}\nreason ${b.reason}\n`
  );
}

export function signRetention(body: RetentionBody, frontier: string[], signer: Signer): Retention {
  const sig = sign(null, Buffer.from(retentionText(body)), signer.privateKey).toString('base64');
  return { ...body, frontier, sig };
}

function parseRetention(value: unknown): Retention {
  const r = value as Retention;
  const ok =
    r !== null &&
    typeof r === 'object' &&
    r.v === 1 &&
    typeof r.origin === 'string' &&
    Number.isSafeInteger(r.from_segment) &&
    Number.isSafeInteger(r.to_segment) &&
    r.from_segment >= 1 &&
    r.to_segment >= r.from_segment &&
    Number.isSafeInteger(r.size) &&
    r.size > 0 &&
    typeof r.root === 'string' &&
    /^[0-9a-f]{64}$/.test(r.root) &&
    typeof r.last_hash === 'string' &&
    /^[0-9a-f]{64}$/.test(r.last_hash) &&
    typeof r.last_ts === 'string' &&
    Number.isSafeInteger(r.log_size) &&
    typeof r.key_id === 'string' &&
    Number.isSafeInteger(r.epoch) &&
    typeof r.ts === 'string' &&
    typeof r.reason === 'string' &&
    Array.isArray(r.frontier) &&
    typeof r.sig === 'string';
  if (!ok) throw new Error('not a nemoclaw retention checkpoint');
  return r;
}

/** Every retention line of an audit directory; `bad` counts lines that are not one. */
export function readRetentions(dir: string): { list: Retention[]; bad: number } {
  const path = join(dir, RETENTION_FILE);
  if (!existsSync(path)) return { list: [], bad: 0 };
  const list: Retention[] = [];
  let bad = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      list.push(parseRetention(JSON.parse(line)));
    } catch {
      bad += 1;
    }
  }
  return { list, bad };
}

/** Why a retention checkpoint is not trustworthy under the keyring, or null when it is. */
export function retentionProblem(r: Retention, ring: Keyring | null, origin: string | null): string | null {
  if (ring === null) return 'no keyring to check signatures against';
  if (origin !== null && r.origin !== origin) return `origin ${r.origin} is not this log (${origin})`;
  const key: EpochKey | undefined = ring.epochs.find((e) => e.keyId === r.key_id);
  if (key === undefined) return `signed by unknown key ${r.key_id}`;
  if (keyIdOf(Buffer.from(key.publicKey, 'base64')) !== key.keyId) return `keyring entry ${key.keyId} does not match its public key`;
  if (key.epoch !== r.epoch) return `key ${r.key_id} belongs to epoch ${key.epoch}, retention claims ${r.epoch}`;
  let good: boolean;
  try {
    good = verify(null, Buffer.from(retentionText(r)), publicKeyFromRaw(key.publicKey), Buffer.from(r.sig, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return 'bad signature';
  if (r.log_size < key.fromSize || (key.toSize !== null && r.log_size > key.toSize)) return `key ${r.key_id} (epoch ${key.epoch}) was not current at size ${r.log_size}`;
  if (r.log_size < r.size) return `signed at size ${r.log_size}, before the cut at ${r.size}`;
  if (frontierProblem(r) !== null) return frontierProblem(r);
  return null;
}

function frontierProblem(r: Retention): string | null {
  try {
    return MerkleFrontier.from(r.size, r.frontier).root() === r.root ? null : 'frontier does not match the signed root';
  } catch {
    return 'malformed frontier';
  }
}

/**
 * The cut a writer resumes from when the log's first segments are gone: the latest retention
 * line whose frontier matches its root and whose segments are exactly the ones missing before the
 * first segment present (the writer trusts it
 * as it trusts a checkpoint's frontier; verify checks the signature).
 */
export function retentionCut(dir: string, firstSegment: number | undefined): Retention | null {
  const { list } = readRetentions(dir);
  let best: Retention | null = null;
  for (const r of list) {
    if (frontierProblem(r) !== null) continue;
    if (firstSegment !== r.to_segment + 1) continue;
    if (best === null || r.size > best.size) best = r;
  }
  return best;
}
