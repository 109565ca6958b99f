/**
 * The ISO 7064 MOD 97-10 check of ISO 13616 IBANs: the first four characters moved to the end,
 * letters read as 10–35, and the number taken mod 97 must be 1.
 */

/**
 * The remainder mod 97 of the IBAN `text[start..end)` rearranged as ISO 13616 says, skipping
 * spaces. Letters must be upper case; any other character gives -1.
 */
export function ibanRemainder(text: string, start = 0, end = text.length): number {
  let rem = 0;
  let seen = 0;
  // Two passes over one range instead of building the rearranged string: the BBAN, then the first four.
  let firstFourEnd = start;
  for (let i = start; i < end && seen < 4; i++) {
    if (text.charCodeAt(i) === 32) continue;
    seen++;
    firstFourEnd = i + 1;
  }
  if (seen < 4) return -1;
  for (const [a, b] of [
    [firstFourEnd, end],
    [start, firstFourEnd],
  ] as const) {
    for (let i = a; i < b; i++) {
      const c = text.charCodeAt(i);
      if (c === 32) continue;
      if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
      else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
      else return -1;
    }
  }
  return rem;
}

/** True when the IBAN in `text[start..end)` (spaces allowed) passes the MOD 97-10 check. */
export function isIbanChecksumValid(text: string, start = 0, end = text.length): boolean {
  return ibanRemainder(text, start, end) === 1;
}

/** The two check digits for `country` (two upper-case letters) and `bban` (used to build test IBANs). */
export function ibanCheckDigits(country: string, bban: string): string {
  const rem = ibanRemainder(`${country}00${bban}`);
  return String(98 - rem).padStart(2, '0');
}
