/**
 * The numeric pass: finds every run of digits once and hands its shape to the IBAN, IPv4, SSN,
 * card and phone detectors. Digits are found with one `indexOf` per digit character, which V8
 * runs with SIMD: over a 600-character text about 40 ns for all ten, where a regex or a character
 * loop over the same text costs 0.8–3 µs on the development machine (measured).
 */
import { K } from '../detector-names.js';
import type { SensitiveNames } from '../sensitive-names.js';
import { isCard } from './card.js';
import { findIbanEnd } from './iban.js';
import { findIpv4End } from './ip.js';
import { findTokenAround, isTokenChar, judgeToken, MIN_SECRET_TOKEN } from './keyword-secrets.js';
import {
  C_CLOSE,
  C_DASH,
  C_DOT,
  C_OPEN,
  C_SLASH,
  C_SPACE,
  isAsciiLetter,
  isAttached,
  isDigit,
  isSpace,
  isWordChar,
  NumberShape,
} from './number-shape.js';
import { isPhone } from './phone.js';
import { isCardCodeAt, matchProsePasswordBefore } from './secret-pairs.js';
import { isSsn } from './ssn.js';

const DIGIT_CHARS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** Next position of each digit character; scratch reused by every scan (scans never nest here). */
const nextPos = new Int32Array(10);
const shape = new NumberShape();

/** Longest window of groups tried inside a long run of numbers: keeps a run of 100 KB linear. */
const MAX_WINDOW_GROUPS = 8;

/** True when the digits ending at `j` (followed by `after`) go on: a separator, then a digit or `(` within two characters. */
function continuesNumber(text: string, j: number, after: number): boolean {
  if (
    !(
      after === C_DASH ||
      after === C_DOT ||
      after === C_SLASH ||
      after === C_CLOSE ||
      after === C_OPEN ||
      isSpace(after)
    )
  )
    return false;
  const c1 = j + 1 < text.length ? text.charCodeAt(j + 1) : 0;
  const c2 = j + 2 < text.length ? text.charCodeAt(j + 2) : 0;
  return isDigit(c1) || c1 === C_OPEN || isDigit(c2);
}

/** True when a hit already found overlaps `[s, e)` (a token a formatted-secret rule claimed). */
function isCovered(hits: number[], s: number, e: number): boolean {
  for (let i = 0; i < hits.length; i += 3) if (hits[i]! < e && hits[i + 1]! > s) return true;
  return false;
}

function isUpperLetter(c: number): boolean {
  return c >= 65 && c <= 90;
}

const token: [number, number] = [-1, -1];
const pair: [number, number] = [-1, -1];
/** Strings up to this length look for digits with a loop. */
const SHORT = 40;

/**
 * Finds IBANs, IPv4 addresses, SSNs, cards and phone numbers in `text`, pushing
 * `start, end, kind` triples to `hits`. `on[kind]` is 1 for the detectors to run. With `names`,
 * each long token holding a digit is also judged by the keyword secret detectors
 * (keyword-secrets.ts); with `prose`, each word holding a digit is checked for a
 * password word before it ("my password is Summer2024!", secret-pairs.ts).
 */
export function scanNumbers(
  text: string,
  on: Uint8Array,
  hint: number,
  hits: number[],
  names: SensitiveNames | null,
  prose: boolean,
): void {
  const n = text.length;
  // A short string ("eu-west-1", "user-42"): the next digit is found with a loop, cheaper than
  // ten searches and their upkeep (measured). A longer one keeps the next place of each digit.
  const short = n <= SHORT;
  if (!short) {
    let any = false;
    for (let d = 0; d < 10; d++) {
      const p = text.indexOf(DIGIT_CHARS[d]!);
      nextPos[d] = p;
      if (p >= 0) any = true;
    }
    if (!any) return;
  }
  const wantIban = on[K.iban] === 1;
  const wantOthers = on[K.ipv4] === 1 || on[K.ssn] === 1 || on[K.card] === 1 || on[K.phone] === 1;
  let from = 0;
  let tokenEnd = 0;
  let proseEnd = 0;
  for (;;) {
    let i = -1;
    if (short) {
      i = from;
      while (i < n && !isDigit(text.charCodeAt(i))) i++;
      if (i === n) return;
    } else {
      for (let d = 0; d < 10; d++) {
        let p = nextPos[d]!;
        if (p !== -1 && p < from) {
          p = text.indexOf(DIGIT_CHARS[d]!, from);
          nextPos[d] = p;
        }
        if (p !== -1 && (i === -1 || p < i)) i = p;
      }
      if (i === -1) return;
    }
    let j = i + 1;
    while (j < n && isDigit(text.charCodeAt(j))) j++;
    const after = j < n ? text.charCodeAt(j) : 32;
    // IBAN: two upper-case letters, then the check digits.
    if (
      wantIban &&
      i >= 2 &&
      i + 13 <= n &&
      isUpperLetter(text.charCodeAt(i - 1)) &&
      isUpperLetter(text.charCodeAt(i - 2))
    ) {
      const end = findIbanEnd(text, i - 2);
      if (end > 0) {
        hits.push(i - 2, end, K.iban);
        from = end;
        continue;
      }
    }
    const before = i > 0 ? text.charCodeAt(i - 1) : 32;
    if (names !== null && i >= tokenEnd && (isTokenChar(before) || isTokenChar(after))) {
      findTokenAround(text, i, token);
      tokenEnd = token[1];
      if (token[1] - token[0] >= MIN_SECRET_TOKEN && !isCovered(hits, token[0], token[1])) {
        judgeToken(text, token[0], token[1], on, names, hits);
      }
    }
    // Digits glued to anything ("Summer2024!", "Geheim#42"): once per word, a password in prose?
    // (After the keyword detectors: a long random token after `password is` is theirs.)
    if (prose && i >= proseEnd && (before > 32 || after > 32)) {
      proseEnd = j;
      while (proseEnd < n && proseEnd - j < 64 && text.charCodeAt(proseEnd) > 32) proseEnd++;
      if (!isCovered(hits, i, j)) {
        matchProsePasswordBefore(text, i, pair);
        if (pair[0] >= 0) hits.push(pair[0], pair[1], K['secret:pair']);
      }
    }
    // Digits glued to a word (hashes, ids, tokens) are no number: skip the whole word, so a
    // 64-character hex digest costs one step, not one per digit run (measured).
    if (isWordChar(before) || isAsciiLetter(after) || after === 95) {
      while (j < n && isWordChar(text.charCodeAt(j))) j++;
      from = j;
      continue;
    }
    // A card's security code in prose: "cvv 123", "CVC is 4321".
    if (prose && (j - i === 3 || j - i === 4) && isCardCodeAt(text, i)) {
      hits.push(i, j, K['secret:pair']);
      from = j;
      continue;
    }
    // Most numbers in prose ("12%", "in 2024,") are short and stand alone: nothing here can
    // match fewer than 7 digits unless separators and more digits follow.
    if (!wantOthers || (j - i < 7 && !continuesNumber(text, j, after))) {
      from = j;
      continue;
    }
    const e = shape.read(text, i);
    from = e;
    if (e - shape.start < 7) continue;
    classify(shape, on, hint, hits);
  }
}

