/**
 * Decryption for readers with the `read:content` scope. One {@link RequestReveal} per request: the
 * reader's hook decrypts encrypted payloads with the trail's keys (opened once, when the first
 * encrypted payload is met, so a trail without encryption needs no key) and counts what it
 * decrypted, for the request's `audit.read` entry. A payload that cannot be decrypted (no key, a
 * ciphertext that does not belong to its entry) is shown as stored, still sealed, and named with
 * the error code in the entry's `contentSealed`; it is never dropped silently.
 */
import { isAuditError } from '../errors.js';
import { type KeyRing, openTrailKeyRing, openTrailSubjectKeys } from '../keys/index.js';
// The reveal hook of content protection (not re-exported by protect/index.ts).
import { contentRevealer } from '../protect/content-modes.js';
import type { AuditEntry, ContentReveal } from '../read/index.js';

type Revealer = ReturnType<typeof contentRevealer>;

/** Opens the trail's decryption once, on first need. */
export class TrailDecryption {
  private opening: Promise<Revealer> | undefined;

  /** `keys`: the ring the collector's writer was given, else the trail's providers (docs/keys.md). */
  constructor(
    private readonly dir: string,
    private readonly origin: string,
    private readonly keys: KeyRing | undefined,
  ) {}

  /** A hook for one request. */
  forRequest(): RequestReveal {
    return new RequestReveal(() => this.revealer());
  }

  private revealer(): Promise<Revealer> {
    this.opening ??= (async () => {
      const ring = this.keys ?? (await openTrailKeyRing(this.dir));
      const subjects = await openTrailSubjectKeys(this.dir, ring);
      return contentRevealer(this.origin, { ring, subjects });
    })().catch((err: unknown) => {
      // Not kept: a key provider that was down may answer the next request.
      this.opening = undefined;
      throw err;
    });
    return this.opening;
  }
}

/** The reveal hook of one request and what it decrypted. */
export class RequestReveal {
  /** Payloads decrypted. */
  fields = 0;
  /** Entries with at least one payload decrypted. */
  entries = 0;
  private lastEntry: AuditEntry | undefined;

  constructor(private readonly open: () => Promise<Revealer>) {}

  /** The hook for query, getEntry and reconstructConversation. */
  readonly reveal: ContentReveal = async (value, context) => {
    const modes = context.entry.contentModes as Record<string, unknown> | undefined;
    if (modes?.[context.field] !== 'encrypt' || typeof value !== 'string') return value;
    let shown: unknown;
    try {
      shown = await (await this.open())(value, context);
    } catch (err) {
      // A crypto-shredded payload: the reader shows it as erased.
      if (isAuditError(err, 'KEY_DESTROYED')) throw err;
      const code = isAuditError(err) ? err.code : 'DECRYPT_FAILED';
      const sealed = (context.entry.contentSealed ?? {}) as Record<string, string>;
      sealed[context.field] = code;
      context.entry.contentSealed = sealed;
      return value;
    }
    this.fields++;
    if (this.lastEntry !== context.entry) {
      this.lastEntry = context.entry;
      this.entries++;
    }
    return shown;
  };

  /** What the request's `audit.read` entry records about decryption (nothing when none). */
  meta(): Record<string, number> {
    return this.fields === 0 ? {} : { decrypted: this.fields, decryptedEntries: this.entries };
  }
}
