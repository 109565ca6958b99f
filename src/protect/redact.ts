/**
 * `createRedactor`: applies the detectors to every string of an event input (content, meta,
 * resource, guardrail reasons, error messages, identifiers), replaces values under sensitive key
 * names whole, and records each redaction as `{path, kind, count}`, never the value.
 *
 * Written for the `emit` path: no work for a field class that is off, paths built only when
 * something is found, objects copied only along changed paths (the input is never modified), key
 * names judged once and cached. A custom detector or hook that throws never escapes: its field
 * becomes `[REDACTION_FAILED]` and the result is flagged (fail closed).
 */
import { types } from 'node:util';
import { AuditError } from '../errors.js';
import { escapeHostile, REDACT_READ_ONCE, unreadableInput } from '../event/index.js';
import {
  BUILTIN_DETECTORS,
  DETECTOR_NAMES,
  HOOK_KIND,
  K,
  REDACTION_FAILED,
  REDACTION_FAILED_MARKER,
} from './detector-names.js';
import { HINT_PHONE, HINT_SSN } from './detectors/number-shape.js';
import { type KeyMemo, KeyMemos } from './key-memo.js';
import {
  applyHits,
  type CompiledCustom,
  findAll,
  makeScanConfig,
  type ScanConfig,
  startsIn,
} from './scan.js';
import { SensitiveNames, splitName } from './sensitive-names.js';
import type {
  ClassPolicy,
  CustomDetector,
  FieldClass,
  Finding,
  RedactHook,
  Redactor,
  RedactorOptions,
  RedactResult,
} from './types.js';

/** Field classes in a fixed order. */
export const FIELD_CLASSES: readonly FieldClass[] = ['content', 'meta', 'identifiers'];
/** The policy of each field class when the options name none. */
export const DEFAULT_CLASS_POLICY: Readonly<Record<FieldClass, ClassPolicy>> = {
  content: 'all',
  meta: 'all',
  identifiers: 'secrets',
};
/** Nesting beyond this is not walked: the value is replaced (fail closed), which also ends cycles. */
export const MAX_REDACT_DEPTH = 100;

const CUSTOM_NAME_RE = /^(?:secret:)?[a-z][a-z0-9_-]{0,39}$/;
const SENSITIVE_WORD_RE = /^[A-Za-z0-9]{1,40}$/;
const PATH_IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const PHONE_WORDS: ReadonlySet<string> = new Set([
  'phone',
  'phones',
  'mobile',
  'tel',
  'telephone',
  'cell',
  'cellphone',
  'fax',
  'msisdn',
  'whatsapp',
]);
const SECRET_KEY_MARKER = BUILTIN_DETECTORS['secret:key'].marker;
/** Numbers smaller than this cannot be a card, phone or SSN. */
const MIN_NUMBER_SCANNED = 1_000_000;
const KEY_CACHE_SIZE = 4096;

/** How a key name is treated in one field class. */
interface KeyInfo {
  readonly sensitive: boolean;
  readonly hint: number;
  /** The key with personal data in it replaced, when it held some. */
  readonly renamed: string | undefined;
  readonly kinds: readonly number[] | undefined;
  /** The custom hook changed the key. */
  readonly hooked?: boolean;
  /**
   * False for a judgement that failed, or that the custom hook took part in (it is told the path,
   * which differs between places): judged again next time, never remembered.
   */
  readonly kept: boolean;
}

/** Everything that runs on one field class. */
interface ClassRun {
  readonly cls: FieldClass;
  /** null: nothing runs on this class. */
  readonly cfg: ScanConfig | null;
  readonly secretKeys: boolean;
  readonly numbers: boolean;
  readonly hook: RedactHook | undefined;
  /** Key names judged in this class: where keys may be renamed, and where they may not (fixed field names). */
  readonly keyCache: Map<string, KeyInfo>;
  readonly fixedKeyCache: Map<string, KeyInfo>;
}

/** Per-call state. `path[0..len)` is the path of the value being walked; strings are built only for findings. */
interface Ctx {
  findings: Finding[];
  failed: boolean;
  readonly path: Array<string | number>;
  /** What an error names when the value itself cannot be read: `event`, or `value` for one class. */
  readonly root: string;
  /** Every object and array walked is returned new, built from one read of each value (for `emit`). */
  readonly fresh: boolean;
}

