/**
 * The per-entry checks of verify over a run of consecutive stored lines, done on the bytes where
 * they lie (a segment reader's buffer), for the threads that verify segments in parallel
 * (read/verify-pool.ts). A run shows, for each of its entries, what {@link verifyTrail} checks
 * line by line: the record's tail (`prev`, `seq`, `v`), the link to the entry before, the content
 * payloads against their digests, and the leaf hash, which it keeps. Only the first entry's seq
 * and prev, which come from the previous run, stay for the caller to check.
 *
 * It only ever proves a run clean: on anything it does not show at once (an erased payload, a
 * record of another shape, a mismatch) the run ends there not ok, and verifyTrail checks those
 * lines itself, with its own messages. So the first failing seq and its reason are the same
 * whether or not a run was checked here.
 */
import * as crypto from 'node:crypto';
import { CONTENT_DIGEST_PREFIX, parseRecordTailBytes } from './record.js';
import { hashRunNodes } from './run-tree.js';
import { type ErasureClaim, verifyContent } from './verify.js';

/** Entries checked in one run, at most: its leaves (32 bytes each) are what a run holds. */
export const RUN_MAX_ENTRIES = 32_768;

/** The outcome of a run of consecutive lines. */
export interface VerifiedRun {
  /** True when every line of the run passed; false: its last line did not (or was not shown to). */
  ok: boolean;
  /** Lines the run covers, including a last line that was not shown clean. */
  lines: number;
  /** The seq in the first record (valid when `ok` and `lines > 0`). */
  firstSeq: number;
  /** The `prev` of the first record, 32 bytes (valid when `ok` and `lines > 0`). */
  firstPrev: Uint8Array;
  /** The leaf hashes of the lines, 32 bytes each, in order (`lines * 32` bytes when `ok`). */
  leaves: Uint8Array;
  /** The Merkle nodes inside the run, from the leaves and `firstSeq` (chain/run-tree.ts); empty when not `ok`. */
  nodes: Uint8Array;
  /** Content payloads verified against their digests, and erased ones. */
  verified: number;
  erased: number;
  /** The erased payloads, whose recording entries the caller checks (verify.ts). */
  claims: ErasureClaim[];
}

const CONTENT_HEAD = Buffer.from('{"content":{', 'latin1');
const EVENT_HEAD = Buffer.from('{"event":{', 'latin1');
const CONTENT_END = Buffer.from('},"event":{', 'latin1');
const TAIL_PREV = ',"prev":"';
const TAIL_SEQ = '","seq":';
const TAIL_V = ',"v":1}';
const SALT_OPEN = '":{"salt":"';
const VALUE_OPEN = '","value":';
const PREFIX = Buffer.from(CONTENT_DIGEST_PREFIX, 'latin1');
/** verify.ts reads the content digests within the first bytes of a record only. */
const CONTENT_HEAD_WINDOW = 512;
const MAX_FIELDS = 64;

/**
 * SHA-256 as a latin1 string of its 32 bytes: one-shot crypto.hash (Node >= 20.12) asked for
 * latin1 costs about 20% less per call than for base64 and half as much as for a Buffer (measured,
 * 700-byte inputs); the call, not the bytes, is most of the cost of a hash this size.
 */
const sha256Latin1: (data: Uint8Array) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'binary')
    : (data) => crypto.createHash('sha256').update(data).digest('binary');

// Character classes of base64 (value + 1, 0: not base64) and of content names, by byte.
const B64 = new Uint8Array(256);
const NAME = new Uint8Array(256);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries())
  B64[c.charCodeAt(0)] = i + 1;
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz') NAME[c.charCodeAt(0)] = 2;
for (const c of '0123456789_') NAME[c.charCodeAt(0)] = 1;

