/**
 * Retention policies (docs/retention.md): how long entries are kept, per category and optionally
 * per event type, how long their content payloads are kept (content-only expiry keeps the
 * commitments), when sealed segments are archived, and the S3 Object Lock retention a segment
 * needs. Pure logic: parsing with errors naming the field, and the dates that follow from a policy.
 */
import { AuditError } from '../errors.js';
import { describeEventType, EVENT_TYPES, type EventCategory } from '../event/index.js';
import { isRecord } from '../is-record.js';

/** A keep period: `<n>d` days, `<n>w` weeks, `<n>m` calendar months, `<n>y` calendar years, or `forever`. */
export type Period = string;

/** What a policy says about one category or type. */
export interface RetentionRule {
  /** How long entries are kept before their segment may be pruned; default `forever`. */
  keep?: Period;
  /** Days after which content payloads are erased (their digests stay); absent: content is kept. */
  contentDays?: number;
}

/** S3 Object Lock mode for archived segments (another store ships them; see objectLockRetention). */
export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

/** A retention policy (`retention.json` in the trail directory, or `--policy FILE`). */
export interface RetentionPolicy {
  format?: 'sealtrail-retention/1';
  /** The rule of every category and type not named below; default: keep forever. */
  default?: RetentionRule;
  /** Rules per category (`security`, `ai`, `custom`, ...). */
  categories?: Partial<Record<EventCategory, RetentionRule>>;
  /** Rules per event type; a type's rule wins over its category's. */
  types?: Record<string, RetentionRule>;
  /** Sealed segments whose newest entry is older than this are gzip-archived; absent: never. */
  archiveAfter?: Period;
  /** Object Lock mode for archived copies; default COMPLIANCE. */
  objectLock?: { mode?: ObjectLockMode };
}

/** The Object Lock retention a segment needs where it is archived with S3 Object Lock. */
export interface ObjectLockRetention {
  mode: ObjectLockMode;
  /** Retain until this time; undefined when some entry is kept forever (use legalHold). */
  retainUntil: Date | undefined;
  /** True when the segment must not be deleted at all for now: kept forever, or under a legal hold. */
  legalHold: boolean;
}

// Every category of the catalogue, and `custom` for `x.*` types (as query filters accept).
const CATEGORIES: readonly string[] = [
  ...new Set([...Object.values(EVENT_TYPES).map((t) => t.category), 'custom']),
];
const PERIOD_RE = /^([1-9][0-9]{0,4})([dwmy])$/;

function invalid(field: string, message: string): never {
  throw new AuditError('CONFIG_INVALID', `retention policy: ${field}: ${message}`, { field });
}

/**
 * The time `period` after `fromMs` (calendar months and years in UTC), or Infinity for `forever`.
 * @throws AuditError CONFIG_INVALID when the period is malformed.
 */
export function addPeriod(fromMs: number, period: Period, field = 'period'): number {
  if (period === 'forever') return Number.POSITIVE_INFINITY;
  const m = PERIOD_RE.exec(period);
  if (m === null) invalid(field, `"${period}" is not a period (e.g. "90d", "12w", "6m", "7y" or "forever")`);
  const n = Number(m[1]);
  const d = new Date(fromMs);
  switch (m[2]) {
    case 'd':
      return fromMs + n * 86_400_000;
    case 'w':
      return fromMs + n * 7 * 86_400_000;
    case 'm':
      d.setUTCMonth(d.getUTCMonth() + n);
      return d.getTime();
    default:
      d.setUTCFullYear(d.getUTCFullYear() + n);
      return d.getTime();
  }
}

function parseRule(v: unknown, field: string): RetentionRule {
  if (!isRecord(v)) invalid(field, 'expected an object with keep and/or contentDays');
  const rule: RetentionRule = {};
  for (const key of Object.keys(v)) {
    if (key !== 'keep' && key !== 'contentDays') invalid(`${field}.${key}`, 'unknown field');
  }
  if (v.keep !== undefined) {
    if (typeof v.keep !== 'string') invalid(`${field}.keep`, 'expected a period string such as "7y"');
    addPeriod(0, v.keep, `${field}.keep`);
    rule.keep = v.keep;
  }
  if (v.contentDays !== undefined) {
    if (typeof v.contentDays !== 'number' || !Number.isSafeInteger(v.contentDays) || v.contentDays < 0)
      invalid(`${field}.contentDays`, 'expected a whole number of days, 0 or more');
    rule.contentDays = v.contentDays;
  }
  return rule;
}

/**
 * Parses and checks a policy document (already JSON-parsed).
 * @throws AuditError CONFIG_INVALID naming the field (`categories.ai.keep`, ...).
 */