function fail(field: string, problem: string): never {
  throw new AuditError('CONFIG_INVALID', `${field}: ${problem}`, { field });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** A new empty object with the prototype of plain object `o` (null or Object.prototype). */
function newLike(o: object): Record<string, unknown> {
  return Object.getPrototypeOf(o) === null ? Object.create(null) : {};
}

/** Defines `key` as an own data property: plain assignment of `__proto__` would set the prototype. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** A property name as it appears in a path, as prepareEvent writes it. Attacker-controlled: escaped and shortened. */
function pathKey(key: string): string {
  if (PATH_IDENT_RE.test(key)) return key;
  return `[${escapeHostile(JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key))}]`;
}

/** The error for `err`, met while reading the value at `ctx.path[0..len)` (see unreadableInput). */
function unreadable(err: unknown, ctx: Ctx, len: number): unknown {
  return unreadableInput(err, len === 0 ? ctx.root : pathString(ctx.path, len));
}

function pathString(path: ReadonlyArray<string | number>, len: number): string {
  let out = '';
  for (let i = 0; i < len; i++) {
    const k = path[i]!;
    if (typeof k === 'number') out += `[${k}]`;
    else {
      const pk = pathKey(k);
      out += out === '' || pk.charCodeAt(0) === 0x5b ? pk : `.${pk}`;
    }
  }
  return out;
}

function compileCustom(d: unknown, i: number, kind: number, seen: Set<string>): CompiledCustom {
  const at = `custom[${i}]`;
  if (!isPlainObject(d)) fail(at, 'expected an object with name and pattern or find');
  const { name, pattern, find } = d as Partial<CustomDetector>;
  if (typeof name !== 'string' || !CUSTOM_NAME_RE.test(name))
    fail(`${at}.name`, 'expected lower-case letters, digits, _ or - (max 40), optionally after "secret:"');
  if (
    Object.hasOwn(BUILTIN_DETECTORS, name) ||
    name === HOOK_KIND ||
    name === REDACTION_FAILED ||
    seen.has(name)
  )
    fail(`${at}.name`, `"${name}" is already taken`);
  seen.add(name);
  if ((pattern === undefined) === (find === undefined)) fail(at, 'give one of pattern and find');
  if (pattern !== undefined) {
    if (!(pattern instanceof RegExp)) fail(`${at}.pattern`, 'expected a RegExp');
    const flags = pattern.flags.replace('y', '');
    const re = new RegExp(pattern.source, flags.includes('g') ? flags : `${flags}g`);
    return {
      kind,
      run(text, hits) {
        re.lastIndex = 0;
        for (let m = re.exec(text); m !== null; m = re.exec(text)) {
          if (m[0].length === 0) re.lastIndex++;
          else hits.push(m.index, m.index + m[0].length, kind);
        }
      },
    };
  }
  if (typeof find !== 'function') fail(`${at}.find`, 'expected a function');
  return {
    kind,
    run(text, hits) {
      for (const span of find(text)) {
        const s = span[0];
        const e = span[1];
        if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > text.length || s >= e)
          throw new RangeError(`custom detector ${name} returned a span outside the text`);
        hits.push(s, e, kind);
      }
    },
  };
}

/** The names a policy enables, before `options.detectors` turns some off. */
function policyNames(
  policy: unknown,
  field: string,
  customNames: readonly string[],
  hook: boolean,
): Set<string> {
  if (policy === 'all') {
    const s = new Set<string>([...DETECTOR_NAMES, ...customNames]);
    if (hook) s.add(HOOK_KIND);
    return s;
  }
  if (policy === 'secrets') {
    return new Set<string>([
      ...DETECTOR_NAMES.filter((d) => BUILTIN_DETECTORS[d].secret),
      ...customNames.filter((c) => c.startsWith('secret:')),
    ]);
  }
  if (policy === 'off') return new Set();
  if (!Array.isArray(policy)) fail(field, 'expected "all", "secrets", "off" or a list of detector names');
  const s = new Set<string>();
  policy.forEach((name: unknown, i) => {
    if (
      typeof name !== 'string' ||
      !(Object.hasOwn(BUILTIN_DETECTORS, name) || customNames.includes(name) || name === HOOK_KIND)
    )
      fail(`${field}[${i}]`, `unknown detector ${JSON.stringify(name)}`);
    if (name === HOOK_KIND && !hook) fail(`${field}[${i}]`, 'names the hook, but no hook is given');
    s.add(name);
  });
  return s;
}

