/**
 * Legal holds (docs/retention.md): a hold suspends pruning and content expiry of the entries it
 * covers (by actor, subject, category, type and time window, or the whole trail) until it is
 * removed. Kept in `holds.json` in the trail directory (0600); adding and removing one is recorded
 * in the trail by the caller (`retention.hold_added`, `retention.hold_removed`).
 */
import { AuditError } from '../errors.js';
import { describeEventType, EVENT_CATEGORIES } from '../event/index.js';
import { parseIsoTime } from '../read/query-time.js';
import { readIfExists, type TrailLayout, withFile, writeFileAtomic } from '../store/index.js';

/** Which entries a hold covers; every field given must match. No field: the whole trail. */
export interface HoldScope {
  actor?: string;
  subject?: string;
  category?: string;
  type?: string;
  /** Event times from (inclusive) and to (exclusive), ISO. */
  from?: string;
  to?: string;
}

/** One legal hold. */
export interface LegalHold {
  id: string;
  reason: string;
  /** ISO time it was placed. */
  createdAt: string;
  /** Who placed it (recorded as the event's actor too). */
  by?: string;
  scope?: HoldScope;
}

/** What a hold is matched against. */
export interface HoldFacts {
  ts: string;
  type: string;
  category: string;
  actor?: string | undefined;
  subject?: string | undefined;
}

const HOLDS_FORMAT = 'sealtrail-holds/1';
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SCOPE_KEYS = ['actor', 'subject', 'category', 'type', 'from', 'to'] as const;

function invalid(field: string, message: string): never {
  throw new AuditError('CONFIG_INVALID', `legal hold: ${field}: ${message}`, { field });
}

/**
 * Checks a hold given by a user.
 * @throws AuditError CONFIG_INVALID naming the field.
 */
export function checkHold(hold: LegalHold): LegalHold {
  if (typeof hold.id !== 'string' || !ID_RE.test(hold.id))
    invalid('id', 'expected 1-128 characters of letters, digits, . _ : -, starting with a letter or digit');
  if (typeof hold.reason !== 'string' || hold.reason.trim() === '') invalid('reason', 'a reason is required');
  if (hold.reason.length > 1000) invalid('reason', 'longer than 1000 characters');
  if (Number.isNaN(Date.parse(hold.createdAt))) invalid('createdAt', 'not an ISO time');
  const scope = hold.scope ?? {};
  for (const key of Object.keys(scope)) {
    if (!(SCOPE_KEYS as readonly string[]).includes(key)) invalid(`scope.${key}`, 'unknown field');
  }
  for (const key of SCOPE_KEYS) {
    const v = scope[key];
    if (v !== undefined && (typeof v !== 'string' || v === ''))
      invalid(`scope.${key}`, 'expected a non-empty string');
  }
  for (const key of ['from', 'to'] as const) {
    const v = scope[key];
    if (v !== undefined && Number.isNaN(Date.parse(v))) invalid(`scope.${key}`, 'not an ISO time');
  }
  return hold;
}

/**
 * Checks a hold being placed, more strictly than {@link checkHold} (which also reads the holds
 * an older version wrote): a hold that names an unknown category or type, or an empty or
 * ambiguous time window, would cover nothing, and entries it was meant to keep would be deleted.
 * Returns the hold with its window in UTC ISO form.
 * @throws AuditError CONFIG_INVALID naming the field.
 */
