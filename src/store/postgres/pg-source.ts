/**
 * Read access to a log in PostgreSQL with the same calls as a trail directory's DirSource:
 * stored lines in seq order (fetched in chunks), one line by seq, checkpoints, seals, the stored
 * leaf hashes, the tree's node hashes for proofs, and whether a writer holds the log now.
 */
import { hashLeaf } from '../../chain/rfc6962.js';
import type { SealRecord } from '../../chain/seal.js';
import type { TreeReader } from '../../chain/tree.js';
import { AuditError } from '../../errors.js';
import type { StoredCheckpoint } from '../sealed-files.js';
import { recordTs } from '../segment-log.js';
import { bisectSeqById, idOfLine } from '../seq-by-id.js';
import type { TrailMeta } from '../trail-meta.js';
import { describeTarget, logLockKey } from './connect.js';
import { checkLogName, LOG_COLUMNS, metaOfRow } from './pg-logs.js';
import { completedNodeQueries, nodeQuery, reduceNodeRows, StoredLevelBuilder } from './pg-nodes.js';
import { PgSyncClient } from './pg-sync.js';
import { type SealRow, sealOfRow } from './pg-writer.js';

/** Rows per fetch while streaming lines (measured: larger chunks gain nothing). */
const CHUNK_ROWS = 10_000;

/** Bounds of a PostgreSQL scan (query-scan.ts's ScanBounds plus the pre-check). */
export interface PgScan {
  seqFrom: number;
  seqTo: number;
  order: 'oldest' | 'newest';
  /** ISO UTC times (standard form) of the window, when bounded. */
  fromIso?: string | undefined;
  toIso?: string | undefined;
  /** Each inner list: the committed part must contain at least one. */
  needles?: string[][];
}

/** A log in PostgreSQL opened for reading. */
export class PgSource {
  readonly meta: TrailMeta;
  /** How messages name the log (`postgres user@host:port/db log NAME`), never with the password. */
  readonly name: string;
  /** The `file` reported with lines (as a segment file's name is). */
  readonly file: string;
  private readonly db: PgSyncClient;
  /** The log's row id. */
  private readonly logId: number;
  private leafCache: { base: number; leaves: Buffer[] } = { base: 0, leaves: [] };

  /**
   * @throws AuditError TRAIL_NOT_FOUND when the database holds no such log; STORE_UNAVAILABLE.
   */
  constructor(
    url: string,
    readonly log = 'default',
  ) {
    checkLogName(log);
    this.name = `${describeTarget(url)} log ${log}`;
    this.file = `log ${log}`;
    this.db = new PgSyncClient(url);
    try {
      const r = this.db.query<Parameters<typeof metaOfRow>[0]>(
        `SELECT ${LOG_COLUMNS} FROM sealtrail.logs WHERE to_regclass('sealtrail.logs') IS NOT NULL AND log = $1`,
        [log],
      )[0];
      if (r === undefined)
        throw new AuditError('TRAIL_NOT_FOUND', `${this.name}: no such log (run sealtrail init --postgres)`);
      this.meta = metaOfRow(r);
      this.logId = r.id;
    } catch (err) {
      this.db.close();
      if ((err as AuditError).code === 'STORE_IO' && /42P01/.test((err as Error).message)) {
        throw new AuditError(
          'TRAIL_NOT_FOUND',
          `${this.name}: no sealtrail schema (run sealtrail init --postgres)`,
        );
      }
      throw err;
    }
  }

  /**
   * True while a writer holds the log's advisory lock, and always on a hot standby: a standby's
   * pg_locks does not show the primary's advisory locks, so a writer may be running there (and
   * the newest entries it replicated may not be checkpointed yet).
   */
  live(): boolean {
    const k = BigInt.asUintN(64, BigInt(logLockKey(this.log)));
    const rows = this.db.query<{ n: string; standby: boolean }>(
      `SELECT pg_is_in_recovery() AS standby, (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
       AND granted AND objsubid = 1 AND classid = $1::oid AND objid = $2::oid) AS n`,
      [(k >> 32n).toString(), (k & 0xffffffffn).toString()],
    );
    return rows[0]?.standby === true || Number(rows[0]?.n ?? 0) > 0;
  }

  /** Number of entries stored. */
  size(): number {
    const rows = this.db.query<{ n: string | null }>(
      'SELECT max(seq) AS n FROM sealtrail.entries WHERE log_id = $1',
      [this.logId],
    );
    const n = rows[0]?.n;
    return n === null || n === undefined ? 0 : Number(n) + 1;
  }

