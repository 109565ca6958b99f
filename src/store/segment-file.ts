/**
 * Positional reads of a segment file, plain (`<seq>.log`) or gzip-archived (`<seq>.log.gz`), so
 * every reader reads archived segments transparently. An archive in block form (block-gzip.ts)
 * inflates only the blocks a read touches; one without a block index (a single gzip member) is
 * decompressed whole when opened (segments are bounded by the rotation size, 64 MiB by default).
 * Either way its decompressed bytes are exactly the sealed segment's, which its summary's
 * checksum covers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AuditError } from '../errors.js';
import { type BlockIndex, DamagedIndexError, inflateBlock, readBlockIndex } from './block-gzip.js';
import { withFile } from './fs-safe.js';

/** File name suffix of a gzip-archived segment. */
export const ARCHIVE_SUFFIX = '.gz';

/** An open segment: its (decompressed) size and positional reads, as fs.readSync. */
export interface SegmentBytes {
  readonly size: number;
  /** Reads up to `length` bytes at `position` into `buf` at `offset`; returns the count (0 at the end). */
  read(buf: Buffer, offset: number, length: number, position: number): number;
  close(): void;
}

/** True when `file` is a gzip-archived segment. */
export function isArchived(file: string): boolean {
  return file.endsWith(ARCHIVE_SUFFIX);
}

/**
 * The decompressed bytes of an archived segment.
 * @throws AuditError SEGMENT_CHECKSUM_MISMATCH when the archive is not valid gzip (damaged).
 */
export function gunzipSegment(file: string): Buffer {
  const packed = fs.readFileSync(file);
  let out: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    // `info` gives the bytes zlib took: gunzip stops silently at trailing zeros after the last member
    out = gunzipSync(packed, { info: true } as object) as unknown as typeof out;
  } catch {
    throw damagedArchive(file, 'not valid gzip');
  }
  if (out.engine.bytesWritten !== packed.length) throw damagedArchive(file, 'bytes after the gzip data');
  return out.buffer;
}

function damagedArchive(file: string, why: string): AuditError {
  const name = path.basename(file);
  return new AuditError('SEGMENT_CHECKSUM_MISMATCH', `${name}: archived segment is damaged (${why})`, {
    file: name,
  });
}

/** Blocks kept inflated: a line search reads around two places at a time. */
const CACHED_BLOCKS = 4;

/** Reads of an archive in block form, inflating the blocks they touch. */
function blockReader(file: string, fd: number, index: BlockIndex): SegmentBytes {
  const cache = new Map<number, Buffer>();
  const block = (i: number): Buffer => {
    let data = cache.get(i);
    if (data !== undefined) return data;
    const start = index.memberStarts[i]!;
    const member = Buffer.allocUnsafe(index.memberStarts[i + 1]! - start);
    if (fs.readSync(fd, member, 0, member.length, start) !== member.length)
      throw damagedArchive(file, `block ${i} is cut short`);
    try {
      data = inflateBlock(index, i, member);
    } catch {
      throw damagedArchive(file, `block ${i} does not inflate to its size`);
    }
    if (cache.size >= CACHED_BLOCKS) cache.delete(cache.keys().next().value!);
    cache.set(i, data);
    return data;
  };
  return {
    size: index.size,
    read: (buf, offset, length, position) => {
      let done = 0;
      while (done < length && position + done < index.size) {
        const at = position + done;
        const i = Math.floor(at / index.blockBytes);
        const from = at - i * index.blockBytes;
        const n = block(i).copy(buf, offset + done, from, Math.min(from + length - done, index.blockBytes));
        if (n === 0) break; // `buf` is full
        done += n;
      }
      return done;
    },
    close: () => fs.closeSync(fd),
  };
}

function openArchive(file: string): SegmentBytes {
  const fd = fs.openSync(file, 'r');
  let index: BlockIndex | undefined;
  try {
    const size = fs.fstatSync(fd).size;
    index = readBlockIndex(size, (buf, position) => fs.readSync(fd, buf, 0, buf.length, position));
  } catch (err) {
    fs.closeSync(fd);
    if (err instanceof DamagedIndexError) throw damagedArchive(file, err.message);
    throw err;
  }
  if (index !== undefined) return blockReader(file, fd, index);
  fs.closeSync(fd);
  const data = gunzipSegment(file);
  return {
    size: data.length,
    read: (buf, offset, length, position) =>
      position >= data.length
        ? 0
        : data.copy(buf, offset, position, Math.min(position + length, data.length)),
    close: () => {},
  };
}

/**
 * Opens a segment file for positional reads. A plain segment archived since it was listed
 * (`<seq>.log` gone, `<seq>.log.gz` written first) is opened under its archive name.
 * @throws AuditError STORE_IO (naming the file) when it cannot be opened or read;
 *   SEGMENT_CHECKSUM_MISMATCH for a damaged archive.
 */
export function openSegmentFile(file: string): SegmentBytes {
  if (isArchived(file)) return openArchive(file);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const archived = file + ARCHIVE_SUFFIX;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(archived))
      return openSegmentFile(archived);
    return withFile(file, 'open', () => {
      throw err;
    });
  }
  let size: number;
  try {
    size = withFile(file, 'read', () => fs.fstatSync(fd).size);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return {
    size,
    read: (buf, offset, length, position) =>
      withFile(file, 'read', () => fs.readSync(fd, buf, offset, length, position)),
    close: () => fs.closeSync(fd),
  };
}
