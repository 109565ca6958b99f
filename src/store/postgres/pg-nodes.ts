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
