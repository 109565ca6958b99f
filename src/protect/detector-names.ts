/**
 * The built-in detectors by name, with the marker each writes in place of what it found and the
 * priority that decides which one names an overlap. A finding's `kind` is the detector's name.
 */

/** Facts about one built-in detector. */
export interface DetectorInfo {
  /** Written in place of the match, e.g. `[EMAIL]`. */
  readonly marker: string;
  /** When two matches overlap, both are replaced by one marker: the higher priority names it. */
  readonly priority: number;
  /** Secret detectors run on identifier fields too (field class policy `secrets`). */
  readonly secret: boolean;
}

/** Every built-in detector. Names are stable: they are the `kind` of the findings stored on entries. */
export const BUILTIN_DETECTORS = {
  // secrets with a recognisable format
  'secret:pem': { marker: '[SECRET:pem]', priority: 90, secret: true },
  'secret:jwt': { marker: '[SECRET:jwt]', priority: 80, secret: true },
  'secret:aws': { marker: '[SECRET:aws]', priority: 80, secret: true },
  'secret:github': { marker: '[SECRET:github]', priority: 80, secret: true },
  'secret:openai': { marker: '[SECRET:openai]', priority: 80, secret: true },
  'secret:anthropic': { marker: '[SECRET:anthropic]', priority: 80, secret: true },
  'secret:slack': { marker: '[SECRET:slack]', priority: 80, secret: true },
  'secret:stripe': { marker: '[SECRET:stripe]', priority: 80, secret: true },
  'secret:google': { marker: '[SECRET:google]', priority: 80, secret: true },
  'secret:sendgrid': { marker: '[SECRET:sendgrid]', priority: 80, secret: true },
  'secret:huggingface': { marker: '[SECRET:huggingface]', priority: 80, secret: true },
  'secret:gitlab': { marker: '[SECRET:gitlab]', priority: 80, secret: true },
  'secret:npm': { marker: '[SECRET:npm]', priority: 80, secret: true },
  'secret:url': { marker: '[SECRET:url]', priority: 75, secret: true },
  'secret:bearer': { marker: '[SECRET:bearer]', priority: 70, secret: true },
  // secrets found by their context
  'secret:pair': { marker: '[SECRET:pair]', priority: 60, secret: true },
  'secret:entropy': { marker: '[SECRET:entropy]', priority: 50, secret: true },
  /** A value under a sensitive key name of an object (`password`, `apiKey`, ...), replaced whole. */
  'secret:key': { marker: '[SECRET:key]', priority: 60, secret: true },
  // personal data
  email: { marker: '[EMAIL]', priority: 40, secret: false },
  iban: { marker: '[IBAN]', priority: 35, secret: false },
  card: { marker: '[CARD]', priority: 30, secret: false },
  ssn: { marker: '[SSN]', priority: 25, secret: false },
  phone: { marker: '[PHONE]', priority: 20, secret: false },
  ipv4: { marker: '[IP]', priority: 15, secret: false },
  ipv6: { marker: '[IP]', priority: 15, secret: false },
} as const satisfies Record<string, DetectorInfo>;

/** The name of a built-in detector, which is also the `kind` of its findings. */
export type DetectorName = keyof typeof BUILTIN_DETECTORS;

/** Built-in names in a fixed order: a detector's index in this list is its kind number in a scan. */
export const DETECTOR_NAMES = Object.keys(BUILTIN_DETECTORS) as DetectorName[];

/** Kind of the finding recorded when a custom detector or the hook failed and the field was replaced whole. */
export const REDACTION_FAILED = 'redaction-failed';
/** What replaces a field whose custom detector or hook failed (fail closed). */
export const REDACTION_FAILED_MARKER = '[REDACTION_FAILED]';
/** Kind of the finding recorded when the custom hook changed a string. */
export const HOOK_KIND = 'hook';

/** Kind numbers of the built-in detectors, for the scanners' hot paths. */
export const K = Object.fromEntries(DETECTOR_NAMES.map((n, i) => [n, i])) as { [N in DetectorName]: number };
