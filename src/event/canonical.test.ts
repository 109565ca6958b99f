import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import {
  canonicalJson,
  escapeHostile,
  hasHostile,
  quoteJsonString,
  renderVisible,
  sortKeys,
} from './canonical.js';

/** The code points docs/format.md §3 escapes beyond JSON.stringify, one string each. */
const EXTRA_ESCAPED = [
  0x7f,
  ...Array.from({ length: 0x20 }, (_, i) => 0x80 + i),
  0x61c,
  0x200b,
  0x200c,
  0x200d,
  0x200e,
  0x200f,
  0x2028,
  0x2029,
  0x202a,
  0x202b,
  0x202c,
  0x202d,
  0x202e,
  0x2060,
  0x2066,
  0x2067,
  0x2068,
  0x2069,
  0xfeff,
].map((cp) => String.fromCharCode(cp));

/** Any raw character a canonical line must never hold: C0, DEL, C1, the extra set, lone surrogates. */
const RAW_FORBIDDEN =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Single code units and code points that stress escaping, mixed with ordinary text. */
const hostileUnit = fc.oneof(
  fc.constantFrom(
    '\u0000',
    '\u001b',
    '\n',
    '\r',
    '\t',
    '"',
    '\\',
    '/',
    '\ud800',
    '\udbff',
    '\udc00',
    '\udfff',
    '\u00a0',
    '\u200a',
    '\u2030',
    '\u206a',
    'é',
    '😀',
    ...EXTRA_ESCAPED,
  ),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);

const anyJson = fc.jsonValue({ stringUnit: hostileUnit, maxDepth: 5 });

