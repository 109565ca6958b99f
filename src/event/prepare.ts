/**
 * Turns an application's event input into what the writer commits: validates every field,
 * assigns the id and time, fills the category and severity from the catalogue, flags identifier
 * fields holding control, bidi or zero-width code points, truncates over-long strings (recording
 * the original length and hash), and serializes the event and each content payload in canonical
 * form (docs/format.md §2–§3).
 *
 * Only wrong types are rejected. A hostile value (escape sequences, CR, NUL, bidi overrides, lone
 * surrogates, U+2028) is kept exactly, because the attacker's payload is the evidence; canonical
 * JSON makes it harmless on disk and on a terminal.
 *
 * Runs synchronously in `emit` for every event, so it is written for speed: one pass per field,
 * no closures or regex compilation per call, paths built only when an error or truncation needs
 * one, and UTF-8 lengths measured only when a string could be too long.
 */
import { createHash } from 'node:crypto';
import { types } from 'node:util';
import { AuditError } from '../errors.js';
import {
  canonicalJson,
  escapeHostile,
  hasHostile,
  quoteJsonString,
  quoteKey,
  sortKeys,
} from './canonical.js';
import { describeEventType, type EventCategory } from './catalogue.js';
import { newEventId } from './id.js';
import type { Severity } from './types.js';

/** Longest string, in UTF-8 bytes, kept whole; longer strings are cut and marked. */
export const DEFAULT_MAX_STRING_BYTES = 65536;
/** Appended to a string cut to `maxStringBytes`. */
export const TRUNCATION_MARKER = '…[truncated]';
/**
 * Most UTF-16 code units an event's text and content may take in all (256 Mi). V8 cannot hold a
 * string of twice that, and the writer frames each event as one string.
 */
export const MAX_EVENT_CHARS = 2 ** 28;
/** Deepest nesting of arrays and objects accepted in a content value. */
export const MAX_CONTENT_DEPTH = 64;
/**
 * Content field names: they travel in the writer's framing (which separates with `\n` and
 * U+001F) and go into the content digest, so they are kept to a plain identifier.
 */
export const CONTENT_NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** What a redactor returns to `prepareEvent`. */
export interface RedactedInput {
  value: unknown;
  findings: readonly RedactionFinding[];
}

/**
 * Where a redactor offers its read-once form: a function that returns the redacted event built
 * from one read of each of the input's values, with new objects and arrays throughout (none of
 * the input's own), so that what is serialized is exactly what was scanned, whatever getters or
 * proxies in the input answer on a later read. Redactors made by `createRedactor` have it;
 * `prepareEvent` calls it in place of the redactor.
 */
export const REDACT_READ_ONCE: unique symbol = Symbol('sealtrail.redactReadOnce');

/**
 * `redact` run on `input` in its {@link REDACT_READ_ONCE} form when it has one; otherwise on a
 * copy of the input read once ({@link copyReadOnce}), so that nothing it hands back can differ
 * from what it was given when read again.
 * @throws AuditError EVENT_INVALID naming the field when a getter or proxy trap throws.
 */
export function redactReadOnce(redact: NonNullable<PrepareOptions['redact']>, input: unknown): RedactedInput {
  const once = redact[REDACT_READ_ONCE];
  return once === undefined ? redact(copyReadOnce(input, '', [])) : once(input);
}

/**
 * The input as read once: its plain objects and arrays copied, each value read once, so that
 * several readers of one event (the trails and collectors of `audit`) all see the same values.
 * @throws AuditError EVENT_INVALID naming the field when a getter or proxy trap throws.
 */
export function readInputOnce(input: unknown): unknown {
  return copyReadOnce(input, '', []);
}

/**
 * `v` with its plain objects and arrays copied, each value read once; other values as they are.
 * `path` is `v`'s (`''` for the event), `stack` the containers above it.
 */
function copyReadOnce(v: unknown, path: string, stack: object[]): unknown {
  if (typeof v !== 'object' || v === null) return v;
  const here = path === '' ? 'event' : path;
  // below content's deepest level (content.<name> is 2 deep): the serializer refuses it anyway
  if (stack.length > MAX_CONTENT_DEPTH + 2) fail(here, `nested deeper than ${MAX_CONTENT_DEPTH} levels`);
  if (stack.includes(v)) fail(here, 'circular reference');
  let at: string | undefined;
  try {
    if (Array.isArray(v)) {
      stack.push(v);
      const out: unknown[] = [];
      const n = v.length;
      for (let i = 0; i < n; i++) {
        at = `${path}[${i}]`;
        out.push(copyReadOnce(v[i], at, stack));
      }
      stack.pop();
      return out;
    }
    if (!isPlainObject(v)) {
      // one that says it is no plain object now could say otherwise to the serializer
      if (types.isProxy(v)) fail(here, 'expected plain data, not a proxy of another object');
      return v;
    }
    stack.push(v);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) {
      at = path === '' ? pathKey(k) : childPath(path, k);
      const x = copyReadOnce(v[k], at, stack);
      // a data property even for `__proto__`, which plain assignment would take as the prototype
      Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
    }
    stack.pop();
    return out;
  } catch (err) {
    throw unreadableInput(err, at ?? here);
  }
}

