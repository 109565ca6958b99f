/**
 * Email addresses, found from each `@`: a local part of letters, digits and `._%+-` before it and
 * a dotted domain with an alphabetic top-level label after it (an apostrophe between letters, as
 * in `o'brien@`, is part of the local part). Scanning outward from the `@`
 * (local part at most 64 characters) keeps 100 KB of `@` or of dotted labels linear.
 * Not matched: `@mentions`, `user@localhost`, `pkg@1.2.3`, asset names like `icon@2x.png`,
 * scp-style remotes like `git@github.com:org/repo.git`, user names in URLs (`ssh://git@host/`).
 * Letters with diacritics and Greek or Cyrillic letters count as letters (`jürgen.müller@`, `josé@`,
 * `иван@`, `user@münchen.de`: RFC 6531 addresses, and names users type anyway); other scripts do
 * not, since text in them runs into an address without a space (`メールはtaro@example.jp`).
 * Addresses written out ("alice at example dot com") are not detected.
 */
import { isAsciiLetter, isDigit, isNonAsciiLetter } from './number-shape.js';

// Labels of letters, digits and inner hyphens, then a top-level label of letters only; letters
// include the Latin-1 and Latin Extended ones (not × ÷) and Cyrillic (IDNs such as münchen.de, пример.рф).
const L = 'A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0400-\u04FF';
const DOMAIN_RE = new RegExp(
  `(?:[${L}0-9](?:[${L}0-9-]{0,61}[${L}0-9])?\\.)+[${L}]{2,24}(?![${L}0-9-])`,
  'y',
);

/** `2x.png`, `1.5x.jpg`: the scale of an image asset, not a domain. */
function isAssetScale(text: string, i: number): boolean {
  let j = i;
  while (j < text.length && (isDigit(text.charCodeAt(j)) || text.charCodeAt(j) === 46)) j++;
  return j > i && text.charCodeAt(j) === 120 /* x */ && text.charCodeAt(j + 1) === 46;
}

/**
 * What follows `host:` when `user@host` names a host, not a mailbox: an scp path (`~` or `/`
 * first, or a `/` before the next space) or a port (digits only).
 */
function isHostSuffix(text: string, i: number): boolean {
  const first = text.charCodeAt(i);
  if (first === 47 || first === 126) return true;
  let digits = true;
  let j = i;
  for (; j < text.length && j < i + 256; j++) {
    const c = text.charCodeAt(j);
    if (c === 47) return true;
    if (c <= 32) break;
    if (!isDigit(c)) digits = false;
  }
  return digits && j > i;
}

function isLocalChar(c: number): boolean {
  return (
    isAsciiLetter(c) ||
    isDigit(c) ||
    c === 46 ||
    c === 95 ||
    c === 37 ||
    c === 43 ||
    c === 45 ||
    // an address whose local part held one was kept whole (`josé@`) or cut after it (`jürgen.mü[EMAIL]`)
    (c >= 0xc0 && isNonAsciiLetter(c))
  );
}

/**
 * The email address around the `@` at `at` as `[start, end]`, or `[-1, -1]`.
 */
export function matchEmail(text: string, at: number, out: [number, number]): void {
  out[0] = -1;
  out[1] = -1;
  let s = at;
  while (s > 0 && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
  // an apostrophe between letters belongs to the name (o'brien@...); a quote around it does not
  while (
    s > 1 &&
    at - s < 63 &&
    text.charCodeAt(s - 1) === 39 &&
    isAsciiLetter(text.charCodeAt(s - 2)) &&
    isAsciiLetter(text.charCodeAt(s))
  ) {
    s--;
    while (s > 0 && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
  }
  // The local part neither starts nor ends with a dot.
  while (s < at && text.charCodeAt(s) === 46) s++;
  if (s === at || text.charCodeAt(at - 1) === 46) return;
  if (s > 0 && isLocalChar(text.charCodeAt(s - 1))) return; // longer than 64: not an address
  // a URL's user name, ssh://git@github.com/...: the url detector judges it
  if (s >= 2 && text.charCodeAt(s - 1) === 47 && text.charCodeAt(s - 2) === 47) return;
  DOMAIN_RE.lastIndex = at + 1;
  if (!DOMAIN_RE.test(text)) return;
  const end = DOMAIN_RE.lastIndex;
  if (isAssetScale(text, at + 1)) return;
  // an scp-style remote, git@github.com:org/repo.git, or postgres@db.example.com:5432 names a
  // host, not a mailbox (alice@example.com:Winter2024! is an address and a password: matched)
  if (text.charCodeAt(end) === 58 && isHostSuffix(text, end + 1)) return;
  out[0] = s;
  out[1] = end;
}
