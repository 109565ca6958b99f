/**
 * Inclusion and consistency proofs from a trail directory, against its latest signed checkpoint,
 * in the shape of the CLI contract: hashes base64, `leaf` the committed bytes (without the RFC 6962
 * 0x00 prefix), `checkpoint` the C2SP signed note. Reads O(log n) persisted node hashes.
 */
import {
  buildConsistencyProof,
  buildInclusionProof,
  type Checkpoint,
  hashLeaf,
  NoteVerifier,
  openCheckpoint,
  rootAt,
  splitLine,
  TileTree,
  verifyConsistency,
  verifyInclusion,
} from '../chain/index.js';
import { AuditError } from '../errors.js';
import { DirSource } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';

/** An inclusion proof as `sealtrail prove --json` prints it. */
export interface InclusionProofDoc {
  origin: string;
  index: number;
  treeSize: number;
  leaf: string;
  leafHash: string;
  hashes: string[];
  checkpoint: string;
}

/** A consistency proof as `sealtrail consistency --json` prints it. */
export interface ConsistencyProofDoc {
  origin: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  hashes: string[];
}

/** A trail directory or an opened PostgreSQL log. */
type ProofSource = string | DirSource | PgSource;

function sourceOf(from: ProofSource): DirSource | PgSource {
  return typeof from === 'string' ? new DirSource(from) : from;
}

/** The node hashes of the trail's tree, read-only. */
function openTree(source: DirSource | PgSource) {
  return source instanceof DirSource
    ? TileTree.open(source.layout.treeDir, { readOnly: true })
    : source.openTree();
}

function latestSigned(source: DirSource | PgSource): { note: string; cp: Checkpoint } {
  const note = source.latestCheckpoint();
  if (note === undefined) {
    const where = source instanceof DirSource ? source.layout.dir : source.name;
    throw new AuditError('CHECKPOINT_MISSING', `no checkpoint in ${where} yet`);
  }
  return { note, cp: openCheckpoint(note, NoteVerifier.fromVkey(source.meta.verifierKey)) };
}

/** Finds the seq of the entry with this id. */
export function findSeqById(source: DirSource | PgSource, id: string): number {
  const seq = source.findSeqById(id);
  if (seq === undefined) throw new AuditError('NOT_FOUND', `no entry with id ${id}`, { field: 'id' });
  return seq;
}

/**
 * The inclusion proof of entry `seq` in the tree of the latest checkpoint.
 * @throws AuditError NOT_FOUND (no such entry, or not yet covered by a checkpoint), CHECKPOINT_MISSING.
 */
export function proveInclusion(
  dir: ProofSource,
  target: { seq: number } | { id: string },
): InclusionProofDoc {
  const source = sourceOf(dir);
  const seq = 'seq' in target ? target.seq : findSeqById(source, target.id);
  const { note, cp } = latestSigned(source);
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= cp.size) {
    throw new AuditError(
      'NOT_FOUND',
      `entry ${seq} is not covered by the latest checkpoint (size ${cp.size})`,
      {
        field: 'seq',
      },
    );
  }
  const line = source.lineAt(seq);
  if (line === undefined) {
    const pruned = source instanceof DirSource ? (source.boundary()?.size ?? 0) : 0;
    throw new AuditError(
      'NOT_FOUND',
      seq < pruned
        ? `entry ${seq} was pruned by retention (the trail starts at ${pruned})`
        : `no entry ${seq}`,
      { field: 'seq' },
    );
  }
  const committed = splitLine(line).committed;
  const leafHash = hashLeaf(committed);
  const tree = openTree(source);
  try {
    const hashes = buildInclusionProof(tree, seq, cp.size);
    // A proof is checked before it is handed out: changed tree files or a changed entry give no
    // proof, rather than one that fails wherever it is checked.
    signedOrThrow(() => verifyInclusion(seq, cp.size, leafHash, hashes, cp.rootHash), `entry ${seq}`);
    return {
      origin: cp.origin,
      index: seq,
      treeSize: cp.size,
      leaf: Buffer.from(committed).toString('base64'),
      leafHash: leafHash.toString('base64'),
      hashes: hashes.map((h) => h.toString('base64')),
      checkpoint: note,
    };
  } finally {
    tree.close();
  }
}

/** ROOT_MISMATCH: what the persisted tree gave for `what` does not lead to the signed checkpoint. */
function notSigned(what: string): AuditError {
  return new AuditError(
    'ROOT_MISMATCH',
    `${what} and the stored Merkle tree (tree/ of a directory, the nodes table of a PostgreSQL log) do not lead to the signed checkpoint: entries or stored tree hashes were changed; run sealtrail verify`,
  );
}

/**
 * Runs a proof check (verifyInclusion, verifyConsistency) of what the persisted tree gave.
 * @throws AuditError ROOT_MISMATCH naming `what` when it fails.
 */
function signedOrThrow(check: () => void, what: string): void {
  try {
    check();
  } catch (err) {
    throw err instanceof AuditError ? notSigned(what) : err;
  }
}

/**
 * The consistency proof between tree sizes `size1` and `size2` (default: the latest checkpoint).
 * @throws AuditError USAGE when the sizes are out of range, CHECKPOINT_MISSING.
 */
export function proveConsistency(dir: ProofSource, size1: number, size2?: number): ConsistencyProofDoc {
  const source = sourceOf(dir);
  const { cp } = latestSigned(source);
  const to = size2 ?? cp.size;
  const range = (field: 'from' | 'to', n: number): void => {
    if (!Number.isSafeInteger(n) || n < 1 || n > cp.size)
      throw new AuditError(
        'USAGE',
        `${field}: expected a tree size from 1 to ${cp.size} (the latest checkpoint)`,
        {
          field,
        },
      );
  };
  range('from', size1);
  range('to', to);
  if (size1 > to) throw new AuditError('USAGE', `from: larger than the end size (${to})`, { field: 'from' });
  const tree = openTree(source);
  try {
    const root1 = rootAt(tree, size1);
    const root2 = rootAt(tree, to);
    // root2 is the signed root, or a prefix of it; the proof then binds root1 to it as well.
    if (to === cp.size) {
      if (!root2.equals(cp.rootHash)) throw notSigned(`the root at size ${to}`);
    } else {
      const toSigned = buildConsistencyProof(tree, to, cp.size);
      signedOrThrow(
        () => verifyConsistency(to, cp.size, toSigned, root2, cp.rootHash),
        `the root at size ${to}`,
      );
    }
    const hashes = buildConsistencyProof(tree, size1, to);
    signedOrThrow(
      () => verifyConsistency(size1, to, hashes, root1, root2),
      `the proof from ${size1} to ${to}`,
    );
    return {
      origin: cp.origin,
      size1,
      size2: to,
      root1: root1.toString('base64'),
      root2: root2.toString('base64'),
      hashes: hashes.map((h) => h.toString('base64')),
    };
  } finally {
    tree.close();
  }
}
