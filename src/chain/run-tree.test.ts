/**
 * A run's Merkle nodes taken as whole subtrees build the same tree as its leaves one by one.
 */
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CompactTree } from './compact-tree.js';
import { appendRunRange, hashRunNodes } from './run-tree.js';

function leafHashes(n: number): Buffer {
  return crypto.randomBytes(32 * n);
}

function oneByOne(leaves: Buffer, size: number): CompactTree {
  const tree = new CompactTree();
  for (let i = 0; i < size; i++) tree.append(leaves.subarray(32 * i, 32 * i + 32));
  return tree;
}

describe('appendRunRange', () => {
  it('gives the root of one-by-one appends at every split, for runs at any offset', () => {
    const all = leafHashes(300);
    for (const [first, n] of [
      [0, 1],
      [0, 64],
      [1, 63],
      [5, 200],
      [64, 128],
      [77, 223],
    ] as const) {
      const run: { firstSeq: number; leaves: Uint8Array; nodes: Uint8Array } = {
        firstSeq: first,
        leaves: all.subarray(32 * first, 32 * (first + n)),
        nodes: new Uint8Array(),
      };
      run.nodes = hashRunNodes(first, run.leaves);
      for (const split of [first, first + 1, first + Math.floor(n / 3), first + n - 1, first + n]) {
        const tree = oneByOne(all, first);
        appendRunRange(tree, run, first, split);
        expect(tree.root()).toEqual(oneByOne(all, split).root());
        appendRunRange(tree, run, split, first + n);
        expect(tree.size).toBe(first + n);
        expect(tree.root()).toEqual(oneByOne(all, first + n).root());
      }
    }
  });
});

describe('CompactTree.appendSubtree', () => {
  describe('when the size is not a multiple of the subtree', () => {
    it('fails with USAGE', () => {
      const tree = oneByOne(leafHashes(3), 3);
      expect(() => tree.appendSubtree(Buffer.alloc(32), 1)).toThrow(
        expect.objectContaining({ code: 'USAGE' }),
      );
    });
  });
});