function bytesAre(buf: Uint8Array, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (buf[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * True when `buf[at, at + 44)` is the canonical base64 of the 32 bytes `hash[off, off + 32)`:
 * 43 base64 characters, the last with its unused low bits zero, then `=`.
 */
function base64Is(buf: Uint8Array, at: number, hash: Uint8Array, off: number): boolean {
  let p = at;
  let o = off;
  for (let g = 0; g < 10; g++, p += 4, o += 3) {
    const a = B64[buf[p]!]! - 1;
    const b = B64[buf[p + 1]!]! - 1;
    const c = B64[buf[p + 2]!]! - 1;
    const d = B64[buf[p + 3]!]! - 1;
    if ((a | b | c | d) < 0) return false;
    if (hash[o] !== ((a << 2) | (b >> 4))) return false;
    if (hash[o + 1] !== (((b & 15) << 4) | (c >> 2))) return false;
    if (hash[o + 2] !== (((c & 3) << 6) | d)) return false;
  }
  const a = B64[buf[p]!]! - 1;
  const b = B64[buf[p + 1]!]! - 1;
  const c = B64[buf[p + 2]!]! - 1;
  if ((a | b | c) < 0 || (c & 3) !== 0 || buf[p + 3] !== 0x3d) return false;
  return hash[o] === ((a << 2) | (b >> 4)) && hash[o + 1] === (((b & 15) << 4) | (c >> 2));
}

/** Writes the 32 bytes of a latin1 hash string into `out` at `off`. */
function putHash(out: Uint8Array, off: number, hash: string): void {
  for (let i = 0; i < 32; i++) out[off + i] = hash.charCodeAt(i);
}

function bytesEqual(buf: Uint8Array, at: number, other: Uint8Array): boolean {
  for (let i = 0; i < other.length; i++) if (buf[at + i] !== other[i]) return false;
  return true;
}

/** The payload header bytes that end the value before a field, kept: names repeat. */
const afterByName = new Map<string, Buffer>();
function afterOf(name: string): Buffer {
  let b = afterByName.get(name);
  if (b === undefined) {
    b = Buffer.from(`},"${name}":{"salt":"`, 'latin1');
    if (afterByName.size < 1024) afterByName.set(name, b);
  }
  return b;
}

/** Builder of one {@link VerifiedRun}. */
export class EntryRun {
  private leaves: Buffer;
  private nextSeq = 0;
  private count = 0;
  private failed = false;
  private firstPrev: Uint8Array = new Uint8Array(0);
  private firstSeq = 0;
  private readonly counts = { verified: 0, erased: 0 };
  private readonly claims: ErasureClaim[] = [];
  // Scratch of the content header: [name start, name end, digest start] per field.
  private readonly fields = new Int32Array(3 * MAX_FIELDS);
  private readonly digest = new Uint8Array(32);
  /** The payload bytes a digest input is written over while it is hashed, kept to restore them. */
  private saved = new Uint8Array(128);

  constructor(capacity = 1024) {
    this.leaves = Buffer.allocUnsafeSlow(32 * Math.max(1, capacity));
  }

  /** Lines taken so far (the last one not ok when {@link ok} is false). */
  get lines(): number {
    return this.count + (this.failed ? 1 : 0);
  }

  get ok(): boolean {
    return !this.failed;
  }

  /**
   * Checks one line at `buf[start, end)` (without its newline), its TAB at `tab` (`end` when it
   * has no payloads). Requires `start >= 1`: the byte before the line is overwritten while the
   * leaf is hashed and then restored. Returns false when the line was not shown clean; the run then
   * takes no more lines.
   */
  add(buf: Buffer, start: number, tab: number, end: number): boolean {
    if (this.failed) return false;
    if (!this.addLine(buf, start, tab, end)) {
      this.failed = true;
      return false;
    }
    return true;
  }

  /** The run so far, with its Merkle nodes. The leaves are a view of this builder's buffer. */
  result(): VerifiedRun {
    const leaves = this.leaves.subarray(0, this.failed ? 0 : 32 * this.count);
    return {
      ok: !this.failed,
      lines: this.lines,
      firstSeq: this.firstSeq,
      firstPrev: this.firstPrev,
      leaves,
      nodes: this.failed ? new Uint8Array(0) : hashRunNodes(this.firstSeq, leaves),
      verified: this.counts.verified,
      erased: this.counts.erased,
      claims: this.claims,
    };
  }

  private addLine(buf: Buffer, start: number, tab: number, end: number): boolean {
    if (this.count === 0) {
      try {
        const tail = parseRecordTailBytes(buf.subarray(start, tab));
        this.firstSeq = tail.seq;
        this.firstPrev = new Uint8Array(tail.prev); // its own bytes: a run may be posted to another thread
        this.nextSeq = tail.seq;
      } catch {
        return false;
      }
    } else if (!this.tailIs(buf, start, tab)) return false;
    if (!this.contentMatches(buf, start, tab, end)) {
      try {
        verifyContent(
          buf.subarray(start, tab),
          tab < end ? buf.subarray(tab + 1, end) : undefined,
          this.counts,
          this.claims,
        );
      } catch {
        return false;
      }
    }
    // RFC 6962 leaf: SHA-256(0x00 || committed), hashed in place instead of copied.
    const before = buf[start - 1]!;
    buf[start - 1] = 0;
    const leaf = sha256Latin1(buf.subarray(start - 1, tab));
    buf[start - 1] = before;
    if (32 * (this.count + 1) > this.leaves.length) {
      const grown = Buffer.allocUnsafeSlow(2 * this.leaves.length);
      this.leaves.copy(grown);
      this.leaves = grown;
    }
    putHash(this.leaves, 32 * this.count, leaf);
    this.count++;
    this.nextSeq++;
    return true;
  }

  /**
   * True when the record ends exactly as the writer ends it with the expected seq and the previous
   * leaf as `prev`: what parseRecordTail reads, with the link and the seq checked at once.
   */
  private tailIs(buf: Buffer, start: number, tab: number): boolean {
    const seq = String(this.nextSeq);
    const at = tab - (TAIL_PREV.length + 44 + TAIL_SEQ.length + seq.length + TAIL_V.length);
    if (at < start || seq.length > 16) return false;
    let p = at;
    if (!bytesAre(buf, p, TAIL_PREV)) return false;
    p += TAIL_PREV.length;
    if (!base64Is(buf, p, this.leaves, 32 * (this.count - 1))) return false;
    p += 44;
    if (!bytesAre(buf, p, TAIL_SEQ)) return false;
    p += TAIL_SEQ.length;
    if (!bytesAre(buf, p, seq)) return false;
    return bytesAre(buf, p + seq.length, TAIL_V);
  }

  /**
   * verify.ts's fast content check (contentDigests + payloadsMatchFast) over bytes: the digests at
   * the head of the record, and payloads exactly `{"name":{"salt":"..","value":V},...}` for those
   * names in order, each V hashing to its digest. False: not shown here.
   */
  private contentMatches(buf: Buffer, start: number, tab: number, end: number): boolean {
    const limit = Math.min(tab, start + CONTENT_HEAD_WINDOW);
    if (start + EVENT_HEAD.length <= limit && bytesEqual(buf, start, EVENT_HEAD)) return tab === end;
    if (tab === end || start + CONTENT_HEAD.length > limit || !bytesEqual(buf, start, CONTENT_HEAD))
      return false;
    // {"content":{"<name>":"<digest>",...},"event":{
    const f = this.fields;
    let n = 0;
    let at = start + CONTENT_HEAD.length;
    for (;;) {
      if (n === MAX_FIELDS || at >= limit || buf[at] !== 0x22) return false;
      const nameStart = at + 1;
      let p = nameStart;
      if (p >= limit || NAME[buf[p]!] !== 2) return false;
      while (p < limit && NAME[buf[p]!] !== 0 && p - nameStart < 64) p++;
      if (p + 3 + 44 + 1 > limit || !bytesAre(buf, p, '":"')) return false;
      const digest = p + 3;
      // Its 43 base64 characters are checked when it is compared (base64Is).
      if (buf[digest + 43] !== 0x3d || buf[digest + 44] !== 0x22) return false;
      f[3 * n] = nameStart;
      f[3 * n + 1] = p;
      f[3 * n + 2] = digest;
      n++;
      at = digest + 45;
      if (at + CONTENT_END.length <= limit && bytesEqual(buf, at, CONTENT_END)) break;
      if (buf[at] !== 0x2c) return false;
      at++;
    }
    // {"<name>":{"salt":"<24>","value":<V>},...}
    at = tab + 1;
    for (let i = 0; i < n; i++) {
      const nameStart = f[3 * i]!;
      const nameEnd = f[3 * i + 1]!;
      const nameLen = nameEnd - nameStart;
      if (buf[at] !== (i === 0 ? 0x7b : 0x2c) || buf[at + 1] !== 0x22) return false;
      for (let k = 0; k < nameLen; k++) if (buf[at + 2 + k] !== buf[nameStart + k]) return false;
      at += 2 + nameLen;
      if (!bytesAre(buf, at, SALT_OPEN)) return false;
      at += SALT_OPEN.length;
      const salt = at;
      // 16 bytes in canonical base64: [A-Za-z0-9+/]{21}[AQgw]==
      for (let k = 0; k < 21; k++) if (B64[buf[salt + k]!] === 0) return false;
      const last = buf[salt + 21];
      if ((last !== 0x41 && last !== 0x51 && last !== 0x67 && last !== 0x77) || buf[salt + 22] !== 0x3d)
        return false;
      if (buf[salt + 23] !== 0x3d) return false;
      at += 24;
      if (!bytesAre(buf, at, VALUE_OPEN)) return false;
      at += VALUE_OPEN.length;
      let valueEnd: number;
      if (i + 1 < n) {
        const after = afterOf(buf.toString('latin1', f[3 * i + 3]!, f[3 * i + 4]!));
        valueEnd = buf.indexOf(after, at);
        if (valueEnd < 0 || valueEnd + after.length > end) return false;
      } else valueEnd = end - 2;
      if (valueEnd < at || buf[valueEnd] !== 0x7d) return false;
      if (!this.digestIs(buf, nameStart, nameLen, salt, at, valueEnd, f[3 * i + 2]!)) return false;
      at = valueEnd + 1;
    }
    if (at !== end - 1 || buf[at] !== 0x7d) return false;
    this.counts.verified += n;
    return true;
  }

  /**
   * True when SHA-256(prefix || name || "\n" || salt || "\n" || value) is the digest at `digest`.
   * The payload header before the value (`{"name":{"salt":"<salt>","value":`, or `,` first) is
   * exactly as long as that digest input's head, so the head is written over it, the value hashed
   * where it lies, and the header put back (measured: cheaper than copying the value out).
   */
  private digestIs(
    buf: Buffer,
    name: number,
    nameLen: number,
    salt: number,
    value: number,
    valueEnd: number,
    digest: number,
  ): boolean {
    const headLen = PREFIX.length + nameLen + 26;
    const from = value - headLen;
    if (headLen > this.saved.length) this.saved = new Uint8Array(2 * headLen);
    const saved = this.saved;
    for (let i = 0; i < headLen; i++) saved[i] = buf[from + i]!;
    let p = from;
    for (let i = 0; i < PREFIX.length; i++) buf[p++] = PREFIX[i]!;
    for (let i = 0; i < nameLen; i++) buf[p++] = buf[name + i]!;
    buf[p++] = 0x0a;
    // The salt moves right by 9 bytes: its old place is read from the saved copy.
    const savedSalt = salt - from;
    for (let i = 0; i < 24; i++) buf[p++] = saved[savedSalt + i]!;
    buf[p] = 0x0a;
    const hash = sha256Latin1(buf.subarray(from, valueEnd));
    for (let i = 0; i < headLen; i++) buf[from + i] = saved[i]!;
    putHash(this.digest, 0, hash);
    return base64Is(buf, digest, this.digest, 0);
  }
}
