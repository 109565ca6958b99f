/**
 * Building RFC 9162 proofs and historical roots from the stored node hashes of a tree. Follows the
 * RFC's recursive split (k = the largest power of 2 below n) as a loop: the left part of a split is
 * always a complete, aligned subtree (one `nodeHash`), and only a range that ends at the tree size
 * needs the fold of its O(log n) complete subtrees, so a proof costs about 2·log n node reads.
 */
import { AuditError } from '../errors.js';
import { bitLength } from './proof-verify.js';
import { EMPTY_TREE_ROOT, hashChildren } from './rfc6962.js';
import type { TreeReader } from './tree.js';

/** The largest power of 2 strictly below n (RFC 9162 §2.1.1 `k`). Requires 2 <= n < 2^53. */
function splitPoint(n: number): number {
  return 2 ** (bitLength(n - 1) - 1);
}

/**
 * MTH of the `n` leaves from `start`, where `start` is a multiple of the power of 2 at or above n
 * (true of every range the RFC recursion produces): the fold, right to left, of the complete
 * subtrees given by the set bits of n, largest first.
 */
function rangeHash(tree: TreeReader, start: number, n: number): Buffer {
  const parts = subtreeHashes(tree, start, n);
  let hash = parts.pop()!;
  for (let i = parts.length - 1; i >= 0; i--) hash = hashChildren(parts[i]!, hash);
  return hash;
}

/** The complete subtree hashes that make up the `n` leaves from `start`, largest first. */
function subtreeHashes(tree: TreeReader, start: number, n: number): Buffer[] {
  const parts: Buffer[] = [];
  let at = start;
  for (let level = bitLength(n) - 1; level >= 0; level--) {
    const width = 2 ** level;
    if (Math.floor(n / width) % 2 === 0) continue;
    parts.push(tree.nodeHash(level, at / width));
    at += width;
  }
  return parts;
}

function checkSize(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new AuditError('USAGE', `${name}: expected an integer in [${min}, ${max}], got ${value}`, {
      field: name,
    });
  }
}

/**
 * The RFC 6962 root (MTH) of the first `size` leaves of `tree`, `EMPTY_TREE_ROOT` for 0.
 * O(log n) node hashes.
 * @throws AuditError USAGE unless 0 <= size <= tree.size.
 */
export function rootAt(tree: TreeReader, size: number): Buffer {
  checkSize('size', size, 0, tree.size);
  return size === 0 ? Buffer.from(EMPTY_TREE_ROOT) : rangeHash(tree, 0, size);
}

/**
 * The right border of the tree of the first `size` leaves: the roots of its complete subtrees,
 * largest first (one per set bit of `size`), from which a verifier can go on appending leaves
 * (`CompactTree.fromBorder`). O(log n) node hashes.
 * @throws AuditError USAGE unless 0 <= size <= tree.size.
 */
export function buildBorder(tree: TreeReader, size: number): Buffer[] {
  checkSize('size', size, 0, tree.size);
  return subtreeHashes(tree, 0, size);
}

/**
 * RFC 9162 §2.1.3.1: the audit path of leaf `index` in the tree of the first `size` leaves,
 * lowest sibling first.
 * @throws AuditError USAGE unless 0 <= index < size <= tree.size.
 */
export function buildInclusionProof(tree: TreeReader, index: number, size: number): Buffer[] {
  checkSize('size', size, 1, tree.size);
  checkSize('index', index, 0, size - 1);
  const path: Buffer[] = [];
  // PATH(m, D[start:start+n]), unrolled: each step adds the sibling range of the half holding m.
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      path.push(rangeHash(tree, start + k, n - k));
      n = k;
    } else {
      path.push(rangeHash(tree, start, k));
      start += k;
      m -= k;
      n -= k;
    }
  }
  // The loop finds siblings top-down; the proof lists them from the leaf up.
  return path.reverse();
}

/**
 * RFC 9162 §2.1.4.1: the consistency proof from the tree of the first `size1` leaves to that of
 * the first `size2`; empty when the sizes are equal.
 * @throws AuditError USAGE unless 0 < size1 <= size2 <= tree.size.
 */
export function buildConsistencyProof(tree: TreeReader, size1: number, size2: number): Buffer[] {
  checkSize('size2', size2, 1, tree.size);
  checkSize('size1', size1, 1, size2);
  const proof: Buffer[] = [];
  // SUBPROOF(m, D[start:start+n], b), unrolled top-down.
  let start = 0;
  let n = size2;
  let m = size1;
  let whole = true; // b: the old tree is still the whole left part, whose root the verifier has
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      proof.push(rangeHash(tree, start + k, n - k));
      n = k;
    } else {
      proof.push(rangeHash(tree, start, k));
      start += k;
      m -= k;
      n -= k;
      whole = false;
    }
  }
  if (!whole) proof.push(rangeHash(tree, start, n));
  return proof.reverse();
}
