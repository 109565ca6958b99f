/**
 * Payment card numbers (PANs): 13 to 19 digits, bare or in groups split by spaces or dashes (one
 * kind throughout), with an issuer prefix in use (ISO/IEC 7812 IIN ranges of Visa, Mastercard,
 * American Express, Discover, Diners Club, JCB, UnionPay, Maestro, Mir, RuPay, Troy) and a valid
 * Luhn check digit. The prefix and length checks keep Luhn's one-in-ten chance match on random
 * 16-digit numbers (order ids, tracking numbers) from counting as cards.
 */
import { isLuhnValid } from '../checks/luhn.js';
import { C_DASH, C_SPACE, type NumberShape } from './number-shape.js';

const MAESTRO_PREFIXES: ReadonlySet<number> = new Set([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763]);

/** True when `d` (the card's digits) starts with an issuer prefix in use for a number of its length. */
export function hasKnownIssuerPrefix(d: string): boolean {
  if (d.length < 6) return false;
  let p6 = 0;
  for (let i = 0; i < 6; i++) p6 = p6 * 10 + (d.charCodeAt(i) - 48);
  return isIssuerPrefix(p6, d.length);
}

/** True when `p6`, the first six digits of a card number of `len` digits, is an issuer prefix in use for that length. */
function isIssuerPrefix(p6: number, len: number): boolean {
  const p4 = Math.floor(p6 / 100);
  const p3 = Math.floor(p6 / 1000);
  const p2 = Math.floor(p6 / 10000);
  const p1 = Math.floor(p6 / 100000);
  const long = len >= 16 && len <= 19;
  if (p1 === 4) return len === 13 || len === 16 || len === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return len === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return len === 15; // American Express
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925)) return long; // Discover
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39)
    return len >= 14 && len <= 19; // Diners
  if (p4 >= 3528 && p4 <= 3589) return long; // JCB
  if (p2 === 62) return long; // UnionPay
  if (p4 >= 2200 && p4 <= 2204) return long; // Mir
  if (p2 === 60 || p3 === 652) return len === 16; // RuPay
  if (p4 === 9792) return len === 16; // Troy
  if (MAESTRO_PREFIXES.has(p4)) return len >= 13 && len <= 19; // Maestro
  return false;
}

/** True when groups `a..b` of `sh` are a card number. */
export function isCard(sh: NumberShape, a: number, b: number): boolean {
  if (a === 0 && sh.plus) return false;
  const total = sh.digitCount(a, b);
  if (total < 13 || total > 19) return false;
  if (b > a) {
    const s = sh.sepCode(a);
    if ((s !== C_SPACE && s !== C_DASH) || !sh.allSeps(a, b, s)) return false;
  }
  // The first six digits and the Luhn sum read in place: no string is built per candidate.
  let p6 = 0;
  let seen = 0;
  for (let k = a; k <= b && seen < 6; k++) {
    for (let i = 0; i < sh.len(k) && seen < 6; i++, seen++) p6 = p6 * 10 + sh.digitAt(k, i);
  }
  return isIssuerPrefix(p6, total) && isLuhnValid(sh.text, sh.gs[a]!, sh.ge[b]!);
}
