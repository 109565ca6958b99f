/**
 * Object Lock settings of archived objects: mode (GOVERNANCE or COMPLIANCE, or none for a bucket
 * without Object Lock), retention in days and legal hold. The retention policy of the trail
 * decides them; these are the defaults and the date arithmetic.
 */
import { AuditError } from '../errors.js';
import type { ObjectLockHeaders } from './s3-objects.js';

/** Object Lock mode, or `none` to send no retention. */
export type LockMode = 'GOVERNANCE' | 'COMPLIANCE' | 'none';

/** How archived objects are locked. */
export interface ArchiveLock {
  mode: LockMode;
  /** Days to retain, counted from the newest event an object holds (see {@link retainUntil}). */
  retainDays: number;
  /** Put a legal hold on every object (kept until removed, whatever the retention date). */
  legalHold: boolean;
}

/**
 * Defaults: GOVERNANCE (a user with s3:BypassGovernanceRetention can still lift it, so a wrong
 * bucket or period is not stuck for years; choose COMPLIANCE where a regulation demands WORM that
 * no one can lift), 365 days, no legal hold.
 */
export const DEFAULT_ARCHIVE_LOCK: Readonly<ArchiveLock> = {
  mode: 'GOVERNANCE',
  retainDays: 365,
  legalHold: false,
};

const DAY_MS = 86_400_000;
const MAX_DAYS = 36_500;

/**
 * Parses a lock mode option.
 * @throws AuditError USAGE naming `field`.
 */
export function parseLockMode(text: string, field = 'lock-mode'): LockMode {
  const upper = text.toUpperCase();
  if (upper === 'GOVERNANCE' || upper === 'COMPLIANCE') return upper;
  if (text.toLowerCase() === 'none') return 'none';
  throw new AuditError('USAGE', `${field}: expected GOVERNANCE, COMPLIANCE or none`, { field });
}

/**
 * Checks a lock's fields.
 * @throws AuditError USAGE naming the field.
 */
export function checkArchiveLock(lock: ArchiveLock): void {
  parseLockMode(lock.mode, 'lock.mode');
  if (!Number.isInteger(lock.retainDays) || lock.retainDays < 1 || lock.retainDays > MAX_DAYS)
    throw new AuditError('USAGE', `retain-days: expected an integer from 1 to ${MAX_DAYS}`, {
      field: 'retain-days',
    });
}

/**
 * The retain-until date of an object whose newest event is at `newest` (ISO): `retainDays` after
 * it, so an archived segment stays locked as long as the policy keeps its newest event, but at
 * least one day after `now` (S3 refuses a date in the past).
 */
export function retainUntil(newest: string, retainDays: number, now: number): Date {
  const t = Date.parse(newest);
  const from = Number.isFinite(t) ? t : now;
  return new Date(Math.max(from + retainDays * DAY_MS, now + DAY_MS));
}

/** The headers for an object whose newest event is at `newest`, or undefined for mode none. */
export function lockHeaders(lock: ArchiveLock, newest: string, now: number): ObjectLockHeaders | undefined {
  if (lock.mode === 'none') return undefined;
  return { mode: lock.mode, retainUntil: retainUntil(newest, lock.retainDays, now) };
}
