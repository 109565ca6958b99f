/**
 * The writer's side of the PostgreSQL store: the appender's {@link EntryLog}, {@link SealedState},
 * tree and seal key over one connection that also holds the log's advisory lock. The appender's
 * calls are synchronous and only buffer; `flush()` (the appender's `syncAsync`, once per group
 * commit) writes everything buffered, in order, in ONE transaction: entries as one multi-row
 * INSERT (lines, times and leaf hashes passed as three parameters and split by the server), the
 * node hashes they complete, then checkpoints and seals. A checkpoint or seal is therefore never
 * durable before the entries it covers, and the seal key file is evolved only after the seal it
 * made is committed (a crash in between leaves the key one epoch behind; opening finishes it).
 * Pending reads (pg-pending-reads.ts) are appended through the appender and their rows deleted in
 * the commit that writes their entries.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EMPTY_TREE_ROOT, hashChildren } from '../../chain/rfc6962.js';
import type { SealKeyChain, SealKeyFile, SealRecord } from '../../chain/seal.js';
import type { TreeWriter } from '../../chain/tree.js';
import { AuditError } from '../../errors.js';
import type { StoredCheckpoint } from '../sealed-files.js';
import { recordTs } from '../segment-log.js';
import { endClient, pgError } from './connect.js';
import { nodeQuery, PG_NODE_STRIDE, reduceNodeRows } from './pg-nodes.js';
import { pendingReadEvent, selectPendingReads } from './pg-pending-reads.js';

const HASH = 32;

/** What one group commit writes. */
interface Pending {
  firstSeq: number;
  count: number;
  lines: Buffer[];
  leaves: Buffer[];
  nodes: Array<{ level: number; idx: number; hash: Buffer }>;
  checkpoints: Array<{ n: number; cp: StoredCheckpoint }>;
  seals: SealRecord[];
  /** Rows of sealtrail.pending_reads whose events are among the lines: deleted in the same commit. */
  readIds: string[];
}

function emptyPending(firstSeq: number): Pending {
  return { firstSeq, count: 0, lines: [], leaves: [], nodes: [], checkpoints: [], seals: [], readIds: [] };
}

/** The state of a log read when opening it. */
export interface PgLogState {
  size: number;
  lastCommitted: string | undefined;
  /** Leaf hash of the last entry (undefined for an empty log). */
  lastLeaf: Buffer | undefined;
  latest: StoredCheckpoint | undefined;
  checkpointCount: number;
  lastSeal: SealRecord | undefined;
  /** Right border: hash of the complete subtree of height h ending at the last leaf, per set bit h. */
  border: Map<number, Buffer>;
}

/**
 * Reads what the writer needs to continue a log: size, last entry, latest checkpoint, last seal,
 * and the right border of the tree (O(log n) node reads).
 * @throws AuditError STORE_IO / STORE_UNAVAILABLE.
 */
export async function readLogState(
  client: pg.ClientBase,
  logId: number,
  target: string,
): Promise<PgLogState> {
  try {
    const last = await client.query<{ seq: string; line: string; leaf_hash: Buffer }>(
      'SELECT seq, line, leaf_hash FROM sealtrail.entries WHERE log_id = $1 ORDER BY seq DESC LIMIT 1',
      [logId],
    );
    const row = last.rows[0];
    const size = row === undefined ? 0 : Number(row.seq) + 1;
    const cps = await client.query<{ n: string; size: string; time: string; reason: string; note: string }>(
      'SELECT n, size, time, reason, note FROM sealtrail.checkpoints WHERE log_id = $1 ORDER BY n DESC LIMIT 1',
      [logId],
    );
    const c = cps.rows[0];
    const seals = await client.query<SealRow>(
      'SELECT epoch, start_ms, end_ms, size, root, tag FROM sealtrail.seals WHERE log_id = $1 ORDER BY epoch DESC LIMIT 1',
      [logId],
    );
    const border = new Map<number, Buffer>();
    for (let n = size, h = 0; n > 0; n = Math.floor(n / 2), h++) {
      if (n % 2 === 0) continue;
      const q = nodeQuery(logId, h, Math.floor(size / 2 ** h) - 1);
      border.set(h, reduceNodeRows((await client.query<{ h: Buffer }>(q.text, q.values)).rows, q.n, target));
    }
    const tab = row?.line.indexOf('\t') ?? -1;
    return {
      size,
      lastCommitted: row === undefined ? undefined : tab < 0 ? row.line : row.line.slice(0, tab),
      lastLeaf: row === undefined ? undefined : Buffer.from(row.leaf_hash),
      latest:
        c === undefined
          ? undefined
          : {
              size: Number(c.size),
              time: c.time,
              reason: c.reason as StoredCheckpoint['reason'],
              note: c.note,
            },
      checkpointCount: c === undefined ? 0 : Number(c.n) + 1,
      lastSeal: seals.rows[0] === undefined ? undefined : sealOfRow(seals.rows[0]),
      border,
    };
  } catch (err) {
    throw pgError(err, target, 'cannot read the log');
  }
}

