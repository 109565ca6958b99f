/**
 * Query filters: what a reader may ask for, checked once (errors name the field) and compiled into
 * a predicate over decoded entries plus the time and seq bounds that let the scanner skip whole
 * segments. Each field takes one value or a list (any of them matches); fields combine with AND.
 * Pure logic.
 */
import { AuditError } from '../errors.js';
import { CUSTOM_TYPE_NAME_RE, EVENT_CATEGORIES, EVENT_TYPES } from '../event/index.js';
import type { AuditEntry } from './entry.js';
import { entryTimeMs, parseSince, parseTimeBound, type TimeInput } from './query-time.js';

/** One value or any of several. */
export type OneOrMany<T> = T | readonly T[];

/** What entries to read. Every field is optional; an empty filter matches every entry. */
export interface QueryFilter {
  /** Earliest event time, inclusive: a Date, epoch ms, ISO 8601 with a zone, or a duration ago (`1h`). */
  from?: TimeInput;
  /** Latest event time, exclusive (so consecutive windows never overlap). */
  to?: TimeInput;
  /** Relative start: `1h`, `30m`, `7d`, `lastHour`, `lastDay`, `lastWeek`, `today`. Not with `from`. */
  since?: string;
  /** Event types; `auth.*` matches every type starting with `auth.`. */
  type?: OneOrMany<string>;
  category?: OneOrMany<string>;
  severity?: OneOrMany<string>;
  /** Severity at least this (`info` < `notice` < `warning` < `critical`). */
  minSeverity?: string;
  /** `actor.id`. */
  actor?: OneOrMany<string>;
  actorType?: OneOrMany<string>;
  subject?: OneOrMany<string>;
  /** `actor.sessionId`. */
  session?: OneOrMany<string>;
  /** `actor.ip`. */
  ip?: OneOrMany<string>;
  /** `conversation.id`. */
  conversation?: OneOrMany<string>;
  requestId?: OneOrMany<string>;
  traceId?: OneOrMany<string>;
  /** `resource.id`, or `type:id`, or `type:*` for every resource of a type. */
  resource?: OneOrMany<string>;
  action?: OneOrMany<string>;
  outcome?: OneOrMany<string>;
  /** Entries with at least one guardrail result of this decision (`block`, `allow`, `warn`, `redact`). */
  guardrail?: OneOrMany<string>;
  /** `model.name`, or `provider/name`. */
  model?: OneOrMany<string>;
  /**
   * Case-insensitive text searched in every string of the event and, when content is stored plain
   * (or a reveal hook shows it), of the content payloads. Erased payloads are not searched.
   */
  text?: string;
  /** The entry id. */
  id?: string;
  /** Lowest seq, inclusive. */
  seqFrom?: number;
  /** Highest seq, exclusive. */
  seqTo?: number;
}

const SEVERITY_RANK: Readonly<Record<string, number>> = { info: 0, notice: 1, warning: 2, critical: 3 };
const OUTCOMES = new Set(['success', 'failure', 'blocked', 'allowed', 'warned', 'error']);
const DECISIONS = new Set(['block', 'allow', 'warn', 'redact']);
const LIST_FIELDS = [
  'type',
  'category',
  'severity',
  'actor',
  'actorType',
  'subject',
  'session',
  'ip',
  'conversation',
  'requestId',
  'traceId',
  'resource',
  'action',
  'outcome',
  'guardrail',
  'model',
] as const;
const KNOWN_FIELDS = new Set<string>([
  ...LIST_FIELDS,
  'from',
  'to',
  'since',
  'minSeverity',
  'text',
  'id',
  'seqFrom',
  'seqTo',
]);

/** A filter checked and compiled. */
export interface CompiledFilter {
  /** The filter as given, normalized (lists, epoch ms resolved to ISO): for manifests and audit records. */
  readonly normalized: Readonly<Record<string, unknown>>;
  /** Time bounds in epoch ms: [fromMs, toMs). */
  readonly fromMs: number;
  readonly toMs: number;
  /** Seq bounds: [seqFrom, seqTo). */
  readonly seqFrom: number;
  readonly seqTo: number;
  readonly id: string | undefined;
  /** True when the filter needs the content payloads (free text). */
  readonly needsContent: boolean;
  /** The whole predicate, time included. */
  matches(entry: AuditEntry, searchContent: boolean): boolean;
}

function usage(field: string, message: string): never {
  throw new AuditError('USAGE', `${field}: ${message}`, { field });
}

function list(field: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const items = Array.isArray(v) ? v : [v];
  if (items.length === 0) return undefined;
  for (const s of items) {
    if (typeof s !== 'string' || s === '') usage(field, 'expected a non-empty string or a list of them');
  }
  return items as string[];
}

