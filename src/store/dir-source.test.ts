import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleEvent, tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { DirSource } from './dir-source.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('DirSource.lineAt', () => {
  it('finds every entry by bisection, across segments and lines longer than a read window', async () => {
    const dir = path.join(root, 'audit');
    const trail = await AuditTrail.open({ dir, maxSegmentBytes: 1024 * 1024, worker: false, batchSize: 50 });
    for (let i = 0; i < 1500; i++) {
      trail.emit(
        i % 97 === 0 ? { type: 'x.big', content: { prompt: 'p'.repeat(60_000 + i) } } : sampleEvent(i),
      );
    }
    await trail.close();
    const source = new DirSource(dir);
    expect(source.segments().length).toBeGreaterThan(2);
    const all = [...source.lines()];
    expect(all).toHaveLength(1500);
    for (const line of all) expect(source.lineAt(line.seq)).toBe(line.text);
    expect(source.lineAt(1500)).toBeUndefined();
  });
});