/** A naive reference: the native sort and JSON.stringify, then the extra escapes over the whole text. */
function naiveCanonical(v: unknown): string {
  const walk = (x: unknown): string => {
    if (Array.isArray(x)) return `[${x.map(walk).join(',')}]`;
    if (x !== null && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      return `{${Object.keys(o)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${walk(o[k])}`)
        .join(',')}}`;
    }
    return JSON.stringify(x);
  };
  return escapeHostile(walk(v));
}

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('canonicalJson', () => {
  describe('on the RFC 8785 §3.2.2 example', () => {
    it('writes the documented output', () => {
      // RFC 8785 §3.2.2 input and §3.2.3 output, byte for byte.
      const input = JSON.parse(
        '{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],' +
          '"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}',
      );
      expect(canonicalJson(input)).toBe(
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
          '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
      );
    });
  });

  describe('when sorting keys', () => {
    it('orders them by UTF-16 code units, as RFC 8785 §3.2.3 does (and escapes U+0080)', () => {
      // RFC 8785 §3.2.3 sorting example; U+0080 is escaped by docs/format.md §3.
      const input = {
        '\u20ac': 'Euro Sign',
        '\r': 'Carriage Return',
        '\ufb33': 'Hebrew Letter Dalet With Dagesh',
        '1': 'One',
        '\ud83d\ude00': 'Emoji: Grinning Face',
        '\u0080': 'Control',
        '\u00f6': 'Latin Small Letter O With Diaeresis',
      };
      expect(canonicalJson(input)).toBe(
        '{"\\r":"Carriage Return","1":"One","\\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
          '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
      );
    });

    it('orders integer-like keys as strings, not as numbers', () => {
      expect(canonicalJson({ 2: 'b', 10: 'a', b: 1, a: 2 })).toBe('{"10":"a","2":"b","a":2,"b":1}');
    });

    it('orders integer-like keys as strings inside sorted parents too', () => {
      expect(canonicalJson({ a: [{ x: { 9: 1, 10: 2 } }], b: 0 })).toBe('{"a":[{"x":{"10":2,"9":1}}],"b":0}');
    });

    it('keeps an own __proto__ key as data, in its place, when reordering', () => {
      const v = JSON.parse('{"b":{"d":1,"c":2},"__proto__":{"y":1,"x":2},"a":2}');
      expect(canonicalJson(v)).toBe('{"__proto__":{"x":2,"y":1},"a":2,"b":{"c":2,"d":1}}');
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    });

    it('sorts nested objects inside arrays', () => {
      expect(canonicalJson([{ z: 1, y: [{ b: 1, a: 0 }] }])).toBe('[{"y":[{"a":0,"b":1}],"z":1}]');
    });

    it('sorts more keys than the insertion-sort limit like the native sort', () => {
      const keys = Array.from({ length: 40 }, (_, i) => `k${(i * 7919) % 97}é${i % 3}`);
      expect(sortKeys([...keys])).toEqual([...keys].sort());
      expect(sortKeys(keys.slice(0, 12))).toEqual(keys.slice(0, 12).sort());
    });
  });

  describe('when writing numbers', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [-0, '0'],
      [1, '1'],
      [-1.5, '-1.5'],
      [0.1, '0.1'],
      [1e21, '1e+21'],
      [1e20, '100000000000000000000'],
      [1e-7, '1e-7'],
      [4.5, '4.5'],
    ];
    for (const [n, text] of cases) {
      it(`writes ${Object.is(n, -0) ? '-0' : String(n)} as ${text}`, () => {
        expect(canonicalJson(n)).toBe(text);
      });
    }

    // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    const vectors: Array<[string, string]> = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555555', '333333333.3333333'],
      ['c3e0000000000000', '-9223372036854776000'],
    ];
    for (const [bits, text] of vectors) {
      it(`writes the double 0x${bits} as ${text}`, () => {
        expect(canonicalJson(Buffer.from(bits, 'hex').readDoubleBE(0))).toBe(text);
      });
    }
  });

  describe('when writing strings', () => {
    it('writes no whitespace between tokens', () => {
      expect(canonicalJson({ a: [1, { b: null }], c: 'x y' })).toBe('{"a":[1,{"b":null}],"c":"x y"}');
    });

    it('escapes C0 controls as JSON.stringify does', () => {
      expect(canonicalJson('\u0000\u001b[2J\n\r\t\b\f')).toBe('"\\u0000\\u001b[2J\\n\\r\\t\\b\\f"');
    });

    it('escapes every code point of docs/format.md §3 as lower-case \\uXXXX', () => {
      for (const c of EXTRA_ESCAPED) {
        const hex = c.charCodeAt(0).toString(16).padStart(4, '0');
        expect(canonicalJson(`a${c}b`)).toBe(`"a\\u${hex}b"`);
      }
    });

    it('escapes lone surrogates and keeps surrogate pairs as UTF-8', () => {
      expect(canonicalJson('\ud800x\udfff')).toBe('"\\ud800x\\udfff"');
      expect(canonicalJson('😀')).toBe('"😀"');
    });

    it('leaves the neighbours of the escaped ranges alone', () => {
      expect(canonicalJson('\u00a0\u061b\u061d\u200a\u2027\u202f\u205f\u2061\u2065\u206a\ufefe')).toBe(
        '"\u00a0\u061b\u061d\u200a\u2027\u202f\u205f\u2061\u2065\u206a\ufefe"',
      );
    });

    it('escapes hostile code points in keys too', () => {
      expect(canonicalJson({ 'k\u202e': 1 })).toBe('{"k\\u202e":1}');
    });

    it('quotes a string exactly as the whole serializer does', () => {
      expect(quoteJsonString('a"b\\c\u2028')).toBe('"a\\"b\\\\c\\u2028"');
      expect(quoteJsonString('plain')).toBe('"plain"');
    });
  });

  describe('when given something that is not JSON data', () => {
    const cases: Array<[string, unknown]> = [
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['undefined', undefined],
      ['a function', () => 1],
      ['a symbol', Symbol('s')],
      ['a bigint', 10n],
      ['a Date', new Date(0)],
      ['a Map', new Map()],
      ['NaN inside an array', [1, Number.NaN]],
      ['undefined inside an array', [undefined]],
    ];
    for (const [name, value] of cases) {
      it(`rejects ${name} with EVENT_INVALID`, () => {
        expect(
          isAuditError(
            thrownBy(() => canonicalJson(value)),
            'EVENT_INVALID',
          ),
        ).toBe(true);
      });
    }

    it('leaves out object properties whose value is undefined, as JSON.stringify does', () => {
      expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    });

    it('accepts objects without a prototype', () => {
      const o = Object.create(null) as Record<string, unknown>;
      o.b = 1;
      o.a = 2;
      expect(canonicalJson(o)).toBe('{"a":2,"b":1}');
    });
  });

  describe('for arbitrary JSON values with hostile strings', () => {
    it('parses back to the same value', () => {
      fc.assert(
        fc.property(anyJson, (v) => {
          expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
        }),
        { numRuns: 500 },
      );
    });

    it('re-canonicalizes to the same text', () => {
      fc.assert(
        fc.property(anyJson, (v) => {
          const text = canonicalJson(v);
          expect(canonicalJson(JSON.parse(text))).toBe(text);
        }),
        { numRuns: 500 },
      );
    });

    it('never holds a raw control, bidi, zero-width or line-separator code point, nor a lone surrogate', () => {
      fc.assert(
        fc.property(anyJson, (v) => {
          const text = canonicalJson(v);
          expect(RAW_FORBIDDEN.test(text)).toBe(false);
          expect(text.includes('\n') || text.includes('\r') || text.includes('\t')).toBe(false);
        }),
        { numRuns: 500 },
      );
    });

    it('equals a naive reference implementation', () => {
      fc.assert(
        fc.property(anyJson, (v) => {
          expect(canonicalJson(v)).toBe(naiveCanonical(v));
        }),
        { numRuns: 500 },
      );
    });
  });
});

describe('escapeHostile', () => {
  it('returns text without hostile code points unchanged', () => {
    const text = '{"a":"plain ascii and é and 😀"}';
    expect(escapeHostile(text)).toBe(text);
  });

  it('escapes the extra set in JSON text so that it still parses to the same value', () => {
    const value = 'x\u2028y\u202ez\u0085';
    const text = escapeHostile(JSON.stringify(value));
    expect(text).toBe('"x\\u2028y\\u202ez\\u0085"');
    expect(JSON.parse(text)).toBe(value);
  });

  it('is not confused by a backslash just before a hostile code point', () => {
    const value = '\\\u2028';
    expect(JSON.parse(escapeHostile(JSON.stringify(value)))).toBe(value);
  });
});

describe('hasHostile', () => {
  const hostile = [
    'a\u0000',
    'a\u001b[31m',
    'line\nbreak',
    'del\u007f',
    'c1\u0085',
    'x\u200by',
    'rtl\u202e',
    '\ufeffbom',
    '\u2028',
    '\ud800',
    'a\udc00',
  ];
  const benign = [
    'user-42',
    '203.0.113.7',
    'Mozilla/5.0 (X11; Linux x86_64)',
    'Zoë',
    '東京',
    '😀',
    'tab-free',
  ];
  for (const s of hostile) {
    it(`is true for ${JSON.stringify(s)}`, () => {
      expect(hasHostile(s)).toBe(true);
    });
  }
  for (const s of benign) {
    it(`is false for ${JSON.stringify(s)}`, () => {
      expect(hasHostile(s)).toBe(false);
    });
  }
});

describe('renderVisible', () => {
  const cases: Array<[string, string]> = [
    ['plain text, é, 東京, 😀', 'plain text, é, 東京, 😀'],
    ['a\u001b[31mred', 'a\\x1b[31mred'],
    ['one\ntwo\rthree\tfour\u0000', 'one\\x0atwo\\x0dthree\\x09four\\x00'],
    ['del\u007f c1\u0085\u009b', 'del\\x7f c1\\x85\\x9b'],
    ['invoice\u202etxt.exe', 'invoice\\u{202e}txt.exe'],
    ['zero\u200bwidth\u2060joiner\ufeff', 'zero\\u{200b}width\\u{2060}joiner\\u{feff}'],
    ['sep\u2028par\u2029', 'sep\\u{2028}par\\u{2029}'],
    ['iso\u2066late\u2069 alm\u061c', 'iso\\u{2066}late\\u{2069} alm\\u{61c}'],
    ['lone \ud800 and \udfff', 'lone \\u{d800} and \\u{dfff}'],
    ['back\\slash', 'back\\\\slash'],
  ];
  for (const [input, output] of cases) {
    it(`renders ${JSON.stringify(input)} as ${JSON.stringify(output)}`, () => {
      expect(renderVisible(input)).toBe(output);
    });
  }

  it('tells a real escape from the text of one', () => {
    expect(renderVisible('\\x1b')).not.toBe(renderVisible('\u001b'));
  });

  it('never outputs a hostile code point', () => {
    fc.assert(
      fc.property(fc.string({ unit: hostileUnit, maxLength: 40 }), (s) => {
        expect(hasHostile(renderVisible(s))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
