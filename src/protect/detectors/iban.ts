/**
 * IBANs (ISO 13616): a country code with its registered length, two check digits and the BBAN,
 * upper case, bare or in groups of four split by single spaces, passing the MOD 97-10 check.
 * A number that fails the check, or has the wrong length for its country, is left alone.
 */
import { isIbanChecksumValid } from '../checks/mod97.js';
import { isDigit, isWordChar } from './number-shape.js';

/** IBAN length per country, from the SWIFT IBAN registry. */
// biome-ignore format: a registry table reads best as a table
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27,
  GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26,
  IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, MC: 27, MD: 24,
  ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24,
  TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};

function isUpperAlnum(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90);
}

/**
 * The end of the IBAN starting at `at` (its country code), or -1. The caller found two check
 * digits after two upper-case letters at `at`.
 */
export function findIbanEnd(text: string, at: number): number {
  if (at > 0 && isWordChar(text.charCodeAt(at - 1))) return -1;
  const want = IBAN_LENGTHS[text.slice(at, at + 2)];
  if (want === undefined) return -1;
  const n = text.length;
  let count = 0;
  let i = at;
  let end = at;
  while (i < n && count < want) {
    const c = text.charCodeAt(i);
    if (isUpperAlnum(c)) {
      count++;
      i++;
      end = i;
    } else if (c === 32 && count >= 4 && i + 1 < n && isUpperAlnum(text.charCodeAt(i + 1))) {
      i++;
    } else {
      break;
    }
  }
  if (count !== want) return -1;
  if (end < n && isWordChar(text.charCodeAt(end))) return -1;
  return isIbanChecksumValid(text, at, end) ? end : -1;
}
