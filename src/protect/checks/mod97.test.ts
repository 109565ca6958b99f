import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ibanCheckDigits, ibanRemainder, isIbanChecksumValid } from './mod97.js';

describe('isIbanChecksumValid', () => {
  // Examples of the SWIFT IBAN registry and ECBS.
  it.each([
    'DE89370400440532013000',
    'GB82WEST12345698765432',
    'GB82 WEST 1234 5698 7654 32',
    'FR1420041010050500013M02606',
    'NL91ABNA0417164300',
    'CH9300762011623852957',
    'NO9386011117947',
  ])('accepts %s', (iban) => {
    expect(isIbanChecksumValid(iban)).toBe(true);
  });

  it.each([
    'DE88370400440532013000',
    'GB82WEST12345698765433',
    'gb82west12345698765432',
    'DE89',
    'DE89-3704',
  ])('rejects %s', (iban) => {
    expect(isIbanChecksumValid(iban)).toBe(false);
  });

  it('gives -1 for a character outside 0-9 A-Z', () => {
    expect(ibanRemainder('DE89370400440532013_00')).toBe(-1);
  });

  it('makes check digits that validate, for any BBAN', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z]{2}$/), fc.stringMatching(/^[0-9A-Z]{8,30}$/), (country, bban) => {
        expect(isIbanChecksumValid(`${country}${ibanCheckDigits(country, bban)}${bban}`)).toBe(true);
      }),
    );
  });
});
