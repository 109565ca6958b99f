import { describe, expect, it } from 'vitest';
import { only } from '../../test-support/redaction.js';

describe('iban detector', () => {
  it.each([
    'DE89370400440532013000',
    'DE89 3704 0044 0532 0130 00',
    'GB82 WEST 1234 5698 7654 32',
    'GB82WEST12345698765432',
    'FR14 2004 1010 0505 0001 3M02 606',
    'NL91ABNA0417164300',
    'CH93 0076 2011 6238 5295 7',
    'NO93 8601 1117 947',
    'BE68 5390 0754 7034',
  ])('replaces %s', (iban) => {
    expect(only('iban', `IBAN: ${iban}, thanks`)).toBe('IBAN: [IBAN], thanks');
  });

  it.each([
    ['a wrong check digit', 'DE88 3704 0044 0532 0130 00'],
    ['the wrong length for the country', 'DE89 3704 0044 0532 0130 0'],
    ['an unknown country', 'ZZ89 3704 0044 0532 0130 00'],
    ['lower case', 'de89370400440532013000'],
    ['glued to a word', 'XDE89370400440532013000'],
    ['followed by more characters', 'DE89370400440532013000X'],
    ['a product code', 'SKU AB12 3456 7890 1234'],
  ])('leaves %s alone', (_what, text) => {
    expect(only('iban', text)).toBe(text);
  });
});
