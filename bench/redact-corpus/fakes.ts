/**
 * Seeded builders of format-valid, obviously fake personal data and secrets for the redaction
 * corpus. Secrets are assembled from parts at run time (prefixes split, bodies random with
 * FAKE in them where the format allows), so no token-shaped literal sits in the repository and
 * push protection has nothing to flag.
 */
import { luhnCheckDigit } from '../../src/protect/checks/luhn.js';
import { ibanCheckDigits } from '../../src/protect/checks/mod97.js';

export const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const LOWER = 'abcdefghijklmnopqrstuvwxyz';
export const DIGITS = '0123456789';
export const ALNUM = UPPER + LOWER + DIGITS;
export const HEX = '0123456789abcdef';
export const B64 = `${ALNUM}+/`;
export const B64URL = `${ALNUM}-_`;
const BASE32 = `${UPPER}234567`;

/** Joins parts: keeps token prefixes out of the source text. */
export const p = (...parts: string[]): string => parts.join('');

/** A small seeded generator (mulberry32): the corpus is the same on every run. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chars(n: number, alphabet: string): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }
  digits(n: number): string {
    return this.chars(n, DIGITS);
  }
  /** Random characters with FAKE at a random place and at least one digit, upper and lower where the alphabet has them. */
  body(n: number, alphabet = ALNUM): string {
    let s = this.chars(n, alphabet);
    if (alphabet.includes('F') && alphabet.includes('K') && n >= 12) {
      const at = this.int(0, n - 4);
      s = `${s.slice(0, at)}FAKE${s.slice(at + 4)}`;
    }
    const needs = [DIGITS, LOWER, UPPER].filter((cls) => [...cls].some((c) => alphabet.includes(c)));
    needs.forEach((cls, i) => {
      if (![...s].some((c) => cls.includes(c))) {
        const at = (i * 7 + 3) % n;
        s = s.slice(0, at) + cls[this.int(0, cls.length - 1)] + s.slice(at + 1);
      }
    });
    return s;
  }
}

export function awsKeyId(r: Rng): string {
  return p(r.pick(['AK', 'AS']), 'IA', r.body(16, BASE32));
}
export function awsSecret(r: Rng): string {
  return r.body(40, B64);
}
export function github(r: Rng): string {
  if (r.next() < 0.2) return p('github', '_pat_', r.body(22), '_', r.body(59));
  return p('gh', r.pick(['p', 'o', 'u', 's', 'r']), '_', r.body(36));
}
export function openai(r: Rng): string {
  const kind = r.int(0, 2);
  if (kind === 0) return p('sk', '-proj-', r.body(r.int(74, 150), B64URL));
  if (kind === 1) return p('sk', '-svcacct-', r.body(80, B64URL));
  return p('sk', '-', r.body(48));
}
export function anthropic(r: Rng): string {
  return p('sk', '-ant-', r.pick(['api03', 'admin01']), '-', r.body(93, B64URL), 'AA');
}
export function slackToken(r: Rng): string {
  if (r.next() < 0.5) return p('xo', 'xb-', r.digits(12), '-', r.digits(13), '-', r.body(24));
  return p('xo', 'xp-', r.digits(12), '-', r.digits(12), '-', r.digits(12), '-', r.body(32, HEX));
}
export function slackHook(r: Rng): string {
  return p(
    'https://',
    'hooks.slack',
    '.com/services/',
    'T',
    r.body(9, UPPER + DIGITS),
    '/B',
    r.body(9, UPPER + DIGITS),
    '/',
    r.body(24),
  );
}
export function stripe(r: Rng): string {
  const k = r.int(0, 3);
  if (k === 3) return p('wh', 'sec_', r.body(32));
  return p(r.pick(['sk', 'rk']), r.pick(['_live_', '_test_']), r.body(r.pick([24, 99])));
}
export function google(r: Rng): string {
  return p('AI', 'za', r.body(35, B64URL));
}
export function sendgrid(r: Rng): string {
  return p('S', 'G.', r.body(22, B64URL), '.', r.body(43, B64URL));
}
export function huggingface(r: Rng): string {
  return p('h', 'f_', r.body(34, UPPER + LOWER));
}
export function gitlab(r: Rng): string {
  return p('gl', 'pat-', r.body(20, B64URL));
}
export function npmToken(r: Rng): string {
  return p('np', 'm_', r.body(36));
}
export function jwt(r: Rng): string {
  const header = JSON.stringify(
    r.next() < 0.5 ? { alg: 'HS256', typ: 'JWT' } : { alg: 'RS256', kid: r.body(8) },
  );
  const payload = JSON.stringify({ sub: r.digits(8), name: 'Fake User', iat: 1700000000 + r.int(0, 1e6) });
  return p(
    Buffer.from(header).toString('base64url'),
    '.',
    Buffer.from(payload).toString('base64url'),
    '.',
    r.body(r.pick([43, 86]), B64URL),
  );
}
export function pem(r: Rng, eol = '\n'): string {
  const label = r.pick(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'OPENSSH PRIVATE KEY']);
  const lines = Array.from({ length: r.int(4, 9) }, () => r.body(64, B64));
  return `-----BEGIN ${label}-----${eol}${lines.join(eol)}${eol}${r.body(20, B64)}==${eol}-----END ${label}-----`;
}
/** A random opaque token with digits: bearer tokens, high-entropy values. */
export function opaque(r: Rng, n = r.int(24, 48)): string {
  return r.body(n, r.next() < 0.3 ? HEX : ALNUM);
}