function keyHint(key: string): number {
  let hint = 0;
  for (const w of splitName(key)) {
    if (PHONE_WORDS.has(w)) hint |= HINT_PHONE;
    else if (w === 'ssn' || w === 'social') hint |= HINT_SSN;
  }
  return hint;
}

/**
 * Creates a redactor. Options are checked once, here; the redactor itself never throws for them.
 * The redactor also carries the read-once form `emit` uses ({@link REDACT_READ_ONCE}).
 *
 * @throws AuditError `CONFIG_INVALID` naming the option: an unknown detector or field class, a
 * bad policy, a custom detector without a valid name or with neither pattern nor find, a hook
 * that is not a function, a sensitive name that is not one word.
 */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  if (!isPlainObject(options)) fail('options', 'expected an object');
  const { detectors = {}, classes = {}, sensitiveNames = [], custom = [], hook } = options;
  if (!isPlainObject(detectors)) fail('detectors', 'expected an object of detector names to true or false');
  for (const [name, on] of Object.entries(detectors)) {
    if (!Object.hasOwn(BUILTIN_DETECTORS, name)) fail(`detectors.${name}`, 'unknown detector');
    if (typeof on !== 'boolean') fail(`detectors.${name}`, 'expected true or false');
  }
  if (!isPlainObject(classes)) fail('classes', 'expected an object of field classes to policies');
  for (const cls of Object.keys(classes)) {
    if (!(FIELD_CLASSES as readonly string[]).includes(cls))
      fail(`classes.${cls}`, 'unknown field class (content, meta, identifiers)');
  }
  if (!Array.isArray(sensitiveNames)) fail('sensitiveNames', 'expected an array of words');
  sensitiveNames.forEach((w: unknown, i) => {
    if (typeof w !== 'string' || !SENSITIVE_WORD_RE.test(w))
      fail(`sensitiveNames[${i}]`, 'expected one word of letters and digits (max 40)');
  });
  if (!Array.isArray(custom)) fail('custom', 'expected an array of detectors');
  if (hook !== undefined && typeof hook !== 'function') fail('hook', 'expected a function');

  const names = new SensitiveNames(sensitiveNames);
  const seen = new Set<string>();
  const compiled = custom.map((d, i) => compileCustom(d, i, DETECTOR_NAMES.length + i, seen));
  const customNames = custom.map((d) => d.name);
  const customMarkers = custom.map((d, i) => {
    if (d.marker === undefined) return `[${d.name.toUpperCase()}]`;
    if (typeof d.marker !== 'string' || d.marker.length === 0 || d.marker.length > 64)
      fail(`custom[${i}].marker`, 'expected a string of 1 to 64 characters');
    return d.marker;
  });
  const off = new Set(Object.entries(detectors).flatMap(([n, on]) => (on ? [] : [n])));

  const runs = {} as Record<FieldClass, ClassRun>;
  for (const cls of FIELD_CLASSES) {
    const policy = classes[cls] ?? DEFAULT_CLASS_POLICY[cls];
    const enabled = policyNames(policy, `classes.${cls}`, customNames, hook !== undefined);
    for (const n of off) enabled.delete(n);
    const on = new Uint8Array(DETECTOR_NAMES.length);
    DETECTOR_NAMES.forEach((d, i) => {
      if (enabled.has(d)) on[i] = 1;
    });
    const runsCustom = compiled.filter((_, i) => enabled.has(customNames[i]!));
    const useHook = hook !== undefined && enabled.has(HOOK_KIND);
    const cfg =
      enabled.size === 0 || (enabled.size === 1 && enabled.has('secret:key'))
        ? null
        : makeScanConfig(on, runsCustom, names, customMarkers);
    runs[cls] = {
      cls,
      cfg,
      secretKeys: enabled.has('secret:key'),
      numbers: on[K.card] === 1 || on[K.phone] === 1 || on[K.ssn] === 1,
      hook: useHook ? (hook as RedactHook) : undefined,
      keyCache: new Map(),
      fixedKeyCache: new Map(),
    };
  }
  const kindNames: readonly string[] = [...DETECTOR_NAMES, ...customNames];
  const walker = new Walker(runs, names, kindNames);
  const redact = (value: unknown, fieldClass: FieldClass | undefined, fresh: boolean) => {
    const ctx: Ctx = {
      findings: [],
      failed: false,
      path: [],
      root: fieldClass === undefined ? 'event' : 'value',
      fresh,
    };
    const run = fieldClass === undefined ? undefined : runs[fieldClass];
    if (fieldClass !== undefined && run === undefined)
      throw new AuditError('USAGE', `fieldClass: unknown field class ${JSON.stringify(fieldClass)}`);
    let out: unknown;
    try {
      if (run !== undefined) out = walker.value(ctx, value, run, 0, 0, 0, walker.rootMemo(run.cls));
      else if (isPlainObject(value)) out = walker.event(ctx, value);
      else out = walker.value(ctx, value, runs.content, 0, 0, 0, walker.rootMemo('content'));
    } catch (err) {
      // errors below the root name their field already; here, the value's own proxy traps
      throw unreadable(err, ctx, 0);
    }
    return { value: out, findings: ctx.findings, failed: ctx.failed };
  };
  const redactor = <T>(value: T, fieldClass?: FieldClass) =>
    redact(value, fieldClass, false) as RedactResult<T>;
  // emit's form (event/prepare.ts): new objects and arrays throughout, each value read once
  return Object.assign(redactor, { [REDACT_READ_ONCE]: (input: unknown) => redact(input, undefined, true) });
}

