/**
 * URLs with credentials: `scheme://user:password@host`. The whole user-info part (user and
 * password) is replaced; scheme, host, port and path stay readable. A URL with a user name and
 * no password (`ssh://git@host`) is not a secret and is left alone.
 */
import { isAsciiLetter, isDigit } from './number-shape.js';

const MARKER_RE = /^\[[A-Z_]+:[a-z0-9_-]+\]$/;

function stopsUserInfo(c: number): boolean {
  return c <= 32 || c === 47 || c === 34 || c === 39 || c === 60 || c === 62 || c === 96 || c === 92;
}

/**
 * The user-info of a URL whose `@` is at `at`, as `[start, end]` (end = `at`), or `[-1, -1]`.
 * Looks back at most 256 characters.
 */
export function matchUrlCredentials(text: string, at: number, out: [number, number]): void {
  out[0] = -1;
  out[1] = -1;
  let b = at - 1;
  while (b >= 0 && at - b < 256 && !stopsUserInfo(text.charCodeAt(b))) b--;
  // b is at the second slash of "://"
  if (b < 3 || text.charCodeAt(b) !== 47 || text.charCodeAt(b - 1) !== 47 || text.charCodeAt(b - 2) !== 58)
    return;
  const c = text.charCodeAt(b - 3);
  if (!isAsciiLetter(c) && !isDigit(c)) return;
  const colon = text.indexOf(':', b + 1);
  if (colon < 0 || colon >= at - 1) return; // no password, or an empty one
  if (MARKER_RE.test(text.slice(b + 1, at))) return; // redacted already
  out[0] = b + 1;
  out[1] = at;
}
