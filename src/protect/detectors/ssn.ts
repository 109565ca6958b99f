/**
 * US Social Security numbers: `123-45-6789` or `123 45 6789`, or nine bare digits when the context
 * says SSN (a key named `ssn`, or "SSN" / "social security" just before). Numbers the SSA never
 * issues are not matched: area 000, 666 or 900–999, group 00, serial 0000.
 */
import { C_DASH, C_SPACE, HINT_SSN, type NumberShape, readBefore } from './number-shape.js';

const SSN_CONTEXT_RE = /\b(?:ssn|ss#|social security(?: number| no\.?)?)\W{0,4}$/;

/** True when the digits `d` (nine of them) form an SSN the SSA could issue. */
export function isIssuableSsn(d: string): boolean {
  if (d.length !== 9) return false;
  const area = Number(d.slice(0, 3));
  if (area === 0 || area === 666 || area >= 900) return false;
  return d.slice(3, 5) !== '00' && d.slice(5) !== '0000';
}

/** True when groups `a..b` of `sh` are an SSN. */
export function isSsn(sh: NumberShape, a: number, b: number, hint: number): boolean {
  if (a === 0 && sh.plus) return false;
  if (b - a === 2) {
    if (sh.len(a) !== 3 || sh.len(a + 1) !== 2 || sh.len(b) !== 4) return false;
    const s = sh.sepCode(a);
    if ((s !== C_DASH && s !== C_SPACE) || sh.sepCode(a + 1) !== s) return false;
    return isIssuableSsn(sh.digits(a, b));
  }
  if (b === a && sh.len(a) === 9) {
    if ((hint & HINT_SSN) === 0 && !SSN_CONTEXT_RE.test(readBefore(sh.text, sh.spanStart(a), 32)))
      return false;
    return isIssuableSsn(sh.digits(a, b));
  }
  return false;
}
