/**
 * Credential fingerprints: short keyed identifiers such as `token:a3f2c1d4e5f60718`, so a full
 * API token, password or session id never needs to be logged, yet two events that used the
 * same credential can be tied together.
 *
 *   fingerprint = kind || ":" || hex(HMAC-SHA256(fingerprint purpose key,
 *                                                "sealtrail fingerprint v1\n" || value))[0..16)
 *
 * 16 hex digits = 64 bits: a trail would need about 2^32 (four billion) distinct credentials
 * before two are expected to share a fingerprint (birthday bound), while the text stays short
 * enough to read and search. The HMAC key, not the length, is what stops guessing: without it,
 * no candidate value can be tested at all. Same value and key: same fingerprint; another
 * trail (another context) or key: an unrelated one.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AuditError } from '../errors.js';
import { type KeyRing, purposeKeyBytes } from './key-ring.js';

/** Hex digits kept from the HMAC (64 bits). */
export const FINGERPRINT_HEX_DIGITS = 16;

const KIND_RE = /^[a-z][a-z0-9_-]{0,31}$/;
const FINGERPRINT_RE = /^([a-z][a-z0-9_-]{0,31}):([0-9a-f]{16})$/;
const DOMAIN = 'sealtrail fingerprint v1\n';

/** Options of {@link fingerprint}. */
export interface FingerprintOptions {
  /** The prefix naming what was fingerprinted: `token` (default), `apikey`, `password`, `session`, ... */
  kind?: string;
  /** Master key to use; default the ring's current key. */
  keyId?: string;
}

/**
 * The fingerprint `kind:xxxxxxxxxxxxxxxx` of a credential. After a rotation, new fingerprints
 * use the new key; {@link fingerprintCandidates} gives one per key to search older events.
 * @throws AuditError USAGE for a bad kind; KEY_NOT_FOUND naming the key id.
 */
export function fingerprint(
  ring: KeyRing,
  value: string | Uint8Array,
  options: FingerprintOptions = {},
): string {
  const kind = options.kind ?? 'token';
  if (!KIND_RE.test(kind)) {
    throw new AuditError('USAGE', 'fingerprint kind: expected a-z, then up to 31 of a-z 0-9 _ -');
  }
  return `${kind}:${digest(ring, options.keyId, value).toString('hex', 0, FINGERPRINT_HEX_DIGITS / 2)}`;
}

/** The fingerprints of `value` under every key of the ring, current key first. */
export function fingerprintCandidates(ring: KeyRing, value: string | Uint8Array, kind = 'token'): string[] {
  const ids = [ring.current, ...ring.ids.filter((id) => id !== ring.current)];
  return ids.map((keyId) => fingerprint(ring, value, { kind, keyId }));
}

/**
 * True when `fp` is the fingerprint of `value` under any key of the ring (constant-time
 * comparison of each candidate).
 */
export function fingerprintMatches(ring: KeyRing, value: string | Uint8Array, fp: string): boolean {
  const m = typeof fp === 'string' ? FINGERPRINT_RE.exec(fp) : null;
  if (m === null) return false;
  const want = Buffer.from(m[2]!, 'hex');
  let found = false;
  for (const keyId of ring.ids) {
    const got = digest(ring, keyId, value).subarray(0, want.length);
    // No early exit: every key is tried, whatever matched.
    if (timingSafeEqual(got, want)) found = true;
  }
  return found;
}

function digest(ring: KeyRing, keyId: string | undefined, value: string | Uint8Array): Buffer {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new AuditError('USAGE', 'fingerprint value: expected a string or bytes');
  }
  const { key } = purposeKeyBytes(ring, keyId, 'fingerprint');
  return createHmac('sha256', key).update(DOMAIN).update(value).digest();
}
