/**
 * The labelled redaction corpus: the generated cases (generate.ts) and the hand-written hard
 * cases (hand-*.jsonl). Hand-written secrets are placeholders (`{{github}}`, `{{stripe}}`, ...)
 * filled at load time with seeded fakes, so the files hold nothing token-shaped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as f from './fakes.js';
import { generateCases } from './generate.js';
import type { CorpusCase, Expected } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const FILLERS: Record<string, (r: f.Rng) => string> = {
  'aws-id': f.awsKeyId,
  'aws-secret': f.awsSecret,
  github: f.github,
  openai: f.openai,
  anthropic: f.anthropic,
  slack: f.slackToken,
  'slack-hook': f.slackHook,
  stripe: f.stripe,
  google: f.google,
  sendgrid: f.sendgrid,
  huggingface: f.huggingface,
  gitlab: f.gitlab,
  npm: f.npmToken,
  jwt: f.jwt,
  pem: (r) => f.pem(r),
  opaque: (r) => f.opaque(r),
  card: f.card,
  iban: f.iban,
  email: f.email,
  ssn: f.ssn,
};

function fill(s: string, values: Map<string, string>, r: f.Rng): string {
  return s.replace(/\{\{([a-z0-9-]+)(?::(\d+))?\}\}/g, (_, name: string, n: string | undefined) => {
    const key = `${name}:${n ?? '0'}`;
    let v = values.get(key);
    if (v === undefined) {
      const make = FILLERS[name];
      if (make === undefined) throw new Error(`unknown placeholder {{${name}}}`);
      v = make(r);
      values.set(key, v);
    }
    // the line is JSON: the value goes in as the inside of a JSON string
    return JSON.stringify(v).slice(1, -1);
  });
}

/** Reads one hand-written JSON-lines file: `{"text"|"json", "expect": [[kind, value]...], "tag"}` per line. */
function readHand(file: string, seed: number): CorpusCase[] {
  const r = new f.Rng(seed);
  return fs
    .readFileSync(path.join(here, file), 'utf8')
    .split('\n')
    .flatMap((line, i) => {
      if (line.trim() === '' || line.startsWith('//')) return [];
      const values = new Map<string, string>();
      const raw = JSON.parse(fill(line, values, r)) as Omit<CorpusCase, 'id'>;
      const expect = (raw.expect ?? []).map(([k, v]) => [k, v] as Expected);
      return [{ ...raw, id: `${file}:${i + 1}`, expect }];
    });
}

/** Every case of the corpus. */
export function loadCorpus(): CorpusCase[] {
  return [
    ...generateCases(),
    ...readHand('hand-positives.jsonl', 7),
    ...readHand('hand-negatives.jsonl', 11),
    ...readHand('hand-blind.jsonl', 13),
  ];
}
