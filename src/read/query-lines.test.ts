/**
 * The raw line readers against the naive reference (`split('\n')`), for any lines and any chunk
 * size: forward and reverse give the same complete lines, and a final fragment without its
 * newline is never a line.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-support/fixtures.js';
import { readRawLines, readRawLinesReverse } from './query-lines.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;

describe('readRawLines and readRawLinesReverse', () => {
  it('yield exactly the complete lines, in both directions, for any chunk size', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/\n/g, ' ')),
          { maxLength: 30 },
        ),
        fc.string({ maxLength: 10 }).map((s) => s.replace(/\n/g, ' ')),
        fc.integer({ min: 1, max: 64 }),
        (lines, fragment, chunk) => {
          const file = path.join(root, `f${n++}`);
          fs.writeFileSync(file, lines.map((l) => `${l}\n`).join('') + fragment);
          // A span is valid until the next one is taken: read each as it comes.
          const fwd: string[] = [];
          for (const l of readRawLines(file, chunk)) fwd.push(l.buf.toString('utf8', l.start, l.end));
          const rev: string[] = [];
          for (const l of readRawLinesReverse(file, chunk)) rev.push(l.buf.toString('utf8', l.start, l.end));
          expect(fwd).toEqual(lines);
          expect(rev).toEqual([...lines].reverse());
        },
      ),
      { numRuns: 300 },
    );
  });
});