export function checkNewHold(hold: LegalHold): LegalHold {
  checkHold(hold);
  if (hold.by !== undefined && (typeof hold.by !== 'string' || hold.by === '' || hold.by.length > 200))
    invalid('by', 'expected 1-200 characters');
  const scope = { ...hold.scope };
  if (scope.category !== undefined && !EVENT_CATEGORIES.has(scope.category))
    invalid('scope.category', `unknown category (expected ${[...EVENT_CATEGORIES].join(', ')})`);
  if (scope.type !== undefined && describeEventType(scope.type) === undefined)
    invalid('scope.type', 'not a catalogue type or x.<name>');
  const ms: { from?: number; to?: number } = {};
  for (const key of ['from', 'to'] as const) {
    const v = scope[key];
    if (v === undefined) continue;
    let t = Number.NaN;
    try {
      t = parseIsoTime(`scope.${key}`, v);
    } catch {
      // A date-time without a zone: which zone was meant cannot be guessed.
    }
    if (Number.isNaN(t)) invalid(`scope.${key}`, 'expected an ISO 8601 date, or a date-time with a zone');
    ms[key] = t;
    scope[key] = new Date(t).toISOString();
  }
  if (ms.from !== undefined && ms.to !== undefined && ms.from >= ms.to)
    invalid('scope.to', 'not after scope.from: the hold would cover nothing');
  return hold.scope === undefined ? hold : { ...hold, scope };
}

/** True when `hold` covers an entry with these facts. */
export function holdCovers(hold: LegalHold, e: HoldFacts): boolean {
  const s = hold.scope;
  if (s === undefined) return true;
  if (s.actor !== undefined && e.actor !== s.actor) return false;
  if (s.subject !== undefined && e.subject !== s.subject) return false;
  if (s.category !== undefined && e.category !== s.category) return false;
  if (s.type !== undefined && e.type !== s.type) return false;
  const t = Date.parse(e.ts);
  if (s.from !== undefined && !(t >= Date.parse(s.from))) return false;
  if (s.to !== undefined && !(t < Date.parse(s.to))) return false;
  return true;
}

/** The first hold covering an entry, or undefined. */
export function holdCovering(holds: readonly LegalHold[], e: HoldFacts): LegalHold | undefined {
  for (const h of holds) if (holdCovers(h, e)) return h;
  return undefined;
}

/**
 * The holds of a trail (none when `holds.json` does not exist).
 * @throws AuditError CONFIG_INVALID when holds.json is damaged; STORE_IO when unreadable.
 */
export function readHolds(layout: TrailLayout): LegalHold[] {
  const text = withFile(layout.holds, 'read', () => readIfExists(layout.holds));
  if (text === undefined) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new AuditError('CONFIG_INVALID', 'holds.json: not JSON', { file: layout.holds });
  }
  const d = doc as { format?: unknown; holds?: unknown } | null;
  if (d === null || typeof d !== 'object' || d.format !== HOLDS_FORMAT || !Array.isArray(d.holds))
    throw new AuditError('CONFIG_INVALID', `holds.json: not a ${HOLDS_FORMAT} document`, {
      file: layout.holds,
    });
  return (d.holds as LegalHold[]).map(checkHold);
}

function writeHolds(layout: TrailLayout, holds: readonly LegalHold[]): void {
  withFile(layout.holds, 'write', () =>
    writeFileAtomic(layout.holds, `${JSON.stringify({ format: HOLDS_FORMAT, holds }, null, 2)}\n`),
  );
}

/**
 * Adds a hold.
 * @throws AuditError CONFIG_INVALID (a field, or a hold with this id exists), STORE_IO.
 */
export function addHold(layout: TrailLayout, hold: LegalHold): LegalHold {
  const placed = checkNewHold(hold);
  const holds = readHolds(layout);
  if (holds.some((h) => h.id === placed.id)) invalid('id', `a hold with id ${placed.id} exists`);
  writeHolds(layout, [...holds, placed]);
  return placed;
}

/**
 * Removes a hold; returns it.
 * @throws AuditError NOT_FOUND when there is no hold with this id; STORE_IO.
 */
export function removeHold(layout: TrailLayout, id: string): LegalHold {
  const holds = readHolds(layout);
  const hold = holds.find((h) => h.id === id);
  if (hold === undefined) throw new AuditError('NOT_FOUND', `no legal hold with id ${id}`, { field: 'id' });
  writeHolds(
    layout,
    holds.filter((h) => h.id !== id),
  );
  return hold;
}
