/**
 * One per-subject data key as stored: a fixed 512-byte record (JSON, padded with spaces, then
 * "\n"), so that rewrapping after a rotation rewrites the same bytes in place and no copy under
 * the old wrapping survives in a renamed-away file. Wrapped either locally — AES-256-GCM under
 * the `subject` purpose key of a master key, with the record's name and generation as
 * associated data — or by a Vault Transit key. Pure logic; the store does the I/O.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AuditError } from '../errors.js';
import { KEY_ID_RE } from './key-id.js';
import { KEY_BYTES } from './key-material.js';
import { type KeyRing, purposeKeyBytes } from './key-ring.js';
import type { SubjectKeyWrapper } from './vault-provider.js';

/** Format tag of a subject key record. */
export const SUBJECT_KEY_FORMAT = 'sealtrail-subject-key/1';

/** Every record is exactly this long. */
export const SUBJECT_RECORD_BYTES = 512;

/** A subject key record (fields in stored order). */
export interface SubjectKeyRecord {
  format: typeof SUBJECT_KEY_FORMAT;
  /** The keyed hash of the subject id (32 hex digits), or `index` for the naming key. */
  name: string;
  /** `s-` and 16 hex digits; new each time a key is created for the subject. */
  generation: string;
  createdAt: number;
  wrap: 'local' | 'vault-transit';
  /** local: the master key id whose `subject` purpose key wraps it. */
  keyId?: string;
  /** local: base64 of the 12-byte IV. */
  iv?: string;
  /** vault-transit: `<mount>/<key>`. */
  transitKey?: string;
  /** local: base64 of ciphertext || tag (48 bytes); vault-transit: `vault:v<n>:...`. */
  wrapped: string;
}

const NAME_RE = /^(?:[0-9a-f]{32}|index)$/;
const GENERATION_RE = /^s-[0-9a-f]{16}$/;
const TAG_BYTES = 16;

/** A fresh generation id: `s-` and 16 random hex digits. */
export function newGeneration(): string {
  return `s-${randomBytes(8).toString('hex')}`;
}

/**
 * Wraps `key` for the record `name`/`generation`: locally under the ring's current key, or by
 * `wrapper` when given.
 */
export async function wrapSubjectKey(
  key: Uint8Array,
  head: { name: string; generation: string; createdAt: number },
  ring: KeyRing,
  wrapper: SubjectKeyWrapper | undefined,
): Promise<SubjectKeyRecord> {
  const base: Pick<SubjectKeyRecord, 'format' | 'name' | 'generation' | 'createdAt'> = {
    format: SUBJECT_KEY_FORMAT,
    name: head.name,
    generation: head.generation,
    createdAt: head.createdAt,
  };
  if (wrapper !== undefined) {
    const wrapped = await wrapper.wrap(key);
    return { ...base, wrap: 'vault-transit', transitKey: wrapper.keyName, wrapped };
  }
  const { id, key: kek } = purposeKeyBytes(ring, undefined, 'subject');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(head.name, head.generation));
  const sealed = Buffer.concat([cipher.update(key), cipher.final(), cipher.getAuthTag()]);
  return { ...base, wrap: 'local', keyId: id, iv: iv.toString('base64'), wrapped: sealed.toString('base64') };
}

/**
 * Unwraps the data key of `record`.
 * @throws AuditError KEY_NOT_FOUND (master key or Transit key not available), DECRYPT_FAILED.
 */
export async function unwrapSubjectKey(
  record: SubjectKeyRecord,
  ring: KeyRing,
  wrapper: SubjectKeyWrapper | undefined,
): Promise<Buffer> {
  if (record.wrap === 'vault-transit') {
    if (wrapper === undefined || wrapper.keyName !== record.transitKey) {
      throw new AuditError(
        'KEY_NOT_FOUND',
        `subject key ${record.name}: wrapped by Vault Transit key ${record.transitKey}, which is not configured`,
        { keyId: record.transitKey },
      );
    }
    return wrapper.unwrap(record.wrapped);
  }
  const { key: kek } = purposeKeyBytes(ring, record.keyId, 'subject');
  const sealed = Buffer.from(record.wrapped, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(record.iv!, 'base64'), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(associatedData(record.name, record.generation));
  decipher.setAuthTag(sealed.subarray(KEY_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, KEY_BYTES)), decipher.final()]);
  } catch {
    throw new AuditError('DECRYPT_FAILED', `subject key ${record.name}: authentication failed`, {
      keyId: record.keyId,
    });
  }
}

/**
 * The 512 stored bytes of `record`.
 * @throws AuditError CONFIG_INVALID when it does not fit (an over-long Transit key name).
 */
export function encodeSubjectRecord(record: SubjectKeyRecord): Buffer {
  const json = JSON.stringify(record);
  const bytes = Buffer.byteLength(json);
  if (bytes > SUBJECT_RECORD_BYTES - 1) {
    throw new AuditError('CONFIG_INVALID', `subject key ${record.name}: record too long (${bytes} bytes)`);
  }
  return Buffer.from(`${json}${' '.repeat(SUBJECT_RECORD_BYTES - 1 - bytes)}\n`);
}

/**
 * Parses stored bytes, checking every field.
 * @throws AuditError KEY_INVALID naming `file` when damaged.
 */
export function decodeSubjectRecord(data: Buffer, file: string): SubjectKeyRecord {
  const damaged = (what: string) =>
    new AuditError('KEY_INVALID', `subject key file ${file}: damaged (${what})`, { file });
  if (data.length !== SUBJECT_RECORD_BYTES || data[SUBJECT_RECORD_BYTES - 1] !== 0x0a)
    throw damaged('length');
  let r: SubjectKeyRecord;
  try {
    r = JSON.parse(data.toString('utf8')) as SubjectKeyRecord;
  } catch {
    throw damaged('not JSON');
  }
  if (r === null || typeof r !== 'object' || r.format !== SUBJECT_KEY_FORMAT) throw damaged('format');
  if (typeof r.name !== 'string' || !NAME_RE.test(r.name)) throw damaged('name');
  if (typeof r.generation !== 'string' || !GENERATION_RE.test(r.generation)) throw damaged('generation');
  if (!Number.isSafeInteger(r.createdAt)) throw damaged('createdAt');
  if (typeof r.wrapped !== 'string') throw damaged('wrapped');
  if (r.wrap === 'local') {
    if (typeof r.keyId !== 'string' || !KEY_ID_RE.test(r.keyId)) throw damaged('keyId');
    if (typeof r.iv !== 'string' || Buffer.from(r.iv, 'base64').length !== 12) throw damaged('iv');
    if (Buffer.from(r.wrapped, 'base64').length !== KEY_BYTES + TAG_BYTES) throw damaged('wrapped');
  } else if (r.wrap === 'vault-transit') {
    if (typeof r.transitKey !== 'string') throw damaged('transitKey');
  } else {
    throw damaged('wrap');
  }
  return r;
}

function associatedData(name: string, generation: string): Buffer {
  return Buffer.from(`${SUBJECT_KEY_FORMAT}\n${name}\n${generation}\n`);
}