/** Root fields of an event input and their class; `resource`, `guardrails` and `content` are walked specially. */
const ROOT_CLASSES: Readonly<Record<string, FieldClass>> = {
  type: 'identifiers',
  ts: 'identifiers',
  actor: 'identifiers',
  subject: 'identifiers',
  conversation: 'identifiers',
  requestId: 'identifiers',
  traceId: 'identifiers',
  action: 'identifiers',
  outcome: 'identifiers',
  model: 'identifiers',
  usage: 'identifiers',
  latencyMs: 'identifiers',
  severity: 'identifiers',
  content: 'content',
  meta: 'meta',
};

/** Where a key leads: a class run, or one of the event's fields walked specially. */
type Target = ClassRun | 'resource' | 'guardrails' | 'content-root';
/** How the keys of an object are classed: see `Walker.fields`. */
type Level = 'root' | 'resource' | 'guardrail' | 'content' | 'nested';
type Memo = KeyMemo<Target, KeyInfo, ClassRun>;

/** The memo of the value `x` under key position `i`: only objects and arrays have keys to remember. */
function kidOf(memo: Memo | null, i: number, x: unknown): Memo | null {
  return memo === null || typeof x !== 'object' || x === null ? null : memo.kid(i);
}

// borrowed: objects made with a null prototype have no method of their own
const hasOwnKey = Object.prototype.hasOwnProperty;

class Walker {
  /** The class of each root field of an event: made once, not per call. */
  private readonly root: Map<string, Target>;
  private readonly memos: KeyMemos<Target, KeyInfo, ClassRun>;

  constructor(
    private readonly runs: Readonly<Record<FieldClass, ClassRun>>,
    private readonly names: SensitiveNames,
    private readonly kindNames: readonly string[],
  ) {
    this.root = new Map<string, Target>(
      Object.entries(ROOT_CLASSES).map(([k, cls]) => [k, k === 'content' ? 'content-root' : runs[cls]]),
    );
    this.root.set('resource', 'resource');
    this.root.set('guardrails', 'guardrails');
    this.memos = new KeyMemos();
  }

  /** The memo of the top of a value redacted as one class (or of an event, `'event'`). */
  rootMemo(at: FieldClass | 'event'): Memo {
    return this.memos.root(at);
  }

  /** An event input: each root field in its class. */
  event(ctx: Ctx, o: Record<string, unknown>): unknown {
    return this.fields(ctx, o, 0, 0, 'root', null, this.memos.root('event'));
  }

  /** Where key `k` of an object at `level` leads; `run` is the class of a nested object's keys. */
  private target(level: Level, run: ClassRun | null, k: string): Target {
    switch (level) {
      case 'root':
        return this.root.get(k) ?? this.runs.meta;
      case 'resource':
        return k === 'type' || k === 'id' ? this.runs.identifiers : this.runs.meta;
      case 'guardrail':
        return k === 'reason' ? this.runs.meta : this.runs.identifiers;
      case 'content':
        return this.runs.content;
      default:
        return run!;
    }
  }

