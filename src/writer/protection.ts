/**
 * What a trail does to events before they are framed, on the caller's thread: redaction of PII
 * and secrets, and the content mode of each payload (plain, keyed hash, or AES-256-GCM under the
 * subject's own data key). Subject keys may take a round trip to fetch (a key file, Vault):
 * events about a subject whose key is not at hand wait for it, in order, and at a synchronous
 * exit they are encrypted under the master key instead (erasure still removes them; see
 * docs/content-protection.md).
 */
import { reportDiagnostic } from '../diagnostics.js';
import { AuditError } from '../errors.js';
import type { PreparedEvent, PrepareOptions } from '../event/prepare.js';
import { type KeyRing, openTrailKeyRing, openTrailSubjectKeys, type SubjectKeyStore } from '../keys/index.js';
import {
  type ContentMode,
  type ContentPolicy,
  createContentProtector,
  encryptContent,
  modesIn,
} from '../protect/content-modes.js';
import { createRedactor } from '../protect/redact.js';
import type { Redactor, RedactorOptions } from '../protect/types.js';

/** The protection options of a trail. */
export interface ProtectionOptions {
  /** Redact PII and secrets before anything is stored: `true` for the defaults, options, or a redactor. */
  redact?: boolean | RedactorOptions | Redactor | undefined;
  /** What to store for content payloads; default the trail's mode (`sealtrail init --content`). */
  content?: ContentPolicy | undefined;
  /** Keys for `hash` and `encrypt`; default the trail's provider chain (docs/keys.md). */
  keys?: KeyRing | undefined;
}

const SUBJECT_RINGS_MAX = 10_000;

/** Redaction and content protection for one open trail. */
export class TrailProtection {
  readonly prepare: {
    redact?: NonNullable<PrepareOptions['redact']>;
    protect?: NonNullable<PrepareOptions['protect']>;
  } = {};
  readonly #subjects = new Map<string, KeyRing>();
  readonly #fetching = new Map<string, Promise<void>>();

  private constructor(
    private readonly origin: string,
    private readonly ring: KeyRing | undefined,
    private readonly store: SubjectKeyStore | undefined,
  ) {}

  /**
   * The protection `options` ask for, with `trailMode` (from trail.json) as the default content
   * mode; undefined when there is nothing to do.
   * @throws AuditError CONFIG_INVALID naming the option; KEY_NOT_FOUND when a mode needs a key and none is found.
   */
  static async open(
    options: ProtectionOptions,
    origin: string,
    trailMode: ContentMode,
    dir: string | undefined,
  ): Promise<TrailProtection | undefined> {
    const policy = options.content ?? trailMode;
    const modes = modesIn(policy);
    const redactor = redactorOf(options.redact);
    const needsKeys = modes.has('hash') || modes.has('encrypt');
    if (!needsKeys && redactor === undefined) return undefined;
    let ring = options.keys;
    if (needsKeys && ring === undefined) {
      if (dir === undefined) {
        throw new AuditError(
          'KEY_NOT_FOUND',
          'keys: content modes hash and encrypt on a memory or stdout trail need keys',
          {
            field: 'keys',
          },
        );
      }
      ring = await openTrailKeyRing(dir);
    }
    const store =
      modes.has('encrypt') && dir !== undefined ? await openTrailSubjectKeys(dir, ring!) : undefined;
    const p = new TrailProtection(origin, ring, store);
    if (redactor !== undefined) p.prepare.redact = redactor;
    if (needsKeys) {
      const subjectRing = store === undefined ? undefined : (subject: string) => p.#subjectRing(subject);
      p.prepare.protect = createContentProtector(origin, policy, {
        ring: ring!,
        ...(subjectRing === undefined ? {} : { subjectRing }),
      });
    }
    return p;
  }

  /** Fetches the subject keys that `events` wait for. */
  async fetch(events: readonly PreparedEvent[]): Promise<void> {
    const waits = new Set<Promise<void>>();
    for (const e of events) {
      const s = e.protectLater?.subject;
      if (s !== undefined && !this.#subjects.has(s)) waits.add(this.#fetch(s));
    }
    await Promise.all(waits);
  }

  /**
   * Protects the fields `events` left for later. With `fallback`, a field whose subject key is
   * still not at hand is encrypted under the master key; without, it is left as it is and false
   * is returned.
   */
  protectNow(events: readonly PreparedEvent[], fallback: boolean): boolean {
    let done = true;
    for (const e of events) {
      const later = e.protectLater;
      if (later === undefined) continue;
      const ring = this.#subjects.get(later.subject) ?? (fallback ? this.ring : undefined);
      if (ring === undefined) {
        done = false;
        continue;
      }
      for (const part of e.content) {
        if (later.fields.includes(part[0]))
          part[1] = encryptContent(ring, this.origin, e.id, part[0], part[1]);
      }
      delete e.protectLater;
    }
    return done;
  }

  /** Destroys the data key of `subject` (erasure): its ciphertexts can no longer be read anywhere. */
  async destroySubject(subject: string): Promise<boolean> {
    this.#subjects.delete(subject);
    return this.store === undefined ? false : this.store.destroySubjectKey(subject);
  }

  #subjectRing(subject: string): KeyRing | undefined {
    const ring = this.#subjects.get(subject);
    if (ring === undefined) void this.#fetch(subject);
    return ring;
  }

  #fetch(subject: string): Promise<void> {
    let p = this.#fetching.get(subject);
    if (p === undefined) {
      p = this.store!.subjectKey(subject).then(
        (ring) => {
          if (this.#subjects.size >= SUBJECT_RINGS_MAX)
            this.#subjects.delete(this.#subjects.keys().next().value!);
          this.#subjects.set(subject, ring);
        },
        (err: unknown) => {
          // Fail open to the master key for this subject's waiting events (still encrypted).
          reportDiagnostic({
            kind: 'subject-key-failed',
            message: `subject key unavailable, encrypting under the master key: ${(err as Error).message}`,
          });
          if (this.ring !== undefined) this.#subjects.set(subject, this.ring);
        },
      );
      p = p.finally(() => this.#fetching.delete(subject));
      this.#fetching.set(subject, p);
    }
    return p;
  }
}

function redactorOf(option: ProtectionOptions['redact']): Redactor | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return createRedactor();
  if (typeof option === 'function') return option;
  if (typeof option === 'object' && option !== null) return createRedactor(option);
  throw new AuditError('CONFIG_INVALID', 'redact: expected true, false, redactor options or a redactor', {
    field: 'redact',
  });
}
