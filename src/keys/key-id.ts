/**
 * Master key ids (docs/keys.md "Key ids"): short labels carried on every ciphertext.
 * Keys Sealtrail generates are numbered `k1`, `k2`, ... in order of creation; a key given
 * without an id (a bare `SEALTRAIL_KEY`) is named from its own hash, `k-` and 8 hex digits, so
 * that replacing it by another bare key names the missing key instead of failing to decrypt.
 */
import { createHash } from 'node:crypto';
import { AuditError } from '../errors.js';

/** What a key id may hold: no `:` or `,` (separators of `st1:` texts and `SEALTRAIL_KEY`). */
export const KEY_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const GENERATED_ID_RE = /^k([1-9][0-9]{0,8})$/;
const DERIVED_ID_PREFIX = 'sealtrail key id v1\n';

/**
 * Checks a key id.
 * @throws AuditError KEY_INVALID naming `where` when the id breaks {@link KEY_ID_RE}.
 */
export function checkKeyId(id: unknown, where: string): string {
  if (typeof id !== 'string' || !KEY_ID_RE.test(id)) {
    throw new AuditError(
      'KEY_INVALID',
      `${where}: key id expected 1-64 letters, digits, '.', '_' or '-' (first a letter or digit)`,
    );
  }
  return id;
}

/**
 * The id of a key given without one: `k-` and the first 8 hex digits of
 * SHA-256("sealtrail key id v1\n" || key). 32 bits of a hash of a 256-bit random key say
 * nothing useful about it (an AES-GCM ciphertext already allows the same check).
 */
export function deriveKeyId(key: Uint8Array): string {
  return `k-${createHash('sha256').update(DERIVED_ID_PREFIX).update(key).digest('hex').slice(0, 8)}`;
}

/** The next generated id after `ids`: `k` and one more than the highest `kN` among them. */
export function nextKeyId(ids: Iterable<string>): string {
  let max = 0;
  for (const id of ids) {
    const m = GENERATED_ID_RE.exec(id);
    if (m !== null) max = Math.max(max, Number(m[1]));
  }
  return `k${max + 1}`;
}
