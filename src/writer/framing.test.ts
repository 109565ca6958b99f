import { describe, expect, it } from 'vitest';
import { prepareEvent } from '../event/prepare.js';
import { sampleEvent } from '../test-support/fixtures.js';
import { BatchBuilder } from './framing.js';

const prepared = Array.from({ length: 10 }, (_, i) => prepareEvent(sampleEvent(i)));

/** The bytes of `events` framed by a new builder. */
function framed(...events: number[]): Buffer {
  const b = new BatchBuilder(16);
  for (const i of events) b.add(prepared[i]!);
  return Buffer.from(b.take());
}

describe('BatchBuilder', () => {
  it('builds a later batch in a buffer given back, with the same bytes as in a new one', () => {
    const b = new BatchBuilder(1024);
    b.add(prepared[0]!);
    const first = b.take();
    b.recycle(first.buffer as ArrayBuffer);
    b.add(prepared[1]!);
    b.take(); // the next batch goes into `first`'s buffer
    b.add(prepared[2]!);
    const third = b.take();
    expect(third.buffer).toBe(first.buffer);
    expect(Buffer.from(third).equals(framed(2))).toBe(true);
  });

  it('lets go of a buffer given back that is far larger than the next batch needs', () => {
    const b = new BatchBuilder(1024);
    const huge = new ArrayBuffer(1 << 20); // from a burst of large events
    b.recycle(huge);
    b.add(prepared[0]!);
    b.take(); // the next buffer is sized for a batch like this one: a few KB
    b.add(prepared[1]!);
    const next = b.take();
    expect(next.buffer).not.toBe(huge);
    expect(Buffer.from(next).equals(framed(1))).toBe(true);
  });

  it('lets go of a buffer given back that is too small for the next batch', () => {
    const b = new BatchBuilder(1024);
    const small = new ArrayBuffer(2048);
    b.recycle(small);
    for (let i = 0; i < 8; i++) b.add(prepared[i]!);
    b.take(); // the next buffer is sized for a batch like this one: over 8 KB
    const tiny = prepareEvent({ type: 'x.ping' }); // would fit in `small`
    b.add(tiny);
    const last = b.take();
    expect(last.buffer).not.toBe(small);
    const alone = new BatchBuilder(16);
    alone.add(tiny);
    expect(Buffer.from(last).equals(Buffer.from(alone.take()))).toBe(true);
  });
});
