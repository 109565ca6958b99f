import { describe, expect, it } from 'vitest';
import { newEventId } from './id.js';

const UUID7_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp of a UUIDv7. */
function msOf(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

function bytesOf(id: string): Buffer {
  return Buffer.from(id.replaceAll('-', ''), 'hex');
}

function expectStrictlyIncreasing(ids: string[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (!(ids[i - 1]! < ids[i]!)) expect.fail(`id ${i} does not sort after id ${i - 1}`);
  }
}

// The generator is monotonic across calls in this process, so these tests run in order and the
// one that moves the clock forward comes last.
describe('newEventId', () => {
  it('is a lower-case UUID with dashes', () => {
    expect(newEventId()).toMatch(UUID7_RE);
  });

  it('sets version 7 and the RFC 9562 variant bits 10', () => {
    for (let i = 0; i < 200; i++) {
      const b = bytesOf(newEventId());
      expect(b[6]! >> 4).toBe(7);
      expect(b[8]! >> 6).toBe(0b10);
    }
  });

  it('carries the current time in its first 48 bits', () => {
    const before = Date.now();
    const ms = msOf(newEventId());
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 5); // +5: counter overflow may borrow a millisecond
  });

  it('gives 10,000 ids in a row that strictly increase', () => {
    const ids = Array.from({ length: 10_000 }, () => newEventId());
    expectStrictlyIncreasing(ids);
    expect(ids.every((id) => UUID7_RE.test(id))).toBe(true);
  });

  it('keeps increasing within one millisecond, borrowing the next one when the counter runs out', () => {
    const ms = Date.now() + 1000;
    const ids = Array.from({ length: 10_000 }, () => newEventId(ms));
    expectStrictlyIncreasing(ids);
    expect(msOf(ids[0]!)).toBe(ms);
    // A counter seeded below 2048 holds at least 2048 ids per millisecond.
    expect(msOf(ids[2047]!)).toBe(ms);
    expect(msOf(ids[9999]!)).toBeGreaterThan(ms);
    expect(msOf(ids[9999]!)).toBeLessThanOrEqual(ms + 5);
  });

  it('keeps increasing when the clock steps back', () => {
    const a = newEventId(Date.now() + 2000);
    const b = newEventId(Date.now() - 60_000);
    expect(b > a).toBe(true);
    expect(msOf(b)).toBe(msOf(a));
  });

  it('draws fresh random bits for every id', () => {
    const tails = new Set(Array.from({ length: 2000 }, () => newEventId().slice(19)));
    expect(tails.size).toBe(2000);
  });

  it('still gives a valid increasing id when the clock returns NaN', () => {
    const a = newEventId();
    const b = newEventId(Number.NaN);
    expect(b).toMatch(UUID7_RE);
    expect(b > a).toBe(true);
  });

  it('encodes a later millisecond exactly', () => {
    const ms = Date.UTC(2031, 4, 6, 7, 8, 9, 123);
    expect(msOf(newEventId(ms))).toBe(ms);
  });
});
