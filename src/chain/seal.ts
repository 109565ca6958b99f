/**
 * Forward-secure seals (normative definition; docs/format.md §7 summarises it).
 *
 * Epoch e of a trail created at t0 with epoch length D covers [t0 + e·D, t0 + (e+1)·D).
 * - k_0     = HKDF-SHA256(ikm = seed, salt = empty, info = "sealtrail seal v1 " || origin, 32 bytes)
 * - k_{e+1} = SHA-256("sealtrail seal evolve v1\n" || k_e)
 * - tag_e   = HMAC-SHA256(k_e, "sealtrail seal v1\n" || origin || "\n" || e || "\n" || start || "\n"
 *             || end || "\n" || size || "\n" || root || "\n"), numbers in decimal, root in base64.
 * The writer seals epoch e (the tree size and root it reached), stores the seal durably, then
 * replaces k_e by k_{e+1} on disk. A host compromised in epoch e holds only k_e: it cannot forge
 * the seal of any earlier epoch, and it cannot drop earlier seals unseen, because the auditor, who
 * keeps the seed offline, requires every epoch from 0 on to be sealed exactly once.
 */
import { createHash, createHmac, hkdfSync, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import { AuditError } from '../errors.js';
import { writeAll } from '../write-all.js';

/** One sealed epoch, as stored in `seals.jsonl` (keys in sorted order). */
export interface SealRecord {
  end: number;
  epoch: number;
  root: string;
  size: number;
  start: number;
  tag: string;
}

const KEY_INFO_PREFIX = 'sealtrail seal v1 ';
const EVOLVE_PREFIX = 'sealtrail seal evolve v1\n';
const TAG_PREFIX = 'sealtrail seal v1\n';
const KEY_FILE_FORMAT = 'sealtrail-seal-key/1';
const SEED_RE = /^[A-Za-z0-9_-]{43}$/;

/**
 * A new random seal seed (32 bytes). Its base64url text, which people pass on command lines, never
 * starts with '-' (an argument parser would take it for an option); that costs 0.02 bits.
 */
export function newSealSeed(): Buffer {
  const seed = randomBytes(32);
  while (seed[0]! >> 2 === 62) randomFillSync(seed); // 62 is '-' in base64url
  return seed;
}

/** The epoch-0 key from the seed. */
export function deriveSealKey(seed: Uint8Array, origin: string): Buffer {
  return Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), `${KEY_INFO_PREFIX}${origin}`, 32));
}

/** The next epoch's key; the old one cannot be computed from it. */
export function evolveSealKey(key: Uint8Array): Buffer {
  return createHash('sha256').update(EVOLVE_PREFIX).update(key).digest();
}

/** The HMAC tag of a seal record under the epoch key. */
export function sealTag(key: Uint8Array, origin: string, r: Omit<SealRecord, 'tag'>): Buffer {
  return createHmac('sha256', key)
    .update(`${TAG_PREFIX}${origin}\n${r.epoch}\n${r.start}\n${r.end}\n${r.size}\n${r.root}\n`)
    .digest();
}

/** The current epoch key of a writer, held in memory. */
export class SealKeyChain {
  constructor(
    readonly origin: string,
    protected currentEpoch: number,
    protected key: Buffer,
  ) {}

  /** Starts at epoch 0 from the seed. */
  static fromSeed(seed: Uint8Array, origin: string): SealKeyChain {
    return new SealKeyChain(origin, 0, deriveSealKey(seed, origin));
  }

  /** The epoch the current key seals. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /**
   * Seals `record` (which must be of the current epoch) with the current key.
   * @throws AuditError SEAL_INVALID when the record is of another epoch.
   */
  seal(record: Omit<SealRecord, 'tag'>): SealRecord {
    if (record.epoch !== this.currentEpoch) {
      throw new AuditError(
        'SEAL_INVALID',
        `seal: epoch ${record.epoch} is not the key's epoch ${this.currentEpoch}`,
      );
    }
    const { end, epoch, root, size, start } = record;
    return { end, epoch, root, size, start, tag: sealTag(this.key, this.origin, record).toString('base64') };
  }

  /** A copy in memory at the same epoch (a writer that seals ahead of its key file). */
  copy(): SealKeyChain {
    return new SealKeyChain(this.origin, this.currentEpoch, Buffer.from(this.key));
  }

  /** True when `key` is this chain's current key (constant time). */
  holds(key: Uint8Array): boolean {
    return key.length === this.key.length && timingSafeEqual(key, this.key);
  }

