import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLuhnValid, luhnCheckDigit } from './luhn.js';

describe('isLuhnValid', () => {
  // ISO/IEC 7812-1 Annex B example and well-known test PANs.
  it.each(['79927398713', '4111111111111111', '5555555555554444', '378282246310005', '4111 1111 1111 1111'])(
    'accepts %s',
    (n) => {
      expect(isLuhnValid(n)).toBe(true);
    },
  );

  it.each(['79927398710', '4111111111111112', '1234567812345678', '', 'abc'])('rejects %j', (n) => {
    expect(isLuhnValid(n)).toBe(false);
  });

  it('checks only the given range', () => {
    expect(isLuhnValid('xx4111111111111111yy', 2, 18)).toBe(true);
    expect(isLuhnValid('xx4111111111111111yy', 3, 18)).toBe(false);
  });

  it('accepts every payload with its check digit, and no other digit', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{1,18}$/), (payload) => {
        const d = luhnCheckDigit(payload);
        for (let x = 0; x < 10; x++) expect(isLuhnValid(`${payload}${x}`)).toBe(x === d);
      }),
    );
  });
});