/** Options of `prepareEvent`. */
export interface PrepareOptions {
  /** Longest string kept whole, in UTF-8 bytes (default 65536). */
  maxStringBytes?: number;
  /** The clock, in epoch milliseconds (default `Date.now`). */
  now?: () => number;
  /**
   * Redacts the input before it is validated (protect/redact.ts); its findings are committed as
   * `redactions` (`{path, kind, count}`, never the value). Its {@link REDACT_READ_ONCE} form is
   * called when it has one; otherwise it is given a copy of the input read once.
   */
  redact?: ((input: unknown) => RedactedInput) & {
    [REDACT_READ_ONCE]?: (input: unknown) => RedactedInput;
  };
  /**
   * What to store for each content value (protect/content-modes.ts); non-plain modes are committed
   * as `contentModes` so that readers know a stored string is a keyed hash or a ciphertext.
   */
  protect?: (
    name: string,
    valueJson: string,
    entry: { id: string; subject: string | undefined },
  ) => { valueJson: string; mode: string; later?: boolean };
}

/** One kind of thing redacted at one place. */
export interface RedactionFinding {
  path: string;
  kind: string;
  count: number;
}

/**
 * A string cut to the size limit: where, its original UTF-8 length, and the hex SHA-256 of the
 * original, except for content: a committed, unsalted digest of a payload would outlive its
 * erasure and let a short one be guessed (the payload's own digest is salted).
 */
export interface TruncationRecord {
  path: string;
  bytes: number;
  sha256?: string;
}

/** A validated event, serialized and ready to be committed. */
export interface PreparedEvent {
  /** UUIDv7 of the entry. */
  id: string;
  /** Event time, ISO 8601 UTC with milliseconds. */
  ts: string;
  /** Event time in epoch milliseconds. */
  tsMs: number;
  type: string;
  category: EventCategory;
  severity: Severity;
  /** Flush at once: the type is critical in the catalogue or the severity is `critical`. */
  critical: boolean;
  /** The event object (everything but `content`) in canonical JSON. */
  eventJson: string;
  /** Content payloads sorted by name, each value in canonical JSON; `[]` when there are none. */
  content: Array<[name: string, valueJson: string]>;
  /**
   * Content fields the protector left for the writer to encrypt (writer/content-sealing.ts): their
   * values are still plain here. `subject` picks the data key; `slot` is set when the trail has
   * chosen the key, just before framing.
   */
  protectLater?: { subject: string | undefined; fields: string[]; slot: number | undefined };
}

// Dates ISO 8601 / RFC 3339 can write with four-digit years, as epoch milliseconds.
const MIN_TS_MS = -62167219200000; // 0000-01-01T00:00:00.000Z
const MAX_TS_MS = 253402300799999; // 9999-12-31T23:59:59.999Z
/** 400 Gregorian years are exactly 146097 days; used to keep Date.UTC away from its 0–99 → 1900s rule. */
const MS_PER_400_YEARS = 146097 * 86400000;
// A date, or a date-time with seconds optional and a zone required (a zone-less time is ambiguous).
const ISO_TS_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:[Zz]|([+-])(\d{2}):(\d{2})))?$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

// Property names that read well in a path as `.name`; others are written `["..."]`.
const PATH_IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const OUTCOMES: ReadonlySet<string> = new Set([
  'success',
  'failure',
  'blocked',
  'allowed',
  'warned',
  'error',
]);
const OUTCOMES_TEXT = 'expected one of success, failure, blocked, allowed, warned, error';
const SEVERITIES: ReadonlySet<string> = new Set(['info', 'notice', 'warning', 'critical']);
const SEVERITIES_TEXT = 'expected one of info, notice, warning, critical';
const DECISIONS: ReadonlySet<string> = new Set(['block', 'allow', 'warn', 'redact']);
const DECISIONS_TEXT = 'expected one of block, allow, warn, redact';

const ENCODER = new TextEncoder();
/** The last time formatted: events emitted in the same millisecond reuse it (toISOString is ~0.3 µs, measured). */
let lastTsMs = Number.NaN;
let lastTs = '';
/** Reused target of `encodeInto` when cutting a string; grown to the largest limit seen. */
let cutScratch = new Uint8Array(0);

/** Per-call state: the limit, what was flagged or truncated, and `actor.id` (the default subject). */
interface Ctx {
  readonly max: number;
  flagged: string[] | undefined;
  truncated: TruncationRecord[] | undefined;
  /** Containers being serialized, for cycle detection in content. */
  stack: object[] | undefined;
  actorId: string | undefined;
  actorIdJson: string | undefined;
  /** Which of `resource.type` (1) and `resource.id` (2) were read. */
  resourceParts: number;
}