  /** Replaces the key by the next epoch's and erases the old one. */
  evolve(): void {
    const next = evolveSealKey(this.key);
    this.key.fill(0);
    this.key = next;
    this.currentEpoch++;
  }
}

/**
 * The seal key kept in a file (`keys/seal.key`, 0600): one fixed-length line
 * `sealtrail-seal-key/1 <epoch, 16 digits> <key base64> <origin>\n`. Evolving overwrites the line
 * in place (same length, same blocks) and syncs, so the old key does not linger in a renamed-away file.
 */
export class SealKeyFile extends SealKeyChain {
  private constructor(
    private readonly file: string,
    origin: string,
    epoch: number,
    key: Buffer,
  ) {
    super(origin, epoch, key);
  }

  /**
   * Writes the epoch-0 key for `origin` derived from `seed` to a new file.
   * @throws Error from node:fs when the file exists or cannot be written (callers wrap it).
   */
  static create(file: string, seed: Uint8Array, origin: string): void {
    const key = deriveSealKey(seed, origin);
    const fd = fs.openSync(file, 'wx', 0o600);
    try {
      writeAll(fd, SealKeyFile.line(0, key, origin));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
      key.fill(0);
    }
  }

  /**
   * The epoch and key stored in `file`, for an auditor who holds the seed; undefined when the file
   * is missing (a copy of a trail without its keys).
   * @throws AuditError KEY_INVALID when it is damaged.
   */
  static peek(file: string): { epoch: number; key: Buffer } | undefined {
    if (!fs.existsSync(file)) return undefined;
    const k = SealKeyFile.open(file);
    return { epoch: k.epoch, key: Buffer.from(k.key) };
  }