  /**
   * Walks the fields of object `o`, whose path is `path[0..len)`. `level` says how its keys are
   * classed: the event's root, a resource, a guardrail, content's root (fixed field names, never
   * renamed), or `'nested'`: every key in class `run`, and keys holding personal data replaced.
   * `for...in` with an own-property check enumerates exactly `Object.keys` and lets V8 read each
   * value by its field index, where a keyed read of many object shapes is a slow lookup (measured).
   *
   * Returns `o` itself when nothing changed, or a new object along a changed path; with
   * `ctx.fresh`, always a new object holding the values read here, each property read once, so a
   * getter or Proxy of the application that answers each read differently cannot hand the
   * serializer anything but what was scanned.
   * @throws AuditError EVENT_INVALID naming the field when a getter or proxy trap throws.
   */
  private fields(
    ctx: Ctx,
    o: Record<string, unknown>,
    len: number,
    depth: number,
    level: Level,
    run: ClassRun | null,
    memo: Memo | null,
  ): unknown {
    const path = ctx.path;
    const rename = level === 'nested';
    if (memo !== null) memo.check(level, run);
    // Per marker, the number its next renamed key tries first: n keys renamed to one marker cost
    // n tries in all, not n²/2 (16,000 such keys in one object took 20 s).
    let numbered: Map<string, number> | undefined;
    let i = -1;
    // the length of the path being read when a getter or trap throws: the object, then its key
    let at = len;
    try {
      let out = ctx.fresh ? newLike(o) : undefined;
      for (const k in o) {
        path[len] = k;
        at = len + 1;
        if (!hasOwnKey.call(o, k)) continue;
        i++;
        const x = o[k];
        let r: Target;
        let info: KeyInfo | undefined;
        if (memo?.has(i, k)) {
          r = memo.target(i);
          info = memo.info(i);
        } else {
          r = this.target(level, run, k);
          info =
            typeof r === 'string' || (r.cfg === null && !r.secretKeys)
              ? undefined
              : this.keyInfo(ctx, r, k, rename, len);
          memo?.set(i, k, r, info, info === undefined || info.kept);
        }
        let nk = k;
        let nx: unknown;
        if (r === 'resource') {
          nx = isPlainObject(x)
            ? this.fields(ctx, x, len + 1, depth + 1, 'resource', null, kidOf(memo, i, x))
            : this.value(ctx, x, this.runs.meta, len + 1, 0, depth + 1, kidOf(memo, i, x));
        } else if (r === 'guardrails') {
          nx = Array.isArray(x)
            ? this.list(ctx, x, len + 1, depth + 1, null, 0, kidOf(memo, i, x))
            : this.value(ctx, x, this.runs.meta, len + 1, 0, depth + 1, kidOf(memo, i, x));
        } else if (r === 'content-root') {
          nx = isPlainObject(x)
            ? this.fields(ctx, x, len + 1, depth + 1, 'content', null, kidOf(memo, i, x))
            : this.value(ctx, x, this.runs.content, len + 1, 0, depth + 1, kidOf(memo, i, x));
        } else if (info === undefined) {
          nx = x;
        } else {
          if (info.renamed !== undefined) {
            nk = info.renamed;
            // a second key redacted to the same marker gets a number
            let n = numbered?.get(info.renamed) ?? 2;
            while ((out !== undefined && Object.hasOwn(out, nk)) || (nk !== k && Object.hasOwn(o, nk)))
              nk = `${info.renamed} #${n++}`;
            if (nk !== info.renamed) {
              numbered ??= new Map();
              numbered.set(info.renamed, n);
            }
            path[len] = nk;
            if (info.kinds !== undefined || info.hooked === true)
              this.record(ctx, pathString(path, len + 1), info.kinds, info.hooked === true);
          }
          if (
            r.secretKeys &&
            info.sensitive &&
            holdsSecret(x) &&
            !(k === 'token' && Object.hasOwn(o, 'logprob'))
          ) {
            // `token` beside `logprob` is a model's output token (OpenAI logprobs), not a credential.
            nx = SECRET_KEY_MARKER;
            ctx.findings.push({ path: pathString(path, len + 1), kind: 'secret:key', count: 1 });
          } else if (typeof x === 'string') {
            nx = this.string(ctx, x, r, len + 1, info.hint);
          } else {
            nx = this.value(ctx, x, r, len + 1, info.hint, depth + 1, kidOf(memo, i, x));
          }
        }
        if (out === undefined && (nx !== x || nk !== k)) {
          // Copied at the first change, the keys before it read again: the result shares what did
          // not change with the input anyway, so whoever reads it reads the input again.
          out = newLike(o);
          for (const j of Object.keys(o)) {
            if (j === k) break;
            setOwn(out, j, o[j]);
          }
        }
        if (out !== undefined) setOwn(out, nk, nx);
      }
      return out ?? o;
    } catch (err) {
      throw unreadable(err, ctx, at);
    }
  }

