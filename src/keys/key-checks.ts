/**
 * The check values of the master keys a trail has used, by key id (`key-checks.json` in its key
 * directory, 0600): an id names one key for the life of a trail. Without them a key replaced under
 * the same id (a Vault KV field written again, another `SEALTRAIL_KEY`) was used without a word:
 * new keyed hashes no longer matched old ones (`match` said "no match" for the text recorded) and
 * old ciphertexts failed as if they had been tampered with. A check value is an HKDF output of the
 * key (KeyRing.checkValue): it tells two keys apart and reveals nothing of them.
 */

import { timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { AuditError } from '../errors.js';
import { readIfExists, withFile, writeFileAtomic } from '../store/index.js';
import type { KeyRing } from './key-ring.js';

/** The file, in a key directory. */
export const KEY_CHECKS_FILE = 'key-checks.json';

/**
 * Checks every key of `ring` against the check value recorded for its id in `keysDir`; with
 * `record` (a writer), records the ids seen for the first time. A directory without the file (a
 * trail from before it, or a read-only copy) is checked from then on.
 * @throws AuditError KEY_INVALID naming the key id when its key is not the one recorded, or when
 *   the file is not what this writes; STORE_IO when it cannot be written.
 */
export function checkKeyIds(keysDir: string, ring: KeyRing, options: { record: boolean }): void {
  const file = path.join(keysDir, KEY_CHECKS_FILE);
  let known: Record<string, string> = {};
  const text = withFile(file, 'read', () => readIfExists(file));
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      Array.isArray(parsed) ||
      !Object.values(parsed).every((v) => typeof v === 'string' && /^[0-9a-f]{16}$/.test(v))
    )
      throw new AuditError('KEY_INVALID', `${file}: not a file of key check values`, { file });
    known = parsed as Record<string, string>;
  }
  let added = false;
  for (const id of ring.ids) {
    const value = ring.checkValue(id);
    const recorded = Object.hasOwn(known, id) ? known[id] : undefined;
    if (recorded === undefined) {
      if (options.record) {
        known[id] = value;
        added = true;
      }
      continue;
    }
    if (!timingSafeEqual(Buffer.from(recorded, 'hex'), Buffer.from(value, 'hex')))
      throw new AuditError(
        'KEY_INVALID',
        `key ${id} (from ${ring.source.provider}) is not the key this trail has used under that id, as ${file} records: restore that key, or add the new one under a new id (docs/keys.md)`,
        { keyId: id, file },
      );
  }
  if (added) withFile(file, 'write', () => writeFileAtomic(file, `${JSON.stringify(known)}\n`));
}