export function card(r: Rng): string {
  const brand = r.pick([
    'visa',
    'visa',
    'mc',
    'mc2',
    'amex',
    'discover',
    'jcb',
    'unionpay',
    'diners',
    'maestro',
  ]);
  const [prefix, len] = {
    visa: ['4', r.pick([16, 16, 13])],
    mc: [String(r.int(51, 55)), 16],
    mc2: [String(r.int(2221, 2720)), 16],
    amex: [r.pick(['34', '37']), 15],
    discover: [r.pick(['6011', '65']), 16],
    jcb: [String(r.int(3528, 3589)), 16],
    unionpay: ['62', r.pick([16, 19])],
    diners: [r.pick(['36', '38', '300']), 14],
    maestro: [r.pick(['6759', '5018']), 16],
  }[brand] as [string, number];
  const payload = prefix + r.digits(len - prefix.length - 1);
  const digits = payload + luhnCheckDigit(payload);
  const style = r.int(0, 2);
  if (style === 0) return digits;
  const sep = style === 1 ? ' ' : '-';
  if (len === 15) return [digits.slice(0, 4), digits.slice(4, 10), digits.slice(10)].join(sep);
  return digits.match(/.{1,4}/g)!.join(sep);
}

/** A 16-digit number with a Visa or Mastercard prefix that fails Luhn. */
export function nonLuhn16(r: Rng): string {
  const payload = r.pick(['4', '51', '55']) + r.digits(13);
  const full = payload.padEnd(15, '0');
  const good = luhnCheckDigit(full);
  return full + ((good + r.int(1, 9)) % 10);
}

export function ssn(r: Rng): string {
  let area = r.int(1, 899);
  if (area === 666) area = 667;
  return `${String(area).padStart(3, '0')}-${String(r.int(1, 99)).padStart(2, '0')}-${String(r.int(1, 9999)).padStart(4, '0')}`;
}

const IBAN_BBAN: Record<string, (r: Rng) => string> = {
  DE: (r) => r.digits(18),
  GB: (r) => r.chars(4, UPPER) + r.digits(14),
  FR: (r) => r.digits(23),
  NL: (r) => r.chars(4, UPPER) + r.digits(10),
  ES: (r) => r.digits(20),
  IT: (r) => r.chars(1, UPPER) + r.digits(22),
  CH: (r) => r.digits(17),
  BE: (r) => r.digits(12),
  AT: (r) => r.digits(16),
  PL: (r) => r.digits(24),
  SE: (r) => r.digits(20),
  NO: (r) => r.digits(11),
  IE: (r) => r.chars(4, UPPER) + r.digits(14),
};
export function iban(r: Rng, grouped = r.next() < 0.7): string {
  const cc = r.pick(Object.keys(IBAN_BBAN));
  const bban = IBAN_BBAN[cc]!(r);
  const compact = cc + ibanCheckDigits(cc, bban) + bban;
  return grouped ? compact.match(/.{1,4}/g)!.join(' ') : compact;
}
/** An IBAN with its check digits off by one. */
export function badIban(r: Rng): string {
  const good = iban(r, false);
  const check = (Number(good.slice(2, 4)) + 1) % 100;
  return good.slice(0, 2) + String(check).padStart(2, '0') + good.slice(4);
}