  /**
   * The items of array `a`: guardrails (`run` null) or values of class `run` under a key with
   * `hint`. Returns `a` or a new array, as `fields` does; with `ctx.fresh`, always a new one.
   * @throws AuditError EVENT_INVALID naming the item when a getter or proxy trap throws.
   */
  private list(
    ctx: Ctx,
    a: unknown[],
    len: number,
    depth: number,
    run: ClassRun | null,
    hint: number,
    memo: Memo | null,
  ): unknown {
    if (depth > MAX_REDACT_DEPTH) return this.failed(ctx, len);
    const path = ctx.path;
    let out: unknown[] | undefined = ctx.fresh ? [] : undefined;
    let at = len;
    try {
      const n = a.length;
      for (let i = 0; i < n; i++) {
        path[len] = i;
        at = len + 1;
        const x = a[i];
        // the items of one array usually share their shape: one memo for all of them
        const itemMemo = memo === null || typeof x !== 'object' || x === null ? null : memo.itemMemo();
        let nx: unknown;
        if (run !== null) nx = this.value(ctx, x, run, len + 1, hint, depth + 1, itemMemo);
        else if (isPlainObject(x)) nx = this.fields(ctx, x, len + 1, depth + 1, 'guardrail', null, itemMemo);
        else nx = this.value(ctx, x, this.runs.meta, len + 1, 0, depth + 1, itemMemo);
        if (out === undefined && nx !== x) out = a.slice(0, i);
        if (out !== undefined) out[i] = nx;
      }
    } catch (err) {
      throw unreadable(err, ctx, at);
    }
    return out ?? a;
  }

  /** Any value in class `run`, at `path[0..len)`; `hint` comes from the key it sits under. */
  value(
    ctx: Ctx,
    v: unknown,
    run: ClassRun,
    len: number,
    hint: number,
    depth: number,
    memo: Memo | null,
  ): unknown {
    switch (typeof v) {
      case 'string':
        return this.string(ctx, v, run, len, hint);
      case 'number':
        return run.numbers && v >= MIN_NUMBER_SCANNED && Number.isSafeInteger(v)
          ? this.number(ctx, v, run, len, hint)
          : v;
      case 'object':
        break;
      default:
        return v;
    }
    if (v === null || (run.cfg === null && !run.secretKeys)) return v;
    if (depth > MAX_REDACT_DEPTH) return this.failed(ctx, len);
    if (Array.isArray(v)) return this.list(ctx, v, len, depth, run, hint, memo);
    // Dates and other non-plain objects pass through; prepareEvent decides whether they are valid.
    // Not a proxy, though: one that says it is no plain object now could say it is one to the
    // serializer, which would then read what was never scanned.
    if (!isPlainObject(v)) {
      if (!types.isProxy(v)) return v;
      const field = len === 0 ? ctx.root : pathString(ctx.path, len);
      throw new AuditError('EVENT_INVALID', `${field}: expected plain data, not a proxy of another object`, {
        field,
      });
    }
    return this.fields(ctx, v, len, depth, 'nested', run, memo);
  }

  private string(ctx: Ctx, s: string, run: ClassRun, len: number, hint: number): string {
    const cfg = run.cfg;
    if (cfg === null) return s;
    // ids, model names, regions: often nothing can start in them
    const starts = startsIn(s, cfg);
    if (starts === 0 && run.hook === undefined) return s;
    try {
      const hits: number[] = [];
      findAll(s, cfg, hint, hits, starts);
      const res = hits.length === 0 ? null : applyHits(s, hits, cfg);
      let out = res === null ? s : res.text;
      let hooked = false;
      if (run.hook !== undefined) {
        const h: unknown = run.hook(out, { path: pathString(ctx.path, len), fieldClass: run.cls });
        if (typeof h !== 'string') throw new TypeError('the hook returned no string');
        if (h !== out) {
          hooked = true;
          out = h;
        }
      }
      if (res !== null || hooked) this.record(ctx, pathString(ctx.path, len), res?.kinds, hooked);
      return out;
    } catch {
      return this.failed(ctx, len);
    }
  }

