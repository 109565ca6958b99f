/**
 * Verification of RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs: a port of
 * transparency-dev/merkle `proof/verify.go`, with its helper names kept (`decompInclProof`,
 * `innerProofSize`, `chainInner`, `chainInnerRight`, `chainBorderRight`) so an auditor can diff the
 * two. Everything here is attacker-controlled input: every failure is an AuditError with the
 * proof's code, never a TypeError.
 *
 * Tree sizes are JS numbers up to 2^53 − 1, so bit arithmetic is done on two 32-bit halves or with
 * division: the 32-bit operators `>>`, `&`, `^` would silently wrap above 2^31 entries.
 */
import { AuditError } from '../errors.js';
import { hashChildren } from './rfc6962.js';

const HASH_SIZE = 32;
const TWO_32 = 2 ** 32;

/** Number of bits needed to represent `x` (Go `bits.Len64`), exact for 0 <= x < 2^53. */
export function bitLength(x: number): number {
  const hi = Math.floor(x / TWO_32);
  return hi > 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(x >>> 0);
}

/** Number of trailing zero bits of `x` (Go `bits.TrailingZeros64`), exact for 0 < x < 2^53; 64 for 0. */
export function trailingZeros(x: number): number {
  if (x === 0) return 64;
  const lo = x >>> 0; // x mod 2^32, exact for any safe integer
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  const hi = Math.floor(x / TWO_32);
  return 63 - Math.clz32(hi & -hi);
}

/** Number of set bits of `x` (Go `bits.OnesCount64`), exact for 0 <= x < 2^53. */
export function onesCount(x: number): number {
  return popcount32(x >>> 0) + popcount32(Math.floor(x / TWO_32));
}

function popcount32(v: number): number {
  let n = 0;
  for (let w = v >>> 0; w !== 0; w = (w & (w - 1)) >>> 0) n++;
  return n;
}

/** `a XOR b` for 0 <= a, b < 2^53. */
function xor53(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_32) ^ Math.floor(b / TWO_32)) >>> 0;
  return hi * TWO_32 + (((a >>> 0) ^ (b >>> 0)) >>> 0);
}

/** Bit `i` of `x` (0 or 1), for 0 <= x < 2^53. */
function bitAt(x: number, i: number): number {
  return Math.floor(x / 2 ** i) % 2;
}