/** True when the separator after group `k` starts with a space: ` `, ` (`. */
function startsWithSpace(sh: NumberShape, k: number): boolean {
  return isSpace(sh.text.charCodeAt(sh.ge[k]!));
}

/** Judges one candidate: whole, then split at spaces, then card-sized windows. */
function classify(sh: NumberShape, on: Uint8Array, hint: number, hits: number[]): void {
  const last = sh.n - 1;
  if (judge(sh, 0, last, on, hint, hits)) return;
  if (last === 0) return;
  // Several numbers side by side ("2024-01-15 415-555-2671", "10.0.0.1 10.0.0.2"): each chunk
  // between spaces is judged alone when the chunks have separators of their own.
  let spaces = false;
  let others = false;
  for (let k = 0; k < last; k++) {
    if (startsWithSpace(sh, k)) spaces = true;
    if (sh.sepCode(k) !== C_SPACE) others = true;
  }
  let found = false;
  if (spaces && others) {
    let a = 0;
    for (let k = 0; k <= last; k++) {
      if (k === last || startsWithSpace(sh, k)) {
        if (k - a < MAX_WINDOW_GROUPS && judge(sh, a, k, on, hint, hits)) found = true;
        a = k + 1;
      }
    }
  }
  if (found || on[K.card] !== 1) return;
  // A card followed by more digits ("4111 1111 1111 1111 12/27"): windows of 13–19 digits at
  // space boundaries, only as cards, whose Luhn and issuer checks keep this precise.
  for (let a = 0; a <= last; a++) {
    if (a > 0 && sh.sepCode(a - 1) !== C_SPACE) continue;
    let digits = 0;
    for (let b = a; b <= last && b - a < MAX_WINDOW_GROUPS; b++) {
      digits += sh.len(b);
      if (digits > 19) break;
      if (b > a) {
        const s = sh.sepCode(b - 1);
        if (s !== C_SPACE && s !== C_DASH) break;
      }
      if (digits < 13) continue;
      const next = b < last ? sh.sepCode(b) : C_SPACE;
      if (next !== C_SPACE && next !== C_SLASH) continue;
      const start = sh.gs[a]!;
      const end = sh.ge[b]!;
      if (!isAttached(sh.text, sh.spanStart(a), end) && isCard(sh, a, b)) {
        hits.push(start, end, K.card);
        a = b;
        break;
      }
    }
  }
}

/**
 * Judges groups `a..b` as one number; pushes a hit and returns true when a detector claims it.
 * A phone number's span takes its `+` and parentheses; the others are digits and separators only.
 */
function judge(sh: NumberShape, a: number, b: number, on: Uint8Array, hint: number, hits: number[]): boolean {
  const start = sh.spanStart(a);
  const end = sh.spanEnd(b);
  if (isAttached(sh.text, start, end)) return false;
  const ds = sh.gs[a]!;
  const de = sh.ge[b]!;
  if (on[K.ipv4] === 1) {
    const ipEnd = findIpv4End(sh, a, b);
    if (ipEnd > 0) {
      hits.push(ds, ipEnd, K.ipv4);
      return true;
    }
  }
  if (on[K.ssn] === 1 && isSsn(sh, a, b, hint)) {
    hits.push(ds, de, K.ssn);
    return true;
  }
  if (on[K.card] === 1 && isCard(sh, a, b)) {
    hits.push(ds, de, K.card);
    return true;
  }
  if (on[K.phone] === 1 && isPhone(sh, a, b, hint)) {
    hits.push(start, end, K.phone);
    return true;
  }
  return false;
}
