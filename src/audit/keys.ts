// Signing keys (Ed25519, one per epoch) and the per-install fingerprint key.
//
// Layout under $NEMOCLAW_HOME/keys/audit/ (directory 0700, files 0600):
//   keys.json        every epoch's public key and the tree sizes it may sign (atomic rewrite)
//   epoch-<n>.pem    the private key of the current epoch only; older ones are deleted at rotation
//   fingerprint.key  HMAC key for fingerprint()
// A key id is the first 16 hex digits of SHA-256 of the raw public key, so a key cannot be
// swapped under an id that an exported checkpoint already names.
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, hash, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createFileExclusive, defaultHome, ensurePrivateDirs, keysDir, writeFileAtomic } from './files.ts';

export interface EpochKey {
  epoch: number;
  keyId: string;
  /** Raw 32-byte Ed25519 public key, base64. */
  publicKey: string;
  created: string;
  /** Smallest tree size this key may sign. */
  fromSize: number;
  /** Largest tree size this key may sign (the size that includes its rotation record); null while current. */
  toSize: number | null;
}

export interface Keyring {
  v: 1;
  epochs: EpochKey[];
}

export interface Signer {
  epoch: number;
  keyId: string;
  privateKey: KeyObject;
}

/**
 * One-shot hash(), not createHash(): a writer's open and `audit verify` derive a key id before
 * anything else is hashed, and the first createHash() of a process sets up its streaming Hash for
 * ~0.25 ms more than the first hash(), which the Merkle code uses anyway (issue 23).
 */
export function keyIdOf(rawPublicKey: Buffer): string {
  return hash('sha256', rawPublicKey, 'hex').slice(0, 16);
}

/** The raw public key of a public key, or of a private one (whose JWK carries its public half, x). */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url');
}

export function publicKeyFromRaw(raw: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw, 'base64').toString('base64url') }, format: 'jwk' });
}

function ensureKeysDir(home: string): string {
  const dir = keysDir(home);
  ensurePrivateDirs(dirname(dir), dir);
  return dir;
}

export function readKeyring(home: string): Keyring | null {
  let text: string;
  try {
    text = readFileSync(join(keysDir(home), 'keys.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const k = JSON.parse(text) as Keyring;
  if (k.v !== 1 || !Array.isArray(k.epochs)) throw new Error('keys.json: unknown format');
  return k;
}

function writeKeyring(home: string, ring: Keyring): void {
  writeFileAtomic(join(ensureKeysDir(home), 'keys.json'), `${JSON.stringify(ring, null, 2)}\n`, 0o600);
}

function pemPath(home: string, epoch: number): string {
  return join(keysDir(home), `epoch-${epoch}.pem`);
}

/** Makes a key pair for an epoch and stores its private half (0600). */
export function createEpochKey(home: string, epoch: number, fromSize: number): { info: EpochKey; signer: Signer } {
  ensureKeysDir(home);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = rawPublicKey(publicKey);
  const keyId = keyIdOf(raw);
  writeFileAtomic(pemPath(home, epoch), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  const info: EpochKey = { epoch, keyId, publicKey: raw.toString('base64'), created: new Date().toISOString(), fromSize, toSize: null };
  return { info, signer: { epoch, keyId, privateKey } };
}

/**
 * The signer of the current epoch, creating epoch 1 on first use. Must be called while holding the
 * audit lock (two first writers would otherwise both create a key).
 */
export function currentSigner(home: string): Signer {
  let ring = readKeyring(home);
  if (ring === null || ring.epochs.length === 0) {
    const { info, signer } = createEpochKey(home, 1, 0);
    ring = { v: 1, epochs: [info] };
    writeKeyring(home, ring);
    return signer;
  }
  const cur = ring.epochs[ring.epochs.length - 1] as EpochKey;
  const privateKey = createPrivateKey(readFileSync(pemPath(home, cur.epoch)));
  // The public half as OpenSSL derived it from the private key when loading it, read from the
  // private key itself: a second KeyObject (createPublicKey) for the same bytes cost every open
  // ~0.1 ms (issue 23).
  if (keyIdOf(rawPublicKey(privateKey)) !== cur.keyId) throw new Error('audit signing key does not match keys.json');
  return { epoch: cur.epoch, keyId: cur.keyId, privateKey };
}

/**
 * Finishes a rotation once the rotation record (at tree size rotationSize) is durable and the old
 * key has signed its last checkpoint: publishes the new key and deletes the old private key, so a
 * later theft of the machine cannot sign anything in the old epoch (journald CVE-2023-31439).
 */
export function commitRotation(home: string, next: EpochKey, rotationSize: number): void {
  const ring = readKeyring(home);
  if (ring === null) throw new Error('no keyring to rotate');
  const cur = ring.epochs[ring.epochs.length - 1] as EpochKey;
  cur.toSize = rotationSize;
  ring.epochs.push({ ...next, fromSize: rotationSize });
  writeKeyring(home, ring);
  try {
    unlinkSync(pemPath(home, cur.epoch));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Removes private keys of epochs that never got published (a crash in the middle of a rotation).
 * `current`: keys.json's current epoch, as the caller has just read it under the audit lock.
 */
export function cleanOrphanKeys(home: string, current: number): void {
  const dir = keysDir(home);
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const m = /^epoch-(\d+)\.pem$/.exec(name);
    if (m !== null && Number(m[1]) !== current) unlinkSync(join(dir, name));
  }
}

const fingerprintKeys = new Map<string, Buffer>();

function fingerprintKey(home: string): Buffer {
  const cached = fingerprintKeys.get(home);
  if (cached !== undefined) return cached;
  const path = join(keysDir(home), 'fingerprint.key');
  let hex: string;
  try {
    hex = readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    ensureKeysDir(home);
    // Exclusive create: two processes racing on first use end up with the same key.
    createFileExclusive(path, `${randomBytes(32).toString('hex')}\n`, 0o600);
    hex = readFileSync(path, 'utf8').trim();
  }
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${path}: not a fingerprint key`);
  const key = Buffer.from(hex, 'hex');
  fingerprintKeys.set(home, key);
  return key;
}

/**
 * HMAC-SHA256 fingerprint of a sensitive value under this install's key, as "fp1:<32 hex>".
 * Equal values give equal fingerprints (so events correlate) without the log holding the value,
 * and a dictionary attack needs the key. Put the result in an event's `fingerprints`.
 */
export function fingerprint(value: string | Buffer, home: string = defaultHome()): string {
  return `fp1:${createHmac('sha256', fingerprintKey(home)).update(value).digest('hex').slice(0, 32)}`;
}