function fail(path: string, problem: string): never {
  throw new AuditError('EVENT_INVALID', `${path}: ${problem}`, { field: path });
}

/**
 * The error for `err`, met while reading the field `parent` of the input, or its `key`: ours
 * (an AuditError, or V8's string length limit, which `prepareEvent` reports) as it is; anything
 * else (a getter or proxy trap of the application threw) as EVENT_INVALID naming the field. The
 * thrown message is not kept: it may quote the value. The redactor's walk reports the same way.
 */
export function unreadableInput(err: unknown, parent: string, key?: string | number): unknown {
  if (err instanceof AuditError || (err instanceof RangeError && err.message === 'Invalid string length'))
    return err;
  const path = key === undefined ? parent : childPath(parent, key);
  return new AuditError('EVENT_INVALID', `${path}: could not be read (a getter or proxy threw)`, {
    field: path,
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * A property name as it appears in a path (`name`, or `["a.b"]` for other names). Attacker-
 * controlled: escaped and shortened to 64 code units.
 */
export function pathKey(key: string): string {
  if (PATH_IDENT_RE.test(key)) return key;
  return `[${escapeHostile(JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key))}]`;
}

function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  const k = pathKey(key);
  return k.charCodeAt(0) === 0x5b /* [ */ ? `${parent}${k}` : `${parent}.${k}`;
}

// The event is written as canonical JSON text while it is read, never built as an object: every
// string is quoted once (one regex test when it needs no escape; that test also clears an
// identifier of hostile code points), and the fixed-shape parts write their keys in canonical
// order (sorted by UTF-16 code units). Each append to a long text adds a rope node that costs
// ≈ 25 ns to flatten when the batch is encoded (measured), so a key goes in with its comma as
// one constant. Measured on the bench's event, prepare and framing: 5.4–5.7 µs against 6.2–6.9 µs
// for building the object and running JSON.stringify and the extra escapes over it.

/** `s`, an object's text begun with `{`, with `key` (`,"name":`) and `json` appended; `json` undefined adds nothing. */
function member(s: string, key: string, json: string | undefined): string {
  if (json === undefined) return s;
  return s.length === 1 ? s + key.slice(1) + json : s + key + json;
}

/** `s`, an object's text begun with `{`, with a property of any name appended. */
function anyMember(s: string, key: string, json: string): string {
  return `${s.length === 1 ? s : `${s},`}${quoteKey(key)}:${json}`;
}

/**
 * `s`, or its longest prefix of at most `max` UTF-8 bytes plus the marker, recording the cut (with
 * the original's SHA-256 outside content).
 */
function limit(ctx: Ctx, s: string, parent: string, key: string | number | undefined): string {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit, so most strings need no measuring.
  if (s.length * 3 <= ctx.max) return s;
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes <= ctx.max) return s;
  if (cutScratch.length < ctx.max) cutScratch = new Uint8Array(ctx.max);
  // encodeInto writes whole code points only, so `read` ends on a code point boundary and a
  // surrogate pair is never split.
  const { read } = ENCODER.encodeInto(s, cutScratch.subarray(0, ctx.max));
  const record: TruncationRecord = { bytes, path: key === undefined ? parent : childPath(parent, key) };
  if (!record.path.startsWith('content.'))
    record.sha256 = createHash('sha256').update(s, 'utf8').digest('hex');
  if (ctx.truncated === undefined) ctx.truncated = [record];
  else ctx.truncated.push(record);
  return `${s.slice(0, read)}${TRUNCATION_MARKER}`;
}

/** A free-text field, as JSON text. */
function readString(ctx: Ctx, v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'expected a string');
  return quoteJsonString(limit(ctx, v, path, undefined));
}

/** An identifier field: a string, flagged when it holds a hostile code point (and kept as it is). */
function readId(ctx: Ctx, v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'expected a string');
  if (hasHostile(v)) {
    if (ctx.flagged === undefined) ctx.flagged = [path];
    else ctx.flagged.push(path);
  }
  return limit(ctx, v, path, undefined);
}

/** An identifier field as JSON text. */
function readIdJson(ctx: Ctx, v: unknown, path: string): string {
  return quoteJsonString(readId(ctx, v, path));
}

function readCount(v: unknown, path: string): string {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    fail(path, 'expected a non-negative integer');
  return String(v);
}

/** One of `allowed`: plain ASCII words, so `"${word}"` is its JSON text. */
function readEnum(v: unknown, path: string, allowed: ReadonlySet<string>, text: string): string {
  if (typeof v !== 'string' || !allowed.has(v)) fail(path, text);
  return v;
}

/** A value allowed in `meta` and the extra fields of `resource`, as JSON text. */
function readScalar(ctx: Ctx, v: unknown, parent: string, key: string): string {
  const t = typeof v;
  if (t !== 'string' && t !== 'number' && t !== 'boolean' && v !== null)
    fail(childPath(parent, key), 'expected a string, number, boolean or null');
  return serializeContent(ctx, v, parent, key, 0);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29;
  return DAYS_IN_MONTH[month - 1] ?? 0;
}

