import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fakeBody } from '../test-support/redaction.js';
import { createRedactor } from './index.js';

const redact = createRedactor();
const text = (s: string) => redact(s).value;

describe('scanning one string with every detector', () => {
  it('replaces each kind with its marker and counts them', () => {
    const r = redact('mail a@example.com, b@example.org; call +44 20 7946 0958; card 4111-1111-1111-1111');
    expect(r.value).toBe('mail [EMAIL], [EMAIL]; call [PHONE]; card [CARD]');
    expect(r.findings).toEqual([
      { path: '', kind: 'email', count: 2 },
      { path: '', kind: 'phone', count: 1 },
      { path: '', kind: 'card', count: 1 },
    ]);
  });

  describe('when two detectors claim overlapping text', () => {
    it('replaces their union once, named by the higher priority', () => {
      // the pair's value is an email address: the secret wins and nothing of the address is left
      expect(text('password=alice@example.com')).toBe('password=[SECRET:pair]');
      // a JWT after Bearer: the JWT's format names it
      const jwt = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from('{"sub":"1"}').toString('base64url')}.${fakeBody(20, 1)}`;
      expect(text(`Authorization: Bearer ${jwt}`)).toBe('Authorization: Bearer [SECRET:jwt]');
    });

    it('keeps adjacent matches apart', () => {
      expect(text('a@example.com,b@example.com')).toBe('[EMAIL],[EMAIL]');
    });
  });

  describe("a card's security code in prose", () => {
    it.each([
      ['card 4111 1111 1111 1111 exp 12/27 cvv 123', 'card [CARD] exp 12/27 cvv [SECRET:pair]'],
      ['CVC is 4321.', 'CVC is [SECRET:pair].'],
      ['CVV2 #987 ok', 'CVV2 #[SECRET:pair] ok'],
      ['the security code 321 on the back', 'the security code [SECRET:pair] on the back'],
      ['cvc code 555', 'cvc code [SECRET:pair]'],
    ])('replaces the code in %j', (input, want) => {
      expect(text(input)).toBe(want);
    });

    it.each([
      'the cvv is 3 digits long',
      'cvv 12345 is not a code',
      'section 123 of the cvv spec',
      'the code 123 was sent',
      'the insecurity code 123 of the game',
    ])('leaves %j alone', (input) => {
      expect(text(input)).toBe(input);
    });
  });

  it('keeps clean text identical (the same string)', () => {
    const s = 'Summarize the quarterly report for customer 4821 and list the three main risks: 12% growth.';
    const r = redact(s);
    expect(r.value).toBe(s);
    expect(r.findings).toEqual([]);
  });

  it('finds nothing new in its own output', () => {
    const once = text(
      'key sk_live_FAKE00000000000000000000 password=x1 postgres://u:p@h/d +1 415 555 2671 DE89370400440532013000 [SECRET:pair]',
    );
    const twice = redact(once);
    expect(twice.value).toBe(once);
    expect(twice.findings).toEqual([]);
  });

  describe('on adversarial input', () => {
    it.each([
      ['digits', '9'.repeat(100_000)],
      ['@', '@'.repeat(100_000)],
      ['dots and digits', '1.'.repeat(50_000)],
      ['dashes', '-'.repeat(100_000)],
      ['colons', ':'.repeat(100_000)],
      ['equals', '='.repeat(100_000)],
      ['one long token', 'A1b2'.repeat(25_000)],
      ['keywords', 'password token secret key bearer aws '.repeat(2_700)],
      ['quotes', '"password": "'.repeat(7_000)],
      ['prefixes', 'ghp_ sk- AKIA eyJ xoxb- AIza sk_live_ -----BEGIN '.repeat(2_000)],
      ['digits and letters', 'a1 '.repeat(33_000)],
      ['phone-ish groups', '(12) 34-56 '.repeat(9_000)],
    ])('returns a string for 100 KB of %s', (_what, s) => {
      expect(typeof redact(s).value).toBe('string');
    });
  });

  it('never throws and never grows a clean alphabet into findings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const r = redact(s);
        expect(typeof r.value).toBe('string');
        expect(r.failed).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('removes every planted value, wherever it stands in random text', () => {
    const planted = [
      'alice@example.com',
      '+1 415 555 2671',
      '123-45-6789',
      '4111 1111 1111 1111',
      'DE89 3704 0044 0532 0130 00',
      '203.0.113.7',
      '2001:db8::1',
      ['gh', 'p_', fakeBody(36, 9)].join(''),
    ];
    // words that are no context for any detector
    const filler = fc
      .array(
        fc.constantFrom('the', 'a', 'and', 'to', 'from', 'see', 'note', ',', '.', ';', ':', '(', ')', '"'),
        { maxLength: 8 },
      )
      .map((w) => w.join(' '));
    fc.assert(
      fc.property(filler, fc.constantFrom(...planted), filler, (a, v, b) => {
        const out = text(`${a} ${v} ${b}`);
        expect(out).not.toContain(v);
      }),
      { numRuns: 1000 },
    );
  });
});
