/**
 * Node hashes of a log's Merkle tree as the PostgreSQL store keeps them: leaf hashes in
 * `entries.leaf_hash`, the complete subtrees of height 8, 16, ... in `nodes` (the tlog-tiles
 * stride of the tree files, docs/format.md §5). A node of any height is one range read of the
 * stored level at or below it (at most 128 hashes) reduced pairwise. Pure query building and
 * hashing; the caller runs the query (the writer with its connection, readers through theirs).
 */
import { hashChildren } from '../../chain/rfc6962.js';
import { AuditError } from '../../errors.js';

/** The stored level every this many heights. */
export const PG_NODE_STRIDE = 8;

/** The query that reads the stored hashes under node (level, index) of `log`. */
export function nodeQuery(
  logId: number,
  level: number,
  index: number,
): { text: string; values: unknown[]; n: number } {
  const stored = level - (level % PG_NODE_STRIDE);
  const n = 2 ** (level - stored);
  const start = index * n;
  return stored === 0
    ? {
        text: 'SELECT leaf_hash AS h FROM sealtrail.entries WHERE log_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq',
        values: [logId, start, start + n],
        n,
      }
    : {
        text: 'SELECT hash AS h FROM sealtrail.nodes WHERE log_id = $1 AND level = $4 AND idx >= $2 AND idx < $3 ORDER BY idx',
        values: [logId, start, start + n, stored],
        n,
      };
}

/**
 * Reduces the rows of {@link nodeQuery} to the node's hash.
 * @throws AuditError STORE_IO when hashes are missing (the node is not stored).
 */
export function reduceNodeRows(rows: ReadonlyArray<{ h: Uint8Array }>, n: number, what: string): Buffer {
  if (rows.length !== n) {
    throw new AuditError('STORE_IO', `${what}: ${n - rows.length} stored node hashes missing`);
  }
  let level: Buffer[] = rows.map((r) => Buffer.from(r.h));
  while (level.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(hashChildren(level[i]!, level[i + 1]!));
    level = up;
  }
  return level[0]!;
}

/** A node of a stored level (8, 16, ...) and its hash. */
export interface StoredNode {
  level: number;
  idx: number;
  hash: Buffer;
}

/**
 * Recomputes the nodes of the stored levels from a log's leaf hashes read in order from seq 0,
 * so that a reader can compare them with the `nodes` rows: proofs are built from those rows, and
 * a changed row would otherwise go unseen until a proof fails.
 */
export class StoredLevelBuilder {
  /** Hashes waiting for their siblings, per stored level below the next (0: leaves). */
  private readonly waiting: Buffer[][] = [];
  private readonly completed: number[] = [];
  /** Leaves added so far. */
  size = 0;

  /** Adds the next leaf; returns the nodes of stored levels it completes, lowest first. */
  add(leaf: Buffer): StoredNode[] {
    const out: StoredNode[] = [];
    let hash = leaf;
    for (let j = 0; ; j++) {
      if (this.waiting[j] === undefined) this.waiting[j] = [];
      const w = this.waiting[j]!;
      w.push(hash);
      if (w.length < 2 ** PG_NODE_STRIDE) break;
      hash = reduceNodeRows(
        w.map((h) => ({ h })),
        w.length,
        'nodes',
      );
      w.length = 0;
      const idx = this.completed[j] ?? 0;
      this.completed[j] = idx + 1;
      out.push({ level: (j + 1) * PG_NODE_STRIDE, idx, hash });
    }
    this.size++;
    return out;
  }
}

/**
 * The queries that read the stored nodes completed by the leaves `first` to `end - 1` (one per
 * stored level that has any).
 */
export function completedNodeQueries(
  logId: number,
  first: number,
  end: number,
): Array<{ text: string; values: unknown[] }> {
  const out: Array<{ text: string; values: unknown[] }> = [];
  for (let level = PG_NODE_STRIDE; 2 ** level <= end; level += PG_NODE_STRIDE) {
    // Node idx of this level is completed by leaf (idx + 1) * 2^level - 1.
    const lo = Math.floor(first / 2 ** level);
    const hi = Math.floor(end / 2 ** level);
    if (lo < hi)
      out.push({
        text: 'SELECT level, idx, hash FROM sealtrail.nodes WHERE log_id = $1 AND level = $2 AND idx >= $3 AND idx < $4 ORDER BY idx',
        values: [logId, level, lo, hi],
      });
  }
  return out;
}
