/** Test helpers for the detectors: run one detector alone and read the redacted text. Not part of the package. */
import { createRedactor, type Finding, type Redactor } from '../protect/index.js';

const redactors = new Map<string, Redactor>();

function redactorFor(detector: string): Redactor {
  let r = redactors.get(detector);
  if (r === undefined) {
    r = createRedactor({ classes: { content: [detector], meta: 'off', identifiers: 'off' } });
    redactors.set(detector, r);
  }
  return r;
}

/** `text` with only `detector` applied; with `key`, as the value of that key (for key-name context). */
export function only(detector: string, text: string, key?: string): string {
  const r = redactorFor(detector);
  if (key === undefined) return r(text, 'content').value;
  return (r({ [key]: text }, 'content').value as Record<string, string>)[key]!;
}

/** The findings of `detector` alone on `text`. */
export function findingsOf(detector: string, text: string): Finding[] {
  return redactorFor(detector)(text, 'content').findings;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A fake secret body: `n` characters of `alphabet`, from a seeded generator, starting with
 * `FAKE` where the alphabet allows (obviously fake, never a real credential). Secrets in tests
 * are built from parts like this so no token-shaped literal sits in the repository.
 */
export function fakeBody(n: number, seed = 1, alphabet = ALNUM): string {
  let x = seed * 2654435761 + 12345;
  let out = alphabet.includes('F') && alphabet.includes('K') && n >= 8 ? 'FAKE' : '';
  while (out.length < n) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out += alphabet[x % alphabet.length];
  }
  // at least one digit, so every class is present as in real keys
  return alphabet.includes('7') ? `${out.slice(0, n - 1)}7` : out;
}
