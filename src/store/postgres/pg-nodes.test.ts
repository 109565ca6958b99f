import { describe, expect, it } from 'vitest';
import { hashChildren, hashLeaf } from '../../chain/rfc6962.js';
import { completedNodeQueries, StoredLevelBuilder } from './pg-nodes.js';

/** RFC 6962 hash of a complete subtree, the naive way. */
function subtreeHash(leaves: Buffer[]): Buffer {
  let level = leaves;
  while (level.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(hashChildren(level[i]!, level[i + 1]!));
    level = up;
  }
  return level[0]!;
}

describe('StoredLevelBuilder', () => {
  it('yields each node of levels 8 and 16 at its last leaf, equal to the naive subtree hash', () => {
    const n = 2 ** 16 + 300;
    const leaves = Array.from({ length: n }, (_, i) => hashLeaf(`entry ${i}`));
    const b = new StoredLevelBuilder();
    const got: Array<{ at: number; level: number; idx: number; hash: Buffer }> = [];
    for (const [i, leaf] of leaves.entries()) for (const node of b.add(leaf)) got.push({ at: i, ...node });
    expect(got.filter((x) => x.level === 8)).toHaveLength(Math.floor(n / 256));
    expect(got.filter((x) => x.level === 16)).toHaveLength(1);
    for (const x of got) {
      const width = 2 ** x.level;
      expect(x.at).toBe((x.idx + 1) * width - 1);
      expect(x.hash.equals(subtreeHash(leaves.slice(x.idx * width, (x.idx + 1) * width)))).toBe(true);
    }
  });
});

describe('completedNodeQueries', () => {
  it('reads the nodes whose last leaf is in the range, per level', () => {
    expect(completedNodeQueries(7, 0, 255)).toEqual([]);
    expect(completedNodeQueries(7, 0, 256).map((q) => q.values)).toEqual([[7, 8, 0, 1]]);
    expect(completedNodeQueries(7, 256, 512).map((q) => q.values)).toEqual([[7, 8, 1, 2]]);
    expect(completedNodeQueries(7, 60_000, 70_000).map((q) => q.values)).toEqual([
      [7, 8, 234, 273],
      [7, 16, 0, 1],
    ]);
  });
});
