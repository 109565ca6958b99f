/**
 * Positional reads of a segment file, plain (`<seq>.log`) or gzip-archived (`<seq>.log.gz`), so
 * every reader reads archived segments transparently. An archived segment is decompressed into
 * memory when opened (segments are bounded by the rotation size, 64 MiB by default); its
 * decompressed bytes are exactly the sealed segment's, which its summary's checksum covers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AuditError } from '../errors.js';

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
  try {
    return gunzipSync(packed);
  } catch {
    throw new AuditError(
      'SEGMENT_CHECKSUM_MISMATCH',
      `${path.basename(file)}: archived segment is not valid gzip`,
      {
        file: path.basename(file),
      },
    );
  }
}

/**
 * Opens a segment file for positional reads. A plain segment archived since it was listed
 * (`<seq>.log` gone, `<seq>.log.gz` written first) is opened under its archive name.
 * @throws Node's error when it cannot be opened; AuditError SEGMENT_CHECKSUM_MISMATCH for a damaged archive.
 */
export function openSegmentFile(file: string): SegmentBytes {
  if (isArchived(file)) {
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
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const archived = file + ARCHIVE_SUFFIX;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(archived))
      return openSegmentFile(archived);
    throw err;
  }
  let size: number;
  try {
    size = fs.fstatSync(fd).size;
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return {
    size,
    read: (buf, offset, length, position) => fs.readSync(fd, buf, offset, length, position),
    close: () => fs.closeSync(fd),
  };
}
