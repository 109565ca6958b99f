/**
 * The RFC 6962 Merkle tree with its node hashes kept, so that proofs never rehash the log.
 * `TileTree` persists them in the layout of docs/format.md §5: one file per eighth level
 * (`level-00.hashes`, `level-08.hashes`, ...), C2SP tlog-tiles with tile height 8, each holding the
 * 32-byte hashes of the complete subtrees of that height in order. `MemoryTree` keeps every level in
 * memory. Both append in amortized one `hashChildren` per leaf and keep the right border (one hash
 * per set bit of the size) in memory, so `root()` is O(log n) hashes and touches no file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuditError } from '../errors.js';
import { ensureDir } from '../store/fs-safe.js';
import { EMPTY_TREE_ROOT, hashChildren } from './rfc6962.js';
import { hashRunNodes, runNodeAt } from './run-tree.js';

/** Read access to the complete-subtree hashes of a tree. */
export interface TreeReader {
  /** Number of leaves. */
  readonly size: number;
  /**
   * Hash of the complete subtree of height `level` and index `index`, covering leaves
   * [index·2^level, (index+1)·2^level). Requires (index+1)·2^level <= size.
   */
  nodeHash(level: number, index: number): Buffer;
}

/** A tree that grows by appending leaf hashes. */
export interface TreeWriter extends TreeReader {
  /** Appends one 32-byte leaf hash. Amortized one `hashChildren` per leaf. */
  append(leafHash: Buffer): void;
  /** RFC 6962 root of the current size (`EMPTY_TREE_ROOT` at 0), from the in-memory right border. */
  root(): Buffer;
  /** Writes buffered hashes to their files (no fsync). */
  flush(): void;
  /** Fsyncs the files. */
  sync(): void;
  /** Cuts the tree back to its first `size` leaves (size <= this.size). */
  truncate(size: number): void;
  close(): void;
}

const HASH = 32;
/** docs/format.md §5: a file every 8 levels, as C2SP tlog-tiles with tile height 8. */
const TILE_HEIGHT = 8;
/** Leaf hashes buffered before a TileTree flushes on its own (1 MiB), so a long rebuild stays bounded. */
const AUTO_FLUSH_LEAVES = 32 * 1024;
/** Largest tree height a safe-integer size can have. */
const MAX_LEVEL = 53;
/** Tiles a read-only level keeps (8 KiB each): a proof's own, and the tree's right edge. */
const MAX_CACHED_TILES = 16;
/** Hashes of a level read at once by {@link StoredLevelsTree.firstChangedNode} (8 MiB). */
const CHECK_SLICE_HASHES = 256 * 1024;

const LEVEL_FILE = /^level-(\d{2,})\.hashes$/;

function levelFileName(level: number): string {
  return `level-${String(level).padStart(2, '0')}.hashes`;
}

function ioError(what: string, file: string, err: unknown): AuditError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EIO';
  return new AuditError('STORE_IO', `tree: ${what} ${file}: ${code}`, { file }, err);
}

function io<T>(what: string, file: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof AuditError) throw err;
    throw ioError(what, file, err);
  }
}

/** Reduces 2^k consecutive hashes pairwise, in place, to the root of their complete subtree. */
function reduceHashes(hashes: Buffer): Buffer {
  for (let n = hashes.length / HASH; n > 1; n /= 2) {
    for (let i = 0; i < n; i += 2) {
      const left = hashes.subarray(i * HASH, (i + 1) * HASH);
      const right = hashes.subarray((i + 1) * HASH, (i + 2) * HASH);
      hashes.set(hashChildren(left, right), (i / 2) * HASH);
    }
  }
  return hashes.length === HASH ? hashes : Buffer.from(hashes.subarray(0, HASH));
}

/**
 * The hashes of one stored level: `flushed` of them in the file (if any), then `pendingCount` in
 * memory, not yet written. A memory level has no file and never flushes.
 */
class Level {
  fd: number | undefined;
  flushed = 0;
  pending: Buffer = Buffer.alloc(0);
  pendingCount = 0;
  /** Read-only: whole tiles of the file read so far, by tile index (a few, the latest kept). */
  private readonly tiles: Map<number, Buffer> | undefined;

  constructor(
    readonly file: string | undefined,
    cacheTiles = false,
  ) {
    this.tiles = cacheTiles ? new Map() : undefined;
  }

  get count(): number {
    return this.flushed + this.pendingCount;
  }

