import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestContent, GENESIS_PREV, parseCommitted, parsePayloads, splitLine } from '../chain/record.js';
import { hashLeaf } from '../chain/rfc6962.js';
import { canonicalJson } from '../event/canonical.js';
import { prepareEvent } from '../event/prepare.js';
import { BatchBuilder } from './framing.js';
import { forEachFramed, LineBuilder } from './line-builder.js';

/** Builds the lines of `inputs` as the appender does, and returns them as text. */
function build(
  inputs: Array<Record<string, unknown>>,
  lines = new LineBuilder(),
  maxStringBytes = 65536,
): string[] {
  const batch = new BatchBuilder(16);
  for (const input of inputs) batch.add(prepareEvent(input, { maxStringBytes }));
  const bytes = batch.take();
  const src = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  lines.reset();
  let prev: Buffer = GENESIS_PREV;
  let seq = 0;
  const leaves: string[] = [];
  forEachFramed(src, (ev) => {
    const { start, end, leaf } = lines.appendLine(src, ev, prev, seq++);
    expect(leaf.equals(hashLeaf(lines.text(start, end)))).toBe(true);
    prev = leaf;
    leaves.push(prev.toString('base64'));
  });
  const text = lines.bytes().toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  const out = text.slice(0, -1).split('\n');
  // Each entry links to the leaf of the one before.
  out.forEach((line, i) => {
    const rec = parseCommitted(splitLine(line).committed);
    expect(rec.seq).toBe(i);
    expect(rec.prev).toBe(i === 0 ? GENESIS_PREV.toString('base64') : leaves[i - 1]);
  });
  return out;
}

const TEXT = fc.string({ unit: 'grapheme', maxLength: 300 });

describe('LineBuilder', () => {
  it('commits every payload by its salted digest and keeps the exact value, for any text', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(TEXT, TEXT, fc.boolean()), { minLength: 1, maxLength: 8 }), (rows) => {
        const inputs = rows.map(([prompt, note, withContent]) => ({
          type: 'model.completion',
          actor: { id: note },
          meta: { note },
          ...(withContent ? { content: { prompt, response: { parts: [prompt, note] } } } : {}),
        }));
        const lines = build(inputs);
        expect(lines).toHaveLength(inputs.length);
        lines.forEach((line, i) => {
          const { committed, payloads } = splitLine(line);
          const rec = parseCommitted(committed);
          expect(rec.event.meta).toEqual({ note: rows[i]![1] });
          const input = inputs[i]!;
          if (input.content === undefined) {
            expect(payloads).toBeUndefined();
            expect(rec.content).toBeUndefined();
            return;
          }
          const stored = parsePayloads(payloads!);
          expect(Object.keys(stored)).toEqual(['prompt', 'response']);
          for (const name of ['prompt', 'response'] as const) {
            const p = stored[name] as { salt: string; value: unknown };
            expect(p.value).toEqual(input.content[name]);
            expect(Buffer.from(p.salt, 'base64')).toHaveLength(16);
            expect(rec.content![name]).toBe(digestContent(name, p.salt, canonicalJson(p.value)));
          }
        });
      }),
      { numRuns: 60 },
    );
  });

  it('gives every payload its own salt', () => {
    const lines = build(
      Array.from({ length: 50 }, () => ({ type: 'model.request', content: { prompt: 'hi' } })),
    );
    const salts = lines.map((l) => (parsePayloads(splitLine(l).payloads!).prompt as { salt: string }).salt);
    expect(new Set(salts).size).toBe(50);
  });

  it('digests values larger than its scratch buffer the same way', () => {
    const big = 'é'.repeat(600_000); // 1.2 MB of UTF-8: streamed, not copied
    const [line] = build([{ type: 'model.request', content: { prompt: big } }], new LineBuilder(), 2_000_000);
    const { committed, payloads } = splitLine(line!);
    const p = parsePayloads(payloads!).prompt as { salt: string; value: string };
    expect(p.value === big).toBe(true);
    expect(parseCommitted(committed).content!.prompt).toBe(
      digestContent('prompt', p.salt, JSON.stringify(big)),
    );
  });

  it('digests values that outgrow its first scratch buffer, and small ones after them', () => {
    const inputs = ['x'.repeat(50_000), 'short', 'y'.repeat(9_000)].map((prompt) => ({
      type: 'model.request',
      content: { prompt },
    }));
    build(inputs).forEach((line, i) => {
      const { committed, payloads } = splitLine(line);
      const p = parsePayloads(payloads!).prompt as { salt: string; value: string };
      expect(p.value).toBe(inputs[i]!.content.prompt);
      expect(parseCommitted(committed).content!.prompt).toBe(
        digestContent('prompt', p.salt, JSON.stringify(p.value)),
      );
    });
  });

  it('starts each batch afresh when reused', () => {
    const lines = new LineBuilder();
    build([{ type: 'model.request', content: { prompt: 'a' } }], lines);
    expect(build([{ type: 'model.request' }], lines)).toHaveLength(1);
  });
});
