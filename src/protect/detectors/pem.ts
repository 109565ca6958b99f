/**
 * PEM private keys (RFC 7468): from `-----BEGIN ... PRIVATE KEY-----` (RSA, EC, DSA, OPENSSH,
 * ENCRYPTED, PGP ... BLOCK) through the matching END line. A block cut off before its END line is
 * redacted through the end of its base64 body. Public keys and certificates are not secrets and
 * are left alone.
 */

const BEGIN_RE = /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/y;
const END_RE = /-----END (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----/y;

function isBodyChar(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 43 || // +
    c === 47 || // /
    c === 61 || // =
    c === 32 ||
    c === 9 ||
    c === 10 ||
    c === 13 ||
    c === 92 || // \ of an escaped "\n" in logged JSON
    c === 58 || // : of armor headers (Proc-Type: ...)
    c === 44 ||
    c === 45 // - of headers (DEK-Info)
  );
}

/** Where a PEM block starts: the secret-token scan finds it from its `-` anchor. */
export const PEM_BEGIN = '-----BEGIN ';

/**
 * What one text's blocks share, so that 100 KB of BEGIN lines stays one linear pass: the next
 * END line found, whether it failed, and where a body check stopped. Start with `newPemMemo()`.
 */
export interface PemMemo {
  /** Index of the first `-----END ` at or after the last search, or the text's length for none. */
  endAt: number;
  /** An END line that is not a private key's. */
  badEnd: number;
  /** Where a body check met a character no key body holds. */
  failedAt: number;
}

export function newPemMemo(): PemMemo {
  return { endAt: -1, badEnd: -1, failedAt: -1 };
}

/**
 * The end of the PEM private key block whose BEGIN line starts at `i`, or -1 (not a private
 * key). The END line must follow with nothing but key body between; without it the block runs
 * to the end of its body.
 */
export function matchPem(text: string, i: number, memo: PemMemo): number {
  BEGIN_RE.lastIndex = i;
  if (!BEGIN_RE.test(text)) return -1;
  let end = BEGIN_RE.lastIndex;
  if (memo.endAt < end) {
    const at = text.indexOf('-----END ', end);
    memo.endAt = at < 0 ? text.length : at;
  }
  const endAt = memo.endAt;
  if (endAt < text.length && endAt !== memo.badEnd) {
    let body = !(memo.failedAt >= end && memo.failedAt < endAt);
    for (let j = end; j < endAt && body; j++) {
      if (!isBodyChar(text.charCodeAt(j))) {
        body = false;
        memo.failedAt = j;
      }
    }
    if (body) {
      END_RE.lastIndex = endAt;
      if (END_RE.test(text)) return END_RE.lastIndex;
      memo.badEnd = endAt;
    }
  }
  // Cut off: through the base64 body, which ends at the first character a body cannot hold
  // or at the "-----" of the next block.
  while (end < text.length && isBodyChar(text.charCodeAt(end))) {
    if (text.charCodeAt(end) === 45 && text.startsWith('-----', end)) break;
    end++;
  }
  return end;
}
