/**
 * Where a PostgreSQL trail lives, and where its keys are by default. Kept apart from the store so
 * that naming a target does not load the driver.
 */
import path from 'node:path';

/** Where a PostgreSQL trail lives. */
export interface PostgresTarget {
  /** Connection string (`postgres://user:password@host:port/db`); never printed. */
  url: string;
  /** The log's name in the database (many logs share one database); default `default`. */
  log?: string;
  /**
   * Local directory with the log's checkpoint and seal keys (0700, files 0600); default
   * `$SEALTRAIL_KEYS`, then `./audit-keys/<log>`.
   */
  keysDir?: string;
  /** Wait this long (ms) for another writer of the log to let go; default 0 (fail at once). */
  lockTimeoutMs?: number;
  /**
   * A commit or query of the writer that has no answer in this time (ms; a silent network path)
   * drops the connection; the writer keeps the entries and writes them on a new connection
   * (retaking the lock from its lost session). Default 30,000.
   */
  timeoutMs?: number;
}

/** The key directory of a target: the option, $SEALTRAIL_KEYS, then ./audit-keys/<log>. */
export function pgKeysDir(target: PostgresTarget): string {
  return target.keysDir ?? (process.env.SEALTRAIL_KEYS || path.join('audit-keys', target.log ?? 'default'));
}
