/**
 * MemoryTree and TileTree: node hashes against the reference tree of transparency-dev/merkle
 * `testonly/constants.go` and a naive MTH written here, the on-disk layout of docs/format.md §5
 * (level-00/08/16 files, modes), reopening, truncation, crash repair on open and read-only use.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditErrorCode, isAuditError } from '../errors.js';
import { REFERENCE_LEAVES_HEX } from '../test-support/reference-tree.js';
import { buildConsistencyProof, buildInclusionProof, rootAt } from './proof-build.js';
import { verifyConsistency, verifyInclusion } from './proof-verify.js';
import { EMPTY_TREE_ROOT, hashChildren, hashLeaf } from './rfc6962.js';
import { MemoryTree, TileTree, type TreeWriter } from './tree.js';

/** Naive RFC 9162 §2.1.1 MTH. */
function mth(d: readonly Buffer[]): Buffer {
  if (d.length === 0) return Buffer.from(EMPTY_TREE_ROOT);
  if (d.length === 1) return d[0]!;
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return hashChildren(mth(d.slice(0, k)), mth(d.slice(k)));
}

function codeOf(fn: () => unknown): AuditErrorCode | 'none' | 'other' {
  try {
    fn();
    return 'none';
  } catch (err) {
    return isAuditError(err) ? err.code : 'other';
  }
}

const leafCache: Buffer[] = [];
function leaf(i: number): Buffer {
  for (let j = leafCache.length; j <= i; j++) leafCache.push(hashLeaf(`leaf ${j}`));
  return leafCache[i]!;
}
const leaves = (from: number, to: number): Buffer[] =>
  Array.from({ length: to - from }, (_, i) => leaf(from + i));

function appendRange(tree: TreeWriter, from: number, to: number): void {
  for (let i = from; i < to; i++) tree.append(leaf(i));
}

function fileHashes(file: string): Buffer[] {
  const bytes = fs.readFileSync(file);
  return Array.from({ length: bytes.length / 32 }, (_, i) => bytes.subarray(i * 32, (i + 1) * 32));
}

const hexes = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString('hex'));

let tmp = '';
let dirCount = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-tree-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
/** A fresh, not yet existing tree directory under the test's temp dir (call it inside a hook or test). */
function freshDir(): string {
  if (tmp === '') throw new Error('freshDir() called before the temp dir exists');
  return path.join(tmp, `t${dirCount++}`, 'tree');
}

const L = (dir: string, level: number): string =>
  path.join(dir, `level-${String(level).padStart(2, '0')}.hashes`);

