/**
 * Content encryption in the writer thread: the trail marks the content fields to encrypt and the
 * key slot to use when it frames an event (framing.ts), and hands the `encryption` purpose keys
 * over, slot by slot, with the batches (`ContentKeyUpdate`). Here each marked value is encrypted
 * under its slot's key, bound to the trail's origin, the entry id and the field path, exactly as
 * `encryptContent` does on the caller's thread, so the caller's thread never runs AES.
 */
import type { KeyObject } from 'node:crypto';
import { sealField } from '../keys/field-cipher.js';
import { contentAad } from '../protect/content-modes.js';
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

/** The content keys the writer holds, by slot. */
export class ContentKeyTable {
  readonly #keys = new Map<number, ContentKeySlot>();

  add(slots: readonly ContentKeySlot[] | undefined): void {
    for (const s of slots ?? []) this.#keys.set(s.slot, s);
  }

  forget(slots: readonly number[] | undefined): void {
    for (const s of slots ?? []) this.#keys.delete(s);
  }

  /**
   * `ev` (framed in `src`) with its marked content values encrypted, framed anew in its own buffer.
   * @throws Error when its slot was never handed over (a bug, not bad input).
   */
  seal(src: Buffer, ev: FramedEvent, origin: string): { src: Buffer; ev: FramedEvent } {
    const { slot, id } = ev.seal!;
    const k = this.#keys.get(slot);
    if (k === undefined) throw new Error(`writer: no content key in slot ${slot}`);
    const parts: Buffer[] = [src.subarray(ev.eventStart, ev.eventEnd)];
    const content: number[] = [];
    let at = ev.eventEnd - ev.eventStart;
    const c = ev.content;
    for (let i = 0; i < c.length; i += 4) {
      let nameStart = c[i]!;
      const marked = src[nameStart] === SEAL_MARK;
      if (marked) nameStart++;
      const name = src.subarray(nameStart, c[i + 1]!);
      let value = src.subarray(c[i + 2]!, c[i + 3]!);
      if (marked) {
        const aad = contentAad(origin, id, name.toString('latin1'));
        const text = sealField(k.keyId, k.key, aad, value);
        // A field ciphertext is ASCII with nothing JSON escapes: its JSON is the text in quotes.
        value = Buffer.allocUnsafe(text.length + 2);
        value[0] = QUOTE;
        value.write(text, 1, 'latin1');
        value[value.length - 1] = QUOTE;
      }
      parts.push(name, value);
      content.push(at, at + name.length, at + name.length, at + name.length + value.length);
      at += name.length + value.length;
    }
    return {
      src: Buffer.concat(parts, at),
      ev: { ts: ev.ts, eventStart: 0, eventEnd: ev.eventEnd - ev.eventStart, content },
    };
  }
}