/** A seals row as the driver returns it. */
export interface SealRow {
  epoch: string;
  start_ms: string;
  end_ms: string;
  size: string;
  root: string;
  tag: string;
}

/** The seal record of a seals row (the field order of seals.jsonl). */
export function sealOfRow(r: SealRow): SealRecord {
  return {
    end: Number(r.end_ms),
    epoch: Number(r.epoch),
    root: r.root,
    size: Number(r.size),
    start: Number(r.start_ms),
    tag: r.tag,
  };
}

/**
 * The newest rows of a log: how many entries and the leaf hash of the last, how many checkpoints,
 * the last seal epoch (-1: none). What the writer compares after retaking the lock.
 */
interface LogTail {
  size: number;
  leaf: Buffer | undefined;
  checkpoints: number;
  sealEpoch: number;
}

/** The tail after `u` is committed on top of `t`. */
function tailAfter(t: LogTail, u: Pending): LogTail {
  return {
    size: t.size + u.count,
    leaf: u.leaves.at(-1) ?? t.leaf,
    checkpoints: u.checkpoints.length > 0 ? u.checkpoints.at(-1)!.n + 1 : t.checkpoints,
    sealEpoch: u.seals.at(-1)?.epoch ?? t.sealEpoch,
  };
}

function sameTail(a: LogTail, b: LogTail): boolean {
  return (
    a.size === b.size &&
    a.checkpoints === b.checkpoints &&
    a.sealEpoch === b.sealEpoch &&
    (a.leaf === undefined ? b.leaf === undefined : b.leaf !== undefined && a.leaf.equals(b.leaf))
  );
}

/** Connects again and retakes the log's lock; `lostPid` is the backend of the connection lost. */
export type PgReconnect = (lostPid: number | undefined) => Promise<pg.Client>;

/** Default time a commit or read of the writer's connection may go unanswered. */
export const PG_WRITER_TIMEOUT_MS = 30_000;

/**
 * The buffered writes of one log and their group commit. One instance per open log; it owns the
 * connection that holds the log's advisory lock (closing the connection releases the lock).
 * When that connection is lost, the lock went with it: the next flush connects again, takes the
 * lock again (TRAIL_LOCKED while another writer holds it: nothing is written meanwhile), finds out
 * whether the commit in flight when the connection broke had committed, and goes on from there.
 */
export class PgLogWriter {
  private pending: Pending;
  /** The writes of a commit whose outcome is unknown (connection lost during it). */
  private uncertain: Pending | undefined;
  private broken = false;
  /** The backend of the lost connection, which the server may still count as the lock holder. */
  private lostPid: number | undefined;
  /** Group commits are serialized: each takes everything buffered when it starts. */
  private chain: Promise<void> = Promise.resolve();
  private sealFileTarget = -1;
  /** The log's newest rows as this writer committed them. */
  private tail: LogTail;
  /** Pending-read rows appended and not yet committed, and rows refused (left for a person). */
  private readonly absorbing = new Set<string>();
  private readonly refused = new Set<string>();
  /** Called after a commit with the newest committed seal epoch (the key file may evolve past it). */
  onSealsCommitted: ((epoch: number) => void) | undefined;

