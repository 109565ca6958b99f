import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleEvent, tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { DirSource, type StoredLine } from './dir-source.js';
import { archiveSegment } from './segment-archive.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('DirSource.lineAt', () => {
  const dir = path.join(root, 'audit');
  let all: StoredLine[];
  /** A fresh copy of the trail, changed by `change`, whose every entry must still be found. */
  const expectAllFound = (name: string, change: (copy: string) => void) => {
    const copy = path.join(root, name);
    fs.cpSync(dir, copy, { recursive: true });
    change(copy);
    const source = new DirSource(copy);
    for (const line of all) expect(source.lineAt(line.seq)).toBe(line.text);
    expect(source.lineAt(all.length)).toBeUndefined();
    return source;
  };

  beforeAll(async () => {
    const trail = await AuditTrail.open({ dir, maxSegmentBytes: 1024 * 1024, worker: false, batchSize: 50 });
    for (let i = 0; i < 1500; i++) {
      trail.emit(
        i % 97 === 0 ? { type: 'x.big', content: { prompt: 'p'.repeat(60_000 + i) } } : sampleEvent(i),
      );
    }
    await trail.close();
    all = [...new DirSource(dir).lines()];
  });

  it('finds every entry across segments and lines longer than a read window, none past the end', () => {
    const source = new DirSource(dir);
    expect(source.segments().length).toBeGreaterThan(2);
    expect(all).toHaveLength(1500);
    for (const line of all) expect(source.lineAt(line.seq)).toBe(line.text);
    // Both sides of every segment boundary, and before the first entry.
    for (const { ref } of source.segments()) {
      for (const seq of [ref.firstSeq - 1, ref.firstSeq, ref.firstSeq + 1]) {
        if (seq >= 0) expect(source.lineAt(seq)).toBe(all[seq]!.text);
      }
    }
    expect(source.lineAt(1500)).toBeUndefined();
    expect(source.lineAt(-1)).toBeUndefined();
  });

  it('finds every entry in archived (.gz) segments', () => {
    const source = expectAllFound('archived', (copy) => {
      for (const { ref, summary } of new DirSource(copy).segments()) {
        if (summary !== undefined) archiveSegment(ref, summary);
      }
    });
    expect(source.segments().filter((s) => s.ref.file.endsWith('.gz')).length).toBeGreaterThan(1);
  });

  it('finds every entry when the stored leaf count misleads the search of the last segment, or is absent', () => {
    const leaves = (copy: string) => path.join(copy, 'tree', 'level-00.hashes');
    expectAllFound('few-leaves', (copy) => fs.truncateSync(leaves(copy), 32));
    expectAllFound('many-leaves', (copy) => fs.appendFileSync(leaves(copy), Buffer.alloc(32 * 100_000)));
    expectAllFound('no-tree', (copy) => fs.rmSync(path.join(copy, 'tree'), { recursive: true }));
  });
});
