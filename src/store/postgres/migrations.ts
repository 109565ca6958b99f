/**
 * The versioned schema of the PostgreSQL store (docs/postgres.md): each migration is applied once,
 * in order, in one transaction, under a transaction advisory lock so that two processes starting
 * together do not both apply it, and recorded in `sealtrail.schema_migrations`. Migrations need
 * the schema owner's rights (CREATE); the application roles they create only INSERT and SELECT.
 */
import type pg from 'pg';
import { AuditError } from '../../errors.js';

/** The schema every table lives in. */
export const PG_SCHEMA = 'sealtrail';

/** Group role of writers (collectors, applications): INSERT and SELECT, nothing else. */
export const PG_WRITER_ROLE = 'sealtrail_writer';
/** Group role of readers (auditors, the viewer): SELECT only. */
export const PG_READER_ROLE = 'sealtrail_reader';

/**
 * Advisory lock key (bigint) held while migrating: the first 8 bytes of "sealtrail-migrate" in
 * ASCII ("sealtrai"), read as a big-endian signed 64-bit integer.
 */
const MIGRATE_LOCK_KEY = '8315159405447504233';

/** One schema change. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, oldest first. Never edit one that was released: add the next. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'logs, entries, nodes, checkpoints, seals; append-only trigger; writer and reader roles',
    sql: `
CREATE TABLE sealtrail.logs (
  id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  log            text NOT NULL UNIQUE CHECK (log ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
  format         text NOT NULL,
  origin         text NOT NULL UNIQUE,
  verifier_key   text NOT NULL,
  created_at_ms  bigint NOT NULL,
  seal_epoch_ms  bigint NOT NULL,
  content        text NOT NULL,
  created        timestamptz NOT NULL DEFAULT now()
);
-- entries and nodes carry no foreign key to logs: its check is a trigger run once per inserted
-- row; only the writer inserts them, always under a log it read or created under the lock.
-- One row per entry: the stored line as written to a segment file (committed record, then a tab
-- and the content payloads when there are any), its event time and its RFC 6962 leaf hash.
CREATE TABLE sealtrail.entries (
  log_id     integer NOT NULL,
  seq        bigint NOT NULL CHECK (seq >= 0),
  ts         text NOT NULL,
  line       text NOT NULL,
  leaf_hash  bytea NOT NULL CHECK (length(leaf_hash) = 32),
  PRIMARY KEY (log_id, seq)
);
-- Event times grow with seq: a BRIN index serves time windows at a fraction of a B-tree's cost
-- per insert (measured).
CREATE INDEX entries_ts ON sealtrail.entries USING brin (ts);
-- Hashes of the complete subtrees of height 8, 16, 24, ... (as level-08.hashes, ... of a trail
-- directory; level 0 is entries.leaf_hash).
CREATE TABLE sealtrail.nodes (
  log_id integer NOT NULL,
  level  smallint NOT NULL CHECK (level > 0 AND level % 8 = 0),
  idx    bigint NOT NULL CHECK (idx >= 0),
  hash   bytea NOT NULL CHECK (length(hash) = 32),
  PRIMARY KEY (log_id, level, idx)
);
CREATE TABLE sealtrail.checkpoints (
  log_id  integer NOT NULL REFERENCES sealtrail.logs (id),
  n       bigint NOT NULL CHECK (n >= 0),
  size    bigint NOT NULL,
  time    text NOT NULL,
  reason  text NOT NULL,
  note    text NOT NULL,
  PRIMARY KEY (log_id, n)
);
CREATE TABLE sealtrail.seals (
  log_id  integer NOT NULL REFERENCES sealtrail.logs (id),
  epoch   bigint NOT NULL CHECK (epoch >= 0),
  start_ms bigint NOT NULL,
  end_ms   bigint NOT NULL,
  size    bigint NOT NULL,
  root    text NOT NULL,
  tag     text NOT NULL,
  PRIMARY KEY (log_id, epoch)
);

-- Append-only, enforced by the database: no UPDATE, DELETE or TRUNCATE on any table, whoever asks
-- (a superuser can still disable the trigger; verify detects what is then changed).
CREATE FUNCTION sealtrail.reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'sealtrail: % on %.% rejected: the audit trail is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['logs', 'entries', 'nodes', 'checkpoints', 'seals', 'schema_migrations'] LOOP
    EXECUTE format('CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON sealtrail.%I FOR EACH ROW EXECUTE FUNCTION sealtrail.reject_change()', t);
    EXECUTE format('CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON sealtrail.%I FOR EACH STATEMENT EXECUTE FUNCTION sealtrail.reject_change()', t);
  END LOOP;
END
$$;

-- Group roles: DBAs create login roles and GRANT sealtrail_writer or sealtrail_reader to them.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sealtrail_writer') THEN
    CREATE ROLE sealtrail_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sealtrail_reader') THEN
    CREATE ROLE sealtrail_reader NOLOGIN;
  END IF;
END
$$;
REVOKE ALL ON ALL TABLES IN SCHEMA sealtrail FROM PUBLIC;
GRANT USAGE ON SCHEMA sealtrail TO sealtrail_writer, sealtrail_reader;
GRANT SELECT, INSERT ON sealtrail.logs, sealtrail.entries, sealtrail.nodes, sealtrail.checkpoints, sealtrail.seals TO sealtrail_writer;
GRANT SELECT ON sealtrail.logs, sealtrail.entries, sealtrail.nodes, sealtrail.checkpoints, sealtrail.seals, sealtrail.schema_migrations TO sealtrail_writer, sealtrail_reader;
`,
  },
  {
    version: 2,
    name: 'pending_reads: reads recorded by readers, absorbed into the log by its writer',
    sql: `
-- Reads (and anomaly findings) of a log waiting for its writer: the one table readers may INSERT
-- into. The writer appends a row's event to the log and deletes the row in the transaction that
-- commits the entry. Not part of the sealed log (its entries are): rows are deleted, never updated.
CREATE TABLE sealtrail.pending_reads (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  log_id   integer NOT NULL REFERENCES sealtrail.logs (id),
  event    text NOT NULL CHECK (octet_length(event) <= 65536),
  db_role  text NOT NULL DEFAULT session_user,
  created  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_reads_log ON sealtrail.pending_reads (log_id, id);
-- Who inserted a row and when are the database's word, not the inserter's.
CREATE FUNCTION sealtrail.stamp_pending_read() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.db_role := session_user;
  NEW.created := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER stamp BEFORE INSERT ON sealtrail.pending_reads
  FOR EACH ROW EXECUTE FUNCTION sealtrail.stamp_pending_read();
CREATE TRIGGER append_only BEFORE UPDATE ON sealtrail.pending_reads
  FOR EACH ROW EXECUTE FUNCTION sealtrail.reject_change();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON sealtrail.pending_reads
  FOR EACH STATEMENT EXECUTE FUNCTION sealtrail.reject_change();
REVOKE ALL ON sealtrail.pending_reads FROM PUBLIC;
GRANT INSERT ON sealtrail.pending_reads TO sealtrail_reader, sealtrail_writer;
GRANT SELECT, DELETE ON sealtrail.pending_reads TO sealtrail_writer;
`,
  },
];

/** The schema version this code needs. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/** The applied schema version, 0 when the schema does not exist yet. */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ exists: boolean }>(
    "SELECT to_regclass('sealtrail.schema_migrations') IS NOT NULL AS exists",
  );
  if (r.rows[0]?.exists !== true) return 0;
  const v = await client.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM sealtrail.schema_migrations',
  );
  return Number(v.rows[0]?.v ?? 0);
}

