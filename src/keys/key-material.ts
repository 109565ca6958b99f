/**
 * Parsing 32-byte master keys from text (environment, Vault, CLI): 64 hex digits, or base64 /
 * base64url of 32 bytes with or without padding. Errors name where the key came from and what
 * was wrong with its shape, never the text itself.
 */
import { AuditError } from '../errors.js';

/** Length of every master key and data key, in bytes (AES-256, HMAC-SHA256). */
export const KEY_BYTES = 32;

const HEX_RE = /^[0-9a-fA-F]{64}$/;
const B64_RE = /^[A-Za-z0-9+/]{43}=?$/;
const B64URL_RE = /^[A-Za-z0-9_-]{43}=?$/;

/**
 * Decodes a 32-byte key from hex or base64 text.
 * @throws AuditError KEY_INVALID naming `where` and the decoded length, never the text.
 */
export function parseKeyText(text: string, where: string): Buffer {
  const t = text.trim();
  if (HEX_RE.test(t)) return Buffer.from(t, 'hex');
  const bare = t.replace(/=$/, '');
  // A 43-character base64 text holds 32 bytes and 2 spare bits: a text whose spare bits are
  // set was cut or mistyped, so it must re-encode to itself.
  if (B64_RE.test(t) && Buffer.from(bare, 'base64').toString('base64').replace(/=$/, '') === bare) {
    return Buffer.from(bare, 'base64');
  }
  if (B64URL_RE.test(t) && Buffer.from(bare, 'base64url').toString('base64url') === bare) {
    return Buffer.from(bare, 'base64url');
  }
  const shape = /^[A-Za-z0-9+/_-]*={0,2}$/.test(t)
    ? `found ${t.length} characters, ${Buffer.from(t, 'base64').length} bytes`
    : 'found characters outside hex and base64';
  throw new AuditError(
    'KEY_INVALID',
    `${where}: expected ${KEY_BYTES} bytes as 64 hex digits or base64 (${shape})`,
  );
}

/**
 * Checks a key given as bytes.
 * @throws AuditError KEY_INVALID naming `where` when it is not a Uint8Array of 32 bytes.
 */
export function checkKeyBytes(key: unknown, where: string): Uint8Array {
  if (!(key instanceof Uint8Array)) {
    throw new AuditError('KEY_INVALID', `${where}: expected a Uint8Array of ${KEY_BYTES} bytes`);
  }
  if (key.length !== KEY_BYTES) {
    throw new AuditError(
      'KEY_INVALID',
      `${where}: expected a Uint8Array of ${KEY_BYTES} bytes, got length=${key.length}`,
    );
  }
  return key;
}
