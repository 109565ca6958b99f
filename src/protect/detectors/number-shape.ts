/**
 * A run of digits with the separators people write inside numbers (`+`, `(`, `)`, one space,
 * `-`, `.`, `/`), split into digit groups. Phone, SSN, card and IPv4 detectors judge a shape,
 * or a window of its groups, instead of running one regex each over the whole text.
 */

/** Character codes used by the numeric detectors. */
export const C_SPACE = 32;
export const C_NBSP = 0xa0;
export const C_NNBSP = 0x202f;
export const C_PLUS = 43;
export const C_DASH = 45;
export const C_DOT = 46;
export const C_SLASH = 47;
export const C_OPEN = 40;
export const C_CLOSE = 41;
/** The code `sepCode` gives a separator made of more than one character, such as `) ` or ` (`. */
export const C_PAREN_SEP = -2;

/** Key-name hints: the value sits under a key such as `phone` or `ssn`, which is context enough. */
export const HINT_PHONE = 1;
export const HINT_SSN = 2;

/** ASCII 0-9. */
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
/** A space inside a number: ASCII space, no-break space, narrow no-break space (French grouping). */
export function isSpace(c: number): boolean {
  return c === C_SPACE || c === C_NBSP || c === C_NNBSP;
}
/** ASCII A-Z, a-z. */
export function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
/**
 * A letter beyond ASCII: Latin-1, Latin Extended-A/B (not × ÷), a combining diacritic, Greek or
 * Cyrillic (`josé`, `contraseña`, `hasło`, `şifre`, `пароль`).
 */
export function isNonAsciiLetter(c: number): boolean {
  return (
    (c >= 0xc0 && c <= 0x24f && c !== 0xd7 && c !== 0xf7) ||
    (c >= 0x300 && c <= 0x4ff && c !== 0x37e && c !== 0x387) // Greek ; and · are punctuation
  );
}
/** ASCII letter, digit or `_`. */
export function isWordChar(c: number): boolean {
  return isAsciiLetter(c) || isDigit(c) || c === 95;
}

/** One candidate: the text, its span and its digit groups. Reused between candidates (no allocation per number). */
export class NumberShape {
  text = '';
  /** The whole candidate, `+` and `(` included. */
  start = 0;
  end = 0;
  /** Starts with `+` (E.164). */
  plus = false;
  /** Starts with `(`. */
  paren = false;
  /** Number of digit groups. */
  n = 0;
  readonly gs: number[] = [];
  readonly ge: number[] = [];

  /** Digits in group `k`. */
  len(k: number): number {
    return this.ge[k]! - this.gs[k]!;
  }

  /** The separator between groups `k` and `k + 1`: its character code, or C_PAREN_SEP. Spaces all read as C_SPACE. */
  sepCode(k: number): number {
    const a = this.ge[k]!;
    if (this.gs[k + 1]! - a !== 1) return C_PAREN_SEP;
    const c = this.text.charCodeAt(a);
    if (isSpace(c)) return C_SPACE;
    return c === C_OPEN || c === C_CLOSE ? C_PAREN_SEP : c;
  }

  /** Digits in groups `a..b`. */
  digitCount(a: number, b: number): number {
    let d = 0;
    for (let k = a; k <= b; k++) d += this.len(k);
    return d;
  }

  /** The digits of groups `a..b`, separators left out. */
  digits(a: number, b: number): string {
    let s = '';
    for (let k = a; k <= b; k++) s += this.text.slice(this.gs[k], this.ge[k]);
    return s;
  }

  /** Character code of digit `i` (0-based) of group `k`. */
  digitAt(k: number, i: number): number {
    return this.text.charCodeAt(this.gs[k]! + i) - 48;
  }

  /** The value of group `k` as a number (groups are short where this is used). */
  value(k: number): number {
    return Number(this.text.slice(this.gs[k], this.ge[k]));
  }

  /** Where a window of groups `a..b` starts in the text: the candidate's `+` / `(` belong to a window from group 0. */
  spanStart(a: number): number {
    return a === 0 ? this.start : this.gs[a]!;
  }

  /** Where a window of groups `a..b` ends: a closing parenthesis right after the last group belongs to it. */
  spanEnd(b: number): number {
    return b === this.n - 1 ? this.end : this.ge[b]!;
  }

