/**
 * Short writes happen on a nearly full disk, which a test cannot make portably (no mount here):
 * fs.writeSync is made to take at most a few bytes per call, or none, around real files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from './store/fs-safe.js';
import { tempDir } from './test-support/fixtures.js';
import { writeAll } from './write-all.js';

const realWrite = fs.writeSync;
/** From now on each write takes at most `most` bytes (0: none, as a full disk would). */
function shortWrites(most: number): void {
  vi.spyOn(fs, 'writeSync').mockImplementation(((
    fd: number,
    buf: Uint8Array,
    off: number,
    len: number,
    pos: number | null,
  ) => (most === 0 ? 0 : realWrite(fd, buf, off, Math.min(len, most), pos))) as typeof fs.writeSync);
}

afterEach(() => vi.restoreAllMocks());

describe('writeAll', () => {
  it('writes everything when each write takes only part, at the offset or from a position', () => {
    const file = path.join(tempDir(), 'f');
    const fd = fs.openSync(file, 'w+');
    shortWrites(7);
    writeAll(fd, 'héllo, '.repeat(50));
    writeAll(fd, Buffer.from('XYZ'.repeat(10)), 3);
    vi.restoreAllMocks();
    fs.closeSync(fd);
    const want = Buffer.from('héllo, '.repeat(50));
    want.write('XYZ'.repeat(10), 3);
    expect(fs.readFileSync(file).equals(want)).toBe(true);
  });

  it('throws ENOSPC when a write takes nothing; writeFileAtomic then keeps the old file and no temp file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, 'old');
    shortWrites(0);
    expect(() => writeFileAtomic(file, 'new contents')).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
    vi.restoreAllMocks();
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
  });
});
