/**
 * What a trail does to protect events: redaction of PII and secrets and the content mode of each
 * payload (plain, keyed hash, or AES-256-GCM under the subject's own data key). Redaction and
 * keyed hashes run on the caller's thread as the event is prepared; encryption runs in the writer
 * thread (content-sealing.ts), under the key slot this class assigns each event as it is framed,
 * the key handed over with the first batch that needs it; while the writer is behind, the trail
 * has the caller's thread encrypt instead (`encryptHere`, the same bytes), so time the caller
 * would spend waiting for room in the queue does the writer's AES. Subject keys may take a round
 * trip to fetch (a key file, Vault): the slot of a subject whose key is not at hand is reserved,
 * and the framed batches wait for its key, in order; when the queue is full and at a synchronous
 * exit they get the master key instead (erasure still removes them; see
 * docs/content-protection.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { reportDiagnostic } from '../diagnostics.js';
import { AuditError } from '../errors.js';
import type { PreparedEvent, PrepareOptions } from '../event/prepare.js';
import type { AuditEventInput } from '../event/types.js';
import {
  checkKeyIds,
  KeyRing,
  openKeyDirRing,
  openKeyDirSubjectKeys,
  openTrailKeyRing,
  type SubjectKeyStore,
  sealField,
  trailKeyPaths,
} from '../keys/index.js';
import {
  type ContentMode,
  type ContentPolicy,
  contentAad,
  createContentProtector,
  modesIn,
} from '../protect/content-modes.js';
import { createRedactor } from '../protect/redact.js';
import type { Redactor, RedactorOptions } from '../protect/types.js';
import type { ContentKeySlot } from './content-sealing.js';

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
  readonly #fetching = new Set<string>();
  /** Subjects erased while their key was being fetched: that fetch brings the destroyed key. */
  readonly #stale = new Set<string>();
  /** The slot reserved for each subject whose key is being fetched. */
  readonly #reserved = new Map<string, number>();
  readonly #unresolved = new Set<number>();
  /** Called when reserved slots have their keys: batches waiting for them can go. */
  onResolved: (() => void) | undefined;
  /** The writer's slot of each key handed over, and the changes not yet sent. */
  readonly #slots = new Map<KeyRing, ContentKeySlot>();
  readonly #bySlot = new Map<number, ContentKeySlot>();
  #nextSlot = 0;
  #added: ContentKeySlot[] = [];
  #forgotten: number[] = [];

  private constructor(
    readonly ring: KeyRing | undefined,
    private readonly store: SubjectKeyStore | undefined,
  ) {}

  /**
   * What the trail records when it opens with master keys: the provider that served them (the
   * first configured one of the chain), where it read them, and the key ids, never a key.
   */
  keysLoaded(): AuditEventInput | undefined {
    const ring = this.ring;
    if (ring === undefined) return undefined;
    const meta: Record<string, string> = {
      provider: ring.source.provider,
      current: ring.current,
      keys: ring.ids.join(','),
    };
    if (ring.source.detail !== undefined) meta.source = ring.source.detail;
    return { type: 'system.keys_loaded', outcome: 'success', meta };
  }

  /**
   * Checks the options before the trail opens anything, and builds the redactor they ask for
   * (handed to {@link open}).
   * @throws AuditError CONFIG_INVALID naming `keys` or `redact`.
   */
  static check(options: ProtectionOptions): Redactor | undefined {
    if (options.keys !== undefined && !(options.keys instanceof KeyRing))
      throw new AuditError('CONFIG_INVALID', 'keys: expected a KeyRing (KeyRing.fromKeys, or a provider)', {
        field: 'keys',
      });
    return redactorOf(options.redact);
  }

  /**
   * The protection `options` ask for, with `trailMode` (from trail.json) as the default content
   * mode and `redactor` from {@link check}; undefined when there is nothing to do. Keys come from
   * the trail directory `dir`, or from `keysDir` (a PostgreSQL log's key directory: master.json,
   * subjects/).
   * @throws AuditError KEY_NOT_FOUND when a mode needs a key and none is found.
   */
  static async open(
    options: ProtectionOptions,
    redactor: Redactor | undefined,
    origin: string,
    trailMode: ContentMode,
    dir: string | undefined,
    keysDir?: string,
  ): Promise<TrailProtection | undefined> {
    const policy = options.content ?? trailMode;
    const modes = modesIn(policy);
    const needsKeys = modes.has('hash') || modes.has('encrypt');
    if (!needsKeys && redactor === undefined) return undefined;
    // The trail's key home: its directory's keys/, or a PostgreSQL log's key directory.
    const home = dir !== undefined ? trailKeyPaths(dir).keysDir : keysDir;
    const openRing = () => (dir !== undefined ? openTrailKeyRing(dir) : openKeyDirRing(home!, origin));
    let ring = options.keys;
    if (needsKeys && ring === undefined) {
      if (home === undefined) {
        throw new AuditError(
          'KEY_NOT_FOUND',
          'keys: content modes hash and encrypt on a memory or stdout trail need keys',
          { field: 'keys' },
        );
      }
      ring = await openRing();
    }
    // An id names one key for the life of the trail: a key replaced under it is refused here.
    if (needsKeys && home !== undefined) checkKeyIds(home, ring!, { record: true });
    // The ring of the trail's providers is read again when `keys rotate` has rewrapped a subject
    // key under a master key this writer has not seen (an explicit `keys` ring is not).
    const store =
      modes.has('encrypt') && home !== undefined
        ? await openKeyDirSubjectKeys(home, ring!, options.keys === undefined ? { reloadRing: openRing } : {})
        : undefined;
    const p = new TrailProtection(ring, store);
    if (redactor !== undefined) p.prepare.redact = redactor;
    if (needsKeys)
      p.prepare.protect = createContentProtector(origin, policy, { ring: ring!, encryptLater: true });
    return p;
  }

  /**
   * The key slot of an event's fields to encrypt: its subject's data key, or the master key for
   * an event without a subject. For a subject whose key is not at hand, a slot is reserved now
   * and its fetch started: the event is framed at once, and its batch waits for the key as bytes
   * ({@link resolved}). Held as objects instead, events about new subjects outlived V8's young
   * generation, which then kept (pretenured) every later event's objects: the caller's thread
   * spent a third of its time collecting them (measured, docs/benchmarks.md).
   */
  slotFor(subject: string | undefined): number {
    if (subject === undefined || this.store === undefined) return this.#slotOf(this.ring!);
    const ring = this.#subjects.get(subject);
    if (ring !== undefined) return this.#slotOf(ring);
    let slot = this.#reserved.get(subject);
    if (slot === undefined) {
      slot = this.#nextSlot++;
      this.#reserved.set(subject, slot);
      this.#unresolved.add(slot);
      this.#fetch(subject);
    }
    return slot;
  }

  /** True when the key of `slot` is at hand (the writer gets it with the next batch sent). */
  resolved(slot: number): boolean {
    return !this.#unresolved.has(slot);
  }

  /**
   * Gives every reserved slot the master key now: at a synchronous exit, or when the queue is full
   * and the event loop is about to block, so that no fetch could finish. Erasure still removes
   * that content (docs/content-protection.md).
   */
  resolveAllWithMaster(): void {
    for (const subject of [...this.#reserved.keys()]) this.#fill(subject, this.ring!, true);
  }

  /**
   * Encrypts the fields of `e` left for the writer, here, under the key of its slot ({@link slotFor}): the
   * stored text is the one the writer would write (content-sealing.ts), and `e` is no longer
   * marked for it.
   */
  encryptHere(e: PreparedEvent, origin: string): void {
    const later = e.protectLater;
    const s = later?.slot === undefined ? undefined : this.#bySlot.get(later.slot);
    if (s === undefined) return;
    for (const field of e.content) {
      if (later!.fields.includes(field[0])) {
        // A field ciphertext is ASCII with nothing JSON escapes: its JSON is the text in quotes.
        field[1] = `"${sealField(s.keyId, s.key, contentAad(origin, e.id, field[0]), field[1])}"`;
      }
    }
    later!.fields = [];
    later!.slot = undefined; // not `delete`: the object keeps the shape prepareEvent gave it
  }

  /** Keys to hand the writer with the next batch sent (before it), or undefined. */
  takeAdded(): ContentKeySlot[] | undefined {
    if (this.#added.length === 0) return undefined;
    const added = this.#added;
    this.#added = [];
    return added;
  }

  /**
   * Slots no longer used by events framed from now on, or undefined: the writer drops them after
   * the batch being built when they are taken, the last that can use them.
   */
  takeForgotten(): number[] | undefined {
    if (this.#forgotten.length === 0) return undefined;
    const forgotten = this.#forgotten;
    this.#forgotten = [];
    return forgotten;
  }

  /** True when content is encrypted under per-subject data keys (erasure can crypto-shred). */
  get subjectKeys(): boolean {
    return this.store !== undefined;
  }

  /**
   * Destroys the data key of `subject` in the subject key store of the trail in `dir`, for a trail
   * opened without one (its content policy has no `encrypt` field now): content written under
   * another policy, or per-field `encrypt` overrides the trail.json mode does not name (as
   * `sealtrail erase` opens it), is under those keys, and copies of it outside the segments
   * (archives, backups, exports) stay readable while the key lives.
   * @returns false when the trail has no subject keys.
   * @throws AuditError KEY_NOT_FOUND (no master key to open the store with), as SubjectKeyStore.
   */
  static async destroyStoredSubjectKey(
    dir: string,
    ring: KeyRing | undefined,
    subject: string,
  ): Promise<boolean> {
    const { keysDir, subjectsDir } = trailKeyPaths(dir);
    if (!fs.existsSync(path.join(subjectsDir, 'index.key'))) return false;
    const store = await openKeyDirSubjectKeys(keysDir, ring ?? (await openTrailKeyRing(dir)));
    return (await store.destroySubjectKey(subject)) !== undefined;
  }

  /**
   * Destroys the data key of `subject` (erasure): its ciphertexts can no longer be read anywhere.
   * The subject's next events get a new key: a fetch under way now brings the key being destroyed,
   * so its result is set aside and the key asked for again (the store hands out keys in order, so
   * the new request gets one of after the destruction).
   * @returns the generation destroyed (the key id of its ciphertexts), undefined when there was none.
   */
  async destroySubject(subject: string): Promise<string | undefined> {
    this.#drop(this.#subjects.get(subject));
    this.#subjects.delete(subject);
    if (this.#fetching.has(subject)) this.#stale.add(subject);
    return this.store?.destroySubjectKey(subject);
  }

  #slotOf(ring: KeyRing): number {
    let s = this.#slots.get(ring);
    if (s === undefined || s.keyId !== ring.current) {
      if (s !== undefined) this.#forget(s.slot);
      s = { slot: this.#nextSlot++, keyId: ring.current, key: ring.purposeKey(ring.current, 'encryption') };
      this.#slots.set(ring, s);
      this.#bySlot.set(s.slot, s);
      this.#added.push(s);
    }
    return s.slot;
  }

  /** The writer drops `ring`'s key after the batches already sent. */
  #drop(ring: KeyRing | undefined): void {
    const s = ring === undefined ? undefined : this.#slots.get(ring);
    if (s === undefined) return;
    this.#slots.delete(ring!);
    this.#forget(s.slot);
  }

  #forget(slot: number): void {
    this.#bySlot.delete(slot);
    this.#forgotten.push(slot);
  }

  /** Starts fetching the key of `subject`, unless a fetch is under way; it fills the slot reserved then. */
  #fetch(subject: string): void {
    if (this.#fetching.has(subject)) return;
    this.#fetching.add(subject);
    this.store!.subjectKey(subject).then(
      (ring) => this.#fetched(subject, ring),
      (err: unknown) => {
        reportDiagnostic({
          kind: 'subject-key-failed',
          message: `subject key unavailable, encrypting under the master key: ${(err as Error).message}`,
        });
        this.#fetched(subject, undefined);
      },
    );
  }

  /**
   * A fetch of `subject`'s key ended with `ring`, or failed (undefined): its reserved slot gets the
   * key, all in this one turn, so that no event can reserve a slot no fetch will fill. A failure
   * falls back to the master key for the events framed so far only (still encrypted); the next
   * event asks again. Remembered, the master key took all the subject's content for the life of
   * the process, out of crypto-shredding's reach: on PostgreSQL, an erasure of that subject was
   * then refused for good.
   */
  #fetched(subject: string, ring: KeyRing | undefined): void {
    this.#fetching.delete(subject);
    if (this.#stale.delete(subject)) {
      // The subject was erased meanwhile: remembered, its destroyed key took the subject's later
      // content (unreadable at once, and out of reach of the next erasure).
      this.#fetch(subject);
      return;
    }
    if (ring !== undefined) {
      if (this.#subjects.size >= SUBJECT_RINGS_MAX) {
        const [oldest, old] = this.#subjects.entries().next().value!;
        this.#drop(old);
        this.#subjects.delete(oldest);
      }
      this.#subjects.set(subject, ring);
    }
    this.#fill(subject, ring ?? this.ring!, ring === undefined);
    this.onResolved?.();
  }

  /**
   * Gives the slot reserved for `subject`, if any, the current key of `ring`. A subject's ring
   * keeps the slot for its later events; a stand-in (the master key, `once`) serves only the
   * events framed so far, and the writer drops it after them.
   */
  #fill(subject: string, ring: KeyRing, once: boolean): void {
    const slot = this.#reserved.get(subject);
    if (slot === undefined) return;
    this.#reserved.delete(subject);
    this.#unresolved.delete(slot);
    const s = { slot, keyId: ring.current, key: ring.purposeKey(ring.current, 'encryption') };
    this.#bySlot.set(slot, s);
    this.#added.push(s);
    if (!once && !this.#slots.has(ring)) this.#slots.set(ring, s);
    else this.#forget(slot);
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
