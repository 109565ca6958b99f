import { describe, expect, it } from 'vitest';
import { only } from '../../test-support/redaction.js';
import { isIssuableSsn } from './ssn.js';

describe('ssn detector', () => {
  it.each([
    ['SSN 123-45-6789', 'SSN [SSN]'],
    ['id: 078-05-1120.', 'id: [SSN].'],
    ['ssn 123 45 6789', 'ssn [SSN]'],
    ['SSN: 123456789', 'SSN: [SSN]'],
    ['social security number 536228491', 'social security number [SSN]'],
    ['(665-12-3456)', '([SSN])'],
  ])('replaces the number in %j', (text, want) => {
    expect(only('ssn', text)).toBe(want);
  });

  it('takes a key named ssn as context for bare digits', () => {
    expect(only('ssn', '536228491', 'ssn')).toBe('[SSN]');
    expect(only('ssn', '536228491', 'customerSsn')).toBe('[SSN]');
    expect(only('ssn', '536228491', 'orderId')).toBe('536228491');
  });

  it.each([
    '000-12-3456',
    '666-12-3456',
    '900-12-3456',
    '999-12-3456',
    '123-00-4567',
    '123-45-0000',
    '123456789',
    'order 123456789',
    '123-45-67890',
    '1234-45-6789',
    '123-456-789',
    '123-45 6789',
    'A123-45-6789',
  ])('leaves %j alone', (text) => {
    expect(only('ssn', text)).toBe(text);
  });

  describe('isIssuableSsn', () => {
    it('rejects areas 000, 666 and 900-999, group 00 and serial 0000', () => {
      expect(isIssuableSsn('001010001')).toBe(true);
      expect(isIssuableSsn('899999999')).toBe(true);
      expect(isIssuableSsn('000123456')).toBe(false);
      expect(isIssuableSsn('666123456')).toBe(false);
      expect(isIssuableSsn('900123456')).toBe(false);
      expect(isIssuableSsn('123004567')).toBe(false);
      expect(isIssuableSsn('123450000')).toBe(false);
      expect(isIssuableSsn('12345678')).toBe(false);
    });
  });
});
