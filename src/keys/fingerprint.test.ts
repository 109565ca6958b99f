import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacField, verifyHmacField } from './field-hmac.js';
import {
  FINGERPRINT_HEX_DIGITS,
  fingerprint,
  fingerprintCandidates,
  fingerprintMatches,
} from './fingerprint.js';
import { KeyRing } from './key-ring.js';

const K1 = randomBytes(32);
const ring = KeyRing.fromKeys([{ id: 'k1', key: K1 }], { context: 'example.test/trail' });
const TOKEN = 'sk-proj-4f9d0c1e8a7b6c5d4e3f2a1b0c9d8e7f';

describe('fingerprint', () => {
  it('is kind:16 hex digits of HMAC-SHA256(fingerprint key, "sealtrail fingerprint v1\\n" || value)', () => {
    const fp = fingerprint(ring, TOKEN);
    const want = createHmac('sha256', ring.purposeKey('k1', 'fingerprint'))
      .update(`sealtrail fingerprint v1\n${TOKEN}`)
      .digest('hex')
      .slice(0, FINGERPRINT_HEX_DIGITS);
    expect(fp).toBe(`token:${want}`);
  });

  it('is the same for the same value and key, and another for another value', () => {
    expect(fingerprint(ring, TOKEN)).toBe(fingerprint(ring, Buffer.from(TOKEN)));
    expect(fingerprint(ring, TOKEN)).not.toBe(fingerprint(ring, `${TOKEN}x`));
  });

  it('differs between trails and between keys', () => {
    const otherTrail = KeyRing.fromKeys([{ id: 'k1', key: K1 }], { context: 'other.test/trail' });
    const otherKey = KeyRing.fromKeys([{ id: 'k1', key: randomBytes(32) }], {
      context: 'example.test/trail',
    });
    expect(fingerprint(otherTrail, TOKEN)).not.toBe(fingerprint(ring, TOKEN));
    expect(fingerprint(otherKey, TOKEN)).not.toBe(fingerprint(ring, TOKEN));
  });

  it('names the kind and never holds the value', () => {
    const fp = fingerprint(ring, TOKEN, { kind: 'apikey' });
    expect(fp).toMatch(/^apikey:[0-9a-f]{16}$/);
    expect(fp).not.toContain(TOKEN.slice(0, 8));
    expect(() => fingerprint(ring, TOKEN, { kind: 'Api Key' })).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });

  describe('after a rotation', () => {
    const rotated = ring.rotate({ key: randomBytes(32) });

    it('uses the new key, and older fingerprints still match', () => {
      const old = fingerprint(ring, TOKEN);
      expect(fingerprint(rotated, TOKEN)).not.toBe(old);
      expect(fingerprintCandidates(rotated, TOKEN)).toEqual([fingerprint(rotated, TOKEN), old]);
      expect(fingerprintMatches(rotated, TOKEN, old)).toBe(true);
      expect(fingerprintMatches(rotated, 'another token', old)).toBe(false);
      expect(fingerprintMatches(rotated, TOKEN, 'not a fingerprint')).toBe(false);
    });
  });
});

describe('hmacField', () => {
  it('is sth1:<key id>:base64(HMAC-SHA256(purpose key, u32be(len aad) || aad || text))', () => {
    const h = hmacField(ring, 'hash', 'a short prompt', { aad: 'content.prompt' });
    const aad = Buffer.from('content.prompt');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(aad.length);
    const want = createHmac('sha256', ring.purposeKey('k1', 'hash'))
      .update(len)
      .update(aad)
      .update('a short prompt');
    expect(h).toBe(`sth1:k1:${want.digest('base64')}`);
  });

  it('differs by purpose and by associated data', () => {
    const a = hmacField(ring, 'hash', 'hi');
    expect(hmacField(ring, 'fingerprint', 'hi')).not.toBe(a);
    expect(hmacField(ring, 'hash', 'hi', { aad: 'x' })).not.toBe(a);
    expect(hmacField(ring, 'hash', 'hi')).toBe(a);
  });

  it('matches a presented text, also after rotation, and refuses another', () => {
    const recorded = hmacField(ring, 'hash', 'what was asked', { aad: 'p' });
    const rotated = ring.rotate({ key: randomBytes(32) });
    expect(verifyHmacField(rotated, 'hash', 'what was asked', recorded, 'p')).toBe(true);
    expect(verifyHmacField(rotated, 'hash', 'what was asked?', recorded, 'p')).toBe(false);
    expect(verifyHmacField(rotated, 'hash', 'what was asked', recorded, 'q')).toBe(false);
  });

  it('names a missing key with KEY_NOT_FOUND and refuses a malformed record with KEY_INVALID', () => {
    const recorded = hmacField(ring, 'hash', 'x');
    const other = KeyRing.fromKeys([{ id: 'k5', key: randomBytes(32) }]);
    expect(() => verifyHmacField(other, 'hash', 'x', recorded)).toThrow(
      expect.objectContaining({ code: 'KEY_NOT_FOUND', message: expect.stringContaining('k1') }),
    );
    expect(() => verifyHmacField(ring, 'hash', 'x', 'sth1:k1:short')).toThrow(
      expect.objectContaining({ code: 'KEY_INVALID' }),
    );
  });

  describe('with a text or associated data that is neither text nor bytes', () => {
    it('fails with USAGE naming it, not a TypeError that prints the value', () => {
      const recorded = hmacField(ring, 'hash', 'x');
      const calls: Array<[() => unknown, RegExp]> = [
        [() => hmacField(ring, 'hash', 42 as never), /text expected a string or bytes/],
        [() => hmacField(ring, 'hash', 'x', { aad: 42 as never }), /aad expected a string or bytes/],
        [() => verifyHmacField(ring, 'hash', null as never, recorded), /text expected a string or bytes/],
      ];
      for (const [call, message] of calls) {
        expect(call).toThrow(message);
        try {
          call();
        } catch (err) {
          expect((err as { code?: string }).code).toBe('USAGE');
        }
      }
    });
  });

  it('refuses a purpose that is not for HMACs', () => {
    expect(() => hmacField(ring, 'encryption' as never, 'x')).toThrow(
      expect.objectContaining({ code: 'USAGE' }),
    );
  });
});
