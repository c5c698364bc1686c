// Signed checkpoints: a C2SP tlog-checkpoint style note over the RFC 6962 root of the whole log.
// The signed text is
//   <origin>\n<tree size>\n<base64 root>\nlast <hex hash of last line>\nsegment <n> <byte offset>\nkey <key id> <epoch>\nts <RFC 3339>\nreason <why>\n
// and the checkpoint is stored as one JSON line carrying those fields plus the Merkle frontier
// (unsigned; a writer checks it against the signed root before resuming from it).
import { sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { EpochKey, Keyring, Signer } from './keys.ts';
import { keyIdOf, publicKeyFromRaw } from './keys.ts';

export type CheckpointReason = 'interval' | 'count' | 'rotation' | 'shutdown' | 'heartbeat' | 'key-rotation' | 'recovery' | 'open';

export interface CheckpointBody {
  v: 1;
  origin: string;
  size: number;
  root: string;
  last_hash: string;
  segment: number;
  offset: number;
  key_id: string;
  epoch: number;
  ts: string;
  reason: CheckpointReason;
}

export interface Checkpoint extends CheckpointBody {
  /**
   * Merkle frontier after `size` leaves (hex subtree roots, largest first). Carried by every
   * checkpoint written at shutdown, rotation, open or recovery and at least every 1024 records,
   * not by every one (it is up to ~2 KB); a writer resumes from the last checkpoint that has one.
   */
  frontier?: string[];
  /** Ed25519 signature over checkpointText(), base64. */
  sig: string;
}

export function checkpointText(b: CheckpointBody): string {
  return (
    `${b.origin}\n${b.size}\n${Buffer.from(b.root, 'hex').toString('base64')}\n` +
    `last ${b.last_hash}\nsegment ${b.segment} ${b.offset}\nkey ${b.key_id} ${b.epoch}\nts ${b.ts}\nreason ${b.reason}\n`
  );
}

export function signCheckpoint(body: CheckpointBody, frontier: string[] | undefined, signer: Signer): Checkpoint {
  const sig = sign(null, Buffer.from(checkpointText(body)), signer.privateKey).toString('base64');
  return frontier === undefined ? { ...body, sig } : { ...body, frontier, sig };
}

/** Parses a checkpoint JSON object; throws on a malformed one. */
export function parseCheckpoint(value: unknown): Checkpoint {
  const c = value as Checkpoint;
  const ok =
    c !== null &&
    typeof c === 'object' &&
    c.v === 1 &&
    typeof c.origin === 'string' &&
    Number.isSafeInteger(c.size) &&
    c.size >= 0 &&
    typeof c.root === 'string' &&
    /^[0-9a-f]{64}$/.test(c.root) &&
    typeof c.last_hash === 'string' &&
    Number.isSafeInteger(c.segment) &&
    Number.isSafeInteger(c.offset) &&
    typeof c.key_id === 'string' &&
    Number.isSafeInteger(c.epoch) &&
    typeof c.ts === 'string' &&
    typeof c.sig === 'string' &&
    (c.frontier === undefined || Array.isArray(c.frontier));
  if (!ok) throw new Error('not a nemoclaw audit checkpoint');
  return c;
}

/**
 * A keyring entry's public key (base64 raw Ed25519) as its key id and KeyObject, derived once per
 * process: `audit verify` checks every checkpoint, dozens on a busy log, and each check derived
 * both again from the same text (the id is a hash, the KeyObject a JWK import: ~0.05 ms a
 * checkpoint, issue 23). Pure functions of the text, so a cached answer is the answer.
 */
const publicKeys = new Map<string, { keyId: string; key: KeyObject | Error }>();

function publicKeyOf(raw: string): { keyId: string; key: KeyObject | Error } {
  let k = publicKeys.get(raw);
  if (k === undefined) {
    let key: KeyObject | Error;
    try {
      key = publicKeyFromRaw(raw);
    } catch (err) {
      key = err as Error;
    }
    k = { keyId: keyIdOf(Buffer.from(raw, 'base64')), key };
    publicKeys.set(raw, k);
  }
  return k;
}

/** Why a checkpoint is not trustworthy under the keyring, or null when it is. */
export function checkpointProblem(c: Checkpoint, ring: Keyring | null): string | null {
  if (ring === null) return 'no keyring to check signatures against';
  const key: EpochKey | undefined = ring.epochs.find((e) => e.keyId === c.key_id);
  if (key === undefined) return `signed by unknown key ${c.key_id}`;
  const pub = publicKeyOf(key.publicKey);
  if (pub.keyId !== key.keyId) return `keyring entry ${key.keyId} does not match its public key`;
  if (key.epoch !== c.epoch) return `key ${c.key_id} belongs to epoch ${key.epoch}, checkpoint claims ${c.epoch}`;
  let good: boolean;
  try {
    if (pub.key instanceof Error) throw pub.key;
    good = verify(null, Buffer.from(checkpointText(c)), pub.key, Buffer.from(c.sig, 'base64'));
  } catch {
    good = false;
  }
  if (!good) return 'bad signature';
  // A key may only sign inside its epoch: a retired (or stolen) key cannot vouch for records
  // written after its rotation record.
  if (c.size < key.fromSize || (key.toSize !== null && c.size > key.toSize)) {
    return `key ${c.key_id} (epoch ${key.epoch}) may sign sizes ${key.fromSize}..${key.toSize ?? '∞'}, not ${c.size}`;
  }
  return null;
}

/** Reads checkpoints from JSONL, a JSON array or a single JSON object. A cut last line is skipped. */
export function parseCheckpointText(text: string): { cps: Checkpoint[]; bad: number; torn: boolean } {
  const t = text.trim();
  if (t.startsWith('[')) return { cps: (JSON.parse(t) as unknown[]).map(parseCheckpoint), bad: 0, torn: false };
  const cps: Checkpoint[] = [];
  let bad = 0;
  const lines = text.split('\n');
  const torn = lines.length > 0 && lines[lines.length - 1] !== '' && !text.endsWith('\n') && lines.length > 1;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    if (torn && i === lines.length - 1) return;
    try {
      cps.push(parseCheckpoint(JSON.parse(line)));
    } catch {
      // A single pretty-printed object spans lines; try the whole text once below.
      bad += 1;
    }
  });
  if (cps.length === 0 && bad > 0) {
    try {
      return { cps: [parseCheckpoint(JSON.parse(t))], bad: 0, torn: false };
    } catch {
      // fall through
    }
  }
  return { cps, bad, torn };
}
