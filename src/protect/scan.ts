/**
 * Scans one string with a set of detectors and writes the redacted string. Each detector family
 * is reached through a prefilter that V8 runs natively (`indexOf` of `@`, `:`, `=`, `--`, the ten digits,
 * and one rare anchor character per secret prefix), so a clean text costs a few dozen native
 * searches and no regex run over the whole text (docs/redaction.md "Performance").
 *
 * Overlapping matches are merged into one replaced span, named by the detector of highest
 * priority: a value is never partly left visible because two detectors disagreed on its edges.
 */
import { BUILTIN_DETECTORS, DETECTOR_NAMES, K } from './detector-names.js';
import { matchEmail } from './detectors/email.js';
import { matchIpv6 } from './detectors/ip.js';
import { MIN_SECRET_TOKEN } from './detectors/keyword-secrets.js';
import { scanNumbers } from './detectors/numbers.js';
import {
  matchFlagSecret,
  matchNetrcPassword,
  matchPasswordFlag,
  matchQuotedPassword,
  matchSecretPair,
  matchUserFlag,
} from './detectors/secret-pairs.js';
import { MIN_TOKEN_LENGTH, scanSecretTokens } from './detectors/secret-tokens.js';
import { matchUrlCredentials } from './detectors/url-credentials.js';
import type { SensitiveNames } from './sensitive-names.js';

/** A custom detector after validation: pushes `start, end, kind` triples; may throw. */
export interface CompiledCustom {
  readonly kind: number;
  run(text: string, hits: number[]): void;
}

/** What one scanner runs. */
export interface ScanConfig {
  /** `on[kind]` is 1 for each built-in detector to run. */
  readonly on: Uint8Array;
  readonly custom: readonly CompiledCustom[];
  readonly names: SensitiveNames;
  /** Marker and priority per kind number: built-ins first, then custom detectors. */
  readonly markers: readonly string[];
  readonly priorities: readonly number[];
  /** Per character code below 128, the `START_*` flag of a character a detector starts from. */
  readonly shortStarts: Uint8Array;
}

/** The redacted text and the kind number of each replaced span, or null when nothing was found. */
export interface ScanResult {
  text: string;
  kinds: number[];
}

/** Flags of `startsIn`: which characters that detectors start from a short string holds. */
export const START_AT = 1;
export const START_COLON = 2;
export const START_EQUALS = 4;
export const START_DIGIT = 8;
export const START_DASH = 32;
/** Every flag: a string `startsIn` does not judge. */
export const ANY_START = 15 | START_DASH;
/** Digits that matter only from `MIN_SECRET_TOKEN` characters on (the keyword secrets alone). */
const DIGIT_FROM_TOKEN = 16;

const pair: [number, number] = [-1, -1];
const triple: [number, number, number] = [-1, -1, 0];

/** Builds the tables of a scanner; `on` lists the built-in detectors to run. */
export function makeScanConfig(
  on: Uint8Array,
  custom: readonly CompiledCustom[],
  names: SensitiveNames,
  customMarkers: readonly string[],
): ScanConfig {
  const markers: string[] = DETECTOR_NAMES.map((d) => BUILTIN_DETECTORS[d].marker);
  const priorities: number[] = DETECTOR_NAMES.map((d) => BUILTIN_DETECTORS[d].priority);
  for (const m of customMarkers) {
    markers.push(m);
    priorities.push(100); // the user knows their data best
  }
  const shortStarts = new Uint8Array(128);
  if (on[K.email] === 1 || on[K['secret:url']] === 1) shortStarts[0x40] = START_AT;
  if (on[K['secret:pair']] === 1 || on[K.ipv6] === 1) shortStarts[0x3a] = START_COLON;
  if (on[K['secret:pair']] === 1) {
    shortStarts[0x3d] = START_EQUALS;
    shortStarts[0x2d] = START_DASH;
  }
  const numbers =
    on[K.iban] === 1 || on[K.ipv4] === 1 || on[K.ssn] === 1 || on[K.card] === 1 || on[K.phone] === 1;
  const keywordTokens =
    on[K['secret:bearer']] === 1 || on[K['secret:aws']] === 1 || on[K['secret:entropy']] === 1;
  if (numbers || keywordTokens) shortStarts.fill(numbers ? START_DIGIT : DIGIT_FROM_TOKEN, 0x30, 0x3a);
  return { on, custom, names, markers, priorities, shortStarts };
}

