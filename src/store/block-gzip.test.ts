import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { BLOCK_BYTES, blockGzip, indexMember, readBlockIndex } from './block-gzip.js';
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

/** The decompressed bytes of an archive file, read through openSegmentFile. */
function readWhole(file: string): Buffer {
  const seg = openSegmentFile(file);
  try {
    const buf = Buffer.alloc(seg.size);
    expect(seg.read(buf, 0, seg.size, 0)).toBe(seg.size);
    return buf;
  } finally {
    seg.close();
  }
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

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

  it('finds no index in a one-member gzip, as archives were written before blocks', () => {
    expect(indexOf(gzipSync(lines(100_000)))).toBeUndefined();
  });
});

describe('openSegmentFile on a block archive', () => {
  it('reads any range as the segment bytes', () => {
    const data = lines(1_000_000);
    const file = path.join(dir, '00000000000000000000.log.gz');
    fs.writeFileSync(file, blockGzip(data));
    const fds = openFds();
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
    expect(openFds()).toBe(fds);
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

  it('reports every changed byte of the index member as damage', () => {
    const data = lines(3 * BLOCK_BYTES);
    const packed = blockGzip(data);
    const index = indexOf(packed)!;
    const file = path.join(dir, '00000000000000000000.log.gz');
    for (let at = index.memberStarts.at(-1)!; at < packed.length; at++) {
      const bytes = Buffer.from(packed);
      bytes[at] = bytes[at]! ^ 0x01;
      fs.writeFileSync(file, bytes);
      expect(() => readWhole(file), `byte ${at}`).toThrow(/archived segment is damaged/);
    }
  });

  it('reports bytes after the gzip data as damage, in a block archive and in a one-member one', () => {
    const data = lines(3 * BLOCK_BYTES);
    const file = path.join(dir, '00000000000000000000.log.gz');
    for (const packed of [blockGzip(data), gzipSync(data)]) {
      fs.writeFileSync(file, Buffer.concat([packed, Buffer.alloc(10)]));
      expect(() => readWhole(file)).toThrow(/archived segment is damaged \(bytes after the gzip data\)/);
      fs.writeFileSync(file, packed);
      expect(readWhole(file).equals(data)).toBe(true);
    }
  });

  it('reports an intact index that does not describe its blocks', () => {
    const data = lines(3 * BLOCK_BYTES + 100);
    const packed = blockGzip(data);
    const { memberStarts } = indexOf(packed)!;
    const members = packed.subarray(0, memberStarts.at(-1)!);
    const lengths = memberStarts.slice(1).map((end, i) => end - memberStarts[i]!);
    const file = path.join(dir, '00000000000000000000.log.gz');
    for (const [blockBytes, last] of [
      [BLOCK_BYTES, 99], // the last block holds 100
      [BLOCK_BYTES + 1, 100], // blocks hold BLOCK_BYTES
      [2 ** 31, 100], // larger than any block a reader inflates
    ] as const) {
      fs.writeFileSync(file, Buffer.concat([members, indexMember(blockBytes, last, lengths)]));
      expect(() => readWhole(file), `${blockBytes}/${last}`).toThrow(/archived segment is damaged/);
    }
    fs.writeFileSync(file, Buffer.concat([members, indexMember(BLOCK_BYTES, 100, lengths)]));
    expect(readWhole(file).equals(data)).toBe(true);
  });

  it('reads no more than the buffer holds, as fs.readSync', () => {
    const file = path.join(dir, '00000000000000000000.log.gz');
    fs.writeFileSync(file, blockGzip(lines(2 * BLOCK_BYTES)));
    const seg = openSegmentFile(file);
    expect(seg.read(Buffer.alloc(10), 0, 100, BLOCK_BYTES - 5)).toBe(10);
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