  /** True when every separator in groups `a..b` is `code`. */
  allSeps(a: number, b: number, code: number): boolean {
    for (let k = a; k < b; k++) if (this.sepCode(k) !== code) return false;
    return true;
  }

  /**
   * Reads the candidate around the digit at `i`: a leading `(` and `+`, then digit groups joined
   * by one separator. Returns the end. Linear in the candidate's length.
   */
  read(text: string, i: number): number {
    this.text = text;
    this.n = 0;
    const n = text.length;
    let s = i;
    let open = false;
    if (s > 0 && text.charCodeAt(s - 1) === C_OPEN) {
      s--;
      open = true;
    }
    this.paren = open;
    this.plus = s > 0 && text.charCodeAt(s - 1) === C_PLUS;
    if (this.plus) s--;
    this.start = s;
    let e = i;
    for (;;) {
      const g = e;
      while (e < n && isDigit(text.charCodeAt(e))) e++;
      this.gs[this.n] = g;
      this.ge[this.n] = e;
      this.n++;
      if (e >= n) break;
      const c = text.charCodeAt(e);
      const c1 = e + 1 < n ? text.charCodeAt(e + 1) : 0;
      if (c === C_DASH || c === C_DOT || c === C_SLASH || isSpace(c)) {
        if (isDigit(c1)) {
          e++;
          continue;
        }
        if (c1 === C_OPEN && !open && e + 2 < n && isDigit(text.charCodeAt(e + 2))) {
          e += 2;
          open = true;
          continue;
        }
        break;
      }
      if (c === C_CLOSE && open) {
        open = false;
        if (isDigit(c1)) {
          e++;
          continue;
        }
        if ((c1 === C_DASH || c1 === C_DOT || isSpace(c1)) && e + 2 < n && isDigit(text.charCodeAt(e + 2))) {
          e += 2;
          continue;
        }
        e++;
        break;
      }
      if (c === C_OPEN && !open && isDigit(c1)) {
        e++;
        open = true;
        continue;
      }
      break;
    }
    this.end = e;
    return e;
  }
}

/**
 * True when the window `[start, end)` is glued to a word: a letter, digit or `_` right before or
 * after, or a `-` `.` `/` `#` between it and one (`ORD-12345678`, `build/20240115`,
 * `2024-01-15T10`), or an `@` after (the local part of an address). Such digits belong to an
 * identifier, a version or a timestamp. An `@` before is allowed: `admin@10.0.0.5`.
 */
export function isAttached(text: string, start: number, end: number): boolean {
  const b = start > 0 ? text.charCodeAt(start - 1) : 0;
  if (isWordChar(b)) return true;
  if ((b === C_DASH || b === C_DOT || b === C_SLASH || b === 35) /* # */ && start > 1) {
    if (isWordChar(text.charCodeAt(start - 2))) return true;
  }
  const a = end < text.length ? text.charCodeAt(end) : 0;
  if (isAsciiLetter(a) || a === 95 || a === 64 /* @ */) return true;
  if ((a === C_DASH || a === C_SLASH) && end + 1 < text.length) {
    if (isWordChar(text.charCodeAt(end + 1))) return true;
  }
  return false;
}

/** The up to `n` characters before `start`, lower-cased, for context words. */
export function readBefore(text: string, start: number, n: number): string {
  return text.slice(Math.max(0, start - n), start).toLowerCase();
}

/**
 * True when the groups `a..b` read as a date: `2024-01-15`, `15.01.2024`, `01/15/24`, with one
 * separator kind throughout.
 */
export function isDateShape(sh: NumberShape, a: number, b: number): boolean {
  if (b - a !== 2) return false;
  const s = sh.sepCode(a);
  if ((s !== C_DASH && s !== C_DOT && s !== C_SLASH && s !== C_SPACE) || sh.sepCode(a + 1) !== s)
    return false;
  const l0 = sh.len(a);
  const l1 = sh.len(a + 1);
  const l2 = sh.len(a + 2);
  if (l0 === 4 && l1 <= 2 && l2 <= 2) return true;
  return l0 <= 2 && l1 <= 2 && (l2 === 4 || l2 === 2);
}