  /**
   * Reads the current key.
   * @throws AuditError KEY_NOT_FOUND when the file is missing, KEY_INVALID when it is damaged.
   */
  static open(file: string): SealKeyFile {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new AuditError(
        'KEY_NOT_FOUND',
        `seal key ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
        {
          file,
        },
      );
    }
    const m = /^sealtrail-seal-key\/1 (\d{16}) ([A-Za-z0-9+/]{43}=) (\S+)\n$/.exec(text);
    if (m === null) throw new AuditError('KEY_INVALID', `seal key ${file}: damaged`, { file });
    return new SealKeyFile(file, m[3]!, Number(m[1]), Buffer.from(m[2]!, 'base64'));
  }

  private static line(epoch: number, key: Buffer, origin: string): string {
    return `${KEY_FILE_FORMAT} ${String(epoch).padStart(16, '0')} ${key.toString('base64')} ${origin}\n`;
  }

  /**
   * Evolves the key and overwrites the file with it.
   * @throws AuditError STORE_IO when the file cannot be written.
   */
  override evolve(): void {
    super.evolve();
    try {
      const fd = fs.openSync(this.file, 'r+');
      try {
        writeAll(fd, SealKeyFile.line(this.currentEpoch, this.key, this.origin), 0);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      throw new AuditError(
        'STORE_IO',
        `seal key ${this.file}: ${(err as NodeJS.ErrnoException).code ?? 'write failed'}`,
        {
          file: this.file,
        },
      );
    }
  }
}

/** What {@link verifySeals} checks the seals against. */
export interface SealContext {
  t0: number;
  epochMs: number;
  /** Time of verification (ms): every epoch that ended before it must be sealed. */
  now: number;
  /** The recomputed tree root at `size`, or undefined when the log is shorter. */
  rootAt(size: number): Buffer | undefined;
  treeSize: number;
  /** True when no writer runs: the last seal must then cover the whole log. */
  closed: boolean;
  /**
   * The writer's current seal key as stored (keys/seal.key), when at hand: it cannot be rolled
   * back, so seals removed from the end show as epochs its key has left behind. `'missing'`: the
   * file it is kept in is gone (a running writer always has it, so then that is a failure).
   */
  writerKey?: WriterSealKey | 'missing' | undefined;
}

/** The writer's seal key as stored: its epoch and key. */
export interface WriterSealKey {
  epoch: number;
  key: Uint8Array;
}

/** How long a running writer may take to seal an epoch that has ended (it checks every second). */
export const SEAL_GRACE_MS = 60_000;

/**
 * Verifies every seal with the keys derived from `seed` (base64url, as printed at creation).
 * @returns the number of sealed epochs and the tree size the last seal covers.
 * @throws AuditError SEAL_INVALID (bad tag, schedule, root or order), SEAL_MISSING (an epoch unsealed), KEY_INVALID (bad seed).
 */
export function verifySeals(
  records: readonly SealRecord[],
  seed: string,
  origin: string,
  ctx: SealContext,
): { sealedEpochs: number; lastSealedSize: number; writerKeyChecked: boolean } {
  if (!SEED_RE.test(seed)) throw new AuditError('KEY_INVALID', 'seal seed: expected 43 base64url characters');
  // The auditor's copy of the writer's key chain, evolved in step with the records.
  const chain = SealKeyChain.fromSeed(Buffer.from(seed, 'base64url'), origin);
  let lastSize = 0;
  for (let e = 0; e < records.length; e++) {
    const r = records[e]!;
    const where = `seal of epoch ${e}`;
    if (r.epoch !== e) {
      throw new AuditError(
        r.epoch > e ? 'SEAL_MISSING' : 'SEAL_INVALID',
        `${where}: found epoch ${r.epoch} instead`,
        {
          epoch: e,
        },
      );
    }
    if (r.start !== ctx.t0 + e * ctx.epochMs || r.end !== r.start + ctx.epochMs) {
      throw new AuditError('SEAL_INVALID', `${where}: start or end is off the schedule`, { epoch: e });
    }
    const expected = Buffer.from(chain.seal(r).tag, 'base64');
    const tag = typeof r.tag === 'string' ? Buffer.from(r.tag, 'base64') : Buffer.alloc(0);
    if (tag.length !== expected.length || !timingSafeEqual(tag, expected)) {
      throw new AuditError('SEAL_INVALID', `${where}: tag does not verify`, { epoch: e });
    }
    if (!Number.isSafeInteger(r.size) || r.size < lastSize) {
      throw new AuditError('SEAL_INVALID', `${where}: tree size goes backwards`, { epoch: e });
    }
    const root = r.size <= ctx.treeSize ? ctx.rootAt(r.size) : undefined;
    if (root === undefined) {
      throw new AuditError(
        'TREE_SIZE_MISMATCH',
        `${where} covers ${r.size} entries but the log has ${ctx.treeSize}`,
        {
          epoch: e,
        },
      );
    }
    if (root.toString('base64') !== r.root) {
      throw new AuditError('ROOT_MISMATCH', `${where}: root at size ${r.size} differs from the log`, {
        epoch: e,
      });
    }
    lastSize = r.size;
    chain.evolve();
  }
  // A running writer must have sealed every ended epoch; a closed trail must have sealed its final
  // partial epoch over the whole log (epochs after the close have no writer to seal them).
  const due = Math.floor((ctx.now - SEAL_GRACE_MS - ctx.t0) / ctx.epochMs);
  if (!ctx.closed && records.length < due) {
    throw new AuditError(
      'SEAL_MISSING',
      `seal of epoch ${records.length}: missing (epochs up to ${due - 1} have ended)`,
      {
        epoch: records.length,
      },
    );
  }
  if (ctx.writerKey === 'missing' && !ctx.closed)
    throw new AuditError(
      'SEAL_MISSING',
      "the writer's seal key is missing, though a writer holds the trail: seals removed from the end could not be told",
      { epoch: records.length },
    );
  const wk = ctx.writerKey === 'missing' ? undefined : ctx.writerKey;
  // The writer evolves its key right after storing a seal (a crash in between: one behind).
  if (wk !== undefined && wk.epoch > records.length) {
    throw new AuditError(
      'SEAL_MISSING',
      `seals of epochs ${records.length}..${wk.epoch - 1}: missing, though the writer's seal key is at epoch ${wk.epoch} (seals removed)`,
      { epoch: records.length },
    );
  }
  if (wk !== undefined) {
    const at = SealKeyChain.fromSeed(Buffer.from(seed, 'base64url'), origin);
    for (let e = 0; e < wk.epoch; e++) at.evolve();
    if (!at.holds(wk.key))
      throw new AuditError(
        'SEAL_INVALID',
        `the writer's seal key (epoch ${wk.epoch}) does not derive from the seed`,
      );
  }
  if (ctx.closed && lastSize !== ctx.treeSize) {
    throw new AuditError('SEAL_MISSING', `no seal covers entries ${lastSize}..${ctx.treeSize - 1}`, {
      epoch: records.length,
    });
  }
  return { sealedEpochs: records.length, lastSealedSize: lastSize, writerKeyChecked: wk !== undefined };
}
