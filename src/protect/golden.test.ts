/**
 * The redactor gives the same output as recorded in bench/redact-corpus/golden.json: for every
 * corpus case alone and in every kind of event field, under several configurations, the same
 * value, findings, `failed` and unchanged objects. Speed work on the redactor must leave this
 * test passing; an intended change of output rewrites the file (golden.ts) and is reviewed.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadCorpus } from '../../bench/redact-corpus/corpus.js';
import { GOLDEN_CONFIGS, GOLDEN_FILE, goldenDigests } from '../../bench/redact-corpus/golden.js';
import { createRedactor } from './index.js';

describe('the redactor on the golden corpus', () => {
  const stored = JSON.parse(fs.readFileSync(GOLDEN_FILE, 'utf8')) as Record<string, Record<string, string>>;
  const now = goldenDigests(createRedactor, loadCorpus());

  for (const name of Object.keys(GOLDEN_CONFIGS)) {
    it(`gives the recorded output for every case with the ${name} configuration`, () => {
      const want = stored[name] ?? {};
      const got = now[name] ?? {};
      expect(Object.keys(got).length).toBeGreaterThan(10);
      const changed = Object.keys({ ...want, ...got }).filter((k) => want[k] !== got[k]);
      expect(changed).toEqual([]);
    });
  }
});
