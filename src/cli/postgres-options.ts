/**
 * `--postgres URL` in place of `--dir` for the verbs that read or write a trail, with `--log NAME`
 * (default `default`), `--keys DIR` (the log's local key directory, for writers) and
 * `--lock-timeout MS` (wait for another writer of the log). Readers take `--keys DIR` for the
 * content keys of `--decrypt` (master.json, subjects/) and to record their read directly. The password is best left out of the
 * URL (visible in the process list): the driver takes it from PGPASSWORD or ~/.pgpass.
 */
import { AuditError } from '../errors.js';
import type { PgSource } from '../store/postgres/index.js';
import { type PostgresTarget, pgKeysDir } from '../writer/postgres-target.js';
import { intOption, trailDir } from './common.js';

/** Options of the PostgreSQL store. */
export const POSTGRES_OPTIONS = {
  postgres: { type: 'string' },
  log: { type: 'string' },
  keys: { type: 'string' },
  'lock-timeout': { type: 'string' },
} as const;

/** Parsed values of {@link POSTGRES_OPTIONS} (and --dir). */
export interface PostgresValues {
  dir?: string | undefined;
  postgres?: string | undefined;
  log?: string | undefined;
  keys?: string | undefined;
  'lock-timeout'?: string | undefined;
}

/**
 * The PostgreSQL log the options name, or undefined for a directory trail.
 * @throws AuditError USAGE for --dir with --postgres, or --log/--keys without --postgres.
 */
export function postgresTarget(verb: string, values: PostgresValues): PostgresTarget | undefined {
  if (values.postgres === undefined) {
    for (const name of ['log', 'keys', 'lock-timeout'] as const) {
      if (values[name] !== undefined)
        throw new AuditError('USAGE', `${verb}: --${name} needs --postgres URL`);
    }
    return undefined;
  }
  if (values.dir !== undefined) throw new AuditError('USAGE', `${verb}: give --dir or --postgres, not both`);
  const target: PostgresTarget = { url: values.postgres };
  if (values.log !== undefined) target.log = values.log;
  if (values.keys !== undefined) target.keysDir = values.keys;
  const wait = intOption('lock-timeout', values['lock-timeout']);
  if (wait !== undefined) target.lockTimeoutMs = wait;
  return target;
}

/** Where a trail is written: `{ dir }` or `{ postgres }`, for AuditTrail.open. */
export function writeTarget(
  verb: string,
  values: PostgresValues,
): { dir: string } | { postgres: PostgresTarget } {
  const pg = postgresTarget(verb, values);
  return pg === undefined ? { dir: trailDir(values.dir) } : { postgres: pg };
}

/**
 * The trail a read verb reads: the directory, or an opened PostgreSQL log (close it when done).
 * @throws AuditError TRAIL_NOT_FOUND, STORE_UNAVAILABLE.
 */
export async function readTarget(verb: string, values: PostgresValues): Promise<ReadTarget> {
  const target = postgresTarget(verb, values);
  if (target === undefined) return { source: trailDir(values.dir), pg: undefined, close: () => {} };
  // The driver is loaded only when a verb reads PostgreSQL.
  const { PgSource } = await import('../store/postgres/index.js');
  const source = new PgSource(target.url, target.log);
  return { source, pg: source, target, keysDir: pgKeysDir(target), close: () => source.close() };
}

/** What a read verb reads (see {@link readTarget}). */
export interface ReadTarget {
  source: string | PgSource;
  pg: PgSource | undefined;
  /** The PostgreSQL log, for recording the read in it. */
  target?: PostgresTarget;
  /** The PostgreSQL log's key directory (content keys for --decrypt, signing keys). */
  keysDir?: string;
  close(): void;
}