describe('MemoryTree', () => {
  it('has size 0 and the empty tree root when new', () => {
    const t = new MemoryTree();
    expect(t.size).toBe(0);
    expect(t.root().equals(EMPTY_TREE_ROOT)).toBe(true);
  });

  it('serves the node hashes of the reference tree of testonly/constants.go', () => {
    const t = new MemoryTree();
    const inputs = REFERENCE_LEAVES_HEX;
    for (const x of inputs) t.append(hashLeaf(Buffer.from(x, 'hex')));
    const levels = [1, 2, 3].map((level) =>
      Array.from({ length: 8 / 2 ** level }, (_, i) => t.nodeHash(level, i).toString('hex')),
    );
    expect(levels).toEqual([
      [
        'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
        '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
        '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
        'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      ],
      [
        'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
        '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
      ],
      ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
    ]);
  });

  it('has the naive MTH as its root after every append up to 300 leaves', () => {
    const t = new MemoryTree();
    for (let n = 1; n <= 300; n++) {
      t.append(leaf(n - 1));
      expect(t.root().equals(mth(leaves(0, n)))).toBe(true);
    }
  });

  it('equals a tree built directly after any truncate and re-append', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.nat(),
        fc.integer({ min: 0, max: 200 }),
        (n, cut, more) => {
          const t = new MemoryTree();
          appendRange(t, 0, n);
          const keep = cut % (n + 1);
          t.truncate(keep);
          const extra = Array.from({ length: more }, (_, i) => hashLeaf(`other ${i}`));
          for (const h of extra) t.append(h);
          const want = [...leaves(0, keep), ...extra];
          expect(t.size).toBe(want.length);
          expect(t.root().equals(mth(want))).toBe(true);
          if (want.length >= 4) expect(t.nodeHash(2, 0).equals(mth(want.slice(0, 4)))).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('keeps its own copy of an appended leaf hash', () => {
    const t = new MemoryTree();
    const h = Buffer.from(leaf(0));
    t.append(h);
    h.fill(0);
    expect(t.nodeHash(0, 0).equals(leaf(0))).toBe(true);
    expect(t.root().equals(leaf(0))).toBe(true);
  });

  it('rejects bad arguments with USAGE', () => {
    const t = new MemoryTree();
    appendRange(t, 0, 5);
    expect(codeOf(() => t.append(Buffer.alloc(31)))).toBe('USAGE');
    expect(codeOf(() => t.nodeHash(1, 2))).toBe('USAGE'); // leaves 4..5: not complete
    expect(codeOf(() => t.nodeHash(0, 5))).toBe('USAGE');
    expect(codeOf(() => t.nodeHash(-1, 0))).toBe('USAGE');
    expect(codeOf(() => t.truncate(6))).toBe('USAGE');
    expect(t.size).toBe(5);
  });
});

describe('TileTree', () => {
  it('creates its directory with mode 0700 and its files with mode 0600', () => {
    const dir = freshDir();
    const t = TileTree.open(dir);
    appendRange(t, 0, 300);
    t.flush();
    t.sync();
    t.close();
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.readdirSync(dir).sort()).toEqual(['level-00.hashes', 'level-08.hashes']);
    for (const f of fs.readdirSync(dir)) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
  });

  it('has the same size, root and node hashes when reopened after flush', () => {
    const dir = freshDir();
    const t = TileTree.open(dir);
    appendRange(t, 0, 1000);
    t.flush();
    const before = {
      size: t.size,
      root: t.root(),
      nodes: [t.nodeHash(9, 0), t.nodeHash(3, 124), t.nodeHash(8, 2)],
    };
    t.close();
    const again = TileTree.open(dir);
    expect(again.size).toBe(before.size);
    expect(again.root().equals(before.root)).toBe(true);
    expect(hexes([again.nodeHash(9, 0), again.nodeHash(3, 124), again.nodeHash(8, 2)])).toEqual(
      hexes(before.nodes),
    );
    expect(again.root().equals(mth(leaves(0, 1000)))).toBe(true);
    again.close();
  });

  it('serves hashes still buffered, and drops them when closed without flush', () => {
    const dir = freshDir();
    const t = TileTree.open(dir);
    appendRange(t, 0, 600);
    expect(t.nodeHash(8, 1).equals(mth(leaves(256, 512)))).toBe(true);
    expect(t.nodeHash(0, 599).equals(leaf(599))).toBe(true);
    expect(fs.statSync(L(dir, 0)).size).toBe(0);
    t.close();
    const again = TileTree.open(dir);
    expect(again.size).toBe(0);
    again.close();
  });

  it('writes buffered leaf hashes on its own past 1 MiB', () => {
    const dir = freshDir();
    const t = TileTree.open(dir);
    appendRange(t, 0, 40_000);
    expect(fs.statSync(L(dir, 0)).size).toBe(32_768 * 32);
    expect(fs.statSync(L(dir, 8)).size).toBe(128 * 32);
    t.close();
  });

  describe('crossing 256 and 65,536 leaves', () => {
    const N = 65_536 + 700;
    let dir = '';
    let tile: TileTree;
    const mem = new MemoryTree();

    beforeAll(() => {
      dir = freshDir();
      tile = TileTree.open(dir);
      appendRange(tile, 0, N);
      appendRange(mem, 0, N);
      tile.flush();
    });
    afterAll(() => tile.close());

    it('writes level-00, level-08 and level-16 with the hashes of their complete subtrees', () => {
      expect(hexes(fileHashes(L(dir, 0)))).toEqual(hexes(leaves(0, N)));
      const level8 = fileHashes(L(dir, 8));
      expect(level8.length).toBe(Math.floor(N / 256));
      for (const k of [0, 1, 255, 256, level8.length - 1]) {
        expect(level8[k]!.equals(mth(leaves(k * 256, (k + 1) * 256)))).toBe(true);
      }
      expect(hexes(fileHashes(L(dir, 16)))).toEqual(hexes([mth(leaves(0, 65_536))]));
      expect(fs.existsSync(L(dir, 24))).toBe(false);
    });

    it('has the naive MTH as its root, also when reopened', () => {
      const want = mth(leaves(0, N));
      expect(tile.root().equals(want)).toBe(true);
      const again = TileTree.open(dir, { readOnly: true });
      expect(again.size).toBe(N);
      expect(again.root().equals(want)).toBe(true);
      again.close();
    });

    it('gives rootAt the naive MTH at the tile edges', () => {
      for (const n of [255, 256, 257, 65_535, 65_536, 65_537]) {
        expect(rootAt(tile, n).equals(mth(leaves(0, n)))).toBe(true);
      }
    });

    it('serves node hashes of every height equal to those of a MemoryTree', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 16 }), fc.nat(), (level, r) => {
          const index = r % Math.floor(N / 2 ** level);
          expect(tile.nodeHash(level, index).equals(mem.nodeHash(level, index))).toBe(true);
        }),
        { numRuns: 300 },
      );
    });

    it('builds proofs that equal those of a MemoryTree and verify', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: N }), fc.nat(), fc.nat(), (size2, a, b) => {
          const index = a % size2;
          const size1 = 1 + (b % size2);
          const incl = buildInclusionProof(tile, index, size2);
          expect(hexes(incl)).toEqual(hexes(buildInclusionProof(mem, index, size2)));
          verifyInclusion(index, size2, leaf(index), incl, rootAt(mem, size2));
          const cons = buildConsistencyProof(tile, size1, size2);
          expect(hexes(cons)).toEqual(hexes(buildConsistencyProof(mem, size1, size2)));
          verifyConsistency(size1, size2, cons, rootAt(mem, size1), rootAt(mem, size2));
        }),
        { numRuns: 200 },
      );
    });

    it('cuts back below 65,536 leaves and grows again to the same tree', () => {
      tile.truncate(65_000);
      tile.flush();
      expect(fs.statSync(L(dir, 0)).size).toBe(65_000 * 32);
      expect(fs.statSync(L(dir, 8)).size).toBe(253 * 32);
      expect(fs.statSync(L(dir, 16)).size).toBe(0);
      expect(tile.root().equals(mth(leaves(0, 65_000)))).toBe(true);
      appendRange(tile, 65_000, N);
      tile.flush();
      expect(tile.root().equals(mem.root())).toBe(true);
      expect(hexes(fileHashes(L(dir, 16)))).toEqual(hexes([mth(leaves(0, 65_536))]));
    });
  });

  describe('truncate', () => {
    it('cuts the files and the border, and appending again gives the tree of the new leaves', () => {
      const dir = freshDir();
      const t = TileTree.open(dir);
      appendRange(t, 0, 700);
      t.flush();
      appendRange(t, 700, 800); // some buffered, some flushed
      t.truncate(300);
      expect(t.size).toBe(300);
      expect(t.root().equals(mth(leaves(0, 300)))).toBe(true);
      expect(fs.statSync(L(dir, 0)).size).toBe(300 * 32);
      expect(fs.statSync(L(dir, 8)).size).toBe(32);
      const extra = Array.from({ length: 400 }, (_, i) => hashLeaf(`other ${i}`));
      for (const h of extra) t.append(h);
      t.flush();
      t.close();
      const want = [...leaves(0, 300), ...extra];
      const again = TileTree.open(dir);
      expect(again.size).toBe(700);
      expect(again.root().equals(mth(want))).toBe(true);
      expect(hexes(fileHashes(L(dir, 8)))).toEqual(
        hexes([mth(want.slice(0, 256)), mth(want.slice(256, 512))]),
      );
      again.close();
    });

    it('to a size within the unflushed buffer keeps the flushed part', () => {
      const dir = freshDir();
      const t = TileTree.open(dir);
      appendRange(t, 0, 100);
      t.flush();
      appendRange(t, 100, 200);
      t.truncate(150);
      t.flush();
      t.close();
      const again = TileTree.open(dir);
      expect(again.size).toBe(150);
      expect(again.root().equals(mth(leaves(0, 150)))).toBe(true);
      again.close();
    });
  });

  describe('open, after a crash', () => {
    function built(n: number): string {
      const dir = freshDir();
      const t = TileTree.open(dir);
      appendRange(t, 0, n);
      t.flush();
      t.close();
      return dir;
    }

    it('cuts a torn level-00 (7 extra bytes) back to whole hashes', () => {
      const dir = built(1000);
      fs.appendFileSync(L(dir, 0), Buffer.alloc(7, 0xab));
      const t = TileTree.open(dir);
      expect(t.size).toBe(1000);
      expect(t.root().equals(mth(leaves(0, 1000)))).toBe(true);
      expect(fs.statSync(L(dir, 0)).size).toBe(1000 * 32);
      appendRange(t, 1000, 1001);
      t.flush();
      t.close();
      expect(hexes(fileHashes(L(dir, 0)))).toEqual(hexes(leaves(0, 1001)));
    });

    it('recomputes level-08 hashes that are missing, torn or whose file is gone', () => {
      const want = [0, 1, 2].map((k) => mth(leaves(k * 256, (k + 1) * 256)));
      const dir = built(1000);
      fs.truncateSync(L(dir, 8), 32 + 5);
      const t = TileTree.open(dir);
      expect(hexes(fileHashes(L(dir, 8)))).toEqual(hexes(want));
      expect(t.root().equals(mth(leaves(0, 1000)))).toBe(true);
      t.close();

      fs.rmSync(L(dir, 8));
      TileTree.open(dir).close();
      expect(hexes(fileHashes(L(dir, 8)))).toEqual(hexes(want));
      expect(fs.statSync(L(dir, 8)).mode & 0o777).toBe(0o600);
    });

    it('cuts level-08 and level-16 hashes beyond what level-00 holds', () => {
      const dir = built(70_000);
      fs.truncateSync(L(dir, 0), 300 * 32);
      const t = TileTree.open(dir);
      expect(t.size).toBe(300);
      expect(fs.statSync(L(dir, 8)).size).toBe(32);
      expect(fs.statSync(L(dir, 16)).size).toBe(0);
      expect(t.root().equals(mth(leaves(0, 300)))).toBe(true);
      t.close();
    });
  });

  describe('opened read-only', () => {
    it('refuses append, flush and truncate with USAGE', () => {
      const dir = freshDir();
      const w = TileTree.open(dir);
      appendRange(w, 0, 10);
      w.flush();
      w.close();
      const t = TileTree.open(dir, { readOnly: true });
      expect(codeOf(() => t.append(leaf(10)))).toBe('USAGE');
      expect(codeOf(() => t.flush())).toBe('USAGE');
      expect(codeOf(() => t.truncate(5))).toBe('USAGE');
      expect(t.size).toBe(10);
      t.close();
    });

    it('gives the node hashes and root of the writer, across more tiles than it keeps read', () => {
      const dir = freshDir();
      const w = TileTree.open(dir);
      const m = new MemoryTree();
      appendRange(w, 0, 40 * 256 + 77);
      appendRange(m, 0, 40 * 256 + 77);
      w.flush();
      w.close();
      const t = TileTree.open(dir, { readOnly: true });
      // Forward, back, and again: tiles are read, dropped and read again.
      for (const pass of [0, 1, 2]) {
        for (let k = 0; k < 40 * 256 + 77; k += 37) {
          const i = pass === 1 ? 40 * 256 + 76 - k : k;
          for (const level of [0, 1, 5, 7, 8, 9]) {
            const index = Math.floor(i / 2 ** level);
            if ((index + 1) * 2 ** level <= t.size) {
              expect(t.nodeHash(level, index).equals(m.nodeHash(level, index))).toBe(true);
            }
          }
        }
      }
      expect(t.root().equals(m.root())).toBe(true);
      const p = buildInclusionProof(t, 12345 % t.size, t.size);
      expect(hexes(p)).toEqual(hexes(buildInclusionProof(m, 12345 % t.size, t.size)));
      t.close();
    });

    it('fails with STORE_IO and creates nothing when the directory is missing', () => {
      const dir = freshDir();
      expect(codeOf(() => TileTree.open(dir, { readOnly: true }))).toBe('STORE_IO');
      expect(fs.existsSync(path.dirname(dir))).toBe(false);
    });

    it('serves a torn tree correctly without writing to it', () => {
      const dir = freshDir();
      const w = TileTree.open(dir);
      appendRange(w, 0, 1000);
      w.flush();
      w.close();
      fs.appendFileSync(L(dir, 0), Buffer.alloc(7));
      fs.truncateSync(L(dir, 8), 32);
      const t = TileTree.open(dir, { readOnly: true });
      expect(t.size).toBe(1000);
      expect(t.root().equals(mth(leaves(0, 1000)))).toBe(true);
      expect(t.nodeHash(9, 0).equals(mth(leaves(0, 512)))).toBe(true);
      t.close();
      expect(fs.statSync(L(dir, 0)).size).toBe(1000 * 32 + 7);
      expect(fs.statSync(L(dir, 8)).size).toBe(32);
    });
  });

  it('reports an unreadable tree as STORE_IO naming the file', () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    try {
      TileTree.open(dir, { readOnly: true });
      expect.unreachable();
    } catch (err) {
      expect(isAuditError(err, 'STORE_IO')).toBe(true);
      expect((err as { detail: { file: string } }).detail.file).toBe(L(dir, 0));
      expect((err as Error).message).toBe(`tree: open ${L(dir, 0)}: ENOENT`);
    }
  });

  it('refuses use after close with USAGE', () => {
    const t = TileTree.open(freshDir());
    appendRange(t, 0, 3);
    t.close();
    expect(codeOf(() => t.nodeHash(0, 0))).toBe('USAGE');
    expect(codeOf(() => t.append(leaf(3)))).toBe('USAGE');
  });
});
