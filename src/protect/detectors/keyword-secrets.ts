/**
 * Secrets that only their surroundings give away, judged on each long token (16+ characters of
 * `A-Z a-z 0-9 _ - + / = . ~` holding a digit) that the numeric pass meets:
 * - `Bearer <token>`, letters and digits mixed;
 * - AWS secret access keys: 40 characters of base64 with an `aws` word or an access key id in
 *   the 160 characters before;
 * - high-entropy strings right after a secret keyword: "the API key is 9f8e…", `secret: tR4…`,
 *   `token → 7Hq…` (at least two of lower / upper / digit, Shannon entropy at least 3.2 bits per
 *   character, a little less for tokens under 20 characters).
 * Starting from the token instead of the keyword keeps a clean text free of this work: only
 * digits glued into a long word lead here (measured: 20 keyword probes cost ~5 µs per 600
 * characters, this costs nothing when no such token exists). The price: a token without any
 * digit is not found by these detectors (6% of random 16-character tokens, 0.1% of AWS keys).
 *
 * A keyword counts only as a whole word or name segment (`monkey`, `tokenizer` do not), and a
 * bare `key` only after a word that makes it a secret (`api key`, `secret key`, `access key`), so
 * `primary key`, `cache key` and `idempotency key` values are left alone. Between keyword and
 * token only separators and up to three of the words is / was / are / be / set / to / equals /
 * value / now / new / one / it / here / the may stand ("the secret, new one is …").
 */
import { charClassCount, shannonEntropy } from '../checks/entropy.js';
import { K } from '../detector-names.js';
import { isSecretKeyword, type SensitiveNames, splitName } from '../sensitive-names.js';
import { isAsciiLetter, isDigit } from './number-shape.js';

/** Words that make a following bare `key` a secret ("here's the key: …"; not `cache key`, `primary key`). */
const KEY_QUALIFIERS: ReadonlySet<string> = new Set([
  'api',
  'secret',
  'access',
  'private',
  'signing',
  'encryption',
  'master',
  'session',
  'client',
  'app',
  'account',
  'auth',
  'license',
  'aws',
  'openai',
  'anthropic',
  'stripe',
  'github',
  'slack',
  'google',
  'azure',
  'gcp',
  'my',
  'your',
  'our',
  'the',
  'this',
  'that',
  'new',
]);
const FILLER_WORDS: ReadonlySet<string> = new Set([
  'is',
  'was',
  'are',
  'be',
  'set',
  'to',
  'equals',
  'value',
  'now',
  'new',
  'one',
  'it',
  'here',
  'the',
]);
/** Shortest token judged here. */
export const MIN_SECRET_TOKEN = 16;
const MAX_TOKEN = 4096;

function isNamePart(c: number): boolean {
  return isAsciiLetter(c) || isDigit(c) || c === 95 || c === 45 || c === 46;
}

/** A character of a token: base64, base64url, hex, and `.` `~` of opaque tokens. */
export function isTokenChar(c: number): boolean {
  return (
    isAsciiLetter(c) ||
    isDigit(c) ||
    c === 95 || // _
    c === 45 || // -
    c === 43 || // +
    c === 47 || // /
    c === 61 || // =
    c === 46 || // .
    c === 126 // ~
  );
}

/** The token around position `i`: `[start, end)` written to `out`, bounded to 4096 characters each way. */
export function findTokenAround(text: string, i: number, out: [number, number]): void {
  let s = i;
  while (s > 0 && i - s < MAX_TOKEN && isTokenChar(text.charCodeAt(s - 1))) s--;
  let e = i;
  while (e < text.length && e - i < MAX_TOKEN && isTokenChar(text.charCodeAt(e))) e++;
  out[0] = s;
  out[1] = e;
}

function isBase64Char(c: number): boolean {
  return isAsciiLetter(c) || isDigit(c) || c === 43 || c === 47;
}

/** 40 base64 characters with lower, upper and digits: the shape of an AWS secret access key. */
function isAwsSecretShape(text: string, s: number, e: number): boolean {
  if (e - s !== 40) return false;
  for (let i = s; i < e; i++) if (!isBase64Char(text.charCodeAt(i))) return false;
  return charClassCount(text, s, e) === 3;
}