  constructor(
    private client: pg.Client,
    readonly log: string,
    private readonly logId: number,
    private readonly target: string,
    state: PgLogState,
    private readonly reconnect?: PgReconnect,
    private readonly timeoutMs = PG_WRITER_TIMEOUT_MS,
  ) {
    this.pending = emptyPending(state.size);
    this.tail = {
      size: state.size,
      leaf: state.lastLeaf,
      checkpoints: state.checkpointCount,
      sealEpoch: state.lastSeal?.epoch ?? -1,
    };
  }

  /**
   * Runs `work` on the current connection; when it has no answer within the time limit (a silent
   * network path: no error, no reply), the connection's socket is dropped, which fails the work
   * as STORE_UNAVAILABLE and the next flush connects again.
   */
  private async answered<T>(what: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = this.client;
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      client.connection.stream.destroy();
    }, this.timeoutMs);
    try {
      return await work(client);
    } catch (err) {
      if (!late) throw err;
      throw new AuditError(
        'STORE_UNAVAILABLE',
        `${this.target}: ${what}: no answer within ${this.timeoutMs} ms; the connection was dropped`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** The server process of the connection (for retaking the lock after losing it). */
  private get backendPid(): number | undefined {
    const pid = (this.client as { processID?: unknown }).processID;
    return typeof pid === 'number' ? pid : undefined;
  }

  /** True when something is buffered and not yet committed. */
  get dirty(): boolean {
    const p = this.pending;
    return p.count > 0 || p.checkpoints.length > 0 || p.seals.length > 0 || p.nodes.length > 0;
  }

  addLines(lines: Buffer, count: number): void {
    this.pending.lines.push(Buffer.from(lines));
    this.pending.count += count;
  }

  addLeaf(leaf: Buffer): void {
    this.pending.leaves.push(Buffer.from(leaf));
  }

  addNode(level: number, idx: number, hash: Buffer): void {
    this.pending.nodes.push({ level, idx, hash: Buffer.from(hash) });
  }

  addCheckpoint(n: number, cp: StoredCheckpoint): void {
    this.pending.checkpoints.push({ n, cp });
  }

  addSeal(seal: SealRecord): void {
    this.pending.seals.push(seal);
  }

  /**
   * Commits everything buffered so far (after any commit already running). On failure the writes
   * stay buffered, in order, and the next flush tries them again.
   * @throws AuditError STORE_UNAVAILABLE, STORE_IO.
   */
  flush(): Promise<void> {
    const run = this.chain.then(() => this.commitPending());
    this.chain = run.catch(() => {});
    return run;
  }

  /**
   * Appends the log's pending reads through `append` (the appender's own event path), after any
   * commit already running; their rows are deleted by the commit that writes their entries.
   * Returns how many were appended. A row that is not a read, or that `append` refuses, stays in
   * the table and is not tried again by this writer.
   * @throws AuditError STORE_UNAVAILABLE, STORE_IO.
   */
  absorbPendingReads(append: (event: Record<string, unknown>) => void): Promise<number> {
    const run = this.chain.then(() => this.selectAndAppend(append));
    this.chain = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private async selectAndAppend(append: (event: Record<string, unknown>) => void): Promise<number> {
    // A lost connection is recovered by the next flush; the rows wait until then.
    if (this.broken) return 0;
    let rows: Awaited<ReturnType<typeof selectPendingReads>>;
    const what = `cannot read the pending reads of log ${this.log}`;
    try {
      rows = await this.answered(what, (c) =>
        selectPendingReads(c, this.logId, [...this.absorbing, ...this.refused]),
      );
    } catch (err) {
      const e = pgError(err, this.target, what);
      if (e.code === 'STORE_UNAVAILABLE' && this.reconnect !== undefined) this.lose();
      throw e;
    }
    let n = 0;
    for (const row of rows) {
      const event = pendingReadEvent(row);
      try {
        if (event === undefined) throw new Error('not a read');
        append(event);
      } catch {
        this.refused.add(row.id);
        continue;
      }
      this.pending.readIds.push(row.id);
      this.absorbing.add(row.id);
      n++;
    }
    return n;
  }

  /** The connection in use (a new one after a reconnect): closing it releases the lock. */
  get connection(): pg.Client {
    return this.client;
  }

  private async commitPending(): Promise<void> {
    if (this.broken) await this.recover();
    if (!this.dirty) return;
    const unit = this.pending;
    this.pending = emptyPending(unit.firstSeq + unit.count);
    const what = `cannot write log ${this.log}`;
    try {
      await this.answered(what, async (c) => {
        await c.query('BEGIN');
        await this.writeUnit(c, unit);
        await c.query('COMMIT');
      });
    } catch (err) {
      const e = pgError(err, this.target, what);
      if (e.code === 'STORE_UNAVAILABLE' && this.reconnect !== undefined) {
        // The connection (and the lock) is gone; whether COMMIT happened is unknown.
        this.lose();
        this.uncertain = unit;
      } else {
        await this.client.query('ROLLBACK').catch(() => {});
      }
      // Keep the order: the failed unit goes back in front of what was buffered meanwhile.
      this.pending = mergePending(unit, this.pending);
      throw e;
    }
    this.afterCommit(unit);
  }

  /** Gives up the connection: the next flush connects again (recover). */
  private lose(): void {
    this.broken = true;
    this.lostPid = this.backendPid;
    void endClient(this.client);
  }

  private afterCommit(unit: Pending): void {
    this.tail = tailAfter(this.tail, unit);
    for (const id of unit.readIds) this.absorbing.delete(id);
    const lastSeal = unit.seals.at(-1);
    if (lastSeal !== undefined && lastSeal.epoch > this.sealFileTarget) {
      this.sealFileTarget = lastSeal.epoch;
      this.onSealsCommitted?.(lastSeal.epoch);
    }
  }

  /**
   * Connects again, takes the lock again, and drops from the buffer the uncertain commit when the
   * database has it (a transaction commits whole: one of its writes present means all are).
   * @throws AuditError TRAIL_LOCKED when another writer appended to the log meanwhile: this
   *   writer's buffered entries continue a chain that is no longer the log's, so it writes nothing
   *   more (its entries stay buffered and are reported, never counted as written).
   */
  private async recover(): Promise<void> {
    const fresh = await this.reconnect!(this.lostPid);
    const u = this.uncertain;
    let done: boolean;
    try {
      done = await this.committed(u, fresh);
    } catch (err) {
      // Let go of the new connection (and the lock with it): the next flush starts over.
      await endClient(fresh);
      throw err;
    }
    this.client = fresh;
    if (u !== undefined && done) {
      const rest = this.pending;
      this.pending = {
        firstSeq: rest.firstSeq + u.count,
        count: rest.count - u.count,
        lines: rest.lines.slice(u.lines.length),
        leaves: rest.leaves.slice(u.leaves.length),
        nodes: rest.nodes.slice(u.nodes.length),
        checkpoints: rest.checkpoints.slice(u.checkpoints.length),
        seals: rest.seals.slice(u.seals.length),
        readIds: rest.readIds.slice(u.readIds.length),
      };
      this.afterCommit(u);
    }
    this.uncertain = undefined;
    this.broken = false;
  }

  /**
   * True when the database holds the writes of `u`, false when it holds none of them. The log's
   * newest rows must be exactly this writer's, with or without `u`: a row with the same seq is not
   * enough, since another writer may have taken the log while this one was disconnected.
   * @throws AuditError TRAIL_LOCKED when the log holds rows this writer did not write.
   */
  private async committed(u: Pending | undefined, client: pg.Client): Promise<boolean> {
    let r: pg.QueryResult<{
      seq: string | null;
      leaf: Buffer | null;
      n: string | null;
      epoch: string | null;
    }>;
    try {
      r = await client.query(
        `SELECT e.seq, e.leaf_hash AS leaf,
           (SELECT max(n) FROM sealtrail.checkpoints WHERE log_id = $1) AS n,
           (SELECT max(epoch) FROM sealtrail.seals WHERE log_id = $1) AS epoch
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (SELECT seq, leaf_hash FROM sealtrail.entries WHERE log_id = $1
           ORDER BY seq DESC LIMIT 1) AS e ON true`,
        [this.logId],
      );
    } catch (err) {
      throw pgError(err, this.target, `cannot read log ${this.log}`);
    }
    const row = r.rows[0]!;
    const found: LogTail = {
      size: row.seq === null ? 0 : Number(row.seq) + 1,
      leaf: row.leaf === null ? undefined : Buffer.from(row.leaf),
      checkpoints: row.n === null ? 0 : Number(row.n) + 1,
      sealEpoch: row.epoch === null ? -1 : Number(row.epoch),
    };
    if (u !== undefined && sameTail(found, tailAfter(this.tail, u))) return true;
    if (sameTail(found, this.tail)) return false;
    throw new AuditError(
      'TRAIL_LOCKED',
      `${this.target}: log ${this.log} was written by another writer while this one was disconnected; ` +
        `this writer's entries from seq ${this.tail.size} on were not written (one writer per log)`,
      { log: this.log },
    );
  }

  private async writeUnit(c: pg.Client, u: Pending): Promise<void> {
    if (u.count > 0) {
      const all = u.lines.length === 1 ? u.lines[0]! : Buffer.concat(u.lines);
      const leaves = Buffer.concat(u.leaves);
      if (leaves.length !== u.count * HASH) {
        throw new AuditError('STORE_IO', `log ${this.log}: buffered lines and leaf hashes disagree`);
      }
      // COPY, not INSERT: measured 1.4-1.6x the rows per second of one multi-row INSERT.
      const rows = copyRows(this.logId, u.firstSeq, u.count, all, leaves);
      await pipeline(Readable.from(rows), c.query(copyFrom(COPY_ENTRIES)));
    }
    if (u.nodes.length > 0) {
      await c.query(
        `INSERT INTO sealtrail.nodes (log_id, level, idx, hash)
         SELECT $1, x.level, x.idx, substring($4::bytea FROM ((x.i - 1) * 32 + 1)::int FOR 32)
         FROM unnest($2::smallint[], $3::bigint[]) WITH ORDINALITY AS x(level, idx, i)`,
        [
          this.logId,
          u.nodes.map((n) => n.level),
          u.nodes.map((n) => n.idx),
          Buffer.concat(u.nodes.map((n) => n.hash)),
        ],
      );
    }
    for (const { n, cp } of u.checkpoints) {
      await c.query(
        'INSERT INTO sealtrail.checkpoints (log_id, n, size, time, reason, note) VALUES ($1, $2, $3, $4, $5, $6)',
        [this.logId, n, cp.size, cp.time, cp.reason, cp.note],
      );
    }
    if (u.readIds.length > 0) {
      await c.query('DELETE FROM sealtrail.pending_reads WHERE log_id = $1 AND id = ANY($2::bigint[])', [
        this.logId,
        u.readIds,
      ]);
    }
    for (const s of u.seals) {
      await c.query(
        'INSERT INTO sealtrail.seals (log_id, epoch, start_ms, end_ms, size, root, tag) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [this.logId, s.epoch, s.start, s.end, s.size, s.root, s.tag],
      );
    }
  }
}

const COPY_ENTRIES = 'COPY sealtrail.entries (log_id, seq, ts, line, leaf_hash) FROM STDIN (FORMAT binary)';
/** Rows per piece of COPY data handed to the stream. */
const COPY_PIECE_ROWS = 1000;
/** PostgreSQL binary COPY: signature, flags, header extension length (docs: "COPY", File Formats). */
const COPY_BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const COPY_BINARY_TRAILER = Buffer.from([0xff, 0xff]);
/** Per row: field count, then a length before each of the five fields and the fixed-size values. */
const COPY_ROW_FIXED = 2 + 5 * 4 + 4 + 8 + HASH;

/**
 * The binary COPY data of `count` stored lines (`all`: each line ends with a newline) and their
 * leaf hashes, in pieces of {@link COPY_PIECE_ROWS} rows. Binary, not text: the lines go as they
 * are, with nothing to escape on either side (measured: the text format's escaping was the
 * writer's largest cost after hashing).
 * @throws AuditError STORE_IO when the lines are not `count` complete lines.
 */
function* copyRows(
  logId: number,
  firstSeq: number,
  count: number,
  all: Buffer,
  leaves: Buffer,
): Generator<Buffer> {
  let start = 0;
  for (let first = 0; first < count; first += COPY_PIECE_ROWS) {
    const n = Math.min(COPY_PIECE_ROWS, count - first);
    const spans: Array<[number, number, string]> = [];
    let size = first === 0 ? COPY_BINARY_HEADER.length : 0;
    for (let i = 0; i < n; i++) {
      const end = all.indexOf(0x0a, start);
      if (end < 0) throw new AuditError('STORE_IO', 'buffered lines are cut short');
      const ts = recordTs(all.subarray(start, end));
      spans.push([start, end, ts]);
      size += COPY_ROW_FIXED + ts.length + (end - start);
      start = end + 1;
    }
    const last = first + n === count;
    if (last) size += COPY_BINARY_TRAILER.length;
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    if (first === 0) at += COPY_BINARY_HEADER.copy(out, at);
    for (let i = 0; i < n; i++) {
      const [s, e, ts] = spans[i]!;
      const k = first + i;
      at = out.writeInt16BE(5, at);
      at = out.writeInt32BE(4, at);
      at = out.writeInt32BE(logId, at);
      at = out.writeInt32BE(8, at);
      at = out.writeBigInt64BE(BigInt(firstSeq + k), at);
      at = out.writeInt32BE(ts.length, at);
      at += out.write(ts, at, 'latin1');
      at = out.writeInt32BE(e - s, at);
      at += all.copy(out, at, s, e);
      at = out.writeInt32BE(HASH, at);
      at += leaves.copy(out, at, k * HASH, (k + 1) * HASH);
    }
    if (last) at += COPY_BINARY_TRAILER.copy(out, at);
    yield out.subarray(0, at);
  }
  if (start !== all.length) throw new AuditError('STORE_IO', 'buffered lines and their count disagree');
}

function mergePending(a: Pending, b: Pending): Pending {
  return {
    firstSeq: a.firstSeq,
    count: a.count + b.count,
    lines: [...a.lines, ...b.lines],
    leaves: [...a.leaves, ...b.leaves],
    nodes: [...a.nodes, ...b.nodes],
    checkpoints: [...a.checkpoints, ...b.checkpoints],
    seals: [...a.seals, ...b.seals],
    readIds: [...a.readIds, ...b.readIds],
  };
}

/** The appender's entry log on PostgreSQL: buffers; {@link PgLogWriter.flush} commits. */
export class PgEntryLog {
  size: number;
  lastCommitted: string | undefined;

  constructor(
    private readonly writer: PgLogWriter,
    state: PgLogState,
  ) {
    this.size = state.size;
    this.lastCommitted = state.lastCommitted;
  }

  append(lines: Buffer, count: number): void {
    this.writer.addLines(lines, count);
    this.size += count;
  }

  setLast(committed: string): void {
    this.lastCommitted = committed;
  }

  /** Nothing to do here: commits are ordered, so what is signed later is committed no earlier. */
  sync(): void {}

  syncAsync(done: (err: Error | undefined) => void): void {
    this.writer.flush().then(
      () => done(undefined),
      (err: Error) => done(err),
    );
  }

  /** A log has no segments to rotate. */
  needsRotation(): boolean {
    return false;
  }

  rotate(): undefined {
    return undefined;
  }

  /**
   * @throws AuditError USAGE: stored rows are never rewritten (the trigger rejects UPDATE).
   */
  rewriteLines(): number {
    throw new AuditError(
      'USAGE',
      "erase: a PostgreSQL trail is append-only in the database: its rows are never rewritten (AuditTrail.eraseSubject destroys the subject's data key instead)",
    );
  }

  close(): void {}
}

/** Checkpoints and seals: kept in memory for the appender, buffered for the next commit. */
export class PgSealedState {
  private latest: StoredCheckpoint | undefined;
  private last: SealRecord | undefined;
  private n: number;

  constructor(
    private readonly writer: PgLogWriter,
    state: PgLogState,
  ) {
    this.latest = state.latest;
    this.last = state.lastSeal;
    this.n = state.checkpointCount;
  }

  appendCheckpoint(cp: StoredCheckpoint): void {
    this.writer.addCheckpoint(this.n++, cp);
    this.latest = cp;
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    return this.latest;
  }

  appendSeal(seal: SealRecord): void {
    this.writer.addSeal(seal);
    this.last = seal;
  }

  lastSeal(): SealRecord | undefined {
    return this.last;
  }
}

/**
 * The writer's tree: the right border in memory (root in O(log n)), each leaf hash and each
 * completed subtree of height 8, 16, ... buffered for the commit. Node reads are the readers'.
 */
export class PgTree implements TreeWriter {
  private border: Buffer[] = [];
  private count: number;

  constructor(
    private readonly writer: PgLogWriter,
    state: PgLogState,
  ) {
    this.count = state.size;
    for (let h = 0; 2 ** h <= state.size; h++) {
      const b = state.border.get(h);
      if (b !== undefined) this.border.unshift(b);
    }
  }

  get size(): number {
    return this.count;
  }

  append(leafHash: Buffer): void {
    this.writer.addLeaf(leafHash);
    let hash = leafHash;
    let height = 0;
    for (let n = this.count; n % 2 === 1; n = (n - 1) / 2) {
      hash = hashChildren(this.border.pop()!, hash);
      height++;
      if (height % PG_NODE_STRIDE === 0) {
        this.writer.addNode(height, Math.floor(this.count / 2 ** height), hash);
      }
    }
    this.border.push(hash);
    this.count++;
  }

  root(): Buffer {
    if (this.count === 0) return Buffer.from(EMPTY_TREE_ROOT);
    let hash = this.border[this.border.length - 1]!;
    for (let i = this.border.length - 2; i >= 0; i--) hash = hashChildren(this.border[i]!, hash);
    return hash;
  }

  /** @throws AuditError USAGE: the writer does not read node hashes back. */
  nodeHash(): Buffer {
    throw new AuditError('USAGE', 'postgres writer tree: node hashes are read through a reader');
  }

  /** @throws AuditError USAGE unless `size` is the current size (buffered writes never fail). */
  truncate(size: number): void {
    if (size !== this.count) throw new AuditError('USAGE', 'postgres writer tree: cannot be truncated');
  }

  flush(): void {}
  sync(): void {}
  close(): void {}
}

/**
 * The forward-seal key of a PostgreSQL trail: sealing and evolving run on a copy in memory; the
 * key file (in the local key directory) evolves only once the seals made with its key are
 * committed, so that a crash never leaves an epoch whose key is gone and whose seal is not stored.
 */
export class PgSealKey {
  private readonly chain: SealKeyChain;

  constructor(private readonly file: SealKeyFile) {
    this.chain = file.copy();
  }

  get epoch(): number {
    return this.chain.epoch;
  }

  seal(record: Omit<SealRecord, 'tag'>): SealRecord {
    return this.chain.seal(record);
  }

  evolve(): void {
    this.chain.evolve();
  }

  /** Evolves the key file past `epoch` (its seal is committed). */
  committed(epoch: number): void {
    while (this.file.epoch <= epoch) this.file.evolve();
  }
}