  push(hash: Uint8Array): void {
    const at = this.pendingCount * HASH;
    if (at + HASH > this.pending.length) {
      const grown = Buffer.alloc(Math.max(8 * HASH, 2 * this.pending.length));
      this.pending.copy(grown, 0, 0, at);
      this.pending = grown;
    }
    this.pending.set(hash, at);
    this.pendingCount++;
  }

  /**
   * The `n` hashes from `start` (requires start + n <= count), as one fresh buffer. A read-only
   * level reads the whole tile (2^8 hashes) around a range that lies in one, once: a proof asks
   * for up to 8 nodes below the same stored node, and one read of a file's pages beats eight.
   */
  read(start: number, n: number): Buffer {
    const per = 2 ** TILE_HEIGHT;
    const tile = Math.floor(start / per);
    if (this.tiles !== undefined && start + n <= Math.min(this.flushed, (tile + 1) * per)) {
      let hashes = this.tiles.get(tile);
      if (hashes === undefined) {
        hashes = this.readFile(tile * per, Math.min(per, this.flushed - tile * per));
        if (this.tiles.size >= MAX_CACHED_TILES) this.tiles.delete(this.tiles.keys().next().value!);
        this.tiles.set(tile, hashes);
      }
      const out = Buffer.allocUnsafe(n * HASH);
      const from = (start - tile * per) * HASH;
      hashes.copy(out, 0, from, from + n * HASH);
      return out;
    }
    return this.readFile(start, n);
  }

  /** {@link read} from the file and the pending hashes. */
  private readFile(start: number, n: number): Buffer {
    const out = Buffer.allocUnsafe(n * HASH);
    const fromFile = Math.max(0, Math.min(start + n, this.flushed) - start);
    if (fromFile > 0) {
      const fd = this.fd;
      const file = this.file ?? '';
      if (fd === undefined) throw ioError('read', file, { code: 'EBADF' });
      let done = 0;
      const want = fromFile * HASH;
      while (done < want) {
        const got = io('read', file, () => fs.readSync(fd, out, done, want - done, start * HASH + done));
        if (got === 0) throw ioError('read', file, { code: 'ESHORTREAD' });
        done += got;
      }
    }
    if (fromFile < n) {
      const from = (start + fromFile - this.flushed) * HASH;
      this.pending.copy(out, fromFile * HASH, from, from + (n - fromFile) * HASH);
    }
    return out;
  }

  /** Writes the pending hashes at the end of the file, creating it if needed. */
  flush(onCreate: () => void): void {
    const file = this.file;
    if (file === undefined || this.pendingCount === 0) return;
    let fd = this.fd;
    if (fd === undefined) {
      fd = io('open', file, () => fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600));
      this.fd = fd;
      onCreate();
    }
    const bytes = this.pendingCount * HASH;
    let done = 0;
    // A positioned write at the known end, never O_APPEND (Linux ignores the position with it).
    while (done < bytes) {
      const wfd = fd;
      done += io('write', file, () =>
        fs.writeSync(wfd, this.pending, done, bytes - done, this.flushed * HASH + done),
      );
    }
    this.flushed += this.pendingCount;
    this.pendingCount = 0;
  }

  /** Keeps the first `n` hashes (n <= count). */
  cut(n: number): void {
    if (n >= this.flushed) {
      this.pendingCount = n - this.flushed;
      return;
    }
    const fd = this.fd;
    const file = this.file;
    if (fd !== undefined && file !== undefined) {
      io('truncate', file, () => fs.ftruncateSync(fd, n * HASH));
    }
    this.flushed = n;
    this.pendingCount = 0;
  }

  close(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) io('close', this.file ?? '', () => fs.closeSync(fd));
  }
}

/**
 * The shared core: levels stored every `stride` heights (1 in memory, 8 on disk), the right border,
 * and node hashes computed from the stored level at or below them.
 */
abstract class StoredLevelsTree implements TreeWriter {
  protected readonly levels: Level[] = [];
  /** border slot h = hash of the complete subtree of height h ending at the last leaf; valid where bit h of size is 1. */
  private readonly border = Buffer.alloc((MAX_LEVEL + 1) * HASH);
  /** False until the border matches `count` (a read-only tree reads it back only if asked for its root). */
  protected borderRead = true;
  protected count = 0;

  protected constructor(private readonly stride: number) {}

  /** Number of leaves. */
  get size(): number {
    return this.count;
  }

  /** The stored level object for height `height` (a multiple of the stride), created on first use. */
  protected level(height: number): Level {
    const i = height / this.stride;
    for (let j = this.levels.length; j <= i; j++) this.levels.push(this.newLevel(j * this.stride));
    return this.levels[i]!;
  }

  protected abstract newLevel(height: number): Level;

