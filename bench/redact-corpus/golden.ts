/**
 * Golden behaviour of the redactor: every corpus case redacted alone (as content, meta and
 * identifiers) and placed in each kind of event field (content, meta, identifiers, resource,
 * guardrails, short values word by word, key names, JSON numbers), under several redactor
 * configurations. Each case's results — value, findings, `failed`, and which objects came back
 * unchanged (the same object) — are reduced to a SHA-256 digest stored in `golden.json`, so a
 * faster redactor can be checked to give the same output for every input
 * (`src/protect/golden.test.ts`).
 *
 * `npx tsx bench/redact-corpus/golden.ts --write` rewrites `golden.json` from the redactor in
 * `src/`: only when a change of output is intended, and reviewed case by case.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redactor, RedactorOptions } from '../../src/protect/index.js';
import { loadCorpus } from './corpus.js';
import type { CorpusCase } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Where the digests are stored. */
export const GOLDEN_FILE = path.join(here, 'golden.json');

/** The configurations compared: the default and ones that change which paths the redactor takes. */
export const GOLDEN_CONFIGS: Readonly<Record<string, RedactorOptions>> = {
  default: {},
  'identifiers-all': { classes: { identifiers: 'all' } },
  'some-off': { detectors: { email: false, 'secret:pair': false, phone: false } },
  'meta-list': { classes: { meta: ['email', 'ipv4', 'secret:key'], identifiers: 'off' } },
  custom: {
    sensitiveNames: ['dob', 'mrn'],
    custom: [
      { name: 'shout', pattern: /\b[A-Z]{4,}\b/ },
      { name: 'secret:codeword', find: (t: string) => spansOf(t, 'the') },
    ],
  },
  hook: { hook: (t: string) => t.replace(/\bis\b/g, 'IS') },
};

function spansOf(text: string, word: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) out.push([i, i + word.length]);
  return out;
}

/** The words of a text, as short field values are: split at white space, at most 40. */
function wordsOf(text: string): string[] {
  return text
    .split(/\s+/)
    .filter((w) => w !== '')
    .slice(0, 40);
}

/** The event inputs made from one case: its text or JSON in every kind of field. */
export function eventsOf(c: CorpusCase): Array<Record<string, unknown>> {
  const t = c.text ?? JSON.stringify(c.json);
  const words = wordsOf(t);
  const keyed: Record<string, unknown> = {};
  for (const w of words.slice(0, 12)) keyed[w] = 'v';
  const numbers = words.filter((w) => /^\d{1,17}$/.test(w)).map(Number);
  const events: Array<Record<string, unknown>> = [
    {
      type: 'model.completion',
      actor: { id: t, type: 'user', sessionId: words[0] ?? '', ip: '203.0.113.7' },
      conversation: { id: words[1] ?? 'c', turn: 3 },
      model: { provider: 'openai', name: words[2] ?? 'gpt-4o' },
      usage: { inputTokens: 312, outputTokens: 128, totalTokens: 440 },
      latencyMs: 842,
      outcome: 'success',
      content: { prompt: t, response: words.join(' ') },
      meta: { app: 'assistant', note: t, words, numbers },
    },
    {
      type: words[0] ?? 't',
      subject: words[1] ?? 's',
      requestId: words[2] ?? 'r',
      traceId: words[3] ?? 't',
      action: words[4] ?? 'a',
      resource: { type: words[5] ?? 'doc', id: words[6] ?? '1', title: t, tags: words },
      guardrails: [{ name: words[7] ?? 'g', decision: 'allow', reason: t, rule: words[8] ?? 'r' }, t],
      actor: { id: words[9] ?? 'u', extra: words },
      meta: keyed,
      content: { toolArgs: c.json ?? { text: t, words }, words },
    },
  ];
  if (c.json !== undefined) {
    events.push({ type: 'x', meta: c.json as Record<string, unknown>, actor: c.json, content: c.json });
    events.push({ type: 'x', resource: c.json, guardrails: [c.json] });
  }
  return events;
}

/** One redaction result as data: value, findings, failed, and whether the input came back as is. */
function describe(input: unknown, r: ReturnType<Redactor>): unknown {
  const same: string[] = [];
  if (r.value === input) same.push('');
  if (typeof input === 'object' && input !== null && typeof r.value === 'object' && r.value !== null) {
    for (const [k, v] of Object.entries(input)) {
      if (typeof v === 'object' && v !== null && (r.value as Record<string, unknown>)[k] === v) same.push(k);
    }
  }
  return [r.value, r.findings, r.failed, same];
}

/** Every result of one case under one redactor, in a fixed order. */
export function resultsOf(redact: Redactor, c: CorpusCase): unknown[] {
  const out: unknown[] = [];
  const t = c.text ?? '';
  const plain: unknown = c.json ?? t;
  for (const cls of [undefined, 'content', 'meta', 'identifiers'] as const)
    out.push(describe(plain, redact(plain, cls)));
  for (const w of wordsOf(t)) out.push(describe(w, redact(w, 'identifiers')), describe(w, redact(w, 'meta')));
  for (const ev of eventsOf(c)) out.push(describe(ev, redact(ev)));
  return out;
}

/** A short digest of results. */
export function digest(results: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(results)).digest('hex').slice(0, 16);
}

/** Digests per configuration: per case for the default, per corpus tag for the others. */
export function goldenDigests(
  createRedactor: (o?: RedactorOptions) => Redactor,
  cases: readonly CorpusCase[],
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [name, options] of Object.entries(GOLDEN_CONFIGS)) {
    const redact = createRedactor(options);
    const byGroup = new Map<string, unknown[]>();
    for (const c of cases) {
      const group = name === 'default' ? c.id : c.tag;
      let list = byGroup.get(group);
      if (list === undefined) {
        list = [];
        byGroup.set(group, list);
      }
      list.push(resultsOf(redact, c));
    }
    out[name] = Object.fromEntries([...byGroup].map(([g, rs]) => [g, digest(rs)]));
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!process.argv.includes('--write')) {
    console.error('usage: npx tsx bench/redact-corpus/golden.ts --write');
    process.exit(2);
  }
  const { createRedactor } = await import('../../src/protect/index.js');
  const digests = goldenDigests(createRedactor, loadCorpus());
  fs.writeFileSync(GOLDEN_FILE, `${JSON.stringify(digests, null, 2)}\n`);
  console.log(`wrote ${GOLDEN_FILE}`);
}
