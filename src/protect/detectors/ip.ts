/**
 * IP addresses. IPv4: four dotted decimal octets (0–255, no leading zeros), optionally with a
 * `/prefix` that stays visible; not after "version", "ver", "release", "build", "rev" or
 * "firmware", where a dotted quad is a version (glued to a word, `v1.2.3.4`, it is never one). IPv6: any form `net.isIPv6` accepts (compressed `::`,
 * IPv4-mapped), with at least two colons and a digit, not glued to a word (`std::vector`,
 * `Foo::Bar`) and not a time or a MAC address.
 */
import { isIPv6 } from 'node:net';
import { C_DOT, C_SLASH, isWordChar, type NumberShape, readBefore } from './number-shape.js';

const VERSION_CONTEXT_RE = /\b(?:ver|version|release|build|firmware|rev|revision)\W{0,3}$/;

/**
 * The end of an IPv4 address made of groups `a..b` of `sh` (before any `/prefix`), or -1.
 */
export function findIpv4End(sh: NumberShape, a: number, b: number): number {
  if (a === 0 && sh.plus) return -1;
  let last = b;
  if (b - a === 4) {
    // CIDR: 10.0.0.0/8 — the address is redacted, the prefix length kept.
    if (sh.sepCode(b - 1) !== C_SLASH || sh.len(b) > 2 || sh.value(b) > 32) return -1;
    last = b - 1;
  } else if (b - a !== 3) {
    return -1;
  }
  for (let k = a; k <= last; k++) {
    if (k < last && sh.sepCode(k) !== C_DOT) return -1;
    const l = sh.len(k);
    if (l > 3 || (l > 1 && sh.digitAt(k, 0) === 0) || sh.value(k) > 255) return -1;
  }
  if (VERSION_CONTEXT_RE.test(readBefore(sh.text, sh.spanStart(a), 16))) return -1;
  return sh.ge[last]!;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/**
 * The IPv6 address around the colon at `colon`, as `[start, end]`, or the index to resume the
 * search from as `[-1, resume]`. Bounded: a run of hex digits and colons longer than an address
 * is skipped whole, so 100 KB of colons is one linear pass.
 */
export function matchIpv6(text: string, colon: number, out: [number, number]): void {
  const n = text.length;
  let s = colon;
  while (s > 0 && colon - s < 46) {
    const c = text.charCodeAt(s - 1);
    if (!isHex(c) && c !== 58) break;
    s--;
  }
  let e = colon + 1;
  let dots = 0;
  while (e < n && e - s < 64) {
    const c = text.charCodeAt(e);
    if (c === C_DOT) {
      // only inside an IPv4 tail: a digit on both sides
      if (!(e + 1 < n && text.charCodeAt(e + 1) >= 48 && text.charCodeAt(e + 1) <= 57)) break;
      dots++;
    } else if (!isHex(c) && c !== 58) break;
    e++;
  }
  out[0] = -1;
  out[1] = e;
  if (e - s > 45 || e - s < 3) return;
  // A single trailing colon ends a sentence or a label ("at fe80::1: refused"), "::" is the address.
  if (text.charCodeAt(e - 1) === 58 && text.charCodeAt(e - 2) !== 58) e--;
  if (s > 0 && (isWordChar(text.charCodeAt(s - 1)) || text.charCodeAt(s - 1) === C_DOT)) return;
  if (e < n && isWordChar(text.charCodeAt(e))) return;
  let colons = 0;
  let digit = false;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c === 58) colons++;
    else if (c >= 48 && c <= 57) digit = true;
  }
  if (colons < 2 || !digit || dots > 3) return;
  if (!isIPv6(text.slice(s, e))) return;
  out[0] = s;
  out[1] = e;
}
