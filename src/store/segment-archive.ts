/**
 * Archiving and removing sealed segments (retention). Archiving gzips a sealed segment in block
 * form (block-gzip.ts) to `<seq>.log.gz` beside it and then removes the plain file; readers read either form
 * (segment-file.ts). The steps, and what a crash between them leaves:
 *  1. the sealed bytes are checked against the summary's checksum (a damaged segment is never archived);
 *  2. the archive goes to `<seq>.log.gz.tmp-<pid>` (0600, fsynced), is read back and checked, and is
 *     renamed to `<seq>.log.gz` (dir fsynced)    → both forms exist; readers use the plain one;
 *  3. the plain file is removed (dir fsynced)     → done.
 * A later run redoes an interrupted archive. Removal (pruning) deletes a segment in either form
 * and its summary; the caller writes the signed boundary first (docs/retention.md).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AuditError } from '../errors.js';
import { blockGzip, readBlockIndex } from './block-gzip.js';
import { syncDir, withFile, writeFileAtomic } from './fs-safe.js';
import { segmentFileName } from './layout.js';
import { ARCHIVE_SUFFIX, isArchived } from './segment-file.js';
import type { SegmentRef, SegmentSummary } from './segment-log.js';

/** What archiving one segment produced. */
export interface ArchivedSegment {
  file: string;
  /** Bytes of the sealed segment and of its archive. */
  bytes: number;
  archiveBytes: number;
  /** SHA-256 (hex) of the archive file (the summary's checksum stays that of the sealed bytes). */
  archiveSha256: string;
}

/**
 * Gzips a sealed plain segment and removes the plain file. Returns undefined when it is archived
 * already.
 * @throws AuditError SEGMENT_CHECKSUM_MISMATCH when the segment differs from its summary;
 *   STORE_IO naming the file on an I/O error (the plain segment then stays).
 */
export function archiveSegment(ref: SegmentRef, summary: SegmentSummary): ArchivedSegment | undefined {
  if (isArchived(ref.file)) return undefined;
  const name = path.basename(ref.file);
  const data = withFile(ref.file, 'read', () => fs.readFileSync(ref.file));
  if (createHash('sha256').update(data).digest('hex') !== summary.sha256)
    throw new AuditError('SEGMENT_CHECKSUM_MISMATCH', `${name}: bytes differ from its sealed summary`, {
      file: name,
    });
  const packed = blockGzip(data);
  // Read back before the plain segment goes: the archive must give the sealed bytes exactly.
  const index = readBlockIndex(packed.length, (buf, at) => packed.copy(buf, 0, at, at + buf.length));
  if (index?.size !== data.length || !gunzipSync(packed).equals(data))
    throw new AuditError('STORE_IO', `${name}: archive does not read back`, { file: name });
  const archive = `${ref.file}${ARCHIVE_SUFFIX}`;
  withFile(archive, 'write', () => writeFileAtomic(archive, packed));
  // And the file as stored, before the only other copy goes.
  if (!withFile(archive, 'read', () => fs.readFileSync(archive)).equals(packed)) {
    withFile(archive, 'remove', () => fs.rmSync(archive, { force: true }));
    throw new AuditError('STORE_IO', `${path.basename(archive)}: archive does not read back from disk`, {
      file: path.basename(archive),
    });
  }
  const dir = path.dirname(ref.file);
  withFile(ref.file, 'remove', () => {
    fs.rmSync(ref.file);
    syncDir(dir);
  });
  return {
    file: path.basename(archive),
    bytes: data.length,
    archiveBytes: packed.length,
    archiveSha256: createHash('sha256').update(packed).digest('hex'),
  };
}

/**
 * Removes a segment (plain and archived forms) and its summary.
 * @throws AuditError STORE_IO naming the file.
 */
export function removeSegment(ref: SegmentRef): void {
  const dir = path.dirname(ref.file);
  const plain = path.join(dir, segmentFileName(ref.firstSeq));
  for (const file of [plain, `${plain}${ARCHIVE_SUFFIX}`, ref.summaryFile]) {
    withFile(file, 'remove', () => fs.rmSync(file, { force: true }));
  }
  withFile(dir, 'sync', () => syncDir(dir));
}