function checkValues(field: string, values: string[] | undefined, allowed: ReadonlySet<string>): void {
  for (const v of values ?? []) {
    if (!allowed.has(v))
      usage(field, `unknown value ${JSON.stringify(v)} (expected ${[...allowed].join(', ')})`);
  }
}

function checkSeq(field: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    usage(field, 'expected a non-negative integer');
  return v;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function field(entry: AuditEntry, group: string, key: string): string | undefined {
  const g = entry[group];
  return typeof g === 'object' && g !== null ? str((g as Record<string, unknown>)[key]) : undefined;
}

function anyEquals(values: readonly string[], v: string | undefined): boolean {
  return v !== undefined && values.includes(v);
}

/** True when some string in `v` (any depth) contains `needle` (already lower-case). */
function containsText(v: unknown, needle: string, depth = 0): boolean {
  if (typeof v === 'string') return v.toLowerCase().includes(needle);
  if (depth > 64 || typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) return v.some((x) => containsText(x, needle, depth + 1));
  for (const x of Object.values(v)) if (containsText(x, needle, depth + 1)) return true;
  return false;
}

/**
 * Checks and compiles a filter.
 * @throws AuditError USAGE naming the field: an unknown field, a wrong type, an unknown
 * category/severity/outcome/decision, a time without a zone, `from` not before `to`.
 */
export function compileFilter(filter: QueryFilter, now: number = Date.now()): CompiledFilter {
  if (typeof filter !== 'object' || filter === null) usage('filter', 'expected an object');
  for (const k of Object.keys(filter)) {
    if (!KNOWN_FIELDS.has(k)) usage(k, 'unknown filter field');
  }
  const f = filter as Record<string, unknown>;
  const lists: Partial<Record<(typeof LIST_FIELDS)[number], string[]>> = {};
  for (const k of LIST_FIELDS) {
    const l = list(k, f[k]);
    if (l !== undefined) lists[k] = l;
  }
  checkValues('category', lists.category, EVENT_CATEGORIES);
  checkValues('severity', lists.severity, new Set(Object.keys(SEVERITY_RANK)));
  checkValues('outcome', lists.outcome, OUTCOMES);
  checkValues('guardrail', lists.guardrail, DECISIONS);
  for (const t of lists.type ?? []) {
    const name = t.endsWith('.*') ? t.slice(0, -2) : t;
    const known = name in EVENT_TYPES || (name.startsWith('x.') && CUSTOM_TYPE_NAME_RE.test(name.slice(2)));
    const prefix = t.endsWith('.*') && Object.keys(EVENT_TYPES).some((k) => k.startsWith(`${name}.`));
    if (!known && !prefix && !(t === 'x.*'))
      usage(
        'type',
        `unknown event type ${JSON.stringify(t)} (a catalogue name, x.<name>, or a prefix such as auth.*)`,
      );
  }
  let minRank = -1;
  if (f.minSeverity !== undefined) {
    const r = typeof f.minSeverity === 'string' ? SEVERITY_RANK[f.minSeverity] : undefined;
    if (r === undefined) usage('minSeverity', 'expected info, notice, warning or critical');
    minRank = r;
  }
  if (f.since !== undefined && f.from !== undefined) usage('since', 'give since or from, not both');
  if (f.since !== undefined && typeof f.since !== 'string')
    usage('since', 'expected a duration or a named window');
  const fromMs =
    f.since !== undefined
      ? parseSince('since', f.since as string, now)
      : f.from !== undefined
        ? parseTimeBound('from', f.from as TimeInput, now)
        : Number.NEGATIVE_INFINITY;
  const toMs = f.to !== undefined ? parseTimeBound('to', f.to as TimeInput, now) : Number.POSITIVE_INFINITY;
  if (fromMs >= toMs) usage('to', 'must be later than from');
  if (f.text !== undefined && (typeof f.text !== 'string' || f.text === ''))
    usage('text', 'expected a non-empty string');
  if (f.id !== undefined && (typeof f.id !== 'string' || f.id === '')) usage('id', 'expected an entry id');
  const seqFrom = checkSeq('seqFrom', f.seqFrom) ?? 0;
  const seqTo = checkSeq('seqTo', f.seqTo) ?? Number.POSITIVE_INFINITY;
  if (seqFrom >= seqTo) usage('seqTo', 'must be greater than seqFrom');
  const text = typeof f.text === 'string' ? f.text.toLowerCase() : undefined;
  const id = str(f.id);

  const typeExact = (lists.type ?? []).filter((t) => !t.endsWith('.*'));
  const typePrefixes = (lists.type ?? []).filter((t) => t.endsWith('.*')).map((t) => t.slice(0, -1));
  const resources = (lists.resource ?? []).map((r) => {
    const colon = r.indexOf(':');
    const one = colon < 0 ? { type: undefined, id: r } : { type: r.slice(0, colon), id: r.slice(colon + 1) };
    if (one.type === '' || one.id === '')
      usage('resource', `${JSON.stringify(r)}: expected an id, type:id or type:*`);
    return one;
  });

  const normalized: Record<string, unknown> = { ...lists };
  if (Number.isFinite(fromMs)) normalized.from = new Date(fromMs).toISOString();
  if (Number.isFinite(toMs)) normalized.to = new Date(toMs).toISOString();
  if (minRank >= 0) normalized.minSeverity = f.minSeverity;
  if (text !== undefined) normalized.text = f.text;
  if (id !== undefined) normalized.id = id;
  if (seqFrom > 0) normalized.seqFrom = seqFrom;
  if (Number.isFinite(seqTo)) normalized.seqTo = seqTo;

  const matches = (e: AuditEntry, searchContent: boolean): boolean => {
    if (e.seq < seqFrom || e.seq >= seqTo) return false;
    if (id !== undefined && e.id !== id) return false;
    if (Number.isFinite(fromMs) || Number.isFinite(toMs)) {
      const t = entryTimeMs(e.ts);
      if (!(t >= fromMs && t < toMs)) return false;
    }
    if (
      lists.type !== undefined &&
      !typeExact.includes(e.type) &&
      !typePrefixes.some((p) => e.type.startsWith(p))
    )
      return false;
    if (lists.category !== undefined && !lists.category.includes(e.category)) return false;
    if (lists.severity !== undefined && !lists.severity.includes(e.severity)) return false;
    if (minRank >= 0 && (SEVERITY_RANK[e.severity] ?? -1) < minRank) return false;
    if (lists.actor !== undefined && !anyEquals(lists.actor, field(e, 'actor', 'id'))) return false;
    if (lists.actorType !== undefined && !anyEquals(lists.actorType, field(e, 'actor', 'type'))) return false;
    if (lists.subject !== undefined && !anyEquals(lists.subject, str(e.subject))) return false;
    if (lists.session !== undefined && !anyEquals(lists.session, field(e, 'actor', 'sessionId')))
      return false;
    if (lists.ip !== undefined && !anyEquals(lists.ip, field(e, 'actor', 'ip'))) return false;
    if (lists.conversation !== undefined && !anyEquals(lists.conversation, field(e, 'conversation', 'id')))
      return false;
    if (lists.requestId !== undefined && !anyEquals(lists.requestId, str(e.requestId))) return false;
    if (lists.traceId !== undefined && !anyEquals(lists.traceId, str(e.traceId))) return false;
    if (lists.action !== undefined && !anyEquals(lists.action, str(e.action))) return false;
    if (lists.outcome !== undefined && !anyEquals(lists.outcome, str(e.outcome))) return false;
    if (resources.length > 0) {
      const rType = field(e, 'resource', 'type');
      const rId = field(e, 'resource', 'id');
      const hit = resources.some(
        (r) =>
          (r.type === undefined || r.type === rType) && (r.id === '*' ? rType !== undefined : r.id === rId),
      );
      if (!hit) return false;
    }
    if (lists.model !== undefined) {
      const name = field(e, 'model', 'name');
      const provider = field(e, 'model', 'provider');
      const hit = lists.model.some(
        (m) => m === name || (provider !== undefined && m === `${provider}/${name}`),
      );
      if (!hit) return false;
    }
    if (lists.guardrail !== undefined) {
      const g = Array.isArray(e.guardrails) ? (e.guardrails as Array<{ decision?: unknown }>) : [];
      if (!g.some((r) => typeof r?.decision === 'string' && lists.guardrail!.includes(r.decision)))
        return false;
    }
    if (text !== undefined) {
      const { content, erased: _erased, ...event } = e;
      if (!containsText(event, text) && !(searchContent && containsText(content, text))) return false;
    }
    return true;
  };
  return { normalized, fromMs, toMs, seqFrom, seqTo, id, needsContent: text !== undefined, matches };
}

const MAX_FILTER_TEXT = 4000;

/**
 * A read's filter as the `audit.read` entry records it (JSON, at most 4,000 characters). A free
 * text search is content (a name, a prompt's words): it would stand in the committed entry in
 * clear, beyond content protection and erasure, so only its length is kept.
 */
export function recordedFilter(filter: Readonly<Record<string, unknown>>): string {
  const text = filter.text;
  const shown = typeof text === 'string' ? { ...filter, text: `[${text.length} characters]` } : filter;
  const json = JSON.stringify(shown);
  return json.length > MAX_FILTER_TEXT ? `${json.slice(0, MAX_FILTER_TEXT)}…` : json;
}
