/**
 * Keyed content hashes (hash mode): HMAC-SHA256 under a purpose key, with the key id kept so a
 * presented text can be matched after rotation:
 *
 *   sth1:<key id>:<HMAC-SHA256(purpose key, u32be(len(aad)) || aad || text), base64>
 *
 * Keyed, unlike a bare SHA-256, so a short prompt cannot be recovered by hashing guesses
 * without the key. Matching compares in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuditError } from '../errors.js';
import { notTextOrBytes } from './field-cipher.js';
import { type KeyPurpose, type KeyRing, purposeKeyBytes } from './key-ring.js';

/** Purposes whose keys may be used for HMACs of content. */
export type HmacPurpose = Extract<KeyPurpose, 'hash' | 'fingerprint' | 'seal'>;

/** Prefix of every keyed hash of format version 1. */
export const FIELD_HMAC_PREFIX = 'sth1:';

const HMAC_PURPOSES: readonly string[] = ['hash', 'fingerprint', 'seal'];
const TEXT_RE = /^sth1:([A-Za-z0-9][A-Za-z0-9_.-]{0,63}):([A-Za-z0-9+/]{43}=)$/;

/** Options of {@link hmacField}. */
export interface HmacFieldOptions {
  /** Master key to use; default the ring's current key. */
  keyId?: string;
  /** Bound into the HMAC (e.g. the field path); default empty. The same `aad` must be given to match. */
  aad?: string | Uint8Array;
}

/**
 * The keyed hash of `text` as `sth1:<key id>:<base64>`.
 * @throws AuditError KEY_NOT_FOUND naming the key id; USAGE for a purpose that is not for HMACs,
 *   or a text or `aad` that is neither a string nor bytes.
 */
export function hmacField(
  ring: KeyRing,
  purpose: HmacPurpose,
  text: string | Uint8Array,
  options: HmacFieldOptions = {},
): string {
  const { id, mac } = computeHmac(ring, purpose, options.keyId, text, options.aad);
  return `${FIELD_HMAC_PREFIX}${id}:${mac.toString('base64')}`;
}

/**
 * True when `recorded` (from {@link hmacField}) is the keyed hash of `text` under the key it
 * names; compares in constant time.
 * A text that does not match answers false.
 * @throws AuditError KEY_NOT_FOUND naming the key id; KEY_INVALID when `recorded` is not an sth1 text;
 *   USAGE for a text or `aad` that is neither a string nor bytes.
 */
export function verifyHmacField(
  ring: KeyRing,
  purpose: HmacPurpose,
  text: string | Uint8Array,
  recorded: string,
  aad?: string | Uint8Array,
): boolean {
  const m = typeof recorded === 'string' ? TEXT_RE.exec(recorded) : null;
  if (m === null) {
    throw new AuditError('KEY_INVALID', 'keyed hash: not an sth1 text');
  }
  const { mac } = computeHmac(ring, purpose, m[1], text, aad);
  return timingSafeEqual(mac, Buffer.from(m[2]!, 'base64'));
}

function computeHmac(
  ring: KeyRing,
  purpose: HmacPurpose,
  keyId: string | undefined,
  text: string | Uint8Array,
  aad: string | Uint8Array | undefined,
): { id: string; mac: Buffer } {
  if (!HMAC_PURPOSES.includes(purpose)) {
    throw new AuditError('USAGE', `keyed hash: purpose expected one of ${HMAC_PURPOSES.join(', ')}`);
  }
  // Checked here: node:crypto's own TypeError would print the value it was given.
  if (typeof text !== 'string' && !(text instanceof Uint8Array)) notTextOrBytes('keyed hash: text');
  if (aad !== undefined && typeof aad !== 'string' && !(aad instanceof Uint8Array))
    notTextOrBytes('keyed hash: aad');
  const { id, key } = purposeKeyBytes(ring, keyId, purpose);
  const extra = aad === undefined ? EMPTY : typeof aad === 'string' ? Buffer.from(aad) : aad;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(extra.length);
  const mac = createHmac('sha256', key).update(len).update(extra).update(text).digest();
  return { id, mac };
}

const EMPTY = Buffer.alloc(0);
