/**
 * Content field encryption: AES-256-GCM under the `encryption` purpose key, a fresh random
 * 96-bit IV per call, associated data bound in, and the key id on every ciphertext:
 *
 *   st1:<key id>:<IV, 12 bytes, base64>:<ciphertext || 16-byte tag, base64>
 *
 * GCM's associated data is the ASCII prefix `st1:<key id>:` followed by the caller's `aad`
 * (origin, entry id and field path), so a ciphertext moved to another entry or field, or
 * relabelled with another key id, fails authentication. Synchronous and small: the writer's
 * worker thread calls {@link sealField} with purpose keys the trail hands over
 * (writer/content-sealing.ts).
 */
import { createCipheriv, createDecipheriv, type KeyObject, randomFillSync } from 'node:crypto';
import { base64Into, base64Length } from '../base64-into.js';
import { AuditError } from '../errors.js';
import { KEY_ID_RE } from './key-id.js';
import { type KeyRing, purposeKeyBytes } from './key-ring.js';

/** Prefix of every field ciphertext of format version 1. */
export const FIELD_CIPHER_PREFIX = 'st1:';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const COLON = 0x3a;

// IVs come from a pool filled 512 at a time: one randomFillSync instead of one per call saves
// ~3 µs per field (measured). Every IV is still fresh CSPRNG output, used once.
const ivPool = Buffer.alloc(IV_BYTES * 512);
let ivOffset = ivPool.length;

/** A fresh IV: a view of the pool, read by createCipheriv before the pool moves on. */
function freshIv(): Buffer {
  if (ivOffset === ivPool.length) {
    randomFillSync(ivPool);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

/** What {@link encryptField} encrypts. */
export interface FieldToEncrypt {
  /** Master key to use; default the ring's current key. */
  keyId?: string;
  /** Associated data: origin, entry id and field path. Required, non-empty. */
  aad: string | Uint8Array;
  plaintext: string | Uint8Array;
}

/**
 * Encrypts one field. Returns `st1:<key id>:<iv>:<ciphertext+tag>` (base64 with padding).
 * @throws AuditError KEY_NOT_FOUND naming the key id; USAGE when `aad` is empty or `plaintext` is
 *   neither a string nor bytes.
 */
export function encryptField(ring: KeyRing, field: FieldToEncrypt): string {
  const { id, key } = purposeKeyBytes(ring, field.keyId, 'encryption');
  return sealField(id, key, field.aad, field.plaintext);
}

/**
 * {@link encryptField} under an `encryption` purpose key given as such (`keyId` names it on the
 * ciphertext): the writer thread encrypts content this way, with keys handed over by the trail.
 * @throws AuditError USAGE when `aad` is empty.
 */
export function sealField(
  keyId: string,
  key: KeyObject | Uint8Array,
  aad: string | Uint8Array,
  plaintext: string | Uint8Array,
): string {
  const header = `${FIELD_CIPHER_PREFIX}${keyId}:`;
  const aadMost = typeof aad === 'string' ? 3 * aad.length : aad instanceof Uint8Array ? aad.length : 0;
  if (aadMost === 0) throw emptyAad();
  const plainMost =
    typeof plaintext === 'string'
      ? 3 * plaintext.length
      : plaintext instanceof Uint8Array
        ? plaintext.length
        : notTextOrBytes('field encryption: plaintext');
  const need = 2 * header.length + aadMost + plainMost + sealedTextLength(plainMost);
  if (need > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(need, 2 * scratch.length));
  const buf = scratch;
  // [header aad] [plaintext] [header <iv>:<ciphertext+tag>]: the associated data, the plaintext
  // and the result side by side, with no buffer of their own.
  let at = buf.write(header, 0, 'latin1');
  at += writeBytes(buf, at, aad);
  const plainAt = at;
  at += writeBytes(buf, at, plaintext);
  const outAt = at;
  at += buf.write(header, at, 'latin1');
  try {
    at += sealFieldInto(buf, at, key, buf.subarray(0, plainAt), buf.subarray(plainAt, outAt));
    return buf.toString('latin1', outAt, at);
  } finally {
    buf.fill(0, plainAt, outAt); // no plaintext left behind in the shared scratch, even on error
  }
}

// sealField's working space, reused from call to call: nothing holds a view of it after a call
// returns, and the plaintext is zeroed before it does (measured: 5.3 → 4.8 µs per 400-byte field).
let scratch = Buffer.allocUnsafeSlow(4096);

function writeBytes(buf: Buffer, at: number, src: string | Uint8Array): number {
  if (typeof src === 'string') return buf.write(src, at, 'utf8');
  buf.set(src, at);
  return src.length;
}

/** @throws AuditError USAGE: `what` is neither a string nor a Uint8Array (its value is not shown). */
export function notTextOrBytes(what: string): never {
  throw new AuditError('USAGE', `${what} expected a string or bytes`);
}

function emptyAad(): AuditError {
  return new AuditError(
    'USAGE',
    'field encryption: aad expected non-empty associated data (origin, entry id, field)',
  );
}

/** Characters of `<iv>:<ciphertext+tag>` (base64) for a plaintext of `n` bytes. */
export const sealedTextLength = (n: number): number =>
  base64Length(IV_BYTES) + 1 + base64Length(n + TAG_BYTES);

// The last (ciphertext length mod 3) bytes of ciphertext and the tag, base64-encoded together.
const tail = Buffer.alloc(2 + TAG_BYTES);

/**
 * Encrypts `plaintext` and writes `<iv>:<ciphertext+tag>` (base64, {@link sealedTextLength}
 * bytes) at dst[at], without intermediate buffers; returns the bytes written. `associated` is the
 * whole GCM associated data: the `st1:<key id>:` header the caller writes before, then the
 * origin, entry id and field path.
 */
export function sealFieldInto(
  dst: Buffer,
  at: number,
  key: KeyObject | Uint8Array,
  associated: Uint8Array,
  plaintext: Uint8Array,
): number {
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associated);
  const body = cipher.update(plaintext);
  cipher.final(); // GCM is a stream mode: update returned every byte of ciphertext
  const tag = cipher.getAuthTag();
  let o = at + base64Into(dst, at, iv, 0, IV_BYTES);
  dst[o++] = COLON;
  const whole = body.length - (body.length % 3);
  // native base64 then a latin1 copy: ~2x the loop's speed on a few hundred bytes (measured)
  o += dst.write(body.toString('base64', 0, whole), o, 'latin1');
  const rest = body.length - whole;
  for (let i = 0; i < rest; i++) tail[i] = body[whole + i]!;
  tail.set(tag, rest);
  o += base64Into(dst, o, tail, 0, rest + TAG_BYTES);
  return o - at;
}

/**
 * Decrypts a field written by {@link encryptField} with the same `aad`, as UTF-8 text.
 * @throws AuditError KEY_NOT_FOUND naming the key id when the ring lacks it; DECRYPT_FAILED
 *   when the text is malformed or does not authenticate (wrong key, associated data or bytes —
 *   the error does not say which).
 */
export function decryptField(ring: KeyRing, text: string, aad: string | Uint8Array): string {
  return decryptFieldBytes(ring, text, aad).toString('utf8');
}

/**
 * As {@link decryptField}, returning the plaintext bytes.
 * @throws AuditError KEY_NOT_FOUND, DECRYPT_FAILED.
 */
export function decryptFieldBytes(ring: KeyRing, text: string, aad: string | Uint8Array): Buffer {
  const { keyId, iv, sealed } = parseFieldCipher(text);
  const { key } = purposeKeyBytes(ring, keyId, 'encryption');
  const header = `${FIELD_CIPHER_PREFIX}${keyId}:`;
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData(header, aad));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    body.fill(0);
    throw new AuditError('DECRYPT_FAILED', `field ciphertext under key ${keyId}: authentication failed`, {
      keyId,
    });
  }
}

