/**
 * Proof building and verification: known answers of transparency-dev/merkle `proof/verify_test.go`
 * on the reference tree of `testonly/constants.go`, the edge cases of its `TestVerifyConsistency`,
 * a naive recursive RFC 9162 reference written here, every tree size up to 64 from a MemoryTree and
 * a TileTree, and any flipped bit failing verification.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditErrorCode, isAuditError } from '../errors.js';
import { REFERENCE_LEAVES_HEX } from '../test-support/reference-tree.js';
import { buildConsistencyProof, buildInclusionProof, rootAt } from './proof-build.js';
import {
  bitLength,
  chainBorderRight,
  decompInclProof,
  innerProofSize,
  onesCount,
  rootFromInclusionProof,
  trailingZeros,
  verifyConsistency,
  verifyInclusion,
} from './proof-verify.js';
import { EMPTY_TREE_ROOT, hashChildren, hashLeaf } from './rfc6962.js';
import { MemoryTree, TileTree, type TreeReader, type TreeWriter } from './tree.js';

// ---- naive RFC 9162 §2.1 reference, straight from the recursive definitions ----

function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function mth(d: readonly Buffer[]): Buffer {
  if (d.length === 0) return Buffer.from(EMPTY_TREE_ROOT);
  if (d.length === 1) return d[0]!;
  const k = largestPow2Below(d.length);
  return hashChildren(mth(d.slice(0, k)), mth(d.slice(k)));
}

function naivePath(m: number, d: readonly Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = largestPow2Below(d.length);
  return m < k
    ? [...naivePath(m, d.slice(0, k)), mth(d.slice(k))]
    : [...naivePath(m - k, d.slice(k)), mth(d.slice(0, k))];
}

function naiveSubproof(m: number, d: readonly Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = largestPow2Below(d.length);
  return m <= k
    ? [...naiveSubproof(m, d.slice(0, k), b), mth(d.slice(k))]
    : [...naiveSubproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

// ---- helpers ----

const hd = (h: string): Buffer => Buffer.from(h, 'hex');
const hexes = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString('hex'));

function codeOf(fn: () => void): AuditErrorCode | 'none' | 'other' {
  try {
    fn();
    return 'none';
  } catch (err) {
    return isAuditError(err) ? err.code : 'other';
  }
}

function flipBit(b: Uint8Array, bit: number): Buffer {
  const out = Buffer.from(b);
  const i = bit % (out.length * 8);
  out[i >> 3]! ^= 1 << (i & 7);
  return out;
}

const LEAVES = Array.from({ length: 64 }, (_, i) => hashLeaf(`leaf ${i}`));

function filled<T extends TreeWriter>(tree: T, n: number): T {
  for (let i = 0; i < n; i++) tree.append(LEAVES[i]!);
  return tree;
}

// ---- reference tree of transparency-dev/merkle testonly/constants.go and proof/verify_test.go ----

const REF_LEAVES = REFERENCE_LEAVES_HEX;
/** testonly.RootHashes() for sizes 1..8. */
const REF_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** verify_test.go `inclusionProofs` (its leaf numbers are 1-based; converted to 0-based indices here). */
const REF_INCLUSION: { index: number; size: number; proof: string[] }[] = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
/** verify_test.go `consistencyProofs`. */
const REF_CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

describe('proofs on the reference tree of transparency-dev/merkle', () => {
  const tree = new MemoryTree();
  const leafHashes = REF_LEAVES.map((l) => hashLeaf(hd(l)));
  for (const l of leafHashes) tree.append(l);

  it('rootAt gives the published root for every size 1..8', () => {
    expect(Array.from({ length: 8 }, (_, i) => rootAt(tree, i + 1).toString('hex'))).toEqual(REF_ROOTS);
  });

  it('rootAt gives the empty tree root for size 0', () => {
    expect(rootAt(tree, 0).equals(EMPTY_TREE_ROOT)).toBe(true);
  });

  describe.each(REF_INCLUSION)(
    'the inclusion proof of leaf $index in size $size',
    ({ index, size, proof }) => {
      it('is built equal to the published one', () => {
        expect(hexes(buildInclusionProof(tree, index, size))).toEqual(proof);
      });
      it('verifies against the published root', () => {
        expect(
          codeOf(() =>
            verifyInclusion(index, size, leafHashes[index]!, proof.map(hd), hd(REF_ROOTS[size - 1]!)),
          ),
        ).toBe('none');
      });
    },
  );

  describe.each(REF_CONSISTENCY)('the consistency proof from $size1 to $size2', ({ size1, size2, proof }) => {
    it('is built equal to the published one', () => {
      expect(hexes(buildConsistencyProof(tree, size1, size2))).toEqual(proof);
    });
    it('verifies against the published roots', () => {
      const [r1, r2] = [hd(REF_ROOTS[size1 - 1]!), hd(REF_ROOTS[size2 - 1]!)];
      expect(codeOf(() => verifyConsistency(size1, size2, proof.map(hd), r1, r2))).toBe('none');
    });
  });
});

