/**
 * The tree state before an archived segment's first entry (`segments/<seq>.start.json`): the right
 * border of the tree of the entries before it and the leaf hash of the last of them, with its
 * inclusion proof. It lets a verifier check a range of the archive that does not start at seq 0:
 * the border's root must equal the signed checkpoint at that size, the proof ties the last leaf
 * (the first entry's `prev`) to that root, and from there the range's own entries must lead to the
 * signed checkpoint at its end.
 */
import {
  buildBorder,
  buildInclusionProof,
  CompactTree,
  type TreeReader,
  verifyInclusion,
} from '../chain/index.js';
import { AuditError } from '../errors.js';

/** The stored form (hashes base64). */
export interface RangeStartDoc {
  size: number;
  border: string[];
  prevLeaf: string;
  prevProof: string[];
}

/** A checked start state, ready for `verifyTrail`'s `start`. */
export interface RangeStart {
  size: number;
  border: Buffer[];
  prev: Buffer;
  /** The root the border implies; must equal the signed checkpoint of this size. */
  root: Buffer;
}

/**
 * The start state before entry `size` from the trail's persisted tree.
 * @throws AuditError USAGE unless 0 < size <= tree.size.
 */
export function buildRangeStart(tree: TreeReader, size: number): RangeStartDoc {
  const b64 = (h: Buffer) => h.toString('base64');
  return {
    size,
    border: buildBorder(tree, size).map(b64),
    prevLeaf: b64(tree.nodeHash(0, size - 1)),
    prevProof: buildInclusionProof(tree, size - 1, size).map(b64),
  };
}

const B64_HASH = /^[A-Za-z0-9+/]{43}=$/;

function hashList(value: unknown, field: string, name: string): Buffer[] {
  if (!Array.isArray(value) || value.some((h) => typeof h !== 'string' || !B64_HASH.test(h)))
    throw new AuditError('ENTRY_MALFORMED', `${name}: ${field} must be a list of base64 SHA-256 hashes`, {
      file: name,
    });
  return value.map((h: string) => Buffer.from(h, 'base64'));
}

/**
 * Parses and checks a start state read from `name` for a range starting at `size`: shape, border
 * length, and that the last leaf is included in the tree the border describes.
 * @throws AuditError ENTRY_MALFORMED (not a start state for this size), INCLUSION_PROOF_INVALID.
 */
export function openRangeStart(text: string, size: number, name: string): RangeStart {
  let doc: Partial<RangeStartDoc>;
  try {
    doc = JSON.parse(text) as Partial<RangeStartDoc>;
  } catch {
    throw new AuditError('ENTRY_MALFORMED', `${name}: not JSON`, { file: name });
  }
  if (doc === null || typeof doc !== 'object' || doc.size !== size)
    throw new AuditError('ENTRY_MALFORMED', `${name}: not the tree state before entry ${size}`, {
      file: name,
    });
  const border = hashList(doc.border, 'border', name);
  const [prev] = hashList([doc.prevLeaf], 'prevLeaf', name);
  const proof = hashList(doc.prevProof, 'prevProof', name);
  let root: Buffer;
  try {
    root = CompactTree.fromBorder(size, border).root();
  } catch {
    throw new AuditError('ENTRY_MALFORMED', `${name}: border does not fit tree size ${size}`, { file: name });
  }
  try {
    verifyInclusion(size - 1, size, prev!, proof, root);
  } catch (err) {
    if (err instanceof AuditError) throw new AuditError(err.code, `${name}: ${err.message}`, { file: name });
    throw err;
  }
  return { size, border, prev: prev!, root };
}
