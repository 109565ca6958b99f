/** Measures of how random a token looks, for secrets that have no fixed format. */

const counts = new Int32Array(128);

/**
 * Shannon entropy of `text[start..end)` in bits per character, counting ASCII characters (any
 * other character counts as one shared symbol). A random base64 string of 40 characters scores
 * about 4.8, random hex of 32 about 3.7, an English word about 2.5–3.2.
 */
export function shannonEntropy(text: string, start = 0, end = text.length): number {
  const n = end - start;
  if (n <= 0) return 0;
  counts.fill(0);
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    counts[c < 128 ? c : 0]!++;
  }
  let h = 0;
  for (let c = 0; c < 128; c++) {
    const k = counts[c]!;
    if (k === 0) continue;
    const p = k / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** How many of the classes lower-case letter, upper-case letter and digit occur in `text[start..end)`. */
export function charClassCount(text: string, start = 0, end = text.length): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = 1;
    else if (c >= 65 && c <= 90) upper = 1;
    else if (c >= 48 && c <= 57) digit = 1;
  }
  return lower + upper + digit;
}
