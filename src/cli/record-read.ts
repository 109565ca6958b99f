/**
 * Reads through the CLI are audited: each query, export, report, conversation, timeline and
 * anomaly run appends an `audit.read` entry (who: `--as` or the OS user; what: the verb, the
 * filter, the count) once its output is written. When another process holds the writer lock, the
 * event is left in `pending-reads/` and appended by the next process that opens the trail for
 * writing (AuditTrail.open appends them), keeping the time of the read. If neither
 * can be written, the verb fails with exit 2: a read that cannot be recorded is an error.
 */
import os from 'node:os';
import { AuditError, isAuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import { trailLayout, writePendingRead } from '../store/index.js';
import { AuditTrail } from '../writer/index.js';

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

const MAX_FILTER_CHARS = 4000;

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
  let filter = JSON.stringify(rec.filter);
  if (filter.length > MAX_FILTER_CHARS) filter = `${filter.slice(0, MAX_FILTER_CHARS)}…`;
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
    trail = await AuditTrail.open({ dir, create: false, worker: false, handleExit: false });
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
    for (const event of events) trail.emit(event);
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

/** Records a read (after `events`, if any) and tells on stderr when it waits in pending-reads/. */
export async function auditRead(dir: string, rec: ReadRecord, events: AuditEventInput[] = []): Promise<void> {
  const how = await recordEvents(dir, [...events, readEvent(rec)]);
  if (how === 'pending' && process.env.SEALTRAIL_QUIET !== '1') {
    process.stderr.write(
      'sealtrail: a writer holds the trail: this read is recorded in pending-reads/ and enters the trail when it is next opened for writing\n',
    );
  }
}
