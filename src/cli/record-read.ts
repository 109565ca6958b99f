/**
 * Reads through the CLI are audited: each query, export, report, conversation, timeline, tail,
 * match and anomaly run appends an `audit.read` entry (who: `--as` or the OS user; what: the verb, the
 * filter with a `--text` search reduced to its length, the count) once its output is written. When another process holds the writer lock, the
 * event is left in `pending-reads/` and appended by the next process that opens the trail for
 * writing (AuditTrail.open appends them), keeping the time of the read. If neither
 * can be written, the verb fails with exit 2: a read that cannot be recorded is an error.
 * On a PostgreSQL log the events go into `sealtrail.pending_reads` (the reader role may insert
 * there and nowhere else), and the log's writer appends them within a tick; with no writer
 * running and the log's key directory at hand, the reading process opens the log as its writer
 * and appends them itself (store/postgres/pg-pending-reads.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import { AuditError, isAuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import { recordedFilter } from '../read/index.js';
import { trailLayout, writePendingRead } from '../store/index.js';
import { AuditTrail } from '../writer/index.js';
import type { PostgresTarget } from '../writer/postgres-target.js';
import type { ReadTarget } from './postgres-options.js';

/** What one read was. */
export interface ReadRecord {
  verb: string;
  as: string | undefined;
  filter: Readonly<Record<string, unknown>>;
  count: number;
  format?: string;
  /** Lines skipped as unreadable. */
  issues?: number;
  /** More facts about the read (for example a report's verification result). */
  extra?: Record<string, string | number | boolean>;
}

/** Who is reading: `--as`, else the OS user name. */
export function readerName(as: string | undefined): string {
  if (as !== undefined && as !== '') return as;
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** The `audit.read` event of a read. */
export function readEvent(rec: ReadRecord, now = new Date()): AuditEventInput {
  const filter = recordedFilter(rec.filter);
  const meta: Record<string, string | number | boolean> = { verb: rec.verb, filter, count: rec.count };
  if (rec.format !== undefined) meta.format = rec.format;
  if (rec.issues !== undefined && rec.issues > 0) meta.skippedLines = rec.issues;
  Object.assign(meta, rec.extra);
  return {
    type: 'audit.read',
    ts: now,
    actor: { id: readerName(rec.as), type: 'user', authMethod: 'os' },
    action: rec.verb,
    outcome: 'success',
    meta,
  };
}

/**
 * Appends `events` to the trail in `dir`. Returns `recorded`, or `pending` when a writer holds the
 * trail (the events then wait in pending-reads/, `meta.recordedLate` set).
 * @throws AuditError STORE_IO (or the writer's error) when they cannot be recorded at all.
 */
export async function recordEvents(dir: string, events: AuditEventInput[]): Promise<'recorded' | 'pending'> {
  let trail: AuditTrail;
  try {
    // content 'plain': an audit.read entry has no content, so the keys (and a reader's wrong
    // key) stay out of it and no key material is created
    trail = await AuditTrail.open({ dir, create: false, worker: false, handleExit: false, content: 'plain' });
  } catch (err) {
    if (!isAuditError(err, 'TRAIL_LOCKED')) throw recordError(err);
    try {
      for (const event of events) {
        writePendingRead(trailLayout(dir), {
          ...event,
          ts: event.ts ?? new Date(),
          meta: { ...event.meta, recordedLate: true },
        });
      }
    } catch (e) {
      throw recordError(e);
    }
    return 'pending';
  }
  try {
    for (const event of events) trail.recordOwn(event);
    await trail.flush();
  } finally {
    await trail.close();
  }
  return 'recorded';
}

/** Records one read (see {@link recordEvents}). */
export function recordRead(dir: string, rec: ReadRecord): Promise<'recorded' | 'pending'> {
  return recordEvents(dir, [readEvent(rec)]);
}

function recordError(err: unknown): AuditError {
  const why = err instanceof Error ? err.message : String(err);
  return new AuditError('STORE_IO', `the read could not be recorded in the trail: ${why}`);
}

/**
 * Records `events` in a PostgreSQL log: inserted as pending reads, then, when no writer holds the
 * log and `keysDir` has its checkpoint key, appended at once by opening the log as its writer
 * (the open absorbs them). Returns `recorded`, or `pending` when they wait for the log's writer.
 * @throws AuditError STORE_IO, STORE_UNAVAILABLE, TRAIL_NOT_FOUND when they cannot be inserted.
 */
export async function recordPgEvents(
  target: PostgresTarget,
  keysDir: string,
  events: AuditEventInput[],
): Promise<'recorded' | 'pending'> {
  const { insertPendingReads, pgKeyFiles } = await import('../store/postgres/index.js');
  const log = target.log ?? 'default';
  try {
    await insertPendingReads(target.url, log, events);
  } catch (err) {
    throw recordError(err);
  }
  if (!fs.existsSync(pgKeyFiles(keysDir).signerKey)) return 'pending';
  let trail: AuditTrail;
  try {
    trail = await AuditTrail.open({
      postgres: { url: target.url, log, keysDir },
      create: false,
      handleExit: false,
    });
  } catch {
    // A writer holds the log, or this role or key directory may not write it: the rows wait.
    return 'pending';
  }
  await trail.close();
  return 'recorded';
}

/**
 * Records a read (after `events`, if any) in the trail directory or PostgreSQL log it read, and
 * tells on stderr when it waits for the writer.
 */
export async function auditRead(
  target: string | ReadTarget,
  rec: ReadRecord,
  events: AuditEventInput[] = [],
): Promise<void> {
  const all = [...events, readEvent(rec)];
  const pg = typeof target === 'string' ? undefined : target.target;
  const how =
    pg === undefined
      ? await recordEvents(typeof target === 'string' ? target : (target.source as string), all)
      : await recordPgEvents(pg, (target as ReadTarget).keysDir ?? '.', all);
  if (how === 'pending' && process.env.SEALTRAIL_QUIET !== '1') {
    process.stderr.write(
      pg === undefined
        ? 'sealtrail: a writer holds the trail: this read is recorded in pending-reads/ and enters the trail when it is next opened for writing\n'
        : 'sealtrail: this read is recorded in sealtrail.pending_reads and enters the log at the next tick of its writer, or when the log is next opened for writing\n',
    );
  }
}
