/**
 * Content encryption in the writer thread: the trail marks the content fields to encrypt and the
 * key slot to use when it frames an event (framing.ts), and hands the `encryption` purpose keys
 * over, slot by slot, with the batches (`ContentKeyUpdate`). Here each marked value is encrypted
 * under its slot's key, bound to the trail's origin, the entry id and the field path, exactly as
 * `encryptContent` does on the caller's thread. The caller's thread runs AES only while the writer
 * is far behind (`TrailProtection.encryptHere`), to share the work when this thread is the limit.
 */
import type { KeyObject } from 'node:crypto';
import { FIELD_CIPHER_PREFIX, sealedTextLength, sealFieldInto } from '../keys/field-cipher.js';
import { SEAL_MARK } from './framing.js';
import type { FramedEvent } from './line-builder.js';

/** One content key: its slot (never reused within an open trail), key id and purpose key. */
export interface ContentKeySlot {
  slot: number;
  keyId: string;
  key: KeyObject;
}

/** Keys to add before a batch, and slots to drop after it. */
export interface ContentKeyUpdate {
  add?: ContentKeySlot[];
  forget?: number[];
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;
const PATH_PREFIX = Buffer.from('content.', 'latin1');

/** A held key, with its ciphertext header `st1:<key id>:` as bytes. */
interface HeldKey {
  key: KeyObject;
  header: Buffer;
}

/** The content keys the writer holds, by slot. */
export class ContentKeyTable {
  readonly #keys = new Map<number, HeldKey>();
  /** The sealed event being framed: reused, so valid until the next `seal`. */
  #out = Buffer.allocUnsafeSlow(64 * 1024);
  /** Associated data: header, origin, entry id, field path (contentAad) as UTF-8. */
  #aad = Buffer.allocUnsafeSlow(1024);
  /** The header and origin #aad starts with, and where they end. */
  #header: Buffer | undefined;
  #origin = '';
  #originEnd = 0;
  readonly #content: number[] = [];

  add(slots: readonly ContentKeySlot[] | undefined): void {
    for (const s of slots ?? []) {
      this.#keys.set(s.slot, {
        key: s.key,
        header: Buffer.from(`${FIELD_CIPHER_PREFIX}${s.keyId}:`, 'latin1'),
      });
    }
  }

  forget(slots: readonly number[] | undefined): void {
    for (const s of slots ?? []) this.#keys.delete(s);
  }

  /**
   * `ev` (framed in `src`) with its marked content values encrypted, framed anew in a buffer this
   * table reuses: the result is valid until the next call.
   * @throws Error when its slot was never handed over (a bug, not bad input).
   */
  seal(src: Buffer, ev: FramedEvent, origin: string): { src: Buffer; ev: FramedEvent } {
    const { slot, id } = ev.seal!;
    const k = this.#keys.get(slot);
    if (k === undefined) throw new Error(`writer: no content key in slot ${slot}`);
    const c = ev.content;
    let room = ev.eventEnd - ev.eventStart;
    for (let i = 0; i < c.length; i += 4) {
      room += c[i + 3]! - c[i]! + 2 + k.header.length + sealedTextLength(c[i + 3]! - c[i + 2]!);
    }
    if (room > this.#out.length) this.#out = Buffer.allocUnsafeSlow(Math.max(room, 2 * this.#out.length));
    const out = this.#out;
    let at = src.copy(out, 0, ev.eventStart, ev.eventEnd);
    const content = this.#content;
    content.length = 0;
    const idEnd = this.#aadUpTo(k.header, origin, id);
    for (let i = 0; i < c.length; i += 4) {
      let nameStart = c[i]!;
      const marked = src[nameStart] === SEAL_MARK;
      if (marked) nameStart++;
      const nameAt = at;
      at += src.copy(out, at, nameStart, c[i + 1]!);
      const valueAt = at;
      if (marked) {
        // A field ciphertext is ASCII with nothing JSON escapes: its JSON is the text in quotes.
        const aadEnd = this.#aadPath(idEnd, src, nameStart, c[i + 1]!);
        const value = src.subarray(c[i + 2]!, c[i + 3]!);
        out[at++] = QUOTE;
        at += k.header.copy(out, at);
        at += sealFieldInto(out, at, k.key, this.#aad.subarray(0, aadEnd), value);
        out[at++] = QUOTE;
      } else at += src.copy(out, at, c[i + 2]!, c[i + 3]!);
      content.push(nameAt, valueAt, valueAt, at);
    }
    return {
      src: out,
      ev: { ts: ev.ts, eventStart: 0, eventEnd: ev.eventEnd - ev.eventStart, content },
    };
  }

  /** Writes header, origin and entry id lines of the associated data; returns where they end. */
  #aadUpTo(header: Buffer, origin: string, id: string): number {
    // as protect/content-modes.ts contentAad(origin, id, name): `origin \n id \n content.name`
    const room = header.length + 3 * (origin.length + id.length) + 2 + PATH_PREFIX.length + 256;
    if (room > this.#aad.length) {
      this.#aad = Buffer.allocUnsafeSlow(2 * room);
      this.#header = undefined;
    }
    const aad = this.#aad;
    if (header !== this.#header || origin !== this.#origin) {
      header.copy(aad, 0);
      let at = header.length;
      at += aad.write(origin, at, 'utf8');
      aad[at++] = NEWLINE;
      this.#header = header;
      this.#origin = origin;
      this.#originEnd = at;
    }
    let at = this.#originEnd;
    at += aad.write(id, at, 'utf8');
    aad[at++] = NEWLINE;
    return at + PATH_PREFIX.copy(aad, at);
  }

  /** Appends the field name (framed as latin1) to the associated data as UTF-8. */
  #aadPath(at: number, src: Buffer, nameStart: number, nameEnd: number): number {
    const need = at + 2 * (nameEnd - nameStart);
    if (need > this.#aad.length) {
      const bigger = Buffer.allocUnsafeSlow(2 * need);
      this.#aad.copy(bigger, 0, 0, at);
      this.#aad = bigger;
    }
    const aad = this.#aad;
    for (let j = nameStart; j < nameEnd; j++) {
      const b = src[j]!;
      if (b < 0x80) aad[at++] = b;
      else {
        aad[at++] = 0xc0 | (b >> 6);
        aad[at++] = 0x80 | (b & 0x3f);
      }
    }
    return at;
  }
}