/** Epoch ms of an ISO 8601 date or date-time with zone, or NaN. Parsed by hand: Date.parse rolls 02-30 over to 03-01. */
function parseIsoTime(s: string): number {
  const m = ISO_TS_RE.exec(s);
  if (m === null) return Number.NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4] ?? 0);
  const minute = Number(m[5] ?? 0);
  const second = Number(m[6] ?? 0);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offset = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return Number.NaN;
  if (hour > 23 || minute > 59 || second > 59 || Number(m[9] ?? 0) > 23 || Number(m[10] ?? 0) > 59)
    return Number.NaN;
  return Date.UTC(year + 400, month - 1, day, hour, minute, second, ms) - MS_PER_400_YEARS - offset * 60000;
}

function readTs(v: unknown): number {
  let ms: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) fail('ts', 'expected a finite number of milliseconds');
    ms = Math.trunc(v); // as the Date constructor does
  } else if (typeof v === 'string') {
    ms = parseIsoTime(v);
    if (Number.isNaN(ms)) fail('ts', 'expected an iso-8601 date, or date-time with a zone');
  } else if (types.isDate(v)) {
    // the internal time value: neither a proxy nor an overridden getTime answers for it
    ms = Date.prototype.getTime.call(v);
    if (Number.isNaN(ms)) fail('ts', 'invalid date');
  } else {
    return fail('ts', 'expected a date, an iso-8601 string or epoch milliseconds');
  }
  if (ms < MIN_TS_MS || ms > MAX_TS_MS) fail('ts', 'out of range (years 0000 to 9999)');
  return ms;
}

/** The actor as JSON text; its id is kept on `ctx` (the default subject). */
function readActor(ctx: Ctx, v: unknown): string {
  if (!isPlainObject(v)) fail('actor', 'expected an object');
  let authMethod: string | undefined;
  let ip: string | undefined;
  let sessionId: string | undefined;
  let type: string | undefined;
  let userAgent: string | undefined;
  let key: string | undefined;
  try {
    for (const k of Object.keys(v)) {
      key = k;
      const x = v[k];
      if (x === undefined) continue;
      switch (k) {
        case 'id':
          ctx.actorId = readId(ctx, x, 'actor.id');
          ctx.actorIdJson = quoteJsonString(ctx.actorId);
          break;
        case 'type':
          type = readString(ctx, x, 'actor.type');
          break;
        case 'sessionId':
          sessionId = readIdJson(ctx, x, 'actor.sessionId');
          break;
        case 'ip':
          ip = readIdJson(ctx, x, 'actor.ip');
          break;
        case 'userAgent':
          userAgent = readIdJson(ctx, x, 'actor.userAgent');
          break;
        case 'authMethod':
          authMethod = readIdJson(ctx, x, 'actor.authMethod');
          break;
        default:
          fail(childPath('actor', k), 'unknown field');
      }
    }
  } catch (err) {
    throw unreadableInput(err, 'actor', key);
  }
  let s = member('{', ',"authMethod":', authMethod);
  s = member(s, ',"id":', ctx.actorIdJson);
  s = member(s, ',"ip":', ip);
  s = member(s, ',"sessionId":', sessionId);
  s = member(s, ',"type":', type);
  return `${member(s, ',"userAgent":', userAgent)}}`;
}

