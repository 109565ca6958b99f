/**
 * Connecting to PostgreSQL without ever showing the connection string: errors name host, port,
 * database and user only (the URL may hold a password). Also the advisory lock key of a log and
 * the check that the database stores text as UTF-8 (stored lines must come back byte for byte).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { AuditError } from '../../errors.js';

/** Where a connection string points, without its password, for messages. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const db = u.pathname.replace(/^\//, '') || '(default database)';
    const user = u.username === '' ? '' : `${decodeURIComponent(u.username)}@`;
    return `postgres ${user}${u.hostname || 'localhost'}:${u.port || '5432'}/${db}`;
  } catch {
    return 'postgres (connection string not shown)';
  }
}

/**
 * The advisory lock key of a log (bigint, as a decimal string): the first 8 bytes of
 * SHA-256("sealtrail-log\0" + log name), read as a big-endian signed 64-bit integer.
 */
export function logLockKey(log: string): string {
  const digest = createHash('sha256').update(`sealtrail-log\0${log}`, 'utf8').digest();
  return digest.readBigInt64BE(0).toString();
}

/** Wraps a driver or network error into an AuditError that names the target, never the URL. */
export function pgError(err: unknown, target: string, what: string): AuditError {
  if (err instanceof AuditError) return err;
  const e = err as { code?: string; message?: string };
  const code = e.code ?? 'EIO';
  // Connection-level failures: the store is unavailable; SQL errors name their SQLSTATE.
  const unavailable =
    /^(E[A-Z]+|08\d{3}|28\w{3}|3D000|57P0\d|53\d{3})$/.test(code) ||
    /terminat|Connection|not queryable|closed|timeout/i.test(e.message ?? '');
  const detail =
    code === '28P01'
      ? 'authentication failed'
      : code === '3D000'
        ? 'database does not exist'
        : code.startsWith('E')
          ? ((e.code === undefined ? driverDetail(e.message) : undefined) ?? code)
          : `${code}: ${(e.message ?? '').split('\n')[0]}`;
  return new AuditError(unavailable ? 'STORE_UNAVAILABLE' : 'STORE_IO', `${target}: ${what}: ${detail}`, {
    sqlstate: code,
  });
}

/**
 * What an error of the driver itself (no SQLSTATE, no errno) means, for the messages it is known
 * to give before the server answers; undefined otherwise (the message is not shown: unknown text).
 */
function driverDetail(message: string | undefined): string | undefined {
  if (message === undefined) return undefined;
  if (/password must be a string/.test(message))
    return 'the server asks for a password and none was given (set PGPASSWORD or use ~/.pgpass)';
  if (/does not support SSL/.test(message))
    return 'the server does not support SSL (see sslmode in the connection string)';
  return undefined;
}

/** The application name a connection shows in pg_stat_activity. */
export function applicationName(role: 'writer' | 'reader'): string {
  return `sealtrail ${role} ${os.hostname()} pid ${process.pid}`.slice(0, 63);
}

/**
 * Opens one connection (TCP keepalive on) and checks that the server stores text as UTF-8.
 * With `queryTimeoutMs`, a query with no answer in that time fails as STORE_UNAVAILABLE; the
 * connection is then unusable and must be dropped (node-postgres leaves it mid-query).
 * @throws AuditError STORE_UNAVAILABLE when it cannot connect or authenticate; CONFIG_INVALID for
 *   a connection string the driver cannot parse, or a database in another encoding.
 */
export async function connectPg(
  url: string,
  role: 'writer' | 'reader',
  queryTimeoutMs?: number,
): Promise<pg.Client> {
  const target = describeTarget(url);
  if (typeof url !== 'string' || url === '') {
    throw new AuditError('CONFIG_INVALID', 'postgres: a connection string is required', {
      field: 'postgres',
    });
  }
  let client: pg.Client;
  try {
    client = new pg.Client({
      connectionString: url,
      application_name: applicationName(role),
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      ...(queryTimeoutMs === undefined ? {} : { query_timeout: queryTimeoutMs }),
    });
  } catch {
    // The driver's error may carry the string it could not parse (attacker-visible logs): not kept.
    throw new AuditError('CONFIG_INVALID', 'postgres: not a valid connection string (not shown)', {
      field: 'postgres',
    });
  }
  // An idle client whose server goes away emits 'error'; the next query reports it.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw pgError(err, target, 'cannot connect');
  }
  try {
    const enc = await client.query<{ server_encoding: string }>('SHOW server_encoding');
    if (enc.rows[0]?.server_encoding !== 'UTF8') {
      throw new AuditError(
        'CONFIG_INVALID',
        `${target}: database encoding is ${enc.rows[0]?.server_encoding}, sealtrail needs UTF8`,
        { field: 'postgres' },
      );
    }
  } catch (err) {
    await client.end().catch(() => {});
    throw pgError(err, target, 'cannot read server settings');
  }
  return client;
}

/**
 * Closes a connection, and drops its socket when the server does not answer the goodbye within
 * `graceMs` (a silent network path would otherwise hold `end()` until TCP gives up). Closing
 * also releases the session's advisory locks.
 */
export async function endClient(client: pg.Client, graceMs = 5_000): Promise<void> {
  const timer = setTimeout(() => client.connection.stream.destroy(), graceMs);
  try {
    await client.end().catch(() => {});
  } finally {
    clearTimeout(timer);
  }
}