describe('verifyConsistency', () => {
  // verify_test.go TestVerifyConsistency, with the rule of the current testdata that size1 == 0 is refused.
  const root1 = Buffer.from("don't care 1");
  const root2 = Buffer.from("don't care 2");
  const empty = Buffer.from(EMPTY_TREE_ROOT);
  const cases: [string, number, number, Buffer, Buffer, Buffer[], boolean][] = [
    ['sizes 0 and 0 with different roots', 0, 0, root1, root2, [], true],
    ['sizes 1 and 1 with different roots', 1, 1, root1, root2, [], true],
    ['sizes 0 and 0 with equal roots (size1 0 is always refused)', 0, 0, root1, root1, [], true],
    ['sizes 1 and 1 with equal roots of any length', 1, 1, root2, root2, [], false],
    ['size1 0 below size2 1', 0, 1, root1, root2, [], true],
    ['size1 1 above size2 0', 1, 0, root1, root2, [], true],
    ['size1 2 above size2 1', 2, 1, root1, root2, [], true],
    ['sizes 1 and 2 with an empty proof', 1, 2, root1, root2, [], true],
    ['sizes 0 and 0 with the empty root against another', 0, 0, empty, root2, [], true],
    ['sizes 0 and 0 with a non-empty proof', 0, 0, empty, empty, [empty], true],
    ['sizes 0 and 1 with a non-empty proof', 0, 1, empty, empty, [empty], true],
    ['sizes 1 and 1 with a non-empty proof', 1, 1, empty, empty, [empty], true],
  ];

  describe.each(cases)('given %s', (_desc, size1, size2, r1, r2, proof, wantErr) => {
    it(wantErr ? 'fails with CONSISTENCY_PROOF_INVALID' : 'passes', () => {
      expect(codeOf(() => verifyConsistency(size1, size2, proof, r1, r2))).toBe(
        wantErr ? 'CONSISTENCY_PROOF_INVALID' : 'none',
      );
    });
  });

  it('rejects sizes that are not safe integers', () => {
    expect(codeOf(() => verifyConsistency(1.5, 2, [EMPTY_TREE_ROOT], EMPTY_TREE_ROOT, EMPTY_TREE_ROOT))).toBe(
      'CONSISTENCY_PROOF_INVALID',
    );
    expect(
      codeOf(() => verifyConsistency(1, 2 ** 64, [EMPTY_TREE_ROOT], EMPTY_TREE_ROOT, EMPTY_TREE_ROOT)),
    ).toBe('CONSISTENCY_PROOF_INVALID');
  });

  it('names expected and computed root2 on a mismatch', () => {
    const tree = filled(new MemoryTree(), 5);
    const wrong = Buffer.alloc(32, 9);
    try {
      verifyConsistency(3, 5, buildConsistencyProof(tree, 3, 5), rootAt(tree, 3), wrong);
      expect.unreachable();
    } catch (err) {
      expect(isAuditError(err, 'CONSISTENCY_PROOF_INVALID')).toBe(true);
      expect((err as { detail: unknown }).detail).toEqual({
        which: 'root2',
        expected: wrong.toString('base64'),
        computed: rootAt(tree, 5).toString('base64'),
      });
    }
  });
});

describe('verifyInclusion', () => {
  const leaf = hashLeaf('data');

  it('passes for a single-entry tree whose root is the leaf hash, with an empty proof', () => {
    expect(codeOf(() => verifyInclusion(0, 1, leaf, [], leaf))).toBe('none');
  });

  describe.each([
    ['an empty leaf hash', 0, 1, Buffer.alloc(0), leaf],
    ['an empty root', 0, 1, leaf, Buffer.alloc(0)],
    ['index 0 in size 0', 0, 0, leaf, leaf],
    ['index 2 in size 1', 2, 1, leaf, leaf],
    ['index 1 in size 0', 1, 0, leaf, leaf],
    ['a negative index', -1, 1, leaf, leaf],
    ['an index of 2^64 (a wrapped Go uint64)', 2 ** 64, 2 ** 64 + 1, leaf, leaf],
    ['a fractional size', 0, 1.5, leaf, leaf],
  ])('given %s', (_desc, index, size, leafHash, root) => {
    it('fails with INCLUSION_PROOF_INVALID', () => {
      expect(codeOf(() => verifyInclusion(index, size, leafHash, [], root))).toBe('INCLUSION_PROOF_INVALID');
    });
  });

  it('fails with INCLUSION_PROOF_INVALID when a proof hash is not 32 bytes', () => {
    const tree = filled(new MemoryTree(), 2);
    const short = [buildInclusionProof(tree, 0, 2)[0]!.subarray(0, 31)];
    expect(codeOf(() => verifyInclusion(0, 2, LEAVES[0]!, short, rootAt(tree, 2)))).toBe(
      'INCLUSION_PROOF_INVALID',
    );
  });

  it('names expected and computed roots on a mismatch', () => {
    const wrong = Buffer.alloc(32, 1);
    try {
      verifyInclusion(0, 1, leaf, [], wrong);
      expect.unreachable();
    } catch (err) {
      expect(isAuditError(err, 'INCLUSION_PROOF_INVALID')).toBe(true);
      expect((err as { detail: unknown }).detail).toEqual({
        expected: wrong.toString('base64'),
        computed: leaf.toString('base64'),
      });
    }
  });
});