function readConversation(ctx: Ctx, v: unknown): string {
  if (!isPlainObject(v)) fail('conversation', 'expected an object');
  let id: string | undefined;
  let turn: string | undefined;
  let key: string | undefined;
  try {
    for (const k of Object.keys(v)) {
      key = k;
      const x = v[k];
      if (x === undefined) continue;
      if (k === 'id') id = readIdJson(ctx, x, 'conversation.id');
      else if (k === 'turn') turn = readCount(x, 'conversation.turn');
      else fail(childPath('conversation', k), 'unknown field');
    }
  } catch (err) {
    throw unreadableInput(err, 'conversation', key);
  }
  if (id === undefined) return fail('conversation.id', 'required');
  return `${member(`{"id":${id}`, ',"turn":', turn)}}`;
}

function readResource(ctx: Ctx, v: unknown): string {
  if (!isPlainObject(v)) fail('resource', 'expected an object');
  ctx.resourceParts = 0;
  const json = readOpenObject(ctx, v, 'resource');
  if ((ctx.resourceParts & 1) === 0) fail('resource.type', 'required');
  if ((ctx.resourceParts & 2) === 0) fail('resource.id', 'required');
  return json;
}

function readModel(ctx: Ctx, v: unknown): string {
  if (!isPlainObject(v)) fail('model', 'expected an object');
  let name: string | undefined;
  let provider: string | undefined;
  let key: string | undefined;
  try {
    for (const k of Object.keys(v)) {
      key = k;
      const x = v[k];
      if (x === undefined) continue;
      if (k === 'provider') provider = readIdJson(ctx, x, 'model.provider');
      else if (k === 'name') name = readIdJson(ctx, x, 'model.name');
      else fail(childPath('model', k), 'unknown field');
    }
  } catch (err) {
    throw unreadableInput(err, 'model', key);
  }
  return `${member(member('{', ',"name":', name), ',"provider":', provider)}}`;
}

function readUsage(v: unknown): string {
  if (!isPlainObject(v)) fail('usage', 'expected an object');
  let inputTokens: string | undefined;
  let outputTokens: string | undefined;
  let totalTokens: string | undefined;
  let key: string | undefined;
  try {
    for (const k of Object.keys(v)) {
      key = k;
      const x = v[k];
      if (x === undefined) continue;
      if (k === 'inputTokens') inputTokens = readCount(x, 'usage.inputTokens');
      else if (k === 'outputTokens') outputTokens = readCount(x, 'usage.outputTokens');
      else if (k === 'totalTokens') totalTokens = readCount(x, 'usage.totalTokens');
      else fail(childPath('usage', k), 'unknown field');
    }
  } catch (err) {
    throw unreadableInput(err, 'usage', key);
  }
  const s = member(member('{', ',"inputTokens":', inputTokens), ',"outputTokens":', outputTokens);
  return `${member(s, ',"totalTokens":', totalTokens)}}`;
}

function readGuardrails(ctx: Ctx, v: unknown): string {
  if (!Array.isArray(v)) fail('guardrails', 'expected an array');
  let out = '[';
  // where a getter or proxy trap may throw: the array, an item, or a field of one
  let at = 'guardrails';
  let key: string | undefined;
  try {
    const n = v.length;
    for (let i = 0; i < n; i++) {
      const base = `guardrails[${i}]`;
      at = base;
      key = undefined;
      const g: unknown = v[i];
      if (!isPlainObject(g)) fail(base, 'expected an object');
      let confidence: string | undefined;
      let decision: string | undefined;
      let name: string | undefined;
      let reason: string | undefined;
      let rule: string | undefined;
      for (const k of Object.keys(g)) {
        key = k;
        const x = g[k];
        if (x === undefined) continue;
        switch (k) {
          case 'name':
            name = readIdJson(ctx, x, `${base}.name`);
            break;
          case 'decision':
            decision = `"${readEnum(x, `${base}.decision`, DECISIONS, DECISIONS_TEXT)}"`;
            break;
          case 'reason':
            reason = readString(ctx, x, `${base}.reason`);
            break;
          case 'confidence':
            if (typeof x !== 'number' || !(x >= 0 && x <= 1))
              fail(`${base}.confidence`, 'expected a number from 0 to 1');
            confidence = String(x);
            break;
          case 'rule':
            rule = readIdJson(ctx, x, `${base}.rule`);
            break;
          default:
            fail(childPath(base, k), 'unknown field');
        }
      }
      if (name === undefined) fail(`${base}.name`, 'required');
      if (decision === undefined) fail(`${base}.decision`, 'required');
      let s = member('{', ',"confidence":', confidence);
      s = member(member(member(s, ',"decision":', decision), ',"name":', name), ',"reason":', reason);
      out += `${i === 0 ? '' : ','}${member(s, ',"rule":', rule)}}`;
    }
  } catch (err) {
    throw unreadableInput(err, at, key);
  }
  return `${out}]`;
}

function readMeta(ctx: Ctx, v: unknown): string {
  if (!isPlainObject(v)) fail('meta', 'expected an object');
  return readOpenObject(ctx, v, 'meta');
}

/**
 * `meta`, or `resource` with its `type` and `id` identifiers, as JSON text: its values read in
 * the order `Object.keys` gives (so an error names the first bad field given, integer-like keys
 * first), then written in canonical order.
 */
function readOpenObject(ctx: Ctx, v: Record<string, unknown>, parent: 'meta' | 'resource'): string {
  let keys: string[];
  const values: Array<string | undefined> = [];
  let sorted = true;
  let key: string | undefined;
  try {
    keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      key = k;
      const x = v[k];
      if (i > 0 && keys[i - 1]! > k) sorted = false;
      if (x === undefined) values.push(undefined);
      else if (parent === 'resource' && (k === 'type' || k === 'id')) {
        values.push(readIdJson(ctx, x, `resource.${k}`));
        ctx.resourceParts |= k === 'type' ? 1 : 2;
      } else values.push(readScalar(ctx, x, parent, k));
    }
  } catch (err) {
    throw unreadableInput(err, parent, key);
  }
  const order = sorted ? undefined : keys.map((_, i) => i).sort((a, b) => (keys[a]! < keys[b]! ? -1 : 1));
  let s = '{';
  for (let j = 0; j < keys.length; j++) {
    const i = order === undefined ? j : order[j]!;
    if (values[i] !== undefined) s = anyMember(s, keys[i]!, values[i]!);
  }
  return `${s}}`;
}

