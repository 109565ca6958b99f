/**
 * `npm run bench:redact`: quality and speed of redaction.
 * - Recall and precision per detector and overall on the labelled corpus (bench/redact-corpus),
 *   with the corpus size per detector and per kind of hard negative.
 * - Microseconds per redaction of a clean 600-character text, of a 600-character text with four
 *   findings, of a clean ~1.1 KB AI event (bench/records.ts), of that event without its two
 *   texts, and of the same event with five findings: the median over 300 batches of 1,000 calls after warm-up, the 10th percentile, and
 *   the median CPU time per batch, measured on the built package (dist/) before the corpus runs.
 *   The load average is printed with them: on a shared machine it moves the median most.
 * `--write` also rewrites the results section of docs/redaction.md.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditEventInput } from '../src/index.js';
import { built } from './built.js';
import { aiEvent } from './records.js';
import { loadCorpus } from './redact-corpus/corpus.js';
import { evaluate } from './redact-corpus/evaluate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const redact = built.createRedactor();

const lines: string[] = [];
const log = (s: string) => {
  lines.push(s);
  console.log(s);
};

// speed: measured first, before the corpus has run every code path with other shapes
const PROSE = [
  'Summarize the quarterly report for customer 4821 and list the three main risks with mitigations. ',
  'Revenue grew 12% year over year; the main risks are supply chain, currency and regulation. ',
  'The assistant answered in 3 paragraphs and cited 2 sources from the knowledge base. ',
  'Next steps: review the draft, confirm the budget for 2025, and schedule a call with the team. ',
  'Customers in 14 regions reported faster responses after the update to the search index. ',
];
/** Sixteen different texts of exactly 600 characters, so no result can be cached by the engine. */
function texts(withHits: boolean): string[] {
  return Array.from({ length: 16 }, (_, i) => {
    let t = '';
    for (let k = i; t.length < 700; k++) t += PROSE[k % PROSE.length];
    if (withHits) {
      const hits = ` Reach ${['alice', 'bob', 'carol', 'dave'][i % 4]}.smith@example.com or +1 415 555 ${String(2600 + i)}; card 4111 1111 1111 1111; key sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'.slice(i % 4)}${'x'.repeat(i % 4)}.`;
      t = t.slice(0, 600 - hits.length) + hits;
    }
    // flat strings, as JSON.parse gives them
    return Buffer.from(t.slice(0, 600)).toString();
  });
}