export function parseRetentionPolicy(doc: unknown): RetentionPolicy {
  if (!isRecord(doc)) invalid('(root)', 'expected a JSON object');
  const allowed = new Set(['format', 'default', 'categories', 'types', 'archiveAfter', 'objectLock']);
  for (const key of Object.keys(doc)) if (!allowed.has(key)) invalid(key, 'unknown field');
  const policy: RetentionPolicy = {};
  if (doc.format !== undefined) {
    if (doc.format !== 'sealtrail-retention/1') invalid('format', 'expected "sealtrail-retention/1"');
    policy.format = doc.format;
  }
  if (doc.default !== undefined) policy.default = parseRule(doc.default, 'default');
  if (doc.categories !== undefined) {
    if (!isRecord(doc.categories)) invalid('categories', 'expected an object of category rules');
    const out: Partial<Record<EventCategory, RetentionRule>> = {};
    for (const [name, rule] of Object.entries(doc.categories)) {
      if (!CATEGORIES.includes(name))
        invalid(`categories.${name}`, `unknown category (one of ${CATEGORIES.join(', ')})`);
      out[name as EventCategory] = parseRule(rule, `categories.${name}`);
    }
    policy.categories = out;
  }
  if (doc.types !== undefined) {
    if (!isRecord(doc.types)) invalid('types', 'expected an object of type rules');
    const out: Record<string, RetentionRule> = {};
    for (const [name, rule] of Object.entries(doc.types)) {
      // A misspelt type matches no entry (events are of catalogue types or x.<name>): its rule,
      // perhaps a longer keep than its category's, would silently not apply.
      if (describeEventType(name) === undefined)
        invalid(`types.${name}`, 'not a catalogue event type or x.<name>');
      Object.defineProperty(out, name, { value: parseRule(rule, `types.${name}`), enumerable: true });
    }
    policy.types = out;
  }
  if (doc.archiveAfter !== undefined) {
    if (typeof doc.archiveAfter !== 'string' || doc.archiveAfter === 'forever')
      invalid('archiveAfter', 'expected a period string such as "30d"');
    addPeriod(0, doc.archiveAfter, 'archiveAfter');
    policy.archiveAfter = doc.archiveAfter;
  }
  if (doc.objectLock !== undefined) {
    if (!isRecord(doc.objectLock)) invalid('objectLock', 'expected an object');
    const mode = doc.objectLock.mode;
    if (mode !== undefined && mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE')
      invalid('objectLock.mode', 'expected "GOVERNANCE" or "COMPLIANCE"');
    policy.objectLock = mode === undefined ? {} : { mode };
  }
  return policy;
}

/** The rule that applies to an entry of this type and category: type, then category, then default. */
export function ruleFor(policy: RetentionPolicy, type: string, category: string): RetentionRule {
  const byType =
    policy.types !== undefined && Object.hasOwn(policy.types, type) ? policy.types[type] : undefined;
  const byCategory =
    policy.categories !== undefined && Object.hasOwn(policy.categories, category)
      ? policy.categories[category as EventCategory]
      : undefined;
  const d = policy.default ?? {};
  const keep = byType?.keep ?? byCategory?.keep ?? d.keep;
  const contentDays = byType?.contentDays ?? byCategory?.contentDays ?? d.contentDays;
  const rule: RetentionRule = {};
  if (keep !== undefined) rule.keep = keep;
  if (contentDays !== undefined) rule.contentDays = contentDays;
  return rule;
}

/** When an entry (event time `tsMs`) may be pruned: Infinity when it is kept forever. */
export function keepUntil(policy: RetentionPolicy, type: string, category: string, tsMs: number): number {
  return addPeriod(tsMs, ruleFor(policy, type, category).keep ?? 'forever');
}

/** When an entry's content payloads expire: Infinity when content is kept. */
export function contentUntil(policy: RetentionPolicy, type: string, category: string, tsMs: number): number {
  const days = ruleFor(policy, type, category).contentDays;
  return days === undefined ? Number.POSITIVE_INFINITY : tsMs + days * 86_400_000;
}

/**
 * The S3 Object Lock retention a sealed segment needs: kept until the latest time any of its
 * entries may be pruned. Give the categories (and types) the segment holds when known; without
 * them every rule of the policy counts (the longest keep wins). `held` is true when a legal hold
 * covers an entry of the segment (see holds.ts `holdsCovering`).
 */
export function objectLockRetention(
  policy: RetentionPolicy,
  segment: { maxTs: string; categories?: readonly string[]; types?: readonly string[] },
  held = false,
): ObjectLockRetention {
  const maxMs = Date.parse(segment.maxTs);
  const periods: Period[] = [];
  const known = segment.categories !== undefined || segment.types !== undefined;
  if (!known) {
    periods.push(policy.default?.keep ?? 'forever');
    for (const r of Object.values(policy.categories ?? {}))
      periods.push(r.keep ?? policy.default?.keep ?? 'forever');
    for (const r of Object.values(policy.types ?? {}))
      periods.push(r.keep ?? policy.default?.keep ?? 'forever');
  } else {
    for (const c of segment.categories ?? []) periods.push(ruleFor(policy, '', c).keep ?? 'forever');
    for (const t of segment.types ?? []) {
      if (policy.types !== undefined && Object.hasOwn(policy.types, t) && policy.types[t]!.keep !== undefined)
        periods.push(policy.types[t]!.keep!);
    }
  }
  const until = Math.max(...periods.map((p) => addPeriod(maxMs, p)));
  const forever = !Number.isFinite(until);
  return {
    mode: policy.objectLock?.mode ?? 'COMPLIANCE',
    retainUntil: forever ? undefined : new Date(until),
    legalHold: forever || held,
  };
}
