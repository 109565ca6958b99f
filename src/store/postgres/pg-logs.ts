/**
 * The `logs` table (one row per log: origin, verifier key, seal schedule, content mode, the
 * `trail.json` of a trail directory) and the one-writer-per-log advisory lock.
 */
import type pg from 'pg';
import { AuditError, isAuditError } from '../../errors.js';
import type { ContentMode, TrailMeta } from '../trail-meta.js';
import { logLockKey, pgError } from './connect.js';

/** Log names: letters, digits, `.`, `_`, `-`, at most 128 (the table's CHECK says the same). */
export const LOG_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Checks a log name.
 * @throws AuditError CONFIG_INVALID naming the field.
 */
export function checkLogName(log: string): string {
  if (typeof log !== 'string' || !LOG_NAME_RE.test(log)) {
    throw new AuditError('CONFIG_INVALID', 'postgres.log: expected letters, digits and . _ - (max 128)', {
      field: 'postgres.log',
    });
  }
  return log;
}

interface LogRow {
  id: number;
  format: string;
  origin: string;
  verifier_key: string;
  created_at_ms: string;
  seal_epoch_ms: string;
  content: string;
}

/** A log's row id (what the other tables refer to) and description. */
export interface PgLogMeta {
  id: number;
  meta: TrailMeta;
}

/** The columns of a logs row that {@link metaOfRow} reads. */
export const LOG_COLUMNS = 'id, format, origin, verifier_key, created_at_ms, seal_epoch_ms, content';

/** The TrailMeta of a logs row. */
export function metaOfRow(row: LogRow): TrailMeta {
  return {
    format: row.format as TrailMeta['format'],
    origin: row.origin,
    verifierKey: row.verifier_key,
    createdAt: Number(row.created_at_ms),
    sealEpochMs: Number(row.seal_epoch_ms),
    content: row.content as ContentMode,
  };
}

/** The row id and description of `log`, or undefined when there is no such log. */
export async function readLogMeta(
  client: pg.ClientBase,
  log: string,
  target: string,
): Promise<PgLogMeta | undefined> {
  let row: LogRow | undefined;
  try {
    row = (await client.query<LogRow>(`SELECT ${LOG_COLUMNS} FROM sealtrail.logs WHERE log = $1`, [log]))
      .rows[0];
  } catch (err) {
    throw pgError(err, target, `cannot read log ${log}`);
  }
  return row === undefined ? undefined : { id: row.id, meta: metaOfRow(row) };
}

/**
 * Records a new log; returns its row id.
 * @throws AuditError TRAIL_EXISTS when the log or its origin exists.
 */
