/**
 * Scores a redactor on the corpus, per detector and overall. For each case and kind:
 * expected = how many values of that kind the case holds, found = the findings' count for that
 * kind; TP = min(expected, found) less any expected value still present in the output (a leak
 * is a miss even when the kind was reported), FN = expected − TP, FP = found beyond expected.
 * A negative case contributes only false positives.
 */
import type { Redactor } from '../../src/protect/index.js';
import type { CorpusCase } from './types.js';

/** Counts and rates for one detector (or all of them). */
export interface Score {
  tp: number;
  fn: number;
  fp: number;
  recall: number;
  precision: number;
}

/** The scores and the cases that went wrong. */
export interface Evaluation {
  perKind: Map<string, Score>;
  overall: Score;
  positives: number;
  negatives: number;
  /** Per kind: how many positive cases were written for it. */
  casesPerKind: Map<string, number>;
  /** Cases with a miss, a leak or a false positive, for inspection. */
  errors: Array<{ id: string; tag: string; missed: string[]; extra: string[]; output: string }>;
}

function rates(s: Omit<Score, 'recall' | 'precision'>): Score {
  return {
    ...s,
    recall: s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn),
    precision: s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp),
  };
}

/** Runs `redact` on every case and scores it. */
export function evaluate(redact: Redactor, cases: readonly CorpusCase[]): Evaluation {
  const counts = new Map<string, { tp: number; fn: number; fp: number }>();
  const casesPerKind = new Map<string, number>();
  const errors: Evaluation['errors'] = [];
  const at = (k: string) => {
    let c = counts.get(k);
    if (c === undefined) {
      c = { tp: 0, fn: 0, fp: 0 };
      counts.set(k, c);
    }
    return c;
  };
  let positives = 0;
  let negatives = 0;
  for (const c of cases) {
    const r = c.json !== undefined ? redact(c.json, 'content') : redact(c.text ?? '', 'content');
    const output = typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
    if (c.expect.length === 0) negatives++;
    else positives++;
    const expected = new Map<string, number>();
    const leaked = new Map<string, number>();
    for (const [kind, value] of c.expect) {
      expected.set(kind, (expected.get(kind) ?? 0) + 1);
      const shown = c.json !== undefined ? JSON.stringify(value).slice(1, -1) : value;
      if (output.includes(shown)) leaked.set(kind, (leaked.get(kind) ?? 0) + 1);
    }
    for (const kind of new Set(c.expect.map(([k]) => k)))
      casesPerKind.set(kind, (casesPerKind.get(kind) ?? 0) + 1);
    const found = new Map<string, number>();
    for (const fnd of r.findings) found.set(fnd.kind, (found.get(fnd.kind) ?? 0) + fnd.count);
    const missed: string[] = [];
    const extra: string[] = [];
    for (const kind of new Set([...expected.keys(), ...found.keys()])) {
      const e = expected.get(kind) ?? 0;
      const fo = found.get(kind) ?? 0;
      const tp = Math.max(0, Math.min(e, fo) - (leaked.get(kind) ?? 0));
      const s = at(kind);
      s.tp += tp;
      s.fn += e - tp;
      s.fp += Math.max(0, fo - e);
      if (e - tp > 0) missed.push(kind);
      if (fo > e) extra.push(kind);
    }
    if (missed.length > 0 || extra.length > 0) errors.push({ id: c.id, tag: c.tag, missed, extra, output });
  }
  const perKind = new Map([...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, s]) => [k, rates(s)]));
  const total = { tp: 0, fn: 0, fp: 0 };
  for (const s of counts.values()) {
    total.tp += s.tp;
    total.fn += s.fn;
    total.fp += s.fp;
  }
  return { perKind, overall: rates(total), positives, negatives, casesPerKind, errors };
}