describe('bit helpers', () => {
  const big = (x: number): bigint => BigInt(x);
  const bigLen = (x: bigint): number => (x === 0n ? 0 : x.toString(2).length);

  it('agree with BigInt arithmetic on every safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (x) => {
        expect(bitLength(x)).toBe(bigLen(big(x)));
        expect(onesCount(x)).toBe([...big(x).toString(2)].filter((c) => c === '1').length);
        if (x > 0) {
          const bits = big(x).toString(2);
          expect(trailingZeros(x)).toBe(bits.length - 1 - bits.lastIndexOf('1'));
        }
      }),
    );
  });

  it('are exact at the edges 2^31, 2^32, 2^53 − 1', () => {
    expect([bitLength(2 ** 31), bitLength(2 ** 32 - 1), bitLength(2 ** 32), bitLength(2 ** 53 - 1)]).toEqual([
      32, 32, 33, 53,
    ]);
    expect([
      trailingZeros(2 ** 31),
      trailingZeros(2 ** 32),
      trailingZeros(2 ** 52),
      trailingZeros(0),
    ]).toEqual([31, 32, 52, 64]);
    expect(onesCount(2 ** 53 - 1)).toBe(53);
  });

  it('decompInclProof agrees with BigInt arithmetic for sizes up to 2^53 − 1', () => {
    fc.assert(
      fc.property(
        fc.maxSafeNat().filter((s) => s > 0),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (size, r) => {
          const index = Math.min(size - 1, Math.floor(r * size));
          const inner = bigLen(big(index) ^ big(size - 1));
          const border = [...(big(index) >> BigInt(inner)).toString(2)].filter((c) => c === '1').length;
          expect(innerProofSize(index, size)).toBe(inner);
          expect(decompInclProof(index, size)).toEqual([inner, border]);
        },
      ),
    );
  });

  it('rootFromInclusionProof chains beyond 2^32 entries as a BigInt reference does', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2 ** 33, max: 2 ** 53 - 1 }), fc.nat(), (size, seed) => {
        const index = (seed * 7919) % size;
        const [inner, border] = decompInclProof(index, size);
        const proof = Array.from({ length: inner + border }, (_, i) => hashLeaf(`p${i}`));
        let want: Buffer = LEAVES[0]!;
        for (let i = 0; i < inner; i++) {
          want =
            (big(index) >> BigInt(i)) & 1n ? hashChildren(proof[i]!, want) : hashChildren(want, proof[i]!);
        }
        want = chainBorderRight(want, proof.slice(inner));
        expect(rootFromInclusionProof(index, size, LEAVES[0]!, proof).equals(want)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});