/** The key id a field ciphertext names, or undefined when `text` is not one. */
export function fieldCipherKeyId(text: string): string | undefined {
  try {
    return parseFieldCipher(text).keyId;
  } catch {
    return undefined;
  }
}

function parseFieldCipher(text: string): { keyId: string; iv: Buffer; sealed: Buffer } {
  const bad = () => new AuditError('DECRYPT_FAILED', 'field ciphertext: not an st1 text');
  if (typeof text !== 'string' || !text.startsWith(FIELD_CIPHER_PREFIX)) throw bad();
  const a = text.indexOf(':', FIELD_CIPHER_PREFIX.length);
  const b = a < 0 ? -1 : text.indexOf(':', a + 1);
  if (b < 0) throw bad();
  const keyId = text.slice(FIELD_CIPHER_PREFIX.length, a);
  const ivText = text.slice(a + 1, b);
  const body = text.slice(b + 1);
  const iv = Buffer.from(ivText, 'base64');
  const sealed = Buffer.from(body, 'base64');
  // attacker-controlled: base64 decoding alone skips stray characters and spare bits, so each
  // part must re-encode to itself: one ciphertext, one spelling.
  if (
    !KEY_ID_RE.test(keyId) ||
    iv.length !== IV_BYTES ||
    iv.toString('base64') !== ivText ||
    sealed.length < TAG_BYTES ||
    sealed.toString('base64') !== body
  ) {
    throw bad();
  }
  return { keyId, iv, sealed };
}

function associatedData(header: string, aad: string | Uint8Array): Buffer {
  const extra = typeof aad === 'string' ? Buffer.from(aad) : aad;
  if (!(extra instanceof Uint8Array) || extra.length === 0) throw emptyAad();
  return Buffer.concat([Buffer.from(header, 'latin1'), extra]);
}
