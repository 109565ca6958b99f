/**
 * Phone numbers, judged on a number's shape and context rather than by digit count alone, so that
 * dates, versions, order numbers, ISBNs and timestamps are left alone:
 * - E.164 and international: `+` then 8–15 digits, any of space, `-`, `.` and parentheses between;
 *   `00` then 11–15 digits;
 * - North American: `(415) 555-2671`, `415-555-2671`, `415.555.2671`, `1-800-555-0199` (area and
 *   exchange codes start with 2–9);
 * - national with a trunk `0`: `020 7946 0958`, `06 12 34 56 78`, `(02) 9374 4000`, `030/901820`
 *   (9–12 digits in groups of two or more, one separator kind);
 * - a parenthesised two-digit area code, then 4–5 and 4 digits with a dash: `(11) 91234-5678` (Brazil);
 * - anything else of 7–15 digits (bare `4155552671`, `555-1234`) only with context: a key named
 *   `phone`, `mobile`, `tel`... or such a word just before.
 * Never a date shape, and never after words like "order", "invoice", "ISBN", "tracking", "#".
 */
import {
  C_DASH,
  C_DOT,
  C_PAREN_SEP,
  C_SLASH,
  HINT_PHONE,
  isDateShape,
  type NumberShape,
  readBefore,
} from './number-shape.js';

const PHONE_CONTEXT_RE =
  /\b(?:phone|tel|telephone|mobile|mob|cell|cellphone|call|fax|whatsapp|sms|text me|dial|ring|contact|reach (?:me|us|him|her|them))\b/;
const NOT_PHONE_CONTEXT_RE =
  /(?:\b(?:order|invoice|inv|ref|reference|ticket|case|id|sku|isbn|issn|tracking|shipment|parcel|serial|account|acct|version|ver|build|release|po|zip|postcode)\W{0,3}(?:no\b\.?|nr\b\.?|number|num|#)?|#)\W{0,3}$/;

/** True when groups `a..b` of `sh` are a phone number; `hint` carries the key-name context. */
export function isPhone(sh: NumberShape, a: number, b: number, hint: number): boolean {
  const d = sh.digitCount(a, b);
  if (d < 7 || d > 15) return false;
  if (isDateShape(sh, a, b)) return false;
  const groups = b - a + 1;
  let slash = false;
  let first = -1;
  let same = true;
  for (let k = a; k < b; k++) {
    const s = sh.sepCode(k);
    if (s === C_SLASH) slash = true;
    if (s === C_PAREN_SEP) continue;
    if (first === -1) first = s;
    else if (s !== first) same = false;
  }
  const f0 = sh.digitAt(a, 0);
  const f1 = d > 1 ? (sh.len(a) > 1 ? sh.digitAt(a, 1) : sh.digitAt(a + 1, 0)) : -1;
  if (a === 0 && sh.plus) return d >= 8 && f0 !== 0 && !slash;
  const start = sh.spanStart(a);
  if (NOT_PHONE_CONTEXT_RE.test(readBefore(sh.text, start, 16))) return false;
  // North American Numbering Plan, with an optional leading 1.
  let k = a;
  if (groups === 4 && sh.len(k) === 1 && f0 === 1) k++;
  if (
    b - k === 2 &&
    !slash &&
    sh.len(k) === 3 &&
    sh.len(k + 1) === 3 &&
    sh.len(k + 2) === 4 &&
    sh.digitAt(k, 0) >= 2 &&
    sh.digitAt(k + 1, 0) >= 2
  ) {
    return true;
  }
  // A parenthesised two-digit area code without a trunk 0, then 4 or 5 and 4 digits joined by a
  // dash: `(11) 91234-5678`, `(21) 3456-7890` (Brazil).
  if (
    a === 0 &&
    sh.paren &&
    groups === 3 &&
    sh.sepCode(a) === C_PAREN_SEP &&
    sh.len(a) === 2 &&
    f0 > 0 &&
    (sh.len(a + 1) === 4 || sh.len(a + 1) === 5) &&
    sh.len(a + 2) === 4 &&
    sh.sepCode(a + 1) === C_DASH &&
    !(isYear(sh, a + 1) && isYear(sh, a + 2)) // `(12) 2019-2020`: a count and a span of years
  ) {
    return true;
  }
  // International call prefix 00, then a country code.
  if (f0 === 0 && f1 === 0) return groups >= 2 && d >= 11 && same && !slash;
  // National numbers with a trunk 0.
  if (f0 === 0 && f1 > 0 && d >= 9 && d <= 12 && groups >= 2 && groups <= 6 && same && sh.len(a) <= 5) {
    let short = false;
    for (let g = a; g <= b; g++) if (sh.len(g) < 2) short = true;
    if (!short && (!slash || groups === 2)) return true;
  }
  if ((hint & HINT_PHONE) !== 0 || PHONE_CONTEXT_RE.test(readBefore(sh.text, start, 40))) {
    // Versions and dotted numbers stay numbers even after "call".
    return !(first === C_DOT && groups >= 3 && f0 !== 0) && !slash;
  }
  return false;
}

/** Group `k` is a four-digit year of 1900–2099. */
function isYear(sh: NumberShape, k: number): boolean {
  if (sh.len(k) !== 4) return false;
  const v = sh.value(k);
  return v >= 1900 && v <= 2099;
}