function isSize(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Splits the inclusion proof of leaf `index` in a tree of `size` leaves at the point where the
 * paths to `index` and `size − 1` diverge. Returns `[inner, border]`: the lengths of the lower
 * (inner) and upper (border) parts; their sum is the proof length. Requires 0 <= index < size <= 2^53 − 1.
 */
export function decompInclProof(index: number, size: number): [inner: number, border: number] {
  const inner = innerProofSize(index, size);
  const border = onesCount(Math.floor(index / 2 ** inner));
  return [inner, border];
}

/** Length of the inner part of an inclusion proof: bit length of `index XOR (size − 1)`. */
export function innerProofSize(index: number, size: number): number {
  return bitLength(xor53(index, size - 1));
}

/**
 * Computes a subtree hash for a node on or below the tree's right border. `proof` is ordered from
 * lower levels to upper, and `seed` is the leaf or subtree hash at position `index` on its level.
 */
export function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Buffer {
  let hash: Buffer = Buffer.from(seed);
  for (let i = 0; i < proof.length; i++) {
    const h = proof[i]!;
    hash = bitAt(index, i) === 0 ? hashChildren(hash, h) : hashChildren(h, hash);
  }
  return hash;
}

/**
 * Like {@link chainInner}, but only takes the hashes left of the path into account, which yields
 * the hash of the corresponding earlier (smaller) version of the subtree.
 */
export function chainInnerRight(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Buffer {
  let hash: Buffer = Buffer.from(seed);
  for (let i = 0; i < proof.length; i++) {
    if (bitAt(index, i) === 1) hash = hashChildren(proof[i]!, hash);
  }
  return hash;
}

/** Chains proof hashes along the right border: every one of them is a left sibling. */
export function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Buffer {
  let hash: Buffer = Buffer.from(seed);
  for (const h of proof) hash = hashChildren(h, hash);
  return hash;
}

function inclusionError(message: string, detail: Record<string, unknown> = {}): AuditError {
  return new AuditError('INCLUSION_PROOF_INVALID', message, detail);
}

function consistencyError(message: string, detail: Record<string, unknown> = {}): AuditError {
  return new AuditError('CONSISTENCY_PROOF_INVALID', message, detail);
}

/** Finds the first proof hash that is not 32 bytes (stricter than the reference, which hashes any length). */
function badHashIndex(proof: readonly Uint8Array[]): number {
  return proof.findIndex((h) => !(h instanceof Uint8Array) || h.length !== HASH_SIZE);
}

/**
 * The root of the tree of `size` leaves implied by an inclusion proof for leaf `index` with hash
 * `leafHash`. Requires 0 <= index < size.
 * @throws AuditError INCLUSION_PROOF_INVALID when index >= size, a size is not a safe integer, the
 *   leaf hash or a proof hash is not 32 bytes, or the proof has the wrong length.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Buffer {
  if (!isSize(index) || !isSize(size)) {
    throw inclusionError(`index and size must be integers in [0, 2^53), got ${index} and ${size}`, {
      field: 'index',
    });
  }
  if (index >= size) throw inclusionError(`index is beyond size: ${index} >= ${size}`, { field: 'index' });
  if (leafHash.length !== HASH_SIZE) {
    throw inclusionError(`leaf hash has ${leafHash.length} bytes, want ${HASH_SIZE}`, { field: 'leafHash' });
  }
  const [inner, border] = decompInclProof(index, size);
  if (proof.length !== inner + border) {
    throw inclusionError(`wrong proof size ${proof.length}, want ${inner + border}`, { field: 'proof' });
  }
  const bad = badHashIndex(proof);
  if (bad >= 0) throw inclusionError(`proof hash ${bad} is not ${HASH_SIZE} bytes`, { field: 'proof' });
  const hash = chainInner(leafHash, proof.slice(0, inner), index);
  return chainBorderRight(hash, proof.slice(inner));
}

/**
 * Checks that `proof` proves leaf `index` with hash `leafHash` in the tree of `size` leaves whose
 * root is `root`. Requires 0 <= index < size.
 * @throws AuditError INCLUSION_PROOF_INVALID on any mismatch or malformed input; on a root
 *   mismatch the detail holds `expected` and `computed` roots (base64).
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  const computed = rootFromInclusionProof(index, size, leafHash, proof);
  if (!sameBytes(root, computed)) {
    throw inclusionError(`inclusion proof of leaf ${index} does not lead to the root of tree size ${size}`, {
      expected: b64(root),
      computed: computed.toString('base64'),
    });
  }
}

/**
 * The root of the tree of `size2` leaves implied by a consistency proof from the tree of `size1`
 * leaves with root `root1`; checks `root1` on the way. Requires 0 < size1 <= size2 (size1 == size2
 * needs an empty proof and returns `root1`).
 * @throws AuditError CONSISTENCY_PROOF_INVALID when the sizes are out of order, size1 is 0 (even
 *   with size2 0, as the reference vectors require), the proof has the wrong length or a hash that is not 32 bytes, or root1 does not match.
 */
export function rootFromConsistencyProof(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
): Buffer {
  if (!isSize(size1) || !isSize(size2)) {
    throw consistencyError(`size1 and size2 must be integers in [0, 2^53), got ${size1} and ${size2}`, {
      field: 'size1',
    });
  }
  if (size2 < size1) throw consistencyError(`size2 (${size2}) < size1 (${size1})`, { field: 'size2' });
  // Before the equal-sizes case: the reference vectors reject size1 == 0 even when size2 is 0 too.
  if (size1 === 0) {
    throw consistencyError('consistency proof from an empty tree is meaningless', { field: 'size1' });
  }
  if (size1 === size2) {
    if (proof.length > 0) {
      throw consistencyError('size1 == size2, but the proof is not empty', { field: 'proof' });
    }
    return Buffer.from(root1);
  }
  if (proof.length === 0) throw consistencyError('empty proof', { field: 'proof' });
  const bad = badHashIndex(proof);
  if (bad >= 0) throw consistencyError(`proof hash ${bad} is not ${HASH_SIZE} bytes`, { field: 'proof' });

  let [inner, border] = decompInclProof(size1 - 1, size2);
  const shift = trailingZeros(size1);
  inner -= shift; // shift < inner, because size1 < size2

  // The proof starts with the root of the subtree of size 2^shift that holds leaf size1 − 1,
  // unless size1 is that very 2^shift, when the subtree is the whole old tree: root1.
  let seed = proof[0]!;
  let start = 1;
  if (size1 === 2 ** shift) {
    seed = root1;
    start = 0;
  }
  if (proof.length !== start + inner + border) {
    throw consistencyError(`wrong proof size ${proof.length}, want ${start + inner + border}`, {
      field: 'proof',
    });
  }
  // Now the rest is a suffix of the inclusion proof of leaf size1 − 1 in the tree of size2.
  const rest = proof.slice(start);
  const innerPart = rest.slice(0, inner);
  const borderPart = rest.slice(inner);
  const mask = Math.floor((size1 - 1) / 2 ** shift); // start chaining from level `shift`

  const hash1 = chainBorderRight(chainInnerRight(seed, innerPart, mask), borderPart);
  if (!sameBytes(root1, hash1)) {
    throw consistencyError(`consistency proof does not lead to root1 of tree size ${size1}`, {
      which: 'root1',
      expected: b64(root1),
      computed: hash1.toString('base64'),
    });
  }
  return chainBorderRight(chainInner(seed, innerPart, mask), borderPart);
}

/**
 * Checks that `proof` proves the tree of `size2` leaves with root `root2` extends the tree of
 * `size1` leaves with root `root1`. Requires 0 < size1 <= size2; when size1 == size2 the proof must
 * be empty and the roots equal (their length is not checked then, as in the reference).
 * @throws AuditError CONSISTENCY_PROOF_INVALID on any mismatch or malformed input; on a root
 *   mismatch the detail holds `which` root, `expected` and `computed` (base64).
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  const computed = rootFromConsistencyProof(size1, size2, proof, root1);
  if (!sameBytes(root2, computed)) {
    throw consistencyError(`consistency proof does not lead to root2 of tree size ${size2}`, {
      which: 'root2',
      expected: b64(root2),
      computed: computed.toString('base64'),
    });
  }
}
