/**
 * The Merkle nodes of a run of consecutive leaves (chain/entry-run.ts): every complete RFC 6962
 * subtree that lies inside the run, hashed where the run was checked (a verifying thread), so that
 * the verifier's own tree takes the run as a few whole subtrees (O(log n) hashes) instead of one
 * leaf at a time. Node k of level j covers leaves [k·2^j, (k+1)·2^j) of the whole tree; a run of
 * leaves [first, first + n) holds the nodes of each level whose leaves are all inside it.
 */
import * as crypto from 'node:crypto';
import type { CompactTree } from './compact-tree.js';
import { RFC6962_NODE_PREFIX } from './rfc6962.js';

const sha256Latin1: (data: Uint8Array) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'binary')
    : (data) => crypto.createHash('sha256').update(data).digest('binary');

/** Index range [from, to) of the level-`level` nodes inside leaves [first, first + n). */
function levelRange(first: number, n: number, level: number): [number, number] {
  const size = 2 ** level;
  const from = Math.ceil(first / size);
  return [from, Math.max(from, Math.floor((first + n) / size))];
}

/**
 * The nodes of levels 1, 2, ... inside the run whose leaf hashes (32 bytes each) are `leaves`,
 * the first being leaf `first` of the tree: each level's nodes in order, levels one after another.
 */
export function hashRunNodes(first: number, leaves: Uint8Array): Uint8Array {
  const n = leaves.length / 32;
  let total = 0;
  for (let level = 1; ; level++) {
    const [from, to] = levelRange(first, n, level);
    if (to === from) break;
    total += to - from;
  }
  const out = new Uint8Array(32 * total);
  const input = Buffer.alloc(65);
  input[0] = RFC6962_NODE_PREFIX;
  let below = leaves;
  let belowOff = 0;
  let [belowFrom] = levelRange(first, n, 0);
  let at = 0;
  for (let level = 1; ; level++) {
    const [from, to] = levelRange(first, n, level);
    if (to === from) break;
    const levelOff = at;
    for (let k = from; k < to; k++) {
      const child = belowOff + 32 * (2 * k - belowFrom);
      for (let i = 0; i < 64; i++) input[1 + i] = below[child + i]!;
      const h = sha256Latin1(input);
      for (let i = 0; i < 32; i++) out[at + i] = h.charCodeAt(i);
      at += 32;
    }
    below = out;
    belowOff = levelOff;
    belowFrom = from;
  }
  return out;
}

/**
 * Where node `index` of `level` (≥ 1) is among the nodes of the run of leaves [first, first + n)
 * that {@link hashRunNodes} gives, counted in hashes: the levels below it come first.
 */
export function runNodeAt(first: number, n: number, level: number, index: number): number {
  let at = 0;
  for (let j = 1; j < level; j++) {
    const [a, b] = levelRange(first, n, j);
    at += b - a;
  }
  return at + index - levelRange(first, n, level)[0];
}

/**
 * Appends leaves [from, to) of a run (leaves [first, first + n) of the tree, with its nodes from
 * {@link hashRunNodes}) to `tree`, as the largest complete subtrees that make up the range.
 * Requires `tree.size === from` and first <= from <= to <= first + n.
 */
export function appendRunRange(
  tree: CompactTree,
  run: { firstSeq: number; leaves: Uint8Array; nodes: Uint8Array },
  from: number,
  to: number,
): void {
  const { firstSeq: first, leaves, nodes } = run;
  const n = leaves.length / 32;
  for (let x = from; x < to; ) {
    let level = 0;
    while (x % 2 ** (level + 1) === 0 && x + 2 ** (level + 1) <= to) level++;
    let hash: Buffer;
    if (level === 0) hash = Buffer.from(leaves.buffer, leaves.byteOffset + 32 * (x - first), 32);
    else {
      const off = runNodeAt(first, n, level, x / 2 ** level);
      hash = Buffer.from(nodes.buffer, nodes.byteOffset + 32 * off, 32);
    }
    tree.appendSubtree(hash, level);
    x += 2 ** level;
  }
}