/**
 * Which characters that detectors start from a short string holds (`START_*` flags), found in one
 * pass instead of the searches `findAll` would start for them; 0 when `findAll` is sure to find
 * nothing (ids, model names, regions). It mirrors `findAll`: under 5 characters nothing runs;
 * under `MIN_TOKEN_LENGTH` no formatted secret fits, and every other detector starts from an `@`,
 * a `:`, an `=`, a `-` (of `--`) or a digit. Longer strings, and any string when custom detectors run, get
 * `ANY_START`.
 */
export function startsIn(text: string, cfg: ScanConfig): number {
  const n = text.length;
  if (n >= MIN_TOKEN_LENGTH || cfg.custom.length !== 0) return ANY_START;
  if (n < 5) return 0;
  const table = cfg.shortStarts;
  let m = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 128) m |= table[c]!;
  }
  if ((m & DIGIT_FROM_TOKEN) !== 0) m = (m & ~DIGIT_FROM_TOKEN) | (n >= MIN_SECRET_TOKEN ? START_DIGIT : 0);
  // a flag starts at `--`; ids and regions have single dashes (`eu-west-1`)
  if ((m & START_DASH) !== 0 && !text.includes('--')) m &= ~START_DASH;
  return m;
}

/**
 * Pushes a `start, end, kind` triple for everything the configured detectors find in `text`.
 * `hint` carries context from the key name (HINT_PHONE, HINT_SSN); `starts` (from `startsIn`)
 * skips the searches for characters the text does not hold.
 * @throws whatever a custom detector throws.
 */
export function findAll(
  text: string,
  cfg: ScanConfig,
  hint: number,
  hits: number[],
  starts: number = ANY_START,
): void {
  const n = text.length;
  const on = cfg.on;
  // Formatted secrets first: the numeric pass skips tokens they already claimed.
  if (n >= MIN_TOKEN_LENGTH) scanSecretTokens(text, on, hits, on[K['secret:pem']] === 1);
  if (n >= 5) {
    const wantEmail = on[K.email] === 1;
    const wantUrl = on[K['secret:url']] === 1;
    if ((wantEmail || wantUrl) && (starts & START_AT) !== 0) {
      let at = text.indexOf('@', 1);
      while (at >= 0) {
        let url = false;
        if (wantUrl) {
          matchUrlCredentials(text, at, pair);
          if (pair[0] >= 0) {
            hits.push(pair[0], pair[1], K['secret:url']);
            url = true;
          }
        }
        if (wantEmail && !url) {
          matchEmail(text, at, pair);
          if (pair[0] >= 0) hits.push(pair[0], pair[1], K.email);
        }
        at = text.indexOf('@', at + 1);
      }
    }
    const wantTokens =
      n >= MIN_SECRET_TOKEN &&
      (on[K['secret:bearer']] === 1 || on[K['secret:aws']] === 1 || on[K['secret:entropy']] === 1);
    const wantProse = on[K['secret:pair']] === 1;
    if (
      (starts & START_DIGIT) !== 0 &&
      (wantTokens ||
        wantProse ||
        on[K.iban] === 1 ||
        on[K.ipv4] === 1 ||
        on[K.ssn] === 1 ||
        on[K.card] === 1 ||
        on[K.phone] === 1)
    ) {
      scanNumbers(text, on, hint, hits, wantTokens ? cfg.names : null, wantProse);
    }
    const wantPair = on[K['secret:pair']] === 1;
    const wantIpv6 = on[K.ipv6] === 1;
    if (wantPair && (starts & START_DASH) !== 0) {
      for (let p = text.indexOf('--'); p >= 0; p = text.indexOf('--', p + 2)) {
        if (text.startsWith('--user ', p)) matchUserFlag(text, p, pair);
        else matchFlagSecret(text, p, cfg.names, pair);
        if (pair[0] >= 0) hits.push(pair[0], pair[1], K['secret:pair']);
      }
    }
    if (wantPair && n >= MIN_TOKEN_LENGTH) {
      for (let p = text.indexOf('-u '); p >= 0; p = text.indexOf('-u ', p + 3)) {
        matchUserFlag(text, p, pair);
        if (pair[0] >= 0) hits.push(pair[0], pair[1], K['secret:pair']);
      }
      for (let p = text.indexOf('-p'); p >= 0; p = text.indexOf('-p', p + 2)) {
        matchPasswordFlag(text, p, pair);
        if (pair[0] >= 0) hits.push(pair[0], pair[1], K['secret:pair']);
      }
    }
    if ((wantPair || wantIpv6) && (starts & (START_COLON | START_EQUALS)) !== 0) {
      let c = (starts & START_COLON) !== 0 ? text.indexOf(':') : -1;
      while (c >= 0) {
        let next = c + 1;
        if (wantIpv6) {
          matchIpv6(text, c, pair);
          if (pair[0] >= 0) hits.push(pair[0], pair[1], K.ipv6);
          if (pair[1] > next) next = pair[1];
        }
        if (wantPair) {
          matchSecretPair(text, c, cfg.names, triple);
          if (triple[0] >= 0) pushPair(text, hits);
        }
        c = text.indexOf(':', next);
      }
      if (wantPair && n >= MIN_TOKEN_LENGTH) {
        for (let p = text.indexOf('password'); p >= 0; p = text.indexOf('password', p + 8)) {
          matchNetrcPassword(text, p, pair);
          if (pair[0] < 0) matchQuotedPassword(text, p, pair);
          if (pair[0] >= 0) hits.push(pair[0], pair[1], K['secret:pair']);
        }
      }
      if (wantPair && (starts & START_EQUALS) !== 0) {
        let e = text.indexOf('=');
        while (e >= 0) {
          matchSecretPair(text, e, cfg.names, triple);
          if (triple[0] >= 0) pushPair(text, hits);
          e = text.indexOf('=', e + 1);
        }
      }
    }
  }
  for (const c of cfg.custom) c.run(text, hits);
}

