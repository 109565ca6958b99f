/**
 * `sealtrail/pino`: a pino transport that seals chosen log records into a trail, so a team keeps
 * its pino logger and gains tamper evidence for the records that matter (by level, or those
 * carrying a marker field).
 *
 * ```ts
 * const logger = pino({ transport: { target: 'sealtrail/pino', options: { dir: './audit', minLevel: 'warn', field: 'audit' } } });
 * logger.info({ audit: true, userId: 'u-1' }, 'role changed');   // sealed: has the field
 * logger.error('payment failed');                                 // sealed: at or above warn
 * ```
 *
 * The transport runs in pino's worker thread and owns its trail: one writer per trail directory,
 * so give it a directory no other writer uses. Each record becomes an `x.log` entry (or the type
 * in its `auditType` field): `ts` from `time`, severity from the level, `actor.id` from `userId`
 * (a string or an integer), the message and the other fields as content, with any of those it
 * could not take as such; the trail's redaction applies. Levels may be
 * numbers or labels, pino's or the logger's `customLevels` given to the transport too. A record the event model refuses (a `time` past year 9999, say) is
 * sealed whole as `content.raw` with `meta.invalidField`, and the transport goes on.
 */
import { Writable } from 'node:stream';
import { AuditError, isAuditError } from '../../errors.js';
import type { AuditEventInput, EventType, Severity } from '../../event/index.js';
import type { RedactorOptions } from '../../protect/index.js';
import type { ContentMode } from '../../store/index.js';
import { AuditTrail } from '../../writer/index.js';

/** pino's default level names and numbers. */
export const PINO_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

/** Options of the transport (`transport: { target: 'sealtrail/pino', options }`). */
export interface PinoTransportOptions {
  /** The trail directory (this transport's own). */
  dir: string;
  origin?: string;
  content?: ContentMode;
  /** Redact PII and secrets (default true). */
  redact?: boolean | RedactorOptions;
  /** Records at or above this level are sealed (a name or number). Default: none by level. */
  minLevel?: string | number;
  /**
   * The logger's own levels, as given to pino's `customLevels` (name to number): their names are
   * understood in `minLevel` and in records whose level is written as a label.
   */
  customLevels?: Record<string, number>;
  /** Records with this field set to a truthy value are sealed, whatever their level. */
  field?: string;
}

type LogRecord = Record<string, unknown> & { level?: unknown; time?: unknown; msg?: unknown };
/** Level names and their numbers: pino's, and a logger's `customLevels`. */
type Levels = Readonly<Record<string, number>>;

const TYPE_RE = /^x\.[a-z0-9][a-z0-9._-]{0,99}$/;

/**
 * The transport factory pino calls in its worker.
 * @throws AuditError CONFIG_INVALID naming the option (`dir`, `minLevel`, `field`, ...).
 */
export default async function sealtrailPinoTransport(options: PinoTransportOptions): Promise<Writable> {
  const levels = levelsOf(options.customLevels);
  const select = compileSelector(options, levels);
  const trail = await AuditTrail.open({
    dir: options.dir,
    redact: options.redact ?? true,
    ...(options.origin === undefined ? {} : { origin: options.origin }),
    ...(options.content === undefined ? {} : { content: options.content }),
  });
  let partial = '';
  /** Keeps a line the event model cannot take as it is, whole, as evidence rather than lose it. */
  const keepRaw = (line: string, level: unknown, meta: Record<string, string | boolean>): void => {
    trail.emit({ type: 'x.log', severity: severityOf(level, levels), content: { raw: line }, meta });
  };
  const take = (line: string): void => {
    if (line.trim() === '') return;
    let record: LogRecord;
    try {
      record = JSON.parse(line) as LogRecord;
    } catch {
      keepRaw(line, undefined, { parseError: true }); // pino always writes JSON
      return;
    }
    if (!select(record)) return;
    try {
      trail.emit(toEvent(record, options.field, levels));
    } catch (err) {
      if (!isAuditError(err, 'EVENT_INVALID')) throw err;
      keepRaw(line, record.level, { invalidField: String(err.detail.field ?? '') });
    }
  };
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _enc, cb) {
      const text = partial + chunk.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      try {
        for (const line of lines) take(line);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
    final(cb) {
      try {
        take(partial);
      } catch {
        // the trail is closed below either way
      }
      trail.close().then(() => cb(), cb);
    },
  });
}

/**
 * pino's levels with the logger's `customLevels`.
 * @throws AuditError CONFIG_INVALID naming `customLevels.<name>`.
 */
export function levelsOf(customLevels: unknown): Levels {
  if (customLevels === undefined) return PINO_LEVELS;
  if (typeof customLevels !== 'object' || customLevels === null || Array.isArray(customLevels))
    throw new AuditError('CONFIG_INVALID', 'customLevels: expected an object of level names to numbers', {
      field: 'customLevels',
    });
  const levels: Record<string, number> = { ...PINO_LEVELS };
  for (const [name, n] of Object.entries(customLevels)) {
    if (typeof n !== 'number' || !Number.isFinite(n))
      throw new AuditError('CONFIG_INVALID', `customLevels.${name}: expected a number`, {
        field: `customLevels.${name}`,
      });
    levels[name] = n;
  }
  return levels;
}

