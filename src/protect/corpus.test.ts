/**
 * The labelled corpus (bench/redact-corpus) as a quality gate: overall recall and precision of
 * the default redactor must stay at 0.98 or above. `npm run bench:redact` prints the same
 * scores per detector.
 */
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../bench/redact-corpus/corpus.js';
import { evaluate } from '../../bench/redact-corpus/evaluate.js';
import { DETECTOR_NAMES } from './detector-names.js';
import { createRedactor } from './index.js';

describe('the labelled redaction corpus', () => {
  const cases = loadCorpus();
  const result = evaluate(createRedactor(), cases);

  it('holds at least 300 positives and 300 hard negatives', () => {
    expect(result.positives).toBeGreaterThanOrEqual(300);
    expect(result.negatives).toBeGreaterThanOrEqual(300);
  });

  it('has positives for every built-in detector', () => {
    for (const name of DETECTOR_NAMES)
      expect(result.casesPerKind.get(name) ?? 0, name).toBeGreaterThanOrEqual(8);
  });

  it('is the same on every load (generated from a fixed seed)', () => {
    expect(loadCorpus()).toEqual(cases);
  });

  it('is redacted with overall recall and precision of at least 0.98', () => {
    const { recall, precision } = result.overall;
    if (recall < 0.98 || precision < 0.98) console.error(result.errors.slice(0, 20));
    expect(recall).toBeGreaterThanOrEqual(0.98);
    expect(precision).toBeGreaterThanOrEqual(0.98);
  });
});
