/**
 * Content modes: what the trail stores for each content payload, after redaction
 * (docs/content-protection.md):
 * - `plain`: the redacted value;
 * - `hash`: `sth1:<key id>:<HMAC-SHA256>` of the value's canonical JSON under the `hash` purpose
 *   key, bound to the field path, so a presented text can be matched later and a short prompt
 *   cannot be recovered by hashing guesses;
 * - `encrypt`: `st1:<key id>:<iv>:<ciphertext+tag>`, AES-256-GCM of the canonical JSON under the
 *   subject's own data key (crypto-shredding on erasure) or, for events without a subject, the
 *   master `encryption` key; associated data = origin, entry id and field path, so a ciphertext
 *   moved to another entry or field fails to decrypt.
 * The mode of every protected field is committed in the event (`contentModes`), so readers never
 * guess whether a stored string is a value or a ciphertext.
 */
import { AuditError } from '../errors.js';
import { canonicalJson } from '../event/canonical.js';
import {
  decryptField,
  encryptField,
  fieldCipherKeyId,
  hmacField,
  type KeyRing,
  type SubjectKeyStore,
  verifyHmacField,
} from '../keys/index.js';
import type { ContentMode } from '../store/index.js';

export type { ContentMode };
/** Every content mode. */
export const CONTENT_MODES: readonly ContentMode[] = ['plain', 'hash', 'encrypt'];

/** One mode for all content fields, or a default with overrides by field name. */
export type ContentPolicy =
  | ContentMode
  | { default: ContentMode; fields?: Readonly<Record<string, ContentMode>> };

/** The keys content protection needs. */
export interface ContentKeys {
  ring: KeyRing;
  /**
   * Leave `encrypt` fields for later (`later: true`, value unchanged): a trail encrypts them in
   * its writer thread, under the subject's own key where it has one. Default: encrypt now under
   * `ring`.
   */
  encryptLater?: boolean;
}

/** Protects one content value; `later` when it is left for the trail's writer to encrypt. */
export type ContentProtector = (
  name: string,
  valueJson: string,
  entry: { id: string; subject: string | undefined },
) => { valueJson: string; mode: ContentMode; later?: boolean };

function checkMode(mode: unknown, field: string): ContentMode {
  if (!(CONTENT_MODES as readonly unknown[]).includes(mode))
    throw new AuditError('CONFIG_INVALID', `${field}: expected plain, hash or encrypt`, { field });
  return mode as ContentMode;
}

/**
 * The mode of each field under `policy`, validated.
 * @throws AuditError CONFIG_INVALID naming the option.
 */
export function contentModeOf(policy: ContentPolicy): (name: string) => ContentMode {
  if (typeof policy === 'string') {
    const mode = checkMode(policy, 'content');
    return () => mode;
  }
  if (policy === null || typeof policy !== 'object')
    throw new AuditError('CONFIG_INVALID', 'content: expected a mode or { default, fields }', {
      field: 'content',
    });
  const fallback = checkMode(policy.default, 'content.default');
  const fields = new Map<string, ContentMode>();
  for (const [name, mode] of Object.entries(policy.fields ?? {}))
    fields.set(name, checkMode(mode, `content.fields.${name}`));
  return (name) => fields.get(name) ?? fallback;
}

/** Associated data of an encrypted field: origin, entry id and field path, one per line. */
export function contentAad(origin: string, id: string, name: string): string {
  return `${origin}\n${id}\ncontent.${name}`;
}

/** Bound into the keyed hash of a field: its path. */
function hashAad(name: string): string {
  return `content.${name}`;
}

/**
 * Every mode `policy` uses, validated.
 * @throws AuditError CONFIG_INVALID naming the option.
 */
export function modesIn(policy: ContentPolicy): Set<ContentMode> {
  contentModeOf(policy);
  return new Set(
    typeof policy === 'string' ? [policy] : [policy.default, ...Object.values(policy.fields ?? {})],
  );
}

