/** The Luhn (mod 10) check digit algorithm of ISO/IEC 7812-1 Annex B, used by payment card numbers. */

/**
 * True when the ASCII digits of `text` from `start` to `end` (other characters skipped) pass the
 * Luhn check. Requires at least one digit in the range.
 */
export function isLuhnValid(text: string, start = 0, end = text.length): boolean {
  let sum = 0;
  let double = false;
  let digits = 0;
  for (let i = end - 1; i >= start; i--) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) continue;
    digits++;
    if (double) sum += d < 5 ? d * 2 : d * 2 - 9;
    else sum += d;
    double = !double;
  }
  return digits > 0 && sum % 10 === 0;
}

/** The Luhn check digit to append to the ASCII digits `payload` (used to build test numbers). */
export function luhnCheckDigit(payload: string): number {
  for (let d = 0; d < 10; d++) if (isLuhnValid(`${payload}${d}`)) return d;
  /* c8 ignore next */
  throw new Error('unreachable: one of ten check digits always fits');
}
