import { createDecipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuditError, isAuditError } from '../errors.js';
import { decryptField, decryptFieldBytes, encryptField, fieldCipherKeyId } from './field-cipher.js';
import { KeyRing } from './key-ring.js';

const K1 = randomBytes(32);
const ring = KeyRing.fromKeys([{ id: 'k1', key: K1 }], { context: 'example.test/trail' });
const AAD_A = 'example.test/trail\n01J0000000000000000000000A\ncontent.prompt';
const AAD_B = 'example.test/trail\n01J0000000000000000000000B\ncontent.prompt';
const TEXT_RE = /^st1:k1:[A-Za-z0-9+/]{16}:[A-Za-z0-9+/]+={0,2}$/;

function errorOf(fn: () => unknown): AuditError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AuditError) return err;
    throw err;
  }
  throw new Error('expected an AuditError');
}

describe('encryptField', () => {
  it('round-trips text and bytes', () => {
    for (const plaintext of ['hello', '', 'ünïcødé \u202e 😀', 'x'.repeat(100_000)]) {
      const text = encryptField(ring, { aad: AAD_A, plaintext });
      expect(text).toMatch(TEXT_RE);
      expect(decryptField(ring, text, AAD_A)).toBe(plaintext);
    }
    const bytes = randomBytes(77);
    expect(
      decryptFieldBytes(ring, encryptField(ring, { aad: AAD_A, plaintext: bytes }), AAD_A).equals(bytes),
    ).toBe(true);
  });

  it('follows docs/keys.md: AES-256-GCM, associated data "st1:<id>:" || aad, tag after the ciphertext', () => {
    const text = encryptField(ring, { aad: AAD_A, plaintext: 'documented' });
    const [, id, iv, body] = text.split(':') as [string, string, string, string];
    const sealed = Buffer.from(body, 'base64');
    const d = createDecipheriv('aes-256-gcm', ring.purposeKey(id, 'encryption'), Buffer.from(iv, 'base64'));
    d.setAAD(Buffer.from(`st1:${id}:${AAD_A}`));
    d.setAuthTag(sealed.subarray(-16));
    expect(Buffer.concat([d.update(sealed.subarray(0, -16)), d.final()]).toString()).toBe('documented');
  });

  it('takes a fresh IV every call', () => {
    const ivs = new Set<string>();
    const texts = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const t = encryptField(ring, { aad: AAD_A, plaintext: 'same' });
      ivs.add(t.split(':')[2]!);
      texts.add(t);
    }
    expect(ivs.size).toBe(2000);
    expect(texts.size).toBe(2000);
  });

  it('refuses empty associated data with USAGE', () => {
    expect(errorOf(() => encryptField(ring, { aad: '', plaintext: 'x' })).code).toBe('USAGE');
  });

  describe('with a plaintext that is neither text nor bytes', () => {
    it('fails with USAGE naming the plaintext, not a TypeError from node:buffer', () => {
      for (const plaintext of [42, null, undefined, { prompt: 'x' }]) {
        const err = errorOf(() => encryptField(ring, { aad: AAD_A, plaintext: plaintext as never }));
        expect(err.code).toBe('USAGE');
        expect(err.message).toMatch(/plaintext expected a string or bytes/);
      }
    });
  });

  it('round-trips any text, bytes and associated data (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (plaintext, aad) => {
          expect(decryptField(ring, encryptField(ring, { aad, plaintext }), aad)).toBe(plaintext);
        },
      ),
    );
  });
});

