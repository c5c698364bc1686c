// RFC 6962 Merkle tree hashing (section 2.1): leaf = SHA-256(0x00 || entry), node =
// SHA-256(0x01 || left || right). The 0x00/0x01 prefixes keep a leaf from being passed off as an
// inner node (second-preimage attack). Hashes travel as lowercase hex strings because Node's
// one-shot crypto.hash() with hex output is about twice as fast as Buffer output, and verify
// throughput is a benchmarked feature. The log's entries are its lines' exact bytes.
import { hash } from 'node:crypto';

/**
 * SHA-256 of the empty string: the RFC 6962 root of an empty tree. Written out, not computed when
 * the module loads: that would load node:crypto (~15 of Node's internal modules, ~2 ms) for every
 * verb that imports the audit door, `audit tail` included, which hashes nothing (issue 23).
 * merkle.test.ts checks it against the hash.
 */
export const EMPTY_ROOT = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const nodeScratch = Buffer.alloc(65);
nodeScratch[0] = 1;

/**
 * Leaf hash of one entry (a log line, as a string: hashed as its UTF-8 bytes). This same value is
 * the next record's `prev`, so each record costs one hash for both the chain and the tree.
 */
export function leafHash(entry: string): string {
  return hash('sha256', `\0${entry}`, 'hex');
}

/**
 * Leaf hash of the bytes buf[start, end) without copying them: the byte before start (a newline,
 * or a spare byte the caller reserved) is set to 0x00 for the duration of the hash. start >= 1.
 */
export function leafHashAt(buf: Buffer, start: number, end: number): string {
  const saved = buf[start - 1] as number;
  buf[start - 1] = 0;
  const h = hash('sha256', buf.subarray(start - 1, end), 'hex');
  buf[start - 1] = saved;
  return h;
}

export function nodeHash(leftHex: string, rightHex: string): string {
  nodeScratch.write(leftHex, 1, 32, 'hex');
  nodeScratch.write(rightHex, 33, 32, 'hex');
  return hash('sha256', nodeScratch, 'hex');
}

/**
 * Incremental Merkle tree: keeps only the roots of the perfect subtrees that make up the tree
 * (one per set bit of `size`, largest first), so memory is O(log n) and an append costs on average
 * one node hash. The frontier is stored in every checkpoint so that a writer can resume without
 * rereading the whole log.
 */
export class MerkleFrontier {
  size = 0;
  /** Subtree roots, largest (leftmost) first. */
  stack: string[] = [];

  static from(size: number, stack: readonly string[]): MerkleFrontier {
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('bad frontier size');
    let bits = 0;
    for (let s = size; s > 0; s = Math.floor(s / 2)) bits += s % 2;
    if (bits !== stack.length || !stack.every((h) => /^[0-9a-f]{64}$/.test(h))) throw new Error('bad frontier');
    const f = new MerkleFrontier();
    f.size = size;
    f.stack = [...stack];
    return f;
  }

  clone(): MerkleFrontier {
    return MerkleFrontier.from(this.size, this.stack);
  }

  push(leafHex: string): void {
    let h = leafHex;
    // Merge while the lowest subtree has the same height as the new one: that happens once per
    // trailing 1-bit of the old size.
    for (let s = this.size; s % 2 === 1; s = Math.floor(s / 2)) {
      h = nodeHash(this.stack.pop() as string, h);
    }
    this.stack.push(h);
    this.size += 1;
  }

  root(): string {
    if (this.stack.length === 0) return EMPTY_ROOT;
    let h = this.stack[this.stack.length - 1] as string;
    for (let i = this.stack.length - 2; i >= 0; i--) h = nodeHash(this.stack[i] as string, h);
    return h;
  }
}

/** Largest power of two strictly less than n (n >= 2), the RFC 6962 split point. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) exactly as RFC 6962 section 2.1 defines it, over leaf hashes. */
export function merkleRoot(leaves: readonly string[]): string {
  return rangeRoot(leaves, 0, leaves.length);
}

/** MTH of leaves[lo, hi) without copying the array. */
function rangeRoot(leaves: readonly string[], lo: number, hi: number): string {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[lo] as string;
  const k = split(n);
  return nodeHash(rangeRoot(leaves, lo, lo + k), rangeRoot(leaves, lo + k, hi));
}

/** RFC 6962 section 2.1.1 audit path PATH(m, D[n]) for leaf m of the whole array. */
export function inclusionProof(leaves: readonly string[], m: number): string[] {
  if (m < 0 || m >= leaves.length) throw new Error('leaf index out of range');
  const out: string[] = [];
  path(leaves, m, 0, leaves.length, out);
  return out;
}

function path(leaves: readonly string[], m: number, lo: number, hi: number, out: string[]): void {
  const n = hi - lo;
  if (n <= 1) return;
  const k = split(n);
  if (m < k) {
    path(leaves, m, lo, lo + k, out);
    out.push(rangeRoot(leaves, lo + k, hi));
  } else {
    path(leaves, m - k, lo + k, hi, out);
    out.push(rangeRoot(leaves, lo, lo + k));
  }
}

/** Checks an audit path (RFC 9162 section 2.1.3.2 algorithm). */
export function verifyInclusion(leaf: string, m: number, n: number, proof: readonly string[], root: string): boolean {
  if (m >= n) return false;
  let fn = m;
  let sn = n - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r === root;
}

/** RFC 6962 section 2.1.2 consistency proof PROOF(m, D[n]). */
export function consistencyProof(leaves: readonly string[], m: number): string[] {
  if (m < 1 || m > leaves.length) throw new Error('bad old size');
  const out: string[] = [];
  subproof(leaves, m, 0, leaves.length, true, out);
  return out;
}

function subproof(leaves: readonly string[], m: number, lo: number, hi: number, complete: boolean, out: string[]): void {
  const n = hi - lo;
  if (m === n) {
    if (!complete) out.push(rangeRoot(leaves, lo, hi));
    return;
  }
  const k = split(n);
  if (m <= k) {
    subproof(leaves, m, lo, lo + k, complete, out);
    out.push(rangeRoot(leaves, lo + k, hi));
  } else {
    subproof(leaves, m - k, lo + k, hi, false, out);
    out.push(rangeRoot(leaves, lo, lo + k));
  }
}

/** Checks a consistency proof (RFC 9162 section 2.1.4.2 algorithm). */
export function verifyConsistency(m: number, n: number, oldRoot: string, newRoot: string, proof: readonly string[]): boolean {
  if (m < 1 || m > n) return false;
  if (m === n) return proof.length === 0 && oldRoot === newRoot;
  let path = [...proof];
  // If the old size is a power of two, the old root itself is the first node of the path.
  if (Number.isInteger(Math.log2(m))) path = [oldRoot, ...path];
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (path.length === 0) return false;
  let fr = path[0] as string;
  let sr = path[0] as string;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr === oldRoot && sr === newRoot && sn === 0;
}