  /**
   * Appends one leaf hash (copied): amortized one `hashChildren` per leaf.
   * @throws AuditError USAGE when the hash is not 32 bytes.
   */
  append(leafHash: Buffer): void {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH) {
      throw new AuditError('USAGE', `leafHash: expected ${HASH} bytes, got ${leafHash?.length}`, {
        field: 'leafHash',
      });
    }
    this.level(0).push(leafHash);
    let hash: Uint8Array = leafHash;
    let height = 0;
    // Each trailing 1 bit of the old size is a complete subtree that this leaf completes.
    for (let n = this.count; n % 2 === 1; n = (n - 1) / 2) {
      hash = hashChildren(this.border.subarray(height * HASH, (height + 1) * HASH), hash);
      height++;
      if (height % this.stride === 0) this.level(height).push(hash);
    }
    this.border.set(hash, height * HASH);
    this.count++;
  }

  /** The RFC 6962 root of the current size (a fresh buffer), folded from the right border. */
  root(): Buffer {
    if (this.count === 0) return Buffer.from(EMPTY_TREE_ROOT);
    if (!this.borderRead) this.rebuildBorder();
    let acc: Buffer | undefined;
    for (let n = this.count, h = 0; n > 0; n = Math.floor(n / 2), h++) {
      if (n % 2 === 0) continue;
      const slot = this.border.subarray(h * HASH, (h + 1) * HASH);
      acc = acc === undefined ? Buffer.from(slot) : hashChildren(slot, acc);
    }
    return acc!;
  }

  /**
   * Hash of the complete subtree of height `level` and index `index` (a fresh buffer).
   * Requires (index+1)·2^level <= size.
   * @throws AuditError USAGE when the node is not a complete subtree of the tree; STORE_IO when a read fails.
   */
  nodeHash(level: number, index: number): Buffer {
    if (
      !Number.isInteger(level) ||
      level < 0 ||
      level > MAX_LEVEL ||
      !Number.isSafeInteger(index) ||
      index < 0
    ) {
      throw new AuditError('USAGE', `nodeHash: bad level ${level} or index ${index}`, { field: 'level' });
    }
    const width = 2 ** level;
    if ((index + 1) * width > this.count) {
      throw new AuditError(
        'USAGE',
        `nodeHash: node (${level}, ${index}) is not a complete subtree of a tree of size ${this.count}`,
        { field: 'index' },
      );
    }
    this.checkOpen();
    const stored = level - (level % this.stride);
    const n = 2 ** (level - stored);
    // One positioned read of the 2^(level − stored) hashes below, then at most 127 hashes on disk.
    return reduceHashes(this.level(stored).read(index * n, n));
  }

  /**
   * Cuts the tree back to its first `size` leaves and reads the right border back.
   * @throws AuditError USAGE unless 0 <= size <= this.size.
   */
  truncate(size: number): void {
    this.checkWritable();
    if (!Number.isSafeInteger(size) || size < 0 || size > this.count) {
      throw new AuditError('USAGE', `truncate: size must be an integer in [0, ${this.count}], got ${size}`, {
        field: 'size',
      });
    }
    for (let i = 0; i < this.levels.length; i++) {
      this.levels[i]!.cut(Math.floor(size / 2 ** (i * this.stride)));
    }
    this.count = size;
    this.rebuildBorder();
  }

  /**
   * The first stored node above the lowest level that the 2^stride stored hashes below it do not
   * give (a changed tree file), as `{ level, index }`; undefined when all agree. About one hash per
   * leaf, in slices of 8 MiB. The lowest level is verify's to check against the entries.
   */
  firstChangedNode(checked?: Uint8Array): { level: number; index: number } | undefined {
    const per = 2 ** this.stride;
    const slice = Math.max(1, Math.floor(CHECK_SLICE_HASHES / per));
    for (let i = 1; i < this.levels.length; i++) {
      const above = this.levels[i]!;
      const below = this.levels[i - 1]!;
      const complete = Math.floor(below.count / per);
      // A node beyond what the level below completes was added; fewer may be unflushed (a writer).
      if (above.count > complete) return { level: i * this.stride, index: complete };
      if (i === 1 && checked !== undefined) {
        // The first stored level, where runs (checkRunNodes) did not already compare it.
        for (let k = 0; k < above.count; k++) {
          if (checked[k] === 1) continue;
          if (!reduceHashes(below.read(k * per, per)).equals(above.read(k, 1)))
            return { level: this.stride, index: k };
        }
        continue;
      }
      for (let start = 0; start < above.count; start += slice) {
        const n = Math.min(slice, above.count - start);
        const nodes = hashRunNodes(start * per, below.read(start * per, n * per));
        const base = runNodeAt(start * per, n * per, this.stride, start);
        const stored = above.read(start, n);
        for (let k = 0; k < n; k++) {
          const at = (base + k) * HASH;
          if (Buffer.compare(nodes.subarray(at, at + HASH), stored.subarray(k * HASH, (k + 1) * HASH)) !== 0)
            return { level: i * this.stride, index: start + k };
        }
      }
    }
    return undefined;
  }

  /**
   * Compares the first stored level above the leaves with the nodes a verified run computed
   * (chain/run-tree.ts: levels 1, 2, ... of leaves [first, first + n)), and marks the nodes
   * compared in `checked` (one byte per node of that level, for {@link firstChangedNode}).
   * Returns the index of the first node that differs, or undefined.
   */
  checkRunNodes(first: number, n: number, nodes: Uint8Array, checked: Uint8Array): number | undefined {
    if (this.levels.length < 2) return undefined;
    const level = this.levels[1]!;
    const from = Math.ceil(first / 2 ** this.stride);
    const to = Math.min(Math.floor((first + n) / 2 ** this.stride), level.count);
    if (to <= from) return undefined;
    const base = runNodeAt(first, n, this.stride, from);
    const stored = level.read(from, to - from);
    for (let k = from; k < to; k++) {
      const at = (base + k - from) * HASH;
      if (
        Buffer.compare(
          nodes.subarray(at, at + HASH),
          stored.subarray((k - from) * HASH, (k - from + 1) * HASH),
        ) !== 0
      )
        return k;
      if (k < checked.length) checked[k] = 1;
    }
    return undefined;
  }

  /** How many nodes the first stored level above the leaves holds (0 when there is none). */
  get firstLevelCount(): number {
    return this.levels.length < 2 ? 0 : this.levels[1]!.count;
  }

  /** The height of the first stored level above the leaves (8 on disk). */
  get firstStoredLevel(): number {
    return this.stride;
  }

  /** Reads the right border of the current size back from the stored levels: O(log n) node hashes. */
  protected rebuildBorder(): void {
    this.borderRead = true;
    for (let n = this.count, h = 0; n > 0; n = Math.floor(n / 2), h++) {
      if (n % 2 === 1) this.border.set(this.nodeHash(h, Math.floor(this.count / 2 ** h) - 1), h * HASH);
    }
  }

  protected checkOpen(): void {}
  protected checkWritable(): void {}

  abstract flush(): void;
  abstract sync(): void;
  abstract close(): void;
}