/** The AI event of bench/records.ts with personal data and a secret in its texts and meta. */
function aiEventWithHits(i: number): AuditEventInput {
  const ev = aiEvent(i);
  const content = ev.content as { prompt: string; response: string };
  return {
    ...ev,
    content: {
      prompt: `${content.prompt}Send it to ${['alice', 'bob', 'carol', 'dave'][i % 4]}.smith@example.com and call +1 415 555 ${String(2600 + (i % 100))}.`,
      response: `${content.response}Charged card 4111 1111 1111 1111; the key was sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'.slice(i % 4)}.`,
    },
    meta: { ...ev.meta, contact: 'ops@example.org' },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Microseconds per call of `f` over `inputs`, in 300 batches of 1,000 calls after warm-up: the
 * median batch, the 10th percentile (the batches least disturbed by other processes), and the
 * median of the CPU time the process spent per batch, which waiting for a core on a busy machine
 * does not inflate.
 */
function measure<T>(
  inputs: readonly T[],
  f: (x: T) => unknown,
): { median: number; p10: number; cpu: number } {
  let sink = 0;
  for (let i = 0; i < 50_000; i++) sink += f(inputs[i % inputs.length]!) === undefined ? 0 : 1;
  const batches: number[] = [];
  const cpu: number[] = [];
  for (let b = 0; b < 300; b++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) sink += f(inputs[i % inputs.length]!) === undefined ? 0 : 1;
    batches.push(Number(process.hrtime.bigint() - t0) / 1000 / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  if (sink < 0) console.log(sink);
  batches.sort((a, b) => a - b);
  return { median: median(batches), p10: batches[Math.floor(batches.length / 10)]!, cpu: median(cpu) };
}

const clean = texts(false);
const dirty = texts(true);
for (const t of clean)
  if (redact(t).findings.length !== 0) throw new Error('a clean bench text has findings');
for (const t of dirty)
  if (redact(t).findings.length !== 4) throw new Error('a bench text with hits lacks some');
const events = Array.from({ length: 64 }, (_, i) => aiEvent(i));
const eventsWithHits = Array.from({ length: 64 }, (_, i) => aiEventWithHits(i));
for (const ev of events)
  if (redact(ev).findings.length !== 0) throw new Error('a clean bench event has findings');
for (const ev of eventsWithHits)
  if (redact(ev).findings.length !== 5) throw new Error('a bench event with hits lacks some');
const usClean = measure(clean, (t) => redact(t));
const usHits = measure(dirty, (t) => redact(t));
const usEvent = measure(events, (ev) => redact(ev));
const usEventHits = measure(eventsWithHits, (ev) => redact(ev));
const eventsWithoutTexts = events.map((ev) => ({ ...ev, content: {} }));
const usEventFields = measure(eventsWithoutTexts, (ev) => redact(ev));

// quality
const cases = loadCorpus();
const e = evaluate(redact, cases);
const pct = (x: number) => x.toFixed(3);
const negativesPerTag = new Map<string, number>();
for (const c of cases)
  if (c.expect.length === 0) negativesPerTag.set(c.tag, (negativesPerTag.get(c.tag) ?? 0) + 1);

log(`Corpus: ${e.positives} positive cases, ${e.negatives} hard negatives (${cases.length} in all).`);
log('');
log('| detector | positive cases | expected | found | missed | false positives | recall | precision |');
log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const [kind, s] of e.perKind) {
  log(
    `| ${kind} | ${e.casesPerKind.get(kind) ?? 0} | ${s.tp + s.fn} | ${s.tp} | ${s.fn} | ${s.fp} | ${pct(s.recall)} | ${pct(s.precision)} |`,
  );
}
const o = e.overall;
log(
  `| **overall** | ${e.positives} | ${o.tp + o.fn} | ${o.tp} | ${o.fn} | ${o.fp} | **${pct(o.recall)}** | **${pct(o.precision)}** |`,
);
log('');
log(`Hard negatives per kind: ${[...negativesPerTag].map(([t, n]) => `${t} ${n}`).join(', ')}.`);
if (e.errors.length > 0) {
  log('');
  log('Cases not fully right:');
  log('');
  for (const err of e.errors) {
    const what = [...err.missed.map((k) => `missed ${k}`), ...err.extra.map((k) => `extra ${k}`)].join(', ');
    log(`- ${err.id} (${what})`);
  }
}

log('');
const load = os.loadavg().map((l) => l.toFixed(1));
log(
  `Machine: ${os.cpus()[0]?.model ?? 'unknown'}, ${os.cpus().length} cores, node ${process.version}; load average while measuring: ${load.join(', ')} (1, 5, 15 min).`,
);
log('');
log('| redaction of | µs, median | µs, 10th percentile | µs of CPU, median |');
log('| --- | ---: | ---: | ---: |');
const row = (what: string, m: { median: number; p10: number; cpu: number }) =>
  log(`| ${what} | ${m.median.toFixed(2)} | ${m.p10.toFixed(2)} | ${m.cpu.toFixed(2)} |`);
row('a clean 600-character text', usClean);
row('a 600-character text with 4 findings (email, phone, card, key)', usHits);
row('a clean ~1.1 KB AI event (bench/records.ts: prompt, response, actor, model, usage, meta)', usEvent);
row('the clean event without its two texts (the walk and the short fields)', usEventFields);
row(
  'the same event with 5 findings (email and phone in the prompt, card and key in the response, email in meta)',
  usEventHits,
);

if (process.argv.includes('--write')) {
  const doc = path.join(here, '../docs/redaction.md');
  const text = fs.readFileSync(doc, 'utf8');
  const start = text.indexOf('<!-- results -->');
  const end = text.indexOf('<!-- /results -->');
  if (start < 0 || end < 0) throw new Error('docs/redaction.md has no results markers');
  fs.writeFileSync(doc, `${text.slice(0, start)}<!-- results -->\n${lines.join('\n')}\n${text.slice(end)}`);
  // the house formatter aligns the tables, so the page passes the lint as written
  spawnSync(
    process.execPath,
    [path.join(here, '../node_modules/@biomejs/biome/bin/biome'), 'format', '--write', doc],
    {
      stdio: 'inherit',
    },
  );
  console.log(`\nwrote ${doc}`);
}
