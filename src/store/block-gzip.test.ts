import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { BLOCK_BYTES, blockGzip, readBlockIndex } from './block-gzip.js';
import { openSegmentFile } from './segment-file.js';

/** Segment-like bytes: lines of JSON text with some random (incompressible) parts. */
function lines(bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  for (let seq = 0; n < bytes; seq++) {
    const line = `{"event":{"id":"${randomBytes(12).toString('hex')}","n":${seq}},"seq":${seq},"v":1}\n`;
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

const indexOf = (packed: Buffer) =>
  readBlockIndex(packed.length, (buf, position) => packed.copy(buf, 0, position, position + buf.length));

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-block-gzip-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('blockGzip', () => {
  it.each([0, 1, BLOCK_BYTES - 1, BLOCK_BYTES, BLOCK_BYTES + 1, 3 * BLOCK_BYTES + 17])(
    'reads back whole through any gunzip (%i bytes)',
    (size) => {
      const data = lines(size);
      const packed = blockGzip(data);
      expect(gunzipSync(packed).equals(data)).toBe(true);
      const index = indexOf(packed)!;
      expect(index.size).toBe(size);
      expect(index.memberStarts.length - 1).toBe(Math.ceil(size / BLOCK_BYTES));
    },
  );

  it('is a gzip file the gzip tool reads', () => {
    const data = lines(200_000);
    const file = path.join(dir, 'x.gz');
    fs.writeFileSync(file, blockGzip(data));
    const out = spawnSync('gzip', ['-dc', file]);
    if (out.error !== undefined) throw out.error; // gzip is part of every Debian system
    expect(out.status).toBe(0);
    expect(out.stdout.equals(data)).toBe(true);
  });

  it('grows its blocks so that the index fits the gzip extra field', () => {
    const data = lines(20_000_000);
    const index = indexOf(blockGzip(data, 1, 1024))!;
    expect(index.blockBytes).toBe(2048);
    expect(index.memberStarts.length - 1).toBe(Math.ceil(data.length / 2048));
  });

  it('finds no index in a one-member gzip or in bytes that only end like one', () => {
    expect(indexOf(gzipSync(lines(100_000)))).toBeUndefined();
    const packed = blockGzip(lines(100_000));
    const shorter = packed.subarray(1); // the index's length no longer lands on its header
    expect(indexOf(Buffer.from(shorter))).toBeUndefined();
  });
});

describe('openSegmentFile on a block archive', () => {
  it('reads any range as the segment bytes', () => {
    const data = lines(1_000_000);
    const file = path.join(dir, '00000000000000000000.log.gz');
    fs.writeFileSync(file, blockGzip(data));
    const seg = openSegmentFile(file);
    try {
      expect(seg.size).toBe(data.length);
      for (const [at, len] of [
        [0, 10],
        [BLOCK_BYTES - 6, 20],
        [2 * BLOCK_BYTES, BLOCK_BYTES * 3 + 5],
        [data.length - 7, 100],
        [data.length, 10],
      ] as const) {
        const buf = Buffer.alloc(len);
        const n = seg.read(buf, 0, len, at);
        expect(n).toBe(Math.max(0, Math.min(len, data.length - at)));
        expect(buf.subarray(0, n).equals(data.subarray(at, at + n))).toBe(true);
      }
    } finally {
      seg.close();
    }
  });

  it('reads a one-member archive, as archives were written before blocks', () => {
    const data = lines(200_000);
    const file = path.join(dir, '00000000000000000000.log.gz');
    fs.writeFileSync(file, gzipSync(data));
    const seg = openSegmentFile(file);
    const buf = Buffer.alloc(1000);
    expect(seg.read(buf, 0, 1000, 150_000)).toBe(1000);
    expect(buf.equals(data.subarray(150_000, 151_000))).toBe(true);
    seg.close();
  });

  it('reads an archive whose index is damaged whole: the index is not needed for the bytes', () => {
    const data = lines(3 * BLOCK_BYTES);
    const packed = blockGzip(data);
    packed[packed.length - 12] = packed[packed.length - 12]! ^ 0xff; // the index's own length
    expect(indexOf(packed)).toBeUndefined();
    const file = path.join(dir, '00000000000000000000.log.gz');
    fs.writeFileSync(file, packed);
    const seg = openSegmentFile(file);
    const buf = Buffer.alloc(data.length);
    expect(seg.read(buf, 0, data.length, 0)).toBe(data.length);
    expect(buf.equals(data)).toBe(true);
    seg.close();
  });

  it('reads the intact blocks of a damaged archive and names the file at the damaged one', () => {
    const data = lines(4 * BLOCK_BYTES);
    const packed = blockGzip(data);
    const index = indexOf(packed)!;
    const at = index.memberStarts[2]! + 40;
    packed[at] = packed[at]! ^ 0xff; // inside block 2's compressed data
    const file = path.join(dir, '00000000000000000000.log.gz');
    fs.writeFileSync(file, packed);
    const seg = openSegmentFile(file);
    try {
      const buf = Buffer.alloc(100);
      seg.read(buf, 0, 100, BLOCK_BYTES + 10);
      expect(buf.equals(data.subarray(BLOCK_BYTES + 10, BLOCK_BYTES + 110))).toBe(true);
      let err: unknown;
      try {
        seg.read(buf, 0, 100, 2 * BLOCK_BYTES + 10);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AuditError);
      expect((err as AuditError).code).toBe('SEGMENT_CHECKSUM_MISMATCH');
      expect((err as AuditError).message).toContain('00000000000000000000.log.gz');
    } finally {
      seg.close();
    }
  });
});
