import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  MerkleFrontier,
  consistencyProof,
  inclusionProof,
  leafHash,
  leafHashAt,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';

const leaves = Array.from({ length: 300 }, (_, i) => leafHash(`line ${i}\n`));

describe('RFC 6962 Merkle tree', () => {
  it('uses the 0x00/0x01 domain separation', () => {
    const h = hash('sha256', 'x', 'hex');
    expect(leafHash('x')).toBe(hash('sha256', Buffer.from([0, 0x78]), 'hex'));
    const b = Buffer.from('\nabc\n');
    expect(leafHashAt(b, 1, 5)).toBe(leafHash('abc\n'));
    expect(b.toString()).toBe('\nabc\n');
    expect(nodeHash(h, h)).toBe(hash('sha256', Buffer.concat([Buffer.from([1]), Buffer.from(h, 'hex'), Buffer.from(h, 'hex')]), 'hex'));
    expect(EMPTY_ROOT).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('incremental root equals the recursive MTH for sizes 0..300', () => {
    const f = new MerkleFrontier();
    expect(f.root()).toBe(merkleRoot([]));
    for (let n = 1; n <= 300; n++) {
      f.push(leaves[n - 1] as string);
      expect(f.root()).toBe(merkleRoot(leaves.slice(0, n)));
      // Resuming from a stored frontier gives the same tree.
      expect(MerkleFrontier.from(f.size, f.stack).root()).toBe(f.root());
    }
  });

  it('inclusion proofs verify, and fail for the wrong leaf', () => {
    for (const n of [1, 2, 3, 7, 8, 9, 64, 100, 257]) {
      const sub = leaves.slice(0, n);
      const root = merkleRoot(sub);
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(sub, m);
        expect(verifyInclusion(sub[m] as string, m, n, proof, root)).toBe(true);
        if (n > 1) expect(verifyInclusion(sub[(m + 1) % n] as string, m, n, proof, root)).toBe(false);
      }
    }
  });

  it('consistency proofs verify for every (m, n) up to 40, and fail for a forked history', () => {
    for (let n = 1; n <= 40; n++) {
      const sub = leaves.slice(0, n);
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(sub, m);
        expect(verifyConsistency(m, n, merkleRoot(sub.slice(0, m)), merkleRoot(sub), proof)).toBe(true);
        if (m < n) {
          const forked = [...sub];
          forked[m - 1] = leaves[299] as string;
          expect(verifyConsistency(m, n, merkleRoot(forked.slice(0, m)), merkleRoot(sub), proof)).toBe(false);
        }
      }
    }
  });

  it('rejects a malformed frontier', () => {
    expect(() => MerkleFrontier.from(3, [EMPTY_ROOT])).toThrow();
    expect(() => MerkleFrontier.from(1, ['zz'])).toThrow();
  });
});