/**
 * A Merkle tree held in memory, every level stored (64 bytes per leaf), so `nodeHash` is one copy.
 * For the memory store and tests.
 */
export class MemoryTree extends StoredLevelsTree {
  constructor() {
    super(1);
  }

  protected newLevel(): Level {
    return new Level(undefined);
  }

  /** Nothing to write. */
  flush(): void {}
  /** Nothing to sync. */
  sync(): void {}
  /** Nothing to release. */
  close(): void {}
}

/** Options of {@link TileTree.open}. */
export interface TileTreeOptions {
  /** Never create, write or repair a file; append, flush and truncate throw USAGE. */
  readOnly?: boolean;
}

/**
 * A Merkle tree whose node hashes live in `level-LL.hashes` files (docs/format.md §5). Appends are
 * buffered and written by `flush()` (or on their own past 1 MiB of leaf hashes), higher levels
 * before level 00, so a reader that sees n leaves in level 00 finds the higher levels complete.
 */
export class TileTree extends StoredLevelsTree {
  private closed = false;
  private dirDirty = false;

  private constructor(
    private readonly dir: string,
    private readonly readOnly: boolean,
  ) {
    super(TILE_HEIGHT);
  }

  /**
   * Opens (or, unless read-only, creates with mode 0700) the tree in `dir`. Repairs what a crash
   * can leave: a file length that is not a multiple of 32 is cut down (torn write); a higher-level
   * file with hashes beyond what level 00 implies is cut, one with hashes missing gets them
   * recomputed from the level below. Read-only, the same repair happens in memory only.
   * Then reads the right border back in O(log n) node hashes (read-only: on the first `root()`).
   * @throws AuditError STORE_IO when the directory or a file cannot be opened, read or written
   *   (read-only: also when `dir` or `level-00.hashes` does not exist).
   */
  static open(dir: string, options: TileTreeOptions = {}): TileTree {
    const readOnly = options.readOnly === true;
    if (!readOnly) io('create', dir, () => ensureDir(dir));
    const tree = new TileTree(dir, readOnly);
    try {
      tree.load();
    } catch (err) {
      tree.close();
      throw err;
    }
    return tree;
  }

