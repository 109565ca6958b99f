import { describe, expect, it } from 'vitest';
import { only } from '../../test-support/redaction.js';
import { luhnCheckDigit } from '../checks/luhn.js';
import { hasKnownIssuerPrefix } from './card.js';

describe('card detector', () => {
  it.each([
    ['Visa', '4111111111111111'],
    ['Visa, spaces', '4111 1111 1111 1111'],
    ['Visa, dashes', '4111-1111-1111-1111'],
    ['Visa, 13 digits', '4222222222222'],
    ['Mastercard', '5555 5555 5555 4444'],
    ['Mastercard 2-series', '2223 0031 2200 3222'],
    ['American Express 4-6-5', '3782 822463 10005'],
    ['Discover', '6011 1111 1111 1117'],
    ['Diners Club', '3056 9309 0259 04'],
    ['JCB', '3530 1113 3330 0000'],
    ['UnionPay 19 digits', `621234567890123456${luhnCheckDigit('621234567890123456')}`],
    ['Visa in parentheses', '(4111 1111 1111 1111)'],
    ['Maestro', '6759649826438453'],
  ])('replaces a %s number', (_brand, n) => {
    const want = n.startsWith('(') ? 'paid with ([CARD]).' : 'paid with [CARD].';
    expect(only('card', `paid with ${n}.`)).toBe(want);
  });

  it('finds a card followed by its expiry date', () => {
    expect(only('card', 'card 4111 1111 1111 1111 12/27')).toBe('card [CARD] 12/27');
  });

  it.each([
    ['a 16-digit number failing Luhn', '4111111111111112'],
    ['a Luhn-valid number with no issuer prefix', '1234567812345670'],
    ['a Luhn-valid number of a length its issuer never uses', '411111111111116'],
    ['mixed separators', '4111 1111-1111 1111'],
    ['dots', '4111.1111.1111.1111'],
    ['too long', '41111111111111111111'],
    ['glued to letters', 'tx4111111111111111'],
    ['a tracking number', '9400 1000 0000 0000 0000 00'],
    ['an ISBN', '978-3-16-148410-0'],
    ['a timestamp in ms', '1700000000123'],
  ])('leaves %s alone', (_what, text) => {
    expect(only('card', text)).toBe(text);
  });

  it('stays linear on 100 KB of digit groups', () => {
    const text = '4111 '.repeat(20_000);
    expect(only('card', text)).toBe(text);
  });

  describe('hasKnownIssuerPrefix', () => {
    it('matches the prefix to the length', () => {
      expect(hasKnownIssuerPrefix('4111111111111111')).toBe(true);
      expect(hasKnownIssuerPrefix('378282246310005')).toBe(true);
      expect(hasKnownIssuerPrefix('3782822463100050')).toBe(false);
      expect(hasKnownIssuerPrefix('5555555555554444')).toBe(true);
      expect(hasKnownIssuerPrefix('555555555555444')).toBe(false);
      expect(hasKnownIssuerPrefix('9111111111111111')).toBe(false);
    });
  });
});