  /**
   * Reads waiting in `sealtrail.pending_reads` for the log's writer to append them, or null when
   * this role may not see them (the reader role may only insert there).
   */
  pendingReads(): number | null {
    try {
      const rows = this.db.query<{ n: string }>(
        'SELECT count(*) AS n FROM sealtrail.pending_reads WHERE log_id = $1',
        [this.logId],
      );
      return Number(rows[0]?.n ?? 0);
    } catch (err) {
      if (err instanceof AuditError && err.detail?.sqlstate === '42501') return null; // insufficient_privilege
      throw err;
    }
  }

  /** Stored lines from seq `from` on, in order. */
  *lines(from = 0): Generator<{ text: string; file: string; seq: number }> {
    for (const l of this.scan({ seqFrom: from, seqTo: Number.MAX_SAFE_INTEGER, order: 'oldest' })) yield l;
  }

  /**
   * {@link lines} as UTF-8 bytes, for the verifier. The leaf hashes of each chunk come with it
   * and serve {@link storedLeaves}. Read from seq 0, the stored node hashes (table `nodes`, which
   * proofs are built from) are recomputed from the leaf hashes and compared on the way.
   * @throws AuditError ROOT_MISMATCH naming the node when a stored node is not the hash of the
   *   entries below it (or is missing), once every entry before it has been yielded;
   *   STORE_UNAVAILABLE, STORE_IO.
   */
  *lineBytes(from = 0): Generator<{ bytes: Buffer; file: string; seq: number; indexMismatch?: string }> {
    const levels = from === 0 ? new StoredLevelBuilder() : undefined;
    let next = from;
    for (;;) {
      // `ts` too: time-window queries filter on it, so verify checks it is the line's own.
      const rows = this.db.query<{ seq: string; line: string; leaf_hash: Uint8Array; ts: string }>(
        'SELECT seq, line, leaf_hash, ts FROM sealtrail.entries WHERE log_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3',
        [this.logId, next, CHUNK_ROWS],
      );
      if (rows.length === 0) return;
      this.leafCache = { base: Number(rows[0]!.seq), leaves: rows.map((r) => Buffer.from(r.leaf_hash)) };
      const stored = levels === undefined ? undefined : this.storedNodes(next, Number(rows.at(-1)!.seq) + 1);
      for (const [i, r] of rows.entries()) {
        const seq = Number(r.seq);
        const bytes = Buffer.from(r.line, 'utf8');
        // A gap in seq is the verifier's to report; the nodes are compared while there is none.
        if (levels !== undefined && levels.size === seq) {
          const leaf = this.leafCache.leaves[i]!;
          for (const node of levels.add(leaf)) {
            if (stored!.get(`${node.level}/${node.idx}`)?.equals(node.hash) === true) continue;
            // A changed leaf hash of this entry is the verifier's LEAF_HASH_MISMATCH.
            const tab = bytes.indexOf(0x09);
            if (!hashLeaf(tab < 0 ? bytes : bytes.subarray(0, tab)).equals(leaf)) break;
            throw new AuditError(
              'ROOT_MISMATCH',
              `${this.name}: node ${node.idx} of level ${node.level} (table nodes) is not the hash of the entries below it`,
              { seq },
            );
          }
        }
        yield r.ts === recordTs(bytes)
          ? { bytes, file: this.file, seq }
          : { bytes, file: this.file, seq, indexMismatch: 'its ts column is not the time in the entry' };
        next = seq + 1;
      }
      if (rows.length < CHUNK_ROWS) return;
    }
  }