describe('proofs for every tree size up to 64', () => {
  const naiveRoots = Array.from({ length: 65 }, (_, n) => mth(LEAVES.slice(0, n)));
  let dir = '';
  let tile: TileTree | undefined;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-proof-'));
    const t = TileTree.open(path.join(dir, 'tree'));
    // Flushed in part, so node reads come from the file and from the append buffer.
    for (let i = 0; i < 64; i++) {
      t.append(LEAVES[i]!);
      if (i === 39) t.flush();
    }
    tile = t;
  });

  afterAll(() => {
    tile?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const trees: [string, () => TreeReader][] = [
    ['a MemoryTree', () => filled(new MemoryTree(), 64)],
    ['a TileTree', () => tile!],
  ];

  describe.each(trees)('built from %s', (_name, getTree) => {
    it('rootAt equals the naive MTH', () => {
      const tree = getTree();
      for (let n = 0; n <= 64; n++) expect(rootAt(tree, n).equals(naiveRoots[n]!)).toBe(true);
    });

    it('every inclusion proof equals the naive one and verifies', () => {
      const tree = getTree();
      for (let n = 1; n <= 64; n++) {
        for (let i = 0; i < n; i++) {
          const proof = buildInclusionProof(tree, i, n);
          expect(hexes(proof)).toEqual(hexes(naivePath(i, LEAVES.slice(0, n))));
          expect(codeOf(() => verifyInclusion(i, n, LEAVES[i]!, proof, naiveRoots[n]!))).toBe('none');
        }
      }
    });

    it('every consistency proof equals the naive one and verifies', () => {
      const tree = getTree();
      for (let n = 1; n <= 64; n++) {
        for (let m = 1; m <= n; m++) {
          const proof = buildConsistencyProof(tree, m, n);
          expect(hexes(proof)).toEqual(hexes(naiveSubproof(m, LEAVES.slice(0, n), true)));
          expect(codeOf(() => verifyConsistency(m, n, proof, naiveRoots[m]!, naiveRoots[n]!))).toBe('none');
        }
      }
    });

    it('an inclusion proof with a hash added or removed fails', () => {
      const tree = getTree();
      for (let n = 1; n <= 64; n++) {
        for (let i = 0; i < n; i++) {
          const proof = buildInclusionProof(tree, i, n);
          const longer = [...proof, naiveRoots[n]!];
          expect(codeOf(() => verifyInclusion(i, n, LEAVES[i]!, longer, naiveRoots[n]!))).toBe(
            'INCLUSION_PROOF_INVALID',
          );
          if (proof.length > 0) {
            const shorter = proof.slice(1);
            expect(codeOf(() => verifyInclusion(i, n, LEAVES[i]!, shorter, naiveRoots[n]!))).toBe(
              'INCLUSION_PROOF_INVALID',
            );
          }
        }
      }
    });
  });

  const sizeIndex = fc
    .integer({ min: 1, max: 64 })
    .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 })));
  const sizePair = fc
    .integer({ min: 1, max: 64 })
    .chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n)));

  it('any flipped bit in an inclusion proof hash, the leaf or the root fails', () => {
    const tree = filled(new MemoryTree(), 64);
    fc.assert(
      fc.property(sizeIndex, fc.nat(), fc.nat({ max: 255 }), ([n, i], pick, bit) => {
        const proof = buildInclusionProof(tree, i, n);
        let leaf = LEAVES[i]!;
        let root = naiveRoots[n]!;
        const target = pick % (proof.length + 2);
        if (target === proof.length) leaf = flipBit(leaf, bit);
        else if (target === proof.length + 1) root = flipBit(root, bit);
        else proof[target] = flipBit(proof[target]!, bit);
        expect(codeOf(() => verifyInclusion(i, n, leaf, proof, root))).toBe('INCLUSION_PROOF_INVALID');
      }),
      { numRuns: 2000 },
    );
  });

  it('any flipped bit in a consistency proof hash or either root fails', () => {
    const tree = filled(new MemoryTree(), 64);
    fc.assert(
      fc.property(sizePair, fc.nat(), fc.nat({ max: 255 }), ([m, n], pick, bit) => {
        const proof = buildConsistencyProof(tree, m, n);
        let r1 = naiveRoots[m]!;
        let r2 = naiveRoots[n]!;
        const target = pick % (proof.length + 2);
        if (target === proof.length) r1 = flipBit(r1, bit);
        else if (target === proof.length + 1) r2 = flipBit(r2, bit);
        else proof[target] = flipBit(proof[target]!, bit);
        expect(codeOf(() => verifyConsistency(m, n, proof, r1, r2))).toBe('CONSISTENCY_PROOF_INVALID');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('proof builders given bad arguments', () => {
  const tree = filled(new MemoryTree(), 10);

  it.each([
    ['index', () => buildInclusionProof(tree, 10, 10)],
    ['index', () => buildInclusionProof(tree, -1, 10)],
    ['size', () => buildInclusionProof(tree, 0, 11)],
    ['size', () => buildInclusionProof(tree, 0, 0)],
    ['size1', () => buildConsistencyProof(tree, 0, 5)],
    ['size1', () => buildConsistencyProof(tree, 6, 5)],
    ['size2', () => buildConsistencyProof(tree, 1, 11)],
    ['size', () => rootAt(tree, 11)],
    ['size', () => rootAt(tree, 2.5)],
  ])('throw USAGE naming %s', (name, fn) => {
    try {
      fn();
      expect.unreachable();
    } catch (err) {
      expect(isAuditError(err, 'USAGE')).toBe(true);
      expect((err as Error).message.startsWith(`${name}:`)).toBe(true);
    }
  });

  it('return an empty consistency proof for equal sizes', () => {
    expect(buildConsistencyProof(tree, 7, 7)).toEqual([]);
  });
});
