/**
 * Reads of a PostgreSQL log waiting to be recorded in it (the `pending-reads/` folder of a trail
 * directory, as a table). The CLI records every read as an `audit.read` entry (and `anomalies`
 * its findings as `security.anomaly` entries); a reader cannot append to a log (one writer per
 * log, and the reader role may not), so it inserts the event into `sealtrail.pending_reads`, the
 * one table the reader role may INSERT into. The log's writer selects the rows on open and on its
 * periodic tick, appends them to the chain, and deletes them in the same transaction that commits
 * their entries: a row is either still pending or in the log, never both, never neither.
 * Rows are stamped by the database with the login role that inserted them (a trigger sets
 * `db_role` to `session_user`), which the entry records as `meta.dbRole`.
 */
import type pg from 'pg';
import { AuditError } from '../../errors.js';
import type { AuditEventInput } from '../../event/types.js';
import { PENDING_READ_TYPES } from '../pending-reads.js';
import { connectPg, describeTarget, pgError } from './connect.js';
import { checkLogName } from './pg-logs.js';

/** Longest event text a row may hold, in bytes (the table's CHECK says the same). */
export const PENDING_READ_MAX_BYTES = 65_536;

/** Rows absorbed per tick at most (the rest wait for the next one). */
const ABSORB_BATCH = 1000;

/**
 * Inserts `events` for log `log`, in order, in one transaction, as the connecting role (a member
 * of sealtrail_reader or sealtrail_writer).
 * @throws AuditError TRAIL_NOT_FOUND (no such log), STORE_UNAVAILABLE, STORE_IO (for example
 *   permission denied, or a schema older than the table: run sealtrail init as the owner).
 */
export async function insertPendingReads(
  url: string,
  log: string,
  events: readonly AuditEventInput[],
): Promise<void> {
  checkLogName(log);
  const target = describeTarget(url);
  const texts = events.map((e) => JSON.stringify(e));
  for (const t of texts) {
    if (Buffer.byteLength(t) > PENDING_READ_MAX_BYTES)
      throw new AuditError(
        'STORE_IO',
        `${target}: a read record is longer than ${PENDING_READ_MAX_BYTES} bytes`,
      );
  }
  const client = await connectPg(url, 'reader');
  try {
    await client.query('BEGIN');
    const r = await client.query(
      `INSERT INTO sealtrail.pending_reads (log_id, event)
       SELECT l.id, e.event FROM sealtrail.logs l, unnest($2::text[]) WITH ORDINALITY AS e(event, i)
       WHERE l.log = $1 ORDER BY e.i`,
      [log, texts],
    );
    if (r.rowCount !== texts.length) {
      await client.query('ROLLBACK');
      throw new AuditError('TRAIL_NOT_FOUND', `${target}: no log ${log} (run sealtrail init --postgres)`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw pgError(err, target, `cannot record the read in log ${log}`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** One row selected for absorption. */
export interface PendingReadRow {
  id: string;
  event: string;
  db_role: string;
  created: Date;
}

/**
 * The oldest pending rows of a log, without those in `exclude` (buffered or refused).
 * @throws Error from the driver (the caller maps it).
 */
export async function selectPendingReads(
  client: pg.ClientBase,
  logId: number,
  exclude: readonly string[],
): Promise<PendingReadRow[]> {
  const r = await client.query<PendingReadRow>(
    `SELECT id, event, db_role, created FROM sealtrail.pending_reads
     WHERE log_id = $1 AND NOT (id = ANY($2::bigint[])) ORDER BY id LIMIT ${ABSORB_BATCH}`,
    [logId, exclude],
  );
  return r.rows;
}

/**
 * The event to append for a pending row: its own fields, `meta.recordedLate` set, `meta.dbRole`
 * the role that inserted it, and as its time the row's `created`, stamped by the database: a time
 * the row names is not kept, or a reader could date its own read out of a time window. Undefined for a row
 * that is not JSON or not of a {@link PENDING_READ_TYPES} type, or that has content: the reader
 * role could insert anything, and the log's writer appends nothing else. (A read has no content;
 * the writer thread has no content keys, so a row's content went into the log in clear, in an
 * encrypt log too, where it also made every erasure of its subject refuse for good.)
 */
export function pendingReadEvent(row: PendingReadRow): Record<string, unknown> | undefined {
  let event: unknown;
  try {
    event = JSON.parse(row.event);
  } catch {
    return undefined;
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return undefined;
  const e = event as Record<string, unknown>;
  if (typeof e.type !== 'string' || !PENDING_READ_TYPES.has(e.type) || e.content !== undefined)
    return undefined;
  const meta = typeof e.meta === 'object' && e.meta !== null && !Array.isArray(e.meta) ? e.meta : {};
  return {
    ...e,
    ts: row.created.toISOString(),
    meta: { ...meta, recordedLate: true, dbRole: row.db_role },
  };
}
