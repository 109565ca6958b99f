/**
 * The boundary of a pruned trail (docs/format.md §10): the Merkle state at the first kept seq N,
 * signed with the trail's checkpoint key, so that the entries from N on verify and prove without
 * the entries before N. As tlog-tiles' minimum index: the log keeps its tree, drops old entries.
 *
 * The body is a C2SP signed note whose first line names the format (so it can never be opened as
 * a checkpoint, whose first line is the origin):
 *
 *   sealtrail-boundary/1
 *   <origin>
 *   <N>
 *   <root of the tree of N leaves, base64>
 *   prev <leaf hash of entry N-1, base64>
 *   border <hash>            one per set bit of N: the complete subtrees, largest (leftmost) first
 *   proof <hash>             the inclusion proof of entry N-1 in the tree of N leaves, lowest first
 *
 * A verifier checks the signature, that the border's root is the root line, that `prev` is leaf
 * N-1 of that tree (the proof), and that a signed checkpoint of size N has the same root; then it
 * continues the chain at seq N with `prev` and the tree with the border.
 */
import { AuditError } from '../errors.js';
import { CompactTree } from './compact-tree.js';
import { type NoteSigner, type NoteVerifier, openNote, signNote } from './note.js';
import { buildInclusionProof, rootAt } from './proof-build.js';
import { rootFromInclusionProof } from './proof-verify.js';
import type { TreeReader } from './tree.js';

/** First line of a boundary note body. */
export const BOUNDARY_FORMAT = 'sealtrail-boundary/1';

const SIZE_RE = /^[1-9][0-9]{0,15}$/;
const HASH_RE = /^[A-Za-z0-9+/]{43}=$/;

/** The Merkle state of a trail at its first kept entry. */
export interface Boundary {
  origin: string;
  /** N: entries 0..N-1 are pruned; the first kept entry has seq N. */
  size: number;
  /** RFC 6962 root of the tree of the first N leaves. */
  root: Buffer;
  /** Leaf hash of entry N-1: the `prev` of entry N. */
  prev: Buffer;
  /** Complete-subtree roots of the tree of N leaves, largest first. */
  border: Buffer[];
  /** Inclusion proof of leaf N-1 in the tree of N leaves. */
  proof: Buffer[];
}

function invalid(message: string): never {
  throw new AuditError('BOUNDARY_INVALID', `boundary: ${message}`);
}

/**
 * The boundary at `size` read from a tree's persisted node hashes: O(log n) hashes.
 * Requires 1 <= size <= tree.size.
 * @throws AuditError USAGE when size is out of range.
 */
export function boundaryFromTree(origin: string, tree: TreeReader, size: number): Boundary {
  if (!Number.isSafeInteger(size) || size < 1 || size > tree.size)
    throw new AuditError('USAGE', `boundary: size ${size} is not in 1..${tree.size}`);
  const border: Buffer[] = [];
  let offset = 0;
  for (let level = Math.floor(Math.log2(size)); level >= 0; level--) {
    const width = 2 ** level;
    if (offset + width <= size) {
      border.push(tree.nodeHash(level, offset / width));
      offset += width;
    }
  }
  return {
    origin,
    size,
    root: rootAt(tree, size),
    prev: tree.nodeHash(0, size - 1),
    border,
    proof: buildInclusionProof(tree, size - 1, size),
  };
}

/** The note body of a boundary. */
export function boundaryText(b: Boundary): string {
  const lines = [
    BOUNDARY_FORMAT,
    b.origin,
    String(b.size),
    b.root.toString('base64'),
    `prev ${b.prev.toString('base64')}`,
    ...b.border.map((h) => `border ${h.toString('base64')}`),
    ...b.proof.map((h) => `proof ${h.toString('base64')}`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Signs a boundary with the trail's checkpoint key; returns the signed note. */
export function signBoundary(b: Boundary, signer: NoteSigner): string {
  return signNote(boundaryText(b), signer);
}

function hashOf(text: string, what: string): Buffer {
  if (!HASH_RE.test(text)) invalid(`${what} is not base64 of 32 bytes`);
  const h = Buffer.from(text, 'base64');
  if (h.toString('base64') !== text) invalid(`${what} is not canonical base64`);
  return h;
}

/**
 * Parses a boundary note body and checks it is self-consistent: the border's root is the root
 * line and the proof leads from `prev` at N-1 to that root.
 * @throws AuditError BOUNDARY_INVALID naming what is wrong.
 */
export function parseBoundary(text: string): Boundary {
  if (!text.endsWith('\n')) invalid('does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [format, origin, size, root, prevLine, ...rest] = lines;
  if (format !== BOUNDARY_FORMAT) invalid(`first line is not ${BOUNDARY_FORMAT}`);
  if (origin === undefined || origin === '') invalid('no origin');
  if (size === undefined || !SIZE_RE.test(size) || !Number.isSafeInteger(Number(size)))
    invalid('size is not a positive decimal number');
  if (root === undefined) invalid('no root');
  if (prevLine === undefined || !prevLine.startsWith('prev ')) invalid('no prev line');
  const b: Boundary = {
    origin,
    size: Number(size),
    root: hashOf(root, 'root'),
    prev: hashOf(prevLine.slice(5), 'prev'),
    border: [],
    proof: [],
  };
  for (const line of rest) {
    if (line.startsWith('border ') && b.proof.length === 0) b.border.push(hashOf(line.slice(7), 'border'));
    else if (line.startsWith('proof ')) b.proof.push(hashOf(line.slice(6), 'proof'));
    else invalid(`unexpected line "${line.slice(0, 16)}"`);
  }
  let tree: CompactTree;
  try {
    tree = CompactTree.fromBorder(b.size, b.border);
  } catch {
    invalid(`border does not have one hash per set bit of ${b.size}`);
  }
  if (!tree.root().equals(b.root)) invalid('border does not lead to the root');
  let viaProof: Buffer;
  try {
    viaProof = rootFromInclusionProof(b.size - 1, b.size, b.prev, b.proof);
  } catch {
    invalid('inclusion proof of prev is malformed');
  }
  if (!viaProof.equals(b.root)) invalid(`prev is not leaf ${b.size - 1} of the tree`);
  return b;
}

/**
 * Opens a signed boundary with the trusted checkpoint key and parses it.
 * @throws AuditError CHECKPOINT_MALFORMED, CHECKPOINT_SIGNATURE_INVALID (the envelope),
 *   BOUNDARY_INVALID (the body, or another origin than the key's).
 */
export function openBoundary(note: string, verifier: NoteVerifier): Boundary {
  const b = parseBoundary(openNote(note, verifier));
  if (b.origin !== verifier.name) invalid(`origin ${b.origin} is not ${verifier.name}`);
  return b;
}