export function ipv4(r: Rng): string {
  return [r.pick([203, 198, 192, 10, 172, 100, 51, 8]), r.int(0, 255), r.int(0, 255), r.int(1, 254)].join(
    '.',
  );
}
export function ipv6(r: Rng): string {
  const g = () => r.int(0, 0xffff).toString(16);
  switch (r.int(0, 4)) {
    case 0:
      return Array.from({ length: 8 }, g).join(':');
    case 1:
      return `2001:db8:${g()}::${g()}`;
    case 2:
      return `fe80::${g()}:${g()}:${g()}:${g()}`;
    case 3:
      return `::ffff:${ipv4(r)}`;
    default:
      return `2001:db8::${r.int(1, 9)}`;
  }
}

function nanp(r: Rng): [string, string, string] {
  return [String(r.int(201, 989)), String(r.int(201, 989)), r.digits(4)];
}
export function phone(r: Rng): string {
  const [a, e, x] = nanp(r);
  switch (r.int(0, 19)) {
    case 0:
      return `+1${a}${e}${x}`;
    case 1:
      return `+1 ${a} ${e} ${x}`;
    case 2:
      return `+1 (${a}) ${e}-${x}`;
    case 3:
      return `(${a}) ${e}-${x}`;
    case 4:
      return `${a}-${e}-${x}`;
    case 5:
      return `${a}.${e}.${x}`;
    case 6:
      return `1-800-${e}-${x}`;
    case 7:
      return `+44 20 ${r.digits(4)} ${r.digits(4)}`;
    case 8:
      return `020 ${r.digits(4)} ${r.digits(4)}`;
    case 9:
      return `07700 9${r.digits(5)}`;
    case 10:
      return `+33 ${r.int(1, 9)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`;
    case 11:
      return `06 ${r.digits(2)} ${r.digits(2)} ${r.digits(2)} ${r.digits(2)}`;
    case 12:
      return `+49 30 ${r.digits(6)}`;
    case 13:
      return `0151 ${r.digits(8)}`;
    case 14:
      return `+91 9${r.digits(4)} ${r.digits(5)}`;
    case 15:
      return `+61 2 ${r.digits(4)} ${r.digits(4)}`;
    case 16:
      return `(02) ${r.digits(4)} ${r.digits(4)}`;
    case 17:
      return `03-${r.digits(4)}-${r.digits(4)}`;
    case 18:
      return `+81 3-${r.digits(4)}-${r.digits(4)}`;
    default:
      return `+1-${a}-${e}-${x}`;
  }
}

const FIRST = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'oscar',
];
const LAST = ['smith', 'ng', 'o-neil', 'petrov', 'garcia', 'lee', 'muller', 'rossi'];
const DOMAINS = [
  'example.com',
  'mail.example.org',
  'corp.example.co.uk',
  'example.io',
  'sub.example-corp.net',
  'example.de',
  'uni.example.edu',
  'example.fr',
];
export function email(r: Rng): string {
  const f = r.pick(FIRST);
  const l = r.pick(LAST);
  const local = r.pick([f, `${f}.${l}`, `${f}_${l}`, `${f[0]}.${l}`, `${f}+news`, `${f}${r.int(1, 99)}`]);
  return `${local}@${r.pick(DOMAINS)}`;
}
export function person(r: Rng): string {
  return r.pick(FIRST);
}

export function uuid(r: Rng): string {
  const h = r.chars(32, HEX);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${r.pick(['8', '9', 'a', 'b'])}${h.slice(17, 20)}-${h.slice(20)}`;
}

/** A valid ISBN-13 (978 prefix, mod-10 weights 1 and 3). */
export function isbn13(r: Rng, dashed = true): string {
  const d = `978${r.digits(9)}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(d[i]) * (i % 2 === 0 ? 1 : 3);
  const full = d + ((10 - (sum % 10)) % 10);
  return dashed
    ? `${full.slice(0, 3)}-${full[3]}-${full.slice(4, 7)}-${full.slice(7, 12)}-${full[12]}`
    : full;
}