/**
 * Validates a content value and writes it in canonical form in one pass (the same text
 * `canonicalJson` gives for the value after truncation).
 */
function serializeContent(
  ctx: Ctx,
  v: unknown,
  parent: string,
  key: string | number | undefined,
  depth: number,
): string {
  switch (typeof v) {
    case 'string':
      return quoteJsonString(limit(ctx, v, parent, key));
    case 'number':
      if (Number.isFinite(v)) return String(v);
      return fail(key === undefined ? parent : childPath(parent, key), 'expected a finite number');
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      const path = key === undefined ? parent : childPath(parent, key);
      if (depth >= MAX_CONTENT_DEPTH) fail(path, `nested deeper than ${MAX_CONTENT_DEPTH} levels`);
      if (ctx.stack === undefined) ctx.stack = [];
      const stack = ctx.stack;
      if (stack.includes(v)) fail(path, 'circular reference');
      let s: string;
      // the item or key being read when a getter or proxy trap throws
      let at: string | number | undefined;
      try {
        if (Array.isArray(v)) {
          stack.push(v);
          s = '[';
          const n = v.length;
          for (let i = 0; i < n; i++) {
            if (i > 0) s += ',';
            at = i;
            s += serializeContent(ctx, v[i], path, i, depth + 1);
          }
          s += ']';
        } else if (isPlainObject(v)) {
          stack.push(v);
          const keys = sortKeys(Object.keys(v));
          s = '{';
          let first = true;
          for (const k of keys) {
            at = k;
            const x = v[k];
            if (x === undefined) continue; // absent, as in JSON
            s += `${first ? '' : ','}${quoteKey(k)}:${serializeContent(ctx, x, path, k, depth + 1)}`;
            first = false;
          }
          s += '}';
        } else {
          return fail(path, 'expected plain data (string, number, boolean, null, array or object)');
        }
      } catch (err) {
        throw unreadableInput(err, path, at);
      }
      stack.pop();
      return s;
    }
    default:
      // undefined (in an array), function, symbol, bigint
      return fail(key === undefined ? parent : childPath(parent, key), 'expected a json value');
  }
}

function readContent(ctx: Ctx, v: unknown): Array<[string, string]> {
  if (!isPlainObject(v)) fail('content', 'expected an object');
  // Sorted by name, as the committed `content` object is (docs/format.md §2).
  const out: Array<[string, string]> = [];
  let key: string | undefined;
  try {
    const names = Object.keys(v).sort();
    for (const name of names) {
      if (!CONTENT_NAME_RE.test(name))
        fail(childPath('content', name), 'invalid content name (expected [A-Za-z][A-Za-z0-9_]{0,63})');
      key = name;
      const x = v[name];
      if (x === undefined) continue;
      out.push([name, serializeContent(ctx, x, `content.${name}`, undefined, 0)]);
    }
  } catch (err) {
    throw unreadableInput(err, 'content', key);
  }
  return out;
}

function byPath(a: TruncationRecord, b: TruncationRecord): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** A JSON array of `items`, each written by `json`. */
function arrayJson<T>(items: readonly T[], json: (item: T) => string): string {
  let s = '[';
  for (let i = 0; i < items.length; i++) s += `${i === 0 ? '' : ','}${json(items[i]!)}`;
  return `${s}]`;
}

function truncationJson(r: TruncationRecord): string {
  const digest = r.sha256 === undefined ? '' : `,"sha256":"${r.sha256}"`;
  return `{"bytes":${r.bytes},"path":${quoteJsonString(r.path)}${digest}}`;
}

/**
 * The redactor's findings as JSON text. A redactor of the application's own may hand back
 * anything, even getters that answer differently each time: each property is read once, and
 * findings that are not `{path: string, kind: string, count: finite number}` go to the general
 * serializer, which escapes or rejects them.
 */
function redactionsJson(findings: readonly RedactionFinding[]): string {
  const read = Array.from(findings, (f) => ({ count: f?.count, kind: f?.kind, path: f?.path }));
  const wellFormed = read.every(
    (f) => typeof f.path === 'string' && typeof f.kind === 'string' && Number.isFinite(f.count),
  );
  if (!wellFormed) return canonicalJson(read);
  return arrayJson(
    read,
    (f) => `{"count":${f.count},"kind":${quoteJsonString(f.kind)},"path":${quoteJsonString(f.path)}}`,
  );
}

/**
 * The path of a finding or truncation inside a content field stored as a keyed hash or ciphertext:
 * the field itself. A path below it would spell out the field's own key names (`content.toolArgs.
 * patients["Jane Doe"]`) in the clear, beside the protected value, and beyond erasure, which
 * removes payloads, not the signed record.
 */
function hiddenPath(path: string, hidden: readonly string[]): string {
  for (const field of hidden)
    if (
      path.startsWith(field) &&
      (path.length === field.length || path[field.length] === '.' || path[field.length] === '[')
    )
      return field;
  return path;
}

