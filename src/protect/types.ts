/** The public types of redaction: options, findings and results. */
import type { DetectorName } from './detector-names.js';

/**
 * Which part of an event a string belongs to; each class has its own detector policy.
 * - `content`: everything under `content` (prompts, responses, tool arguments and results, ...);
 * - `meta`: `meta`, the extra fields of `resource`, `guardrails[].reason`, and any field the event
 *   shape does not know;
 * - `identifiers`: `type`, `ts`, `actor.*`, `subject`, `conversation.*`, `requestId`, `traceId`,
 *   `resource.type` and `resource.id`, `action`, `outcome`, `model.*`, `usage.*`, `severity`,
 *   `latencyMs`, `guardrails[].name`, `.decision`, `.rule`.
 */
export type FieldClass = 'content' | 'meta' | 'identifiers';

/**
 * What runs on a field class: `all` detectors (and the hook), only `secrets` (every `secret:*`
 * detector, custom ones named `secret:...` included), `off`, or a list of detector names
 * (built-in or custom; `hook` for the hook).
 */
export type ClassPolicy = 'all' | 'secrets' | 'off' | readonly string[];

/**
 * A detector of your own. Give `pattern` (a RegExp; the `g` flag is added) or `find`. Matches
 * are replaced by `marker` (default `[NAME]`, the name upper-cased) and recorded as findings of
 * kind `name`. A detector that throws or returns a bad span makes the field fail closed.
 */
export interface CustomDetector {
  /** The finding kind: `[a-z][a-z0-9_-]*`, optionally `secret:` first (then it also runs under `secrets`). */
  name: string;
  pattern?: RegExp;
  /** Spans `[start, end)` of what to replace. */
  find?: (text: string) => Iterable<readonly [start: number, end: number]>;
  marker?: string;
}

/** Where the hook's string sits. */
export interface RedactHookContext {
  /** The field path, as in findings (`content.prompt`, `meta.items[2].note`). */
  path: string;
  fieldClass: FieldClass;
}

/**
 * Your own redaction step, run synchronously on each string after the detectors (it never sees
 * what they replaced). Returns the string to keep. If it throws or returns anything but a string,
 * the field is replaced by `[REDACTION_FAILED]` and the result is flagged `failed`.
 */
export type RedactHook = (text: string, context: RedactHookContext) => string;

/** Options of `createRedactor`. Every part is optional; the defaults suit production. */
export interface RedactorOptions {
  /** Turn built-in detectors off (or back on) everywhere, by name: `{ ipv4: false }`. */
  detectors?: Partial<Record<DetectorName, boolean>>;
  /** Policy per field class. Default: content `all`, meta `all`, identifiers `secrets`. */
  classes?: Partial<Record<FieldClass, ClassPolicy>>;
  /** More words that make a key name sensitive (whole words, any case): `['ssn', 'dob']`. */
  sensitiveNames?: readonly string[];
  /** Detectors of your own. */
  custom?: readonly CustomDetector[];
  /** A redaction step of your own, run after the detectors. */
  hook?: RedactHook;
}

/** One kind of thing redacted at one place. Never holds the value. */
export interface Finding {
  /** Where: `content.prompt`, `meta.items[2].note`, `actor.id`; `""` for a value redacted as a whole. */
  path: string;
  /** The detector's name (`email`, `secret:github`, ...), `hook`, or `redaction-failed`. */
  kind: string;
  /** How many were replaced there. */
  count: number;
}

/** What a redactor returns. */
export interface RedactResult<T> {
  /**
   * The redacted value: the input itself when nothing was found, otherwise new objects along the
   * changed paths (the input is never modified). A number found to be a card or phone number
   * becomes its marker string.
   */
  value: T;
  /** In traversal order; empty when nothing was found. */
  findings: Finding[];
  /** True when a custom detector or the hook failed and a field was replaced by `[REDACTION_FAILED]`. */
  failed: boolean;
}

/**
 * Redacts any JSON-like value. A plain object is read as an event input (field classes as in
 * `FieldClass`) unless `fieldClass` is given, which applies one class to the whole value; any
 * other value defaults to `content`. Never throws because of a custom detector or hook.
 * @throws AuditError `EVENT_INVALID` naming the field when a getter or proxy trap of the value
 *   throws, or a proxy answers that it is not a plain object; `USAGE` for an unknown `fieldClass`.
 */
export type Redactor = <T>(value: T, fieldClass?: FieldClass) => RedactResult<T>;