function looksRandom(text: string, s: number, e: number): boolean {
  const len = e - s;
  if (len < MIN_SECRET_TOKEN || charClassCount(text, s, e) < 2) return false;
  return shannonEntropy(text, s, e) >= Math.min(3.2, Math.log2(len) * 0.75);
}

/** True when an AWS word or access key id stands within 160 characters before `s`. */
function awsContextBefore(text: string, s: number): boolean {
  return /aws|amazon|\bA(?:KIA|SIA)[A-Z0-9]{16}\b/i.test(text.slice(Math.max(0, s - 160), s));
}

/**
 * Goes back from `s` over separators and at most three filler words to the word before.
 * Returns the word's `[start, end)` in `out`, or start -1.
 */
function keywordBefore(text: string, s: number, out: [number, number]): void {
  out[0] = -1;
  let i = s;
  for (let words = 0; words <= 3; words++) {
    const gapEnd = i;
    while (i > 0 && gapEnd - i < 6) {
      const c = text.charCodeAt(i - 1);
      // space, tab, : = " ' ` > ( , and the - of ->
      if (
        c === 44 ||
        c === 32 ||
        c === 9 ||
        c === 58 ||
        c === 61 ||
        c === 34 ||
        c === 39 ||
        c === 96 ||
        c === 62 ||
        c === 40 ||
        c === 45
      )
        i--;
      else break;
    }
    if (i === gapEnd && words > 0) return; // two words with nothing between
    const we = i;
    while (i > 0 && we - i < 64 && isNamePart(text.charCodeAt(i - 1))) i--;
    if (i === we) return;
    let ws = i;
    while (ws < we && text.charCodeAt(ws) === 46) ws++;
    if (!FILLER_WORDS.has(text.slice(ws, we).toLowerCase())) {
      out[0] = ws;
      out[1] = we;
      return;
    }
  }
}

/** The letters-only word before `s` (skipping spaces, `_`, `-`), lower-cased. */
function wordBefore(text: string, s: number): string {
  let e = s;
  while (
    e > 0 &&
    (text.charCodeAt(e - 1) === 32 || text.charCodeAt(e - 1) === 95 || text.charCodeAt(e - 1) === 45)
  )
    e--;
  let b = e;
  while (b > 0 && e - b < 16 && isAsciiLetter(text.charCodeAt(b - 1))) b--;
  return text.slice(b, e).toLowerCase();
}

const word: [number, number] = [-1, -1];

/**
 * Judges the token `text[ts..te)` and pushes a `start, end, kind` triple when it is a bearer
 * token, an AWS secret key or a keyword-adjacent random string.
 */
export function judgeToken(
  text: string,
  ts: number,
  te: number,
  on: Uint8Array,
  names: SensitiveNames,
  hits: number[],
): void {
  // A name=value inside the token: the value is the candidate, the name its keyword.
  let s = ts;
  for (let i = te - 2; i > ts; i--) {
    if (text.charCodeAt(i) === 61 && text.charCodeAt(i + 1) !== 61) {
      s = i + 1;
      break;
    }
  }
  let e = te;
  while (e > s && (text.charCodeAt(e - 1) === 46 || text.charCodeAt(e - 1) === 45)) e--;
  while (s < e && (text.charCodeAt(s) === 46 || text.charCodeAt(s) === 45 || text.charCodeAt(s) === 47)) s++;
  if (e - s < MIN_SECRET_TOKEN) return;
  const aws = on[K['secret:aws']] === 1 && isAwsSecretShape(text, s, e) && awsContextBefore(text, s);
  if (aws) {
    hits.push(s, e, K['secret:aws']);
    return;
  }
  keywordBefore(text, s, word);
  if (word[0] < 0) return;
  const w = text.slice(word[0], word[1]);
  const lower = w.toLowerCase();
  if (lower === 'bearer') {
    if (on[K['secret:bearer']] === 1 && charClassCount(text, s, e) >= 2) hits.push(s, e, K['secret:bearer']);
    return;
  }
  if (on[K['secret:entropy']] !== 1) return;
  const parts = splitName(w);
  const last = parts[parts.length - 1];
  if (last === undefined) return;
  const keyword =
    parts.length === 1 && last === 'key'
      ? KEY_QUALIFIERS.has(wordBefore(text, word[0]))
      : (parts.length === 1 && isSecretKeyword(last)) || names.isSensitive(w);
  if (keyword && looksRandom(text, s, e)) hits.push(s, e, K['secret:entropy']);
}