describe('decryptField', () => {
  const text = encryptField(ring, { aad: AAD_A, plaintext: 'the secret prompt' });

  describe('with the associated data of another entry', () => {
    it('fails with DECRYPT_FAILED, saying only that authentication failed', () => {
      const err = errorOf(() => decryptField(ring, text, AAD_B));
      expect(err.code).toBe('DECRYPT_FAILED');
      expect(err.message).toBe('field ciphertext under key k1: authentication failed');
    });
  });

  describe('when the ciphertexts of two entries are swapped', () => {
    it('fails with DECRYPT_FAILED for both', () => {
      const a = encryptField(ring, { aad: AAD_A, plaintext: 'alice' });
      const b = encryptField(ring, { aad: AAD_B, plaintext: 'bob' });
      expect(errorOf(() => decryptField(ring, b, AAD_A)).code).toBe('DECRYPT_FAILED');
      expect(errorOf(() => decryptField(ring, a, AAD_B)).code).toBe('DECRYPT_FAILED');
    });
  });

  describe('when the key id is unknown', () => {
    it('fails with KEY_NOT_FOUND naming the id', () => {
      const other = KeyRing.fromKeys([{ id: 'k7', key: randomBytes(32) }]);
      const err = errorOf(() => decryptField(other, text, AAD_A));
      expect(err.code).toBe('KEY_NOT_FOUND');
      expect(err.message).toContain('k1');
      expect(err.detail.keyId).toBe('k1');
    });
  });

  describe('when the key id is relabelled to another key of the ring', () => {
    it('fails with DECRYPT_FAILED', () => {
      const both = ring.rotate({ id: 'k2', key: randomBytes(32) });
      expect(errorOf(() => decryptField(both, text.replace('st1:k1:', 'st1:k2:'), AAD_A)).code).toBe(
        'DECRYPT_FAILED',
      );
    });
  });

  describe('in a trail with another origin but the same master key', () => {
    it('fails with DECRYPT_FAILED', () => {
      const elsewhere = KeyRing.fromKeys([{ id: 'k1', key: K1 }], { context: 'other.test/trail' });
      expect(errorOf(() => decryptField(elsewhere, text, AAD_A)).code).toBe('DECRYPT_FAILED');
    });
  });

  describe('after three rotations', () => {
    it('decrypts entries written under each of the three keys', () => {
      let r = KeyRing.fromKeys([{ id: 'k1', key: randomBytes(32) }], { context: 'example.test/trail' });
      const written: Array<[string, string]> = [];
      for (let i = 1; i <= 3; i++) {
        if (i > 1) r = r.rotate({ key: randomBytes(32) });
        written.push([encryptField(r, { aad: `${AAD_A}${i}`, plaintext: `entry ${i}` }), `k${i}`]);
      }
      expect(r.current).toBe('k3');
      written.forEach(([t, id], i) => {
        expect(fieldCipherKeyId(t)).toBe(id);
        expect(decryptField(r, t, `${AAD_A}${i + 1}`)).toBe(`entry ${i + 1}`);
      });
    });
  });

  it.each([
    ['no prefix', 'k1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=='],
    ['a missing part', 'st1:k1:AAAAAAAAAAAAAAAA'],
    ['a short IV', 'st1:k1:AAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=='],
    ['a body shorter than the tag', 'st1:k1:AAAAAAAAAAAAAAAA:AAAA'],
    ['stray characters in the body', 'st1:k1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAA!AAAAAAAAAA=='],
    ['set spare bits in the body', 'st1:k1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAB=='],
    ['a body without padding', 'st1:k1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA'],
    ['an extra part', 'st1:k1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA==:x'],
    ['a bad key id', 'st1:-k:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA=='],
  ])('rejects %s with DECRYPT_FAILED', (_name, bad) => {
    expect(errorOf(() => decryptField(ring, bad, AAD_A)).code).toBe('DECRYPT_FAILED');
  });

  it('never yields plaintext from a text with one character changed (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=:k2';
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.nat(alphabet.length - 1), (pos, c) => {
        const ch = alphabet[c]!;
        if (text[pos] === ch) return;
        const changed = `${text.slice(0, pos)}${ch}${text.slice(pos + 1)}`;
        let err: unknown;
        try {
          decryptField(ring, changed, AAD_A);
        } catch (e) {
          err = e;
        }
        expect(isAuditError(err, 'DECRYPT_FAILED') || isAuditError(err, 'KEY_NOT_FOUND')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('puts neither the key nor the plaintext in errors', () => {
    const err = errorOf(() => decryptField(ring, text, AAD_B));
    const all = `${err.message} ${JSON.stringify(err.detail)} ${String(err.stack)}`;
    expect(all).not.toContain('the secret prompt');
    for (const s of [K1.toString('hex'), K1.toString('base64')]) expect(all).not.toContain(s);
  });
});