/** Redaction findings with {@link hiddenPath}s, those of one field and kind summed. */
function atHiddenFields(
  findings: readonly RedactionFinding[],
  hidden: readonly string[],
): RedactionFinding[] {
  const out: RedactionFinding[] = [];
  for (const f of findings) {
    const path = typeof f?.path === 'string' ? hiddenPath(f.path, hidden) : f?.path;
    const same = path === f?.path ? undefined : out.find((o) => o.path === path && o.kind === f.kind);
    if (same !== undefined && Number.isFinite(same.count) && Number.isFinite(f.count)) same.count += f.count;
    else out.push(path === f?.path ? f : { path, kind: f.kind, count: f.count });
  }
  return out;
}

/**
 * Validates an event input and prepares it for the writer: the id (UUIDv7), the time, the
 * category and default severity from the catalogue, `subject` defaulting to `actor.id`,
 * `flagged` identifier paths, `truncated` records, the canonical event JSON and the canonical
 * content payloads. Never mutates `input`; reads only its own enumerable properties, each once
 * (with a redactor from `createRedactor` too: see {@link REDACT_READ_ONCE}). A property whose
 * value is `undefined` counts as absent.
 *
 * @throws AuditError `EVENT_INVALID` when a field has the wrong type or value range, a required
 *   field is missing, a field is unknown, or content is not plain JSON data (cycles, more than
 *   64 levels of nesting), or the event with its content is longer than `MAX_EVENT_CHARS`
 *   (`detail.field` is then `event`), or a getter or proxy trap of the input throws;
 *   `detail.field` is the path and the message never holds the value.
 * @throws AuditError `CONFIG_INVALID` when `maxStringBytes` is not a positive integer or the
 *   `now` clock returns something that is not a time.
 */
export function prepareEvent(input: unknown, options?: PrepareOptions): PreparedEvent {
  try {
    return prepare(input, options);
  } catch (err) {
    // A string past V8's limit, met while serializing: the event is far over MAX_EVENT_CHARS.
    if (err instanceof RangeError && err.message === 'Invalid string length') tooLarge();
    throw err;
  }
}

function tooLarge(): never {
  return fail('event', `larger than ${MAX_EVENT_CHARS} characters with its content`);
}