  /** A large integer: a card, phone or SSN number written as a JSON number becomes its marker. */
  private number(ctx: Ctx, v: number, run: ClassRun, len: number, hint: number): unknown {
    const cfg = run.cfg!;
    const s = String(v);
    const hits: number[] = [];
    try {
      findAll(s, cfg, hint, hits);
    } catch {
      return this.failed(ctx, len);
    }
    const res = hits.length === 0 ? null : applyHits(s, hits, cfg);
    if (res === null || res.kinds.length !== 1 || res.text !== cfg.markers[res.kinds[0]!]) return v;
    this.record(ctx, pathString(ctx.path, len), res.kinds, false);
    return res.text;
  }

  private failed(ctx: Ctx, len: number): string {
    ctx.failed = true;
    ctx.findings.push({ path: pathString(ctx.path, len), kind: REDACTION_FAILED, count: 1 });
    return REDACTION_FAILED_MARKER;
  }

  private record(ctx: Ctx, path: string, kinds: readonly number[] | undefined, hooked: boolean): void {
    if (kinds !== undefined) {
      for (let i = 0; i < kinds.length; i++) {
        const k = kinds[i]!;
        if (kinds.indexOf(k) < i) continue; // counted with its first occurrence
        let count = 0;
        for (let j = i; j < kinds.length; j++) if (kinds[j] === k) count++;
        ctx.findings.push({ path, kind: this.kindNames[k]!, count });
      }
    }
    if (hooked) ctx.findings.push({ path, kind: HOOK_KIND, count: 1 });
  }

  /** How key `k` is treated in class `run`: sensitive, a context hint, and renamed if it holds personal data. */
  private keyInfo(ctx: Ctx, run: ClassRun, k: string, rename: boolean, len: number): KeyInfo {
    const cache = rename ? run.keyCache : run.fixedKeyCache;
    const hit = cache.get(k);
    if (hit !== undefined) return hit;
    let renamed: string | undefined;
    let kinds: number[] | undefined;
    if (rename && run.cfg !== null && k.length >= 5) {
      const hits: number[] = [];
      try {
        findAll(k, run.cfg, 0, hits);
      } catch {
        // A key that cannot be scanned is not kept; not cached, so it is flagged every time.
        ctx.failed = true;
        ctx.findings.push({ path: '', kind: REDACTION_FAILED, count: 1 });
        return { sensitive: true, hint: 0, renamed: REDACTION_FAILED_MARKER, kinds: undefined, kept: false };
      }
      const res = hits.length === 0 ? null : applyHits(k, hits, run.cfg);
      if (res !== null) {
        renamed = res.text;
        kinds = res.kinds;
      }
    }
    // Keys are scanned like values, by the hook too: a name it masks may well be used as a key.
    let hooked = false;
    if (rename && run.hook !== undefined) {
      const before = renamed ?? k;
      ctx.path[len] = k;
      const at = pathString(ctx.path, len + 1);
      let h: unknown;
      try {
        h = run.hook(before, { path: at, fieldClass: run.cls });
        if (typeof h !== 'string') throw new TypeError('the hook returned no string');
      } catch {
        ctx.failed = true;
        ctx.findings.push({ path: at, kind: REDACTION_FAILED, count: 1 });
        return { sensitive: true, hint: 0, renamed: REDACTION_FAILED_MARKER, kinds: undefined, kept: false };
      }
      if (h !== before) {
        renamed = h;
        hooked = true;
      }
    }
    const info: KeyInfo = {
      sensitive: this.names.isSensitive(k),
      hint: keyHint(k),
      renamed,
      kinds,
      hooked,
      kept: run.hook === undefined || !rename,
    };
    if (!info.kept) return info;
    if (cache.size >= KEY_CACHE_SIZE) cache.clear();
    cache.set(k, info);
    return info;
  }
}

/** A value worth hiding under a sensitive name: not absent, not a flag, not empty. */
function holdsSecret(x: unknown): boolean {
  return x !== undefined && x !== null && typeof x !== 'boolean' && x !== '';
}