/** A sensitive pair's value: an AWS-named pair holding a 40-character key is an AWS secret. */
function pushPair(text: string, hits: number[]): void {
  const [s, e, aws] = triple;
  const kind =
    aws === 1 && e - s === 40 && /^[A-Za-z0-9/+]{40}$/.test(text.slice(s, e))
      ? K['secret:aws']
      : K['secret:pair'];
  hits.push(s, e, kind);
}

/**
 * Replaces the spans in `hits` by their markers. Overlapping spans become one, named by the
 * highest-priority kind among them. Returns null when `hits` is empty.
 */
export function applyHits(text: string, hits: number[], cfg: ScanConfig): ScanResult | null {
  const m = hits.length / 3;
  if (m === 0) return null;
  // By start, longer first. Insertion sort for the usual few hits (cheaper than sort's setup);
  // a full sort when there are many, as in a hostile 100 KB text.
  const order: number[] = [];
  if (m > 32) {
    for (let i = 0; i < m; i++) order.push(i);
    order.sort((x, y) => hits[3 * x]! - hits[3 * y]! || hits[3 * y + 1]! - hits[3 * x + 1]!);
  }
  for (let i = 0; i < m && m <= 32; i++) {
    const s = hits[3 * i]!;
    const e = hits[3 * i + 1]!;
    let j = order.length;
    while (j > 0) {
      const o = order[j - 1]!;
      const os = hits[3 * o]!;
      if (os < s || (os === s && hits[3 * o + 1]! >= e)) break;
      order[j] = o;
      j--;
    }
    order[j] = i;
  }
  let out = '';
  let pos = 0;
  const kinds: number[] = [];
  let cs = -1;
  let ce = -1;
  let ck = -1;
  for (let o = 0; o <= order.length; o++) {
    const i = o < order.length ? order[o]! : -1;
    const s = i < 0 ? Number.POSITIVE_INFINITY : hits[3 * i]!;
    const e = i < 0 ? s : hits[3 * i + 1]!;
    const k = i < 0 ? -1 : hits[3 * i + 2]!;
    if (i >= 0 && e <= s) continue;
    if (cs >= 0 && s < ce) {
      if (e > ce) ce = e;
      if (cfg.priorities[k]! > cfg.priorities[ck]!) ck = k;
      continue;
    }
    if (cs >= 0) {
      out += text.slice(pos, cs) + cfg.markers[ck]!;
      kinds.push(ck);
      pos = ce;
    }
    cs = s;
    ce = e;
    ck = k;
  }
  if (kinds.length === 0) return null;
  out += text.slice(pos);
  return { text: out, kinds };
}
