/**
 * Opens the appender of a log in PostgreSQL: connects, brings the schema up to date (when the role
 * may), takes the log's advisory lock (one writer per log), creates the log when missing (keys in
 * a local key directory, never in the database), reads the log's state and continues its chain,
 * catching up on missed seal epochs, and appends the reads readers left pending (on open and on
 * every settle, the worker's periodic tick). Runs in the writer's worker thread.
 */
import type pg from 'pg';
import { AuditError, isAuditError } from '../errors.js';
import {
  type ContentMode,
  DEFAULT_SEAL_EPOCH_MS,
  defaultOrigin,
  type TrailMeta,
  validateTrailSettings,
} from '../store/index.js';
import {
  acquireLogLock,
  applicationName,
  checkLogName,
  checkWriterRights,
  connectPg,
  createPgKeys,
  describeTarget,
  endClient,
  insertLogMeta,
  loadPgKeys,
  migrate,
  PG_WRITER_TIMEOUT_MS,
  PgEntryLog,
  PgLogWriter,
  PgSealedState,
  PgSealKey,
  PgTree,
  readLogMeta,
  readLogState,
  removePgKeys,
  retakeLogLock,
} from '../store/postgres/index.js';
import { Appender, type AppenderOptions } from './appender.js';
import { type PostgresTarget, pgKeysDir } from './postgres-target.js';
import { checkUnsignedTail, recoveryEvent } from './unsigned-tail.js';

export type { PostgresTarget };

/** Options for opening a PostgreSQL log for writing. */
export interface OpenPgOptions extends AppenderOptions {
  postgres: PostgresTarget;
  create?: boolean;
  origin?: string;
  content?: ContentMode;
  sealEpochMs?: number;
}

/** An open PostgreSQL appender. */
export interface OpenedPg {
  appender: Appender;
  meta: TrailMeta;
  sealSeed?: string;
  /** Commits everything buffered (checkpoints and seals too). */
  settle(): Promise<void>;
  /** After `appender.close()`: commits the final checkpoint and seal, releases the lock. */
  finish(): Promise<void>;
}

/**
 * Opens (and if allowed creates) a log for appending.
 * @throws AuditError TRAIL_LOCKED (another writer holds the log), TRAIL_NOT_FOUND, TRAIL_EXISTS,
 *   STORE_UNAVAILABLE, STORE_IO, KEY_NOT_FOUND, KEY_INVALID, CONFIG_INVALID.
 */
export async function openPgAppender(options: OpenPgOptions): Promise<OpenedPg> {
  const t = options.postgres;
  const log = checkLogName(t.log ?? 'default');
  const target = describeTarget(t.url);
  const keysDir = pgKeysDir(t);
  const timeoutMs = t.timeoutMs ?? PG_WRITER_TIMEOUT_MS;
  checkMs('postgres.timeoutMs', timeoutMs, 1);
  if (t.lockTimeoutMs !== undefined) checkMs('postgres.lockTimeoutMs', t.lockTimeoutMs, 0);
  const client = await connectPg(t.url, 'writer', timeoutMs);
  try {
    await migrate(client);
    await checkWriterRights(client, target);
    await acquireLogLock(client, log, t.lockTimeoutMs ?? 0, target);
    const row = await readLogMeta(client, log, target);
    let meta = row?.meta;
    let logId = row?.id;
    let sealSeed: string | undefined;
    if (meta === undefined || logId === undefined) {
      if (options.create === false) {
        throw new AuditError('TRAIL_NOT_FOUND', `${target}: no log ${log} (run sealtrail init --postgres)`);
      }
      const origin = options.origin ?? defaultOrigin();
      const sealEpochMs = options.sealEpochMs ?? DEFAULT_SEAL_EPOCH_MS;
      validateTrailSettings(origin, sealEpochMs);
      const keys = createPgKeys(keysDir, origin);
      meta = {
        format: 'sealtrail-trail/1',
        origin,
        verifierKey: keys.verifierKey,
        createdAt: Date.now(),
        sealEpochMs,
        content: options.content ?? 'plain',
      };
      try {
        logId = await insertLogMeta(client, log, meta, target);
      } catch (err) {
        // Refused (name or origin taken, a SQL error): no log holds these keys, so leave the
        // directory as it was for a retry. A lost connection may have lost only the answer to a
        // commit that went through: the keys then belong to the new log and stay.
        if (!isAuditError(err) || err.code !== 'STORE_UNAVAILABLE') removePgKeys(keysDir);
        throw err;
      }
      sealSeed = keys.sealSeed;
    }
    const { signer, sealKey: sealFile } = loadPgKeys(keysDir, meta.origin, meta.verifierKey);
    const state = await readLogState(client, logId, target);
    const adopted = checkUnsignedTail(state.latest, state.size, `${target} log ${log}`);
    // A crash between committing seals and evolving the key file past them (one commit can hold
    // several, after a pause of several epochs): finish the evolve.
    while (state.lastSeal !== undefined && sealFile.epoch <= state.lastSeal.epoch) sealFile.evolve();
    const reconnect = async (lostPid: number | undefined): Promise<pg.Client> => {
      const fresh = await connectPg(t.url, 'writer', timeoutMs);
      try {
        await retakeLogLock(fresh, log, lostPid, applicationName('writer'), target);
        return fresh;
      } catch (err) {
        await endClient(fresh);
        throw err;
      }
    };
    const writer = new PgLogWriter(client, log, logId, target, state, reconnect, timeoutMs);
    const sealKey = new PgSealKey(sealFile);
    writer.onSealsCommitted = (epoch) => sealKey.committed(epoch);
    const appender = new Appender(
      {
        origin: meta.origin,
        t0: meta.createdAt,
        sealEpochMs: meta.sealEpochMs,
        log: new PgEntryLog(writer, state),
        tree: new PgTree(writer, state),
        signer,
        sealKey,
        state: new PgSealedState(writer, state),
      },
      options,
    );
    appender.sealFinishedEpochs(Date.now());
    if (state.latest?.reason === 'close') appender.checkpoint('open', true);
    const recovered = recoveryEvent(undefined, adopted);
    if (recovered !== undefined) appender.appendEvent(recovered);
    // Reads recorded while no writer held the log (store/postgres/pg-pending-reads.ts).
    // A tick's absorb may finish after the appender closed: its rows then wait for the next writer.
    let closing = false;
    const absorb = () =>
      writer.absorbPendingReads((event) => {
        if (closing) throw new AuditError('TRAIL_CLOSED', 'log is closing');
        appender.appendEvent(event);
      });
    await absorb();
    if (state.latest?.size !== appender.size) appender.checkpoint('open');
    await writer.flush();
    const opened: OpenedPg = {
      appender,
      meta,
      settle: async () => {
        await absorb();
        await writer.flush();
      },
      finish: async () => {
        closing = true;
        try {
          await writer.flush();
        } finally {
          await endClient(writer.connection);
        }
      },
    };
    if (sealSeed !== undefined) opened.sealSeed = sealSeed;
    return opened;
  } catch (err) {
    await endClient(client);
    throw err;
  }
}

/** @throws AuditError CONFIG_INVALID naming `field` unless `ms` is a whole number ≥ `min`. */
function checkMs(field: string, ms: unknown, min: number): void {
  if (!Number.isSafeInteger(ms) || (ms as number) < min)
    throw new AuditError('CONFIG_INVALID', `${field}: expected whole milliseconds ≥ ${min}`, { field });
}