  protected newLevel(height: number): Level {
    return new Level(path.join(this.dir, levelFileName(height)), this.readOnly);
  }

  private load(): void {
    const names = io('read', this.dir, () => fs.readdirSync(this.dir));
    let top = 0;
    for (const name of names) {
      const m = LEVEL_FILE.exec(name);
      const h = m === null ? Number.NaN : Number(m[1]);
      if (h % TILE_HEIGHT === 0 && h <= MAX_LEVEL) top = Math.max(top, h);
    }
    const base = this.level(0);
    const baseFile = base.file!;
    base.fd = io('open', baseFile, () =>
      this.readOnly
        ? fs.openSync(baseFile, 'r')
        : fs.openSync(baseFile, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600),
    );
    this.count = this.adoptFile(base, Number.POSITIVE_INFINITY);
    for (let h = TILE_HEIGHT; h <= top || 2 ** h <= this.count; h += TILE_HEIGHT) {
      const lvl = this.level(h);
      const file = lvl.file!;
      if (names.includes(path.basename(file))) {
        lvl.fd = io('open', file, () => fs.openSync(file, this.readOnly ? 'r' : 'r+'));
      }
      const want = Math.floor(this.count / 2 ** h);
      const have = this.adoptFile(lvl, want);
      // Missing hashes (crash between flushing two files): recompute them from the level below.
      const below = this.level(h - TILE_HEIGHT);
      const per = 2 ** TILE_HEIGHT;
      for (let k = have; k < want; k++) lvl.push(reduceHashes(below.read(k * per, per)));
    }
    if (this.readOnly)
      this.borderRead = false; // proofs need no border: read it back on root()
    else {
      this.flush();
      this.rebuildBorder();
    }
  }

  /** Takes the whole hashes of `lvl`'s file, at most `max`, cutting the file to that unless read-only. */
  private adoptFile(lvl: Level, max: number): number {
    const fd = lvl.fd;
    if (fd === undefined) return 0;
    const file = lvl.file!;
    const bytes = io('stat', file, () => fs.fstatSync(fd).size);
    const n = Math.min(Math.floor(bytes / HASH), max);
    if (!this.readOnly && bytes !== n * HASH) io('truncate', file, () => fs.ftruncateSync(fd, n * HASH));
    lvl.flushed = n;
    return n;
  }

  /**
   * Appends one leaf hash (buffered until `flush()`).
   * @throws AuditError USAGE when read-only, closed, or the hash is not 32 bytes; STORE_IO from an automatic flush.
   */
  override append(leafHash: Buffer): void {
    this.checkWritable();
    super.append(leafHash);
    if (this.levels[0]!.pendingCount >= AUTO_FLUSH_LEAVES) this.flush();
  }

  /**
   * Writes the buffered hashes, higher levels first, with positioned writes at each file's end.
   * @throws AuditError USAGE when read-only or closed; STORE_IO on a failed write.
   */
  flush(): void {
    this.checkWritable();
    for (let i = this.levels.length - 1; i >= 0; i--) {
      this.levels[i]!.flush(() => {
        this.dirDirty = true;
      });
    }
  }

  /**
   * Fsyncs every level file, and the directory after a file was created in it. A no-op read-only.
   * @throws AuditError USAGE when closed; STORE_IO on a failed fsync.
   */
  sync(): void {
    this.checkOpen();
    if (this.readOnly) return;
    for (const lvl of this.levels) {
      const fd = lvl.fd;
      if (fd !== undefined) io('sync', lvl.file!, () => fs.fsyncSync(fd));
    }
    if (this.dirDirty) {
      // A new file's directory entry is durable only once the directory itself is synced.
      const dfd = io('open', this.dir, () => fs.openSync(this.dir, 'r'));
      try {
        io('sync', this.dir, () => fs.fsyncSync(dfd));
      } finally {
        fs.closeSync(dfd);
      }
      this.dirDirty = false;
    }
  }

  /**
   * Cuts the tree back to `size` leaves, in the files too.
   * @throws AuditError USAGE when read-only, closed or size is out of range; STORE_IO.
   */
  override truncate(size: number): void {
    super.truncate(size);
  }

  /** Closes the files; buffered hashes that were not flushed are dropped. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    let first: unknown;
    for (const lvl of this.levels) {
      try {
        lvl.close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  protected override checkOpen(): void {
    if (this.closed) throw new AuditError('USAGE', `tree ${this.dir} is closed`);
  }

  protected override checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new AuditError('USAGE', `tree ${this.dir} is open read-only`);
  }
}
