/**
 * Time bounds of a query: absolute times with their zone (ISO 8601 / RFC 3339, a bare date is UTC
 * midnight, epoch milliseconds, a Date), relative ones (`1h`, `30m`, `7d` ago) and named windows
 * (`lastHour`, `lastDay`, `lastWeek`, `today`). A date-time without a zone is refused: which zone
 * the reader meant cannot be guessed, and a wrong guess moves the window by hours. Pure logic.
 */
import { AuditError } from '../errors.js';

/** A time as the library takes it. */
export type TimeInput = Date | string | number;

// Years 0000–9999, as the writer stores them. Fractions beyond milliseconds are cut, not rounded.
// The zone is matched as optional so that a date-time without one is told so (parseIsoTime).
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|([+-])(\d{2}):?(\d{2}))?)?$/;
const DURATION_RE = /^(\d{1,9})(ms|s|m|h|d|w)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** 400 Gregorian years are exactly 146097 days: keeps Date.UTC away from its 0–99 → 1900s rule. */
const MS_PER_400_YEARS = 146097 * 86_400_000;
const MIN_MS = -62167219200000; // 0000-01-01T00:00:00.000Z
const MAX_MS = 253402300799999; // 9999-12-31T23:59:59.999Z

function usage(field: string, message: string): never {
  throw new AuditError('USAGE', `${field}: ${message}`, { field });
}

function leapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/**
 * Epoch ms of an ISO 8601 date (UTC midnight) or date-time with a zone; NaN when it is not one,
 * or names an impossible date (Date.parse would roll 02-30 over to 03-01). Throws USAGE naming
 * `field` for a date-time without a zone.
 */
export function parseIsoTime(field: string, s: string): number {
  const m = ISO_RE.exec(s);
  if (m === null) return Number.NaN;
  if (m[4] !== undefined && m[8] === undefined) {
    usage(field, `${JSON.stringify(s)} has no time zone: add Z or an offset such as +02:00`);
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4] ?? 0);
  const minute = Number(m[5] ?? 0);
  const second = Number(m[6] ?? 0);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offH = Number(m[10] ?? 0);
  const offM = Number(m[11] ?? 0);
  const dim = month === 2 && leapYear(year) ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > dim) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59 || offH > 23 || offM > 59) return Number.NaN;
  const offset = m[9] === undefined ? 0 : (m[9] === '-' ? -1 : 1) * (offH * 60 + offM);
  return Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - MS_PER_400_YEARS - offset * 60_000;
}

/** Milliseconds of a duration such as `90s`, `15m`, `1h`, `7d`, `2w`, or undefined when it is not one. */
export function parseDuration(s: string): number | undefined {
  const m = DURATION_RE.exec(s.trim());
  return m === null ? undefined : Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/**
 * A time bound in epoch ms. Accepts a Date, epoch ms, an ISO 8601 date or date-time with a zone,
 * or a duration ago (`1h` = one hour before `now`).
 * @throws AuditError USAGE naming `field` for anything else (including a date-time without a zone).
 */
export function parseTimeBound(field: string, value: TimeInput, now: number): number {
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = Number.isFinite(value) ? Math.trunc(value) : Number.NaN;
  else if (typeof value === 'string') {
    const s = value.trim();
    const ago = parseDuration(s);
    if (ago !== undefined) ms = now - ago;
    else if (/^-?\d{1,16}$/.test(s)) ms = Number(s);
    else ms = parseIsoTime(field, s);
  } else return usage(field, 'expected a date, an iso-8601 string, epoch milliseconds or a duration');
  if (Number.isNaN(ms)) {
    return usage(
      field,
      'expected an iso-8601 date or date-time with a zone (2026-05-01T09:30:00+02:00), epoch milliseconds, or a duration ago (1h, 30m, 7d)',
    );
  }
  if (ms < MIN_MS || ms > MAX_MS) usage(field, 'out of range (years 0000 to 9999)');
  return ms;
}

/** The named windows `since` takes besides durations. */
export const NAMED_WINDOWS = ['lastHour', 'lastDay', 'lastWeek', 'today'] as const;

/**
 * The start of a `since` window: a duration ago (`1h`, `30m`) or a named window (`lastHour`,
 * `lastDay`, `lastWeek`, `today` = since UTC midnight), or any absolute time `parseTimeBound` takes.
 * @throws AuditError USAGE naming `field`.
 */
export function parseSince(field: string, value: TimeInput, now: number): number {
  if (
    typeof value === 'string' &&
    !/^\d/.test(value.trim()) &&
    !(NAMED_WINDOWS as readonly string[]).includes(value)
  ) {
    usage(field, `expected a duration (1h, 30m, 7d) or ${NAMED_WINDOWS.join(', ')}`);
  }
  switch (value) {
    case 'lastHour':
      return now - UNIT_MS.h;
    case 'lastDay':
      return now - UNIT_MS.d;
    case 'lastWeek':
      return now - UNIT_MS.w;
    case 'today':
      return now - (((now % UNIT_MS.d) + UNIT_MS.d) % UNIT_MS.d);
    default:
      return parseTimeBound(field, value, now);
  }
}

/** Epoch ms of a stored entry time (ISO 8601 UTC as the writer writes it), or NaN. */
export function entryTimeMs(ts: unknown): number {
  if (typeof ts !== 'string') return Number.NaN;
  const m = ISO_RE.exec(ts);
  if (m === null || m[4] === undefined || m[8] === undefined) return Number.NaN;
  return parseIsoTime('ts', ts);
}