  /** The stored nodes completed by the leaves `first` to `end - 1`, by `level/idx`. */
  private storedNodes(first: number, end: number): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const q of completedNodeQueries(this.logId, first, end)) {
      for (const r of this.db.query<{ level: number; idx: string; hash: Uint8Array }>(q.text, q.values))
        out.set(`${r.level}/${r.idx}`, Buffer.from(r.hash));
    }
    return out;
  }

  /**
   * Lines within the bounds, in the scan's order; the window and needles are applied by the
   * server as a pre-filter only (the caller's filter decides). `counts.linesRead` counts the
   * lines fetched.
   */
  *scan(b: PgScan, counts?: { linesRead: number }): Generator<{ text: string; file: string; seq: number }> {
    const values: unknown[] = [this.logId];
    const where: string[] = ['log_id = $1'];
    const add = (sql: (p: string) => string, v: unknown) => {
      values.push(v);
      where.push(sql(`$${values.length}`));
    };
    if (b.fromIso !== undefined) add((p) => `ts >= ${p}`, b.fromIso);
    if (b.toIso !== undefined) add((p) => `ts < ${p}`, b.toIso);
    for (const any of b.needles ?? []) {
      const parts = any.map((n) => {
        values.push(n);
        return `strpos(split_part(line, E'\\t', 1), $${values.length}) > 0`;
      });
      where.push(`(${parts.join(' OR ')})`);
    }
    const newest = b.order === 'newest';
    let lo = Math.max(0, b.seqFrom);
    let hi = Math.min(Number.MAX_SAFE_INTEGER, b.seqTo);
    const fixed = values.length;
    for (;;) {
      if (lo >= hi) return;
      const rows = this.db.query<{ seq: string; line: string }>(
        `SELECT seq, line FROM sealtrail.entries WHERE ${where.join(' AND ')} AND seq >= $${fixed + 1} AND seq < $${fixed + 2}
         ORDER BY seq ${newest ? 'DESC' : 'ASC'} LIMIT ${CHUNK_ROWS}`,
        [...values, lo, hi],
      );
      if (counts !== undefined) counts.linesRead += rows.length;
      for (const r of rows) yield { text: r.line, file: this.file, seq: Number(r.seq) };
      if (rows.length < CHUNK_ROWS) return;
      const last = Number(rows.at(-1)!.seq);
      if (newest) hi = last;
      else lo = last + 1;
    }
  }

  /** The stored line of entry `seq`, or undefined. */
  lineAt(seq: number): string | undefined {
    return this.db.query<{ line: string }>(
      'SELECT line FROM sealtrail.entries WHERE log_id = $1 AND seq = $2',
      [this.logId, seq],
    )[0]?.line;
  }

  /**
   * The seq of the entry with this id, or undefined: a bisection by id (one row by primary key per
   * step), then, when that misses (ids out of order), a search of the lines. Only an entry's own
   * id counts, not another field's text.
   */
  findSeqById(id: string): number | undefined {
    const seq = bisectSeqById(id, 0, this.size(), (s) => this.lineAt(s));
    if (seq !== undefined) return seq;
    const needle = `"id":${JSON.stringify(id)}`;
    for (const l of this.scan({
      seqFrom: 0,
      seqTo: Number.MAX_SAFE_INTEGER,
      order: 'oldest',
      needles: [[needle]],
    })) {
      if (idOfLine(l.text) === id) return l.seq;
    }
    return undefined;
  }

  checkpoints(): StoredCheckpoint[] {
    return this.db
      .query<{ size: string; time: string; reason: string; note: string }>(
        'SELECT size, time, reason, note FROM sealtrail.checkpoints WHERE log_id = $1 ORDER BY n',
        [this.logId],
      )
      .map((r) => ({
        size: Number(r.size),
        time: r.time,
        reason: r.reason as StoredCheckpoint['reason'],
        note: r.note,
      }));
  }

  seals(): SealRecord[] {
    return this.db
      .query<SealRow>(
        'SELECT epoch, start_ms, end_ms, size, root, tag FROM sealtrail.seals WHERE log_id = $1 ORDER BY epoch',
        [this.logId],
      )
      .map(sealOfRow);
  }

  /** The latest signed checkpoint note, or undefined before the first. */
  latestCheckpoint(): string | undefined {
    return this.db.query<{ note: string }>(
      'SELECT note FROM sealtrail.checkpoints WHERE log_id = $1 ORDER BY n DESC LIMIT 1',
      [this.logId],
    )[0]?.note;
  }

  /** The stored leaf hashes, as DirSource's; served from the chunk {@link lineBytes} last read. */
  storedLeaves(): { leaf: (seq: number) => Buffer | undefined; close: () => void } {
    return {
      leaf: (seq) => this.leafCache.leaves[seq - this.leafCache.base],
      close: () => {},
    };
  }

  /** The tree's node hashes (for proofs), read on demand. Call `close()` when done. */
  openTree(): TreeReader & { close(): void } {
    const size = this.size();
    return {
      size,
      nodeHash: (level: number, index: number) => {
        const q = nodeQuery(this.logId, level, index);
        return reduceNodeRows(this.db.query<{ h: Uint8Array }>(q.text, q.values), q.n, this.name);
      },
      close: () => {},
    };
  }

  /** Ends the connection. */
  close(): void {
    this.db.close();
  }
}