/**
 * Applies the migrations not applied yet. Returns the versions applied (empty when current).
 * @throws AuditError STORE_UNAVAILABLE when the schema is behind and the role may not change it
 *   (run `sealtrail init --postgres URL --log NAME` as the schema owner), when the group roles are
 *   missing and the role may not create them, or when the database is newer than this code.
 */
export async function migrate(client: pg.ClientBase): Promise<number[]> {
  const current = await schemaVersion(client);
  if (current > SCHEMA_VERSION) {
    throw new AuditError(
      'STORE_UNAVAILABLE',
      `postgres: schema version ${current} is newer than this sealtrail (${SCHEMA_VERSION}); upgrade sealtrail`,
    );
  }
  if (current === SCHEMA_VERSION) return [];
  const applied: number[] = [];
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATE_LOCK_KEY})`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${PG_SCHEMA}.schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (
        await client.query<{ version: number }>(`SELECT version FROM ${PG_SCHEMA}.schema_migrations`)
      ).rows.map((r) => r.version),
    );
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query(`INSERT INTO ${PG_SCHEMA}.schema_migrations (version, name) VALUES ($1, $2)`, [
        m.version,
        m.name,
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    const { code, routine } = err as { code?: string; routine?: string };
    if (code === '42501' && routine === 'CreateRole') {
      // The owner of a database (not a superuser) may create the schema but not roles.
      throw new AuditError(
        'STORE_UNAVAILABLE',
        `postgres: schema at version ${current}, needs ${SCHEMA_VERSION}, and this role may not create the group roles ${PG_WRITER_ROLE} and ${PG_READER_ROLE}: grant it CREATEROLE, or create them (NOLOGIN) as a superuser, then run sealtrail init --postgres again (docs/postgres.md)`,
      );
    }
    if (code === '42501') {
      throw new AuditError(
        'STORE_UNAVAILABLE',
        `postgres: schema at version ${current}, needs ${SCHEMA_VERSION}, and this role may not migrate it: run sealtrail init --postgres as the schema owner (docs/postgres.md)`,
      );
    }
    throw err;
  }
  return applied;
}