/** Which records are sealed. */
export function compileSelector(
  options: Pick<PinoTransportOptions, 'minLevel' | 'field' | 'dir'>,
  levels: Levels = PINO_LEVELS,
): (r: LogRecord) => boolean {
  if (typeof options?.dir !== 'string' || options.dir === '')
    throw new AuditError('CONFIG_INVALID', 'dir: the transport needs a trail directory of its own', {
      field: 'dir',
    });
  let min = Number.POSITIVE_INFINITY;
  if (options.minLevel !== undefined) {
    const n =
      typeof options.minLevel === 'number'
        ? options.minLevel
        : Object.hasOwn(levels, options.minLevel)
          ? levels[options.minLevel]
          : undefined;
    if (typeof n !== 'number' || !Number.isFinite(n))
      throw new AuditError(
        'CONFIG_INVALID',
        "minLevel: expected a level name (pino's or customLevels) or number",
        {
          field: 'minLevel',
        },
      );
    min = n;
  }
  const field = options.field;
  if (field !== undefined && (typeof field !== 'string' || field === ''))
    throw new AuditError('CONFIG_INVALID', 'field: expected a field name', { field: 'field' });
  if (field === undefined && options.minLevel === undefined)
    throw new AuditError('CONFIG_INVALID', 'minLevel or field: say which records to seal', {
      field: 'minLevel',
    });
  return (r) =>
    (levelNumber(r.level, levels) ?? Number.NEGATIVE_INFINITY) >= min ||
    (field !== undefined && Boolean(r[field]));
}

/** One pino record as an audit event. */
export function toEvent(
  record: LogRecord,
  markerField?: string,
  levels: Levels = PINO_LEVELS,
): AuditEventInput {
  const { level, time, msg, auditType, userId, pid, hostname, ...rest } = record;
  if (markerField !== undefined) delete rest[markerField];
  const typed = typeof auditType === 'string' && TYPE_RE.test(auditType);
  const event: AuditEventInput = {
    type: typed ? (auditType as EventType) : 'x.log',
    severity: severityOf(level, levels),
    meta: { level: levelNumber(level, levels) ?? null },
  };
  const ts = logTime(time);
  if (ts !== undefined) event.ts = ts;
  else if (time !== undefined) event.meta!.logTime = typeof time === 'number' ? time : String(time);
  // A numeric user id (a database key) is the user as much as a string one.
  const actorId = typeof userId === 'number' && Number.isSafeInteger(userId) ? String(userId) : userId;
  if (typeof actorId === 'string' && actorId !== '') event.actor = { id: actorId };
  if (typeof pid === 'number') event.meta!.pid = pid;
  if (typeof hostname === 'string') event.meta!.hostname = hostname;
  // What could not be taken as the type, user, level, pid or host stays among the fields: the
  // record is evidence, and nothing of it is dropped.
  if (auditType !== undefined && !typed) rest.auditType = auditType;
  if (userId !== undefined && event.actor === undefined) rest.userId = userId;
  if (level !== undefined && levelNumber(level, levels) === undefined) rest.level = level;
  if (pid !== undefined && typeof pid !== 'number') rest.pid = pid;
  if (hostname !== undefined && typeof hostname !== 'string') rest.hostname = hostname;
  const content: Record<string, unknown> = {};
  if (msg !== undefined) content.message = msg;
  if (Object.keys(rest).length > 0) content.fields = rest;
  if (Object.keys(content).length > 0) event.content = content;
  return event;
}

// An ISO-8601 date-time with a zone, as pino's `stdTimeFunctions.isoTime` writes it.
const ISO_TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;
/** Below this a number of milliseconds would be before March 1973: it is seconds (`stdTimeFunctions.unixTime`). */
const SECONDS_BELOW = 1e11;

/**
 * A record's `time` as the event's time: epoch milliseconds (pino's default), epoch seconds
 * (`unixTime`), or an ISO string (`isoTime`); undefined for anything else (kept as `meta.logTime`).
 */
function logTime(time: unknown): number | string | undefined {
  if (typeof time === 'number' && Number.isFinite(time) && time >= 0)
    return time < SECONDS_BELOW ? time * 1000 : time;
  if (typeof time === 'string' && ISO_TIME_RE.test(time) && !Number.isNaN(Date.parse(time))) return time;
  return undefined;
}

/** A record's level as a number: pino writes numbers, or its labels with `formatters.level`. */
function levelNumber(level: unknown, levels: Levels): number | undefined {
  if (typeof level === 'number') return level;
  return typeof level === 'string' && Object.hasOwn(levels, level) ? levels[level] : undefined;
}

function severityOf(raw: unknown, levels: Levels): Severity {
  const level = levelNumber(raw, levels);
  if (level === undefined) return 'info';
  if (level >= 60) return 'critical';
  if (level >= 40) return 'warning';
  return 'info';
}
