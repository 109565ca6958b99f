import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { trailDirs } from '../test-support/fixtures.js';
import { ensureDir } from './fs-safe.js';

const dirs = trailDirs();
afterEach(() => dirs.cleanup());

describe('ensureDir', () => {
  it('creates missing parents, each 0700, and accepts a directory that exists', () => {
    const root = dirs.root();
    const dir = path.join(root, 'a', 'b', 'c');
    ensureDir(dir);
    ensureDir(dir);
    for (const d of [path.join(root, 'a'), path.join(root, 'a', 'b'), dir])
      expect(fs.statSync(d).mode & 0o777).toBe(0o700);
  });

  it('fails on a file in the way', () => {
    const file = path.join(dirs.root(), 'file');
    fs.writeFileSync(file, '');
    expect(() => ensureDir(file)).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => ensureDir(path.join(file, 'x'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  // mkdirSync's `recursive` loops forever here on Node 20: mkdir says ENOENT under a parent that exists.
  it.runIf(fs.existsSync('/proc/self/fd'))(
    'fails, rather than hang, where mkdir says ENOENT under an existing parent',
    () => {
      expect(() => ensureDir('/proc/self/fd/x/y')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    },
  );
});