export async function insertLogMeta(
  client: pg.ClientBase,
  log: string,
  meta: TrailMeta,
  target: string,
): Promise<number> {
  try {
    const r = await client.query<{ id: number }>(
      `INSERT INTO sealtrail.logs (log, format, origin, verifier_key, created_at_ms, seal_epoch_ms, content)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [log, meta.format, meta.origin, meta.verifierKey, meta.createdAt, meta.sealEpochMs, meta.content],
    );
    return r.rows[0]!.id;
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new AuditError(
        'TRAIL_EXISTS',
        `${target}: a log named ${log} or with origin ${meta.origin} exists`,
      );
    }
    throw pgError(err, target, `cannot create log ${log}`);
  }
}

/** The pg_locks columns of a bigint advisory key: high and low 32 bits, unsigned. */
function lockColumns(key: string): [string, string] {
  const k = BigInt.asUintN(64, BigInt(key));
  return [(k >> 32n).toString(), (k & 0xffffffffn).toString()];
}

/**
 * Who holds the writer lock of `log` (application name, address and role), or undefined when
 * nobody does. Any role that can connect may take an advisory lock (docs/postgres.md): the role
 * tells a writer from a session that squats the lock, whose application name may be anything.
 */
export async function logLockHolder(client: pg.ClientBase, log: string): Promise<string | undefined> {
  const [hi, lo] = lockColumns(logLockKey(log));
  const r = await client.query<{ pid: number; app: string | null; addr: string | null; role: string | null }>(
    `SELECT l.pid, a.application_name AS app, host(a.client_addr) AS addr, a.usename AS role
     FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = $1::oid AND l.objid = $2::oid`,
    [hi, lo],
  );
  const row = r.rows[0];
  if (row === undefined) return undefined;
  return `${row.app || 'a session'}${row.addr ? ` from ${row.addr}` : ''} (backend pid ${row.pid}${row.role ? `, role ${row.role}` : ''})`;
}

/**
 * Refuses a role that may not write logs before it takes a log's lock: a reader role running
 * `append` or `erase` held the lock, then failed on the first table it touched with a message
 * about that table.
 * @throws AuditError STORE_UNAVAILABLE naming the role.
 */
export async function checkWriterRights(client: pg.ClientBase, target: string): Promise<void> {
  let row: { role: string; ok: boolean };
  try {
    row = (
      await client.query<{ role: string; ok: boolean }>(
        `SELECT current_user AS role,
                has_table_privilege('sealtrail.entries', 'INSERT')
                AND has_table_privilege('sealtrail.pending_reads', 'DELETE') AS ok`,
      )
    ).rows[0]!;
  } catch (err) {
    throw pgError(err, target, 'cannot read the rights of this role');
  }
  if (!row.ok)
    throw new AuditError(
      'STORE_UNAVAILABLE',
      `${target}: role ${row.role} may not write logs: it needs the sealtrail_writer role (docs/postgres.md)`,
    );
}

/**
 * Takes the session advisory lock of `log` on `client`, waiting up to `timeoutMs` (0: fail at
 * once). The lock lasts as long as the connection.
 * @throws AuditError TRAIL_LOCKED naming the holder.
 */
export async function acquireLogLock(
  client: pg.ClientBase,
  log: string,
  timeoutMs: number,
  target: string,
): Promise<void> {
  const key = logLockKey(log);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok: boolean;
    try {
      ok = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]))
        .rows[0]!.ok;
    } catch (err) {
      throw pgError(err, target, `cannot lock log ${log}`);
    }
    if (ok) return;
    if (Date.now() >= deadline) {
      const holder = await logLockHolder(client, log).catch(() => undefined);
      throw new AuditError(
        'TRAIL_LOCKED',
        `${target}: log ${log} is being written by ${holder ?? 'another writer'}; one writer per log`,
        { log },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(250, Math.max(1, deadline - Date.now()))));
  }
}

/**
 * Takes the lock of `log` on `client` after this process lost the connection that held it. When
 * the server still counts that connection's backend (`lostPid`, same application name) as the
 * holder, as it does after a silent network path until its own TCP gives up, that backend is
 * terminated first (a role may end its own sessions); its open transaction, if any, ends with it.
 * Any other holder is another writer: TRAIL_LOCKED.
 * @throws AuditError TRAIL_LOCKED, STORE_UNAVAILABLE.
 */
export async function retakeLogLock(
  client: pg.ClientBase,
  log: string,
  lostPid: number | undefined,
  appName: string,
  target: string,
): Promise<void> {
  try {
    return await acquireLogLock(client, log, 0, target);
  } catch (err) {
    if (lostPid === undefined || !isAuditError(err, 'TRAIL_LOCKED')) throw err;
  }
  const [hi, lo] = lockColumns(logLockKey(log));
  let ended: boolean;
  try {
    const r = await client.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(l.pid) AS ok
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid = $1::oid
         AND l.objid = $2::oid AND l.pid = $3 AND a.application_name = $4`,
      [hi, lo, lostPid, appName],
    );
    ended = r.rows[0]?.ok === true;
  } catch (err) {
    throw pgError(err, target, `cannot end the lost session of log ${log}`);
  }
  // Not ours (or gone meanwhile): wait briefly, as for any holder, then name it.
  await acquireLogLock(client, log, ended ? 5_000 : 0, target);
}
