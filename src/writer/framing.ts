/**
 * How prepared events travel from the caller's thread to the appender: bytes, one buffer per
 * batch, handed to the worker thread without copying (a transferred ArrayBuffer costs ≈0.04 µs,
 * a string ≈1.1 µs per event and an object ≈2.7 µs, measured). Each event is
 * `ts US eventJson (US name US valueJson)* LF` in UTF-8, US being U+001F. Neither separator can
 * occur raw inside the fields: canonical JSON escapes every control character, content names are
 * validated, and UTF-8 never uses a byte below 0x80 inside a multi-byte sequence.
 *
 * Content the writer thread encrypts (content-sealing.ts) is marked with SOH (U+0001), which can
 * no more occur in a field: the timestamp becomes `ts SOH slot SOH id` (the content key's slot
 * and the entry id the ciphertext is bound to), and each field to encrypt is `SOH name`.
 */
import type { PreparedEvent } from '../event/prepare.js';

/** Ends each framed event. */
export const RECORD_SEPARATOR = 0x0a;
/** Separates the fields of a framed event. */
export const FIELD_SEPARATOR = 0x1f;
/** Marks content the writer thread encrypts. */
export const SEAL_MARK = 0x01;

const INITIAL_BYTES = 64 * 1024;
/** Buffers the appender gave back, kept for the next batches (about one queue's worth of batches). */
const SPARE_MAX = 8;
/** A spare buffer is used only for a batch that needs at least a quarter (1 / SPARE_SLACK) of it. */
const SPARE_SLACK = 4;
const US = String.fromCharCode(FIELD_SEPARATOR);
const SOH = String.fromCharCode(SEAL_MARK);
const LF = String.fromCharCode(RECORD_SEPARATOR);

/** Builds one batch of framed events as bytes. */
export class BatchBuilder {
  /** Events in the batch being built. */
  count = 0;
  private buf: Buffer;
  private len = 0;
  private readonly spare: ArrayBuffer[] = [];

  constructor(private readonly initialBytes = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafeSlow(initialBytes);
  }

  /** Frames one prepared event into the batch (its `protectLater.slot` marks fields to encrypt). */
  add(p: PreparedEvent): void {
    const seal = p.protectLater;
    const slot = seal?.slot;
    // One string, written once: the event's text is a rope (event/prepare.ts), and each write of a
    // rope flattens it at a fixed cost, so one write of the whole frame beats one per field (measured:
    // 0.4–0.7 µs per event).
    let frame =
      slot === undefined
        ? `${p.ts}${US}${p.eventJson}`
        : `${p.ts}${SOH}${slot}${SOH}${p.id}${US}${p.eventJson}`;
    for (const [name, value] of p.content) {
      frame +=
        slot !== undefined && seal!.fields.includes(name) ? `${US}${SOH}${name}${US}` : `${US}${name}${US}`;
      frame += value;
    }
    frame += LF;
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    this.reserve(3 * frame.length);
    this.len += this.buf.write(frame, this.len);
    this.count++;
  }

  /** The batch's bytes (a view of its own ArrayBuffer, safe to transfer); starts a new batch. */
  take(): Uint8Array {
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.len);
    // A quarter more than this batch took: the next one, a few bytes longer, should not have to
    // grow (and copy) the whole buffer, which cost ≈ 0.4 µs per event (measured).
    this.buf = this.nextBuffer(Math.max(this.initialBytes, this.len + (this.len >> 2)));
    this.len = 0;
    this.count = 0;
    return out;
  }

  /**
   * Takes back the buffer of a batch the appender has written, for a later batch. Memory written
   * for the first time costs this virtual machine ≈ 1.7 ns per byte, ten times recycled memory:
   * a fresh buffer per batch cost the caller ≈ 1 µs per event (measured, docs/benchmarks.md).
   */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength >= this.initialBytes && this.spare.length < SPARE_MAX) this.spare.push(buffer);
  }

  /**
   * A spare buffer of at least `bytes`, or a new one. Spares too small for it are let go, and so
   * are those over {@link SPARE_SLACK} times its size: the buffers of a burst of large events
   * would otherwise be kept, and sent back and forth, for the life of the trail.
   */
  private nextBuffer(bytes: number): Buffer {
    for (let b = this.spare.pop(); b !== undefined; b = this.spare.pop())
      if (b.byteLength >= bytes && b.byteLength <= SPARE_SLACK * bytes) return Buffer.from(b);
    return Buffer.allocUnsafeSlow(bytes);
  }

  private reserve(bytes: number): void {
    if (this.len + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(2 * this.buf.length, this.len + bytes));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }
}

/** One prepared event framed on its own (recovery and overflow entries). */
export function frameEvent(p: PreparedEvent): Uint8Array {
  const b = new BatchBuilder(1024);
  b.add(p);
  return b.take();
}