/**
 * The protector for `policy` under `keys`.
 * @throws AuditError CONFIG_INVALID for a bad policy.
 */
export function createContentProtector(
  origin: string,
  policy: ContentPolicy,
  keys: ContentKeys,
): ContentProtector {
  const modeOf = contentModeOf(policy);
  return (name, valueJson, entry) => {
    const mode = modeOf(name);
    switch (mode) {
      case 'plain':
        return { valueJson, mode };
      case 'hash':
        return {
          valueJson: JSON.stringify(hmacField(keys.ring, 'hash', valueJson, { aad: hashAad(name) })),
          mode,
        };
      case 'encrypt':
        if (keys.encryptLater === true) return { valueJson, mode, later: true };
        return { valueJson: encryptContent(keys.ring, origin, entry.id, name, valueJson), mode };
    }
  };
}

/** The stored JSON (a string) of a content value encrypted under `ring`'s current key. */
export function encryptContent(
  ring: KeyRing,
  origin: string,
  id: string,
  name: string,
  valueJson: string,
): string {
  return JSON.stringify(encryptField(ring, { aad: contentAad(origin, id, name), plaintext: valueJson }));
}

/**
 * The original value of an encrypted field.
 * @throws AuditError KEY_NOT_FOUND naming the key id; DECRYPT_FAILED when it does not authenticate
 *   (another entry's or field's ciphertext, changed bytes).
 */
export function decryptContent(
  ring: KeyRing,
  origin: string,
  id: string,
  name: string,
  stored: string,
): unknown {
  return JSON.parse(decryptField(ring, stored, contentAad(origin, id, name)));
}

/**
 * True when `value` is the value whose keyed hash was stored for field `name` (hash mode).
 * @throws AuditError KEY_NOT_FOUND naming the key id the hash was made with.
 */
export function matchesHashedContent(ring: KeyRing, name: string, value: unknown, stored: string): boolean {
  return verifyHmacField(ring, 'hash', canonicalJson(value), stored, hashAad(name));
}

/** An entry as read back (read/entry.ts), with what revealing its content needs. */
export interface ProtectedEntry {
  id: string;
  subject?: unknown;
  contentModes?: unknown;
  content?: Record<string, unknown>;
}

/** The keys that reveal encrypted content. */
export interface RevealKeys {
  ring: KeyRing;
  subjects?: SubjectKeyStore;
}

/**
 * The reveal hook of the reader (read/query.ts `reveal`): an encrypted field decrypted (under the
 * subject's key where the ciphertext names one), every other field as stored (a hashed field stays
 * its `sth1:` text).
 * @throws AuditError KEY_NOT_FOUND naming the missing key id, KEY_DESTROYED (the subject was
 *   erased), DECRYPT_FAILED (a ciphertext that does not belong to this entry and field).
 */
export function contentRevealer(
  origin: string,
  keys: RevealKeys,
): (value: unknown, context: { field: string; entry: ProtectedEntry }) => Promise<unknown> {
  return async (value, { field, entry }) => {
    const modes = (entry.contentModes ?? {}) as Record<string, string>;
    if (modes[field] !== 'encrypt' || typeof value !== 'string') return value;
    const keyId = fieldCipherKeyId(value);
    let ring = keys.ring;
    if (
      keyId?.startsWith('s-') === true &&
      typeof entry.subject === 'string' &&
      keys.subjects !== undefined
    ) {
      ring = await keys.subjects.subjectKey(entry.subject, { mode: 'read', generation: keyId });
    }
    return decryptContent(ring, origin, entry.id, field, value);
  };
}

/** The entry's content as it was emitted (see {@link contentRevealer}). */
export async function revealContent(
  entry: ProtectedEntry,
  origin: string,
  keys: RevealKeys,
): Promise<Record<string, unknown> | undefined> {
  if (entry.content === undefined) return undefined;
  const reveal = contentRevealer(origin, keys);
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(entry.content))
    out[field] = await reveal(value, { field, entry });
  return out;
}