function prepare(input: unknown, options: PrepareOptions | undefined): PreparedEvent {
  const max = options?.maxStringBytes ?? DEFAULT_MAX_STRING_BYTES;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new AuditError('CONFIG_INVALID', 'maxStringBytes: expected a positive integer', {
      field: 'maxStringBytes',
    });
  }
  let redactions: readonly RedactionFinding[] = [];
  if (options?.redact !== undefined) {
    const r = redactReadOnce(options.redact, input);
    input = r.value;
    redactions = r.findings;
  }
  const ctx: Ctx = {
    max,
    flagged: undefined,
    truncated: undefined,
    stack: undefined,
    actorId: undefined,
    actorIdJson: undefined,
    resourceParts: 0,
  };
  // JSON text of each part, undefined when absent.
  let action: string | undefined;
  let actor: string | undefined;
  let conversation: string | undefined;
  let guardrails: string | undefined;
  let latencyMs: string | undefined;
  let meta: string | undefined;
  let model: string | undefined;
  let outcome: string | undefined;
  let requestId: string | undefined;
  let resource: string | undefined;
  let subject: string | undefined;
  let subjectJson: string | undefined;
  let traceId: string | undefined;
  let type: string | undefined;
  let traits: ReturnType<typeof describeEventType>;
  let tsMs: number | undefined;
  let severity: Severity | undefined;
  let content: Array<[string, string]> | undefined;
  let usage: string | undefined;

  // the field being read when a getter or proxy trap throws
  let at: string | undefined;
  try {
    if (!isPlainObject(input)) fail('event', 'expected an object');
    for (const key of Object.keys(input)) {
      at = key;
      const v = input[key];
      if (v === undefined) continue;
      switch (key) {
        case 'type':
          if (typeof v !== 'string') fail('type', 'expected a string');
          traits = describeEventType(v);
          if (traits === undefined)
            fail('type', 'unknown event type (expected a catalogue name or x.<name>)');
          type = v;
          break;
        case 'ts':
          tsMs = readTs(v);
          break;
        case 'actor':
          actor = readActor(ctx, v);
          break;
        case 'subject':
          subject = readId(ctx, v, key);
          subjectJson = quoteJsonString(subject);
          break;
        case 'requestId':
          requestId = readIdJson(ctx, v, key);
          break;
        case 'traceId':
          traceId = readIdJson(ctx, v, key);
          break;
        case 'action':
          action = readIdJson(ctx, v, key);
          break;
        case 'conversation':
          conversation = readConversation(ctx, v);
          break;
        case 'resource':
          resource = readResource(ctx, v);
          break;
        case 'outcome':
          outcome = `"${readEnum(v, 'outcome', OUTCOMES, OUTCOMES_TEXT)}"`;
          break;
        case 'model':
          model = readModel(ctx, v);
          break;
        case 'usage':
          usage = readUsage(v);
          break;
        case 'latencyMs':
          if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
            fail('latencyMs', 'expected a finite number >= 0');
          latencyMs = String(v);
          break;
        case 'content':
          content = readContent(ctx, v);
          break;
        case 'guardrails':
          guardrails = readGuardrails(ctx, v);
          break;
        case 'severity':
          severity = readEnum(v, 'severity', SEVERITIES, SEVERITIES_TEXT) as Severity;
          break;
        case 'meta':
          meta = readMeta(ctx, v);
          break;
        default:
          // `id`, `category`, `flagged`, `truncated`, `redactions` and `contentModes` are set here,
          // never taken from input.
          fail(pathKey(key), 'unknown field');
      }
    }
  } catch (err) {
    throw unreadableInput(err, at === undefined ? 'event' : pathKey(at));
  }
  if (type === undefined || traits === undefined) return fail('type', 'required');

  const nowMs = options?.now === undefined ? Date.now() : options.now();
  if (!(nowMs >= MIN_TS_MS && nowMs <= MAX_TS_MS)) {
    throw new AuditError('CONFIG_INVALID', 'now: the clock returned no valid time', { field: 'now' });
  }
  if (tsMs === undefined) tsMs = Math.trunc(nowMs);
  const id = newEventId(nowMs);
  if (tsMs !== lastTsMs) {
    lastTs = new Date(tsMs).toISOString();
    lastTsMs = tsMs;
  }
  const ts = lastTs;
  severity ??= traits.severity;

  if (subject === undefined && ctx.actorId !== undefined) {
    subject = ctx.actorId;
    subjectJson = ctx.actorIdJson;
    // The stored subject holds what actor.id held, so it is flagged alike.
    if (ctx.flagged?.includes('actor.id') === true) ctx.flagged.push('subject');
  }
  let later: string[] | undefined;
  let contentModes: string | undefined;
  let hidden: string[] | undefined;
  if (content !== undefined && options?.protect !== undefined) {
    let modes = '{';
    const entry = { id, subject };
    for (const part of content) {
      const p = options.protect(part[0], part[1], entry);
      part[1] = p.valueJson;
      // Content names are plain identifiers (CONTENT_NAME_RE): no quoting needed.
      const mode = p.mode;
      // canonicalJson: the protector is a hook, and its mode is written as whatever it is.
      if (mode !== 'plain') {
        modes = member(modes, `,"${part[0]}":`, canonicalJson(mode));
        hidden ??= [];
        hidden.push(`content.${part[0]}`);
      }
      if (p.later === true) {
        later ??= [];
        later.push(part[0]);
      }
    }
    if (modes.length > 1) contentModes = `${modes}}`;
  }
  if (hidden !== undefined) {
    redactions = atHiddenFields(redactions, hidden);
    if (ctx.truncated !== undefined) for (const t of ctx.truncated) t.path = hiddenPath(t.path, hidden);
  }

  let s = member('{', ',"action":', action);
  s = member(s, ',"actor":', actor);
  s = member(s, ',"category":', `"${traits.category}"`);
  s = member(s, ',"contentModes":', contentModes);
  s = member(s, ',"conversation":', conversation);
  s = member(
    s,
    ',"flagged":',
    ctx.flagged === undefined ? undefined : arrayJson(ctx.flagged.sort(), quoteJsonString),
  );
  s = member(s, ',"guardrails":', guardrails);
  s = member(s, ',"id":', `"${id}"`);
  s = member(s, ',"latencyMs":', latencyMs);
  s = member(s, ',"meta":', meta);
  s = member(s, ',"model":', model);
  s = member(s, ',"outcome":', outcome);
  s = member(s, ',"redactions":', redactions.length === 0 ? undefined : redactionsJson(redactions));
  s = member(s, ',"requestId":', requestId);
  s = member(s, ',"resource":', resource);
  s = member(s, ',"severity":', `"${severity}"`);
  s = member(s, ',"subject":', subjectJson);
  s = member(s, ',"traceId":', traceId);
  s = member(
    s,
    ',"truncated":',
    ctx.truncated === undefined ? undefined : arrayJson(ctx.truncated.sort(byPath), truncationJson),
  );
  s = member(s, ',"ts":', `"${ts}"`);
  s = member(s, ',"type":', quoteKey(type));
  s = member(s, ',"usage":', usage);

  let chars = s.length;
  if (content !== undefined) for (const part of content) chars += part[1].length;
  if (chars > MAX_EVENT_CHARS) tooLarge();

  const prepared: PreparedEvent = {
    id,
    ts,
    tsMs,
    type,
    category: traits.category,
    severity,
    critical: traits.critical || severity === 'critical',
    eventJson: `${s}}`,
    content: content ?? [],
  };
  if (later !== undefined) prepared.protectLater = { subject, fields: later, slot: undefined };
  return prepared;
}
