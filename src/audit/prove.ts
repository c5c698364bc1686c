// Inclusion proofs: "record N, with exactly these bytes, is in the log whose signed checkpoint
// says size S and root R". A third party holding the checkpoint and the proof can check one
// record without the rest of the log (RFC 6962 section 2.1.1).
import type { Checkpoint } from './checkpoint.ts';
import { checkpointProblem } from './checkpoint.ts';
import { readKeyring } from './keys.ts';
import { leafHash, inclusionProof, merkleRoot, verifyInclusion } from './merkle.ts';
import { readCheckpoints, readRecords } from './reader.ts';

export interface InclusionProofDoc {
  seq: number;
  /** The record's exact line (without newline). */
  line: string;
  leaf_index: number;
  leaf_hash: string;
  tree_size: number;
  root: string;
  /** Audit path, hex node hashes from the leaf upwards. */
  path: string[];
  checkpoint: Checkpoint;
}

/**
 * Builds the inclusion proof of record seq against a checkpoint (default: the newest validly
 * signed one that covers seq). Reads the log up to the checkpoint's size.
 */
export function proveInclusion(home: string, seq: number, against?: Checkpoint): InclusionProofDoc {
  let cp = against;
  if (cp === undefined) {
    const ring = readKeyring(home);
    const valid = readCheckpoints(home).filter((c) => c.size >= seq && checkpointProblem(c, ring) === null);
    cp = valid[valid.length - 1];
    if (cp === undefined) throw new Error(`no signed checkpoint covers seq ${seq} yet`);
  }
  if (seq < 1 || seq > cp.size) throw new Error(`seq ${seq} is outside the checkpoint (size ${cp.size})`);
  const leaves: string[] = [];
  let line = '';
  for (const r of readRecords(home)) {
    if (leaves.length >= cp.size) break;
    // A proof needs every leaf from the first; after a prune (retention.ts) they are gone.
    if (leaves.length === 0 && r.seq !== 1) throw new Error(`records 1..${r.seq - 1} were pruned (see audit verify): prove against a copy of the log exported before the prune`);
    leaves.push(leafHash(`${r.line}\n`));
    if (r.seq === seq) line = r.line;
  }
  if (leaves.length < cp.size) throw new Error(`the log has ${leaves.length} records, the checkpoint covers ${cp.size}`);
  const root = merkleRoot(leaves);
  if (root !== cp.root) throw new Error('the log does not match the checkpoint (run audit verify)');
  return {
    seq,
    line,
    leaf_index: seq - 1,
    leaf_hash: leaves[seq - 1] as string,
    tree_size: cp.size,
    root,
    path: inclusionProof(leaves, seq - 1),
    checkpoint: cp,
  };
}

/** Checks a proof on its own: the line hashes to the leaf, the path leads to the checkpoint's root. */
export function checkInclusion(p: InclusionProofDoc): boolean {
  return (
    leafHash(`${p.line}\n`) === p.leaf_hash &&
    p.root === p.checkpoint.root &&
    p.tree_size === p.checkpoint.size &&
    verifyInclusion(p.leaf_hash, p.leaf_index, p.tree_size, p.path, p.root)
  );
}
