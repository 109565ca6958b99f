import { describe, expect, it } from 'vitest';
import { describeError } from '../config/index.js';
import { canonicalJson } from '../event/canonical.js';
import { parseArgs, toJsonSafe } from './json-safe.js';

/** What every copy must be: accepted by the trail's canonical JSON, unchanged by a JSON round trip. */
function safe(value: unknown): unknown {
  const out = toJsonSafe(value);
  expect(() => canonicalJson(out)).not.toThrow();
  expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  return out;
}

describe('toJsonSafe', () => {
  it('keeps plain data as it is', () => {
    const data = { a: 'x', b: [1, true, null], c: { d: -2.5 } };
    expect(safe(data)).toEqual(data);
  });

  it('turns the holes of a sparse array into null', () => {
    // biome-ignore lint/suspicious/noSparseArray: the case under test
    expect(safe([1, , 3])).toEqual([1, null, 3]);
    expect(safe(new Array(2))).toEqual([null, null]);
  });

  it('records binary data of every kind by its size', () => {
    const bytes = { type: 'binary', bytes: 8 };
    expect(safe(new Uint8Array(8))).toEqual(bytes);
    expect(safe(Buffer.alloc(8))).toEqual(bytes);
    expect(safe(new Float32Array(2))).toEqual(bytes);
    expect(safe(new DataView(new ArrayBuffer(8)))).toEqual(bytes);
    expect(safe(new ArrayBuffer(8))).toEqual(bytes);
    expect(safe(new SharedArrayBuffer(8))).toEqual(bytes);
  });

  it('copies Maps as key-value pairs and Sets as arrays', () => {
    expect(
      safe(
        new Map<unknown, unknown>([
          ['k', 1],
          [2, { v: new Set(['a']) }],
        ]),
      ),
    ).toEqual([
      ['k', 1],
      [2, { v: ['a'] }],
    ]);
  });

  it('marks what throws when read instead of throwing', () => {
    const getter = {
      ok: 1,
      get bad(): never {
        throw new Error('secret internals');
      },
    };
    class Broken {
      toJSON(): never {
        throw new Error('no');
      }
    }
    expect(safe({ getter, broken: new Broken(), fine: 'yes' })).toEqual({
      getter: '[unreadable]',
      broken: '[unreadable]',
      fine: 'yes',
    });
  });

  it('cuts cycles and keeps numbers that JSON cannot hold as text', () => {
    const a: Record<string, unknown> = { n: Number.NaN, big: 10n, when: new Date(0) };
    a.self = a;
    expect(safe(a)).toEqual({ n: 'NaN', big: '10', when: '1970-01-01T00:00:00.000Z', self: '[cut]' });
  });
});

describe('parseArgs', () => {
  it('parses JSON tool arguments, and keeps the text when it is not JSON or a number in it would be rounded', () => {
    expect(parseArgs('{"city":"Paris","days":3}')).toEqual({ city: 'Paris', days: 3 });
    expect(parseArgs('not json')).toBe('not json');
    const exact = '{"orderId":12345678901234567891,"amount":10.50}';
    expect(parseArgs(exact)).toBe(exact);
  });
});

describe('describeError', () => {
  it("keeps an HTTP status given as status or as statusCode (the AI SDK's APICallError)", () => {
    expect(describeError(Object.assign(new Error('overloaded'), { statusCode: 529 }))).toEqual({
      name: 'Error',
      message: 'overloaded',
      status: 529,
    });
    expect(describeError(Object.assign(new Error('x'), { status: 429, statusCode: 500 })).status).toBe(429);
  });
});
