import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../test-support/fixtures.js';
import { createFileExclusive } from './key-files.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('createFileExclusive', () => {
  it('creates many files at once, each whole, sharing the directory syncs', async () => {
    const dir = path.join(root, 'many');
    fs.mkdirSync(dir, { mode: 0o700 });
    const open = vi.spyOn(fs.promises, 'open');
    try {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => createFileExclusive(path.join(dir, `${i}.key`), `key ${i}\n`)),
      );
      const dirSyncs = open.mock.calls.filter(([p]) => p === dir).length;
      expect(dirSyncs).toBeGreaterThan(0);
      expect(dirSyncs).toBeLessThan(50);
    } finally {
      open.mockRestore();
    }
    const names = fs.readdirSync(dir).sort();
    expect(names).toHaveLength(50); // no temp file left
    for (let i = 0; i < 50; i++) {
      expect(fs.readFileSync(path.join(dir, `${i}.key`), 'utf8')).toBe(`key ${i}\n`);
      expect(fs.statSync(path.join(dir, `${i}.key`)).mode & 0o777).toBe(0o600);
    }
  });

  it('fails with EEXIST for a file that exists, leaving it as it was', async () => {
    const file = path.join(root, 'taken.key');
    await createFileExclusive(file, 'first');
    await expect(createFileExclusive(file, 'second')).rejects.toMatchObject({ code: 'EEXIST' });
    expect(fs.readFileSync(file, 'utf8')).toBe('first');
    expect(fs.readdirSync(root).filter((n) => n.startsWith('taken.key.tmp'))).toEqual([]);
  });
});
