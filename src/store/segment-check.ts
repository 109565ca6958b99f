/**
 * The check of a sealed segment's bytes against its summary (docs/format.md §8): the SHA-256 of
 * the bytes, nothing after the last entry, the seq range and the time range, which readers trust
 * to skip segments. Shared by the trail directory (while it streams a segment) and the S3 archive
 * (on a segment it downloaded), so both check alike.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { AuditError } from '../errors.js';
import { readLineBytes } from './line-reader.js';
import { recordTs, type SegmentSummary } from './segment-log.js';

/** Running digest of one segment's lines, compared with its summary at the end. */
export class SegmentCheck {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private count = 0;
  private minTs = '';
  private maxTs = '';

  /** Adds one stored line, with its newline. */
  addLine(line: Buffer): void {
    this.addBytes(line);
    this.addEntry(recordTs(line));
  }

  /** Adds bytes of the segment to the digest only (a reader that hashes whole chunks). */
  addBytes(bytes: Uint8Array): void {
    this.hash.update(bytes);
    this.bytes += bytes.length;
  }

  /** Counts one line whose event time is `ts` (its bytes go to {@link addBytes}). */
  addEntry(ts: string): void {
    this.count++;
    if (this.minTs === '' || ts < this.minTs) this.minTs = ts;
    if (ts > this.maxTs) this.maxTs = ts;
  }

  /**
   * Compares what was added with `summary`, for the segment starting at `firstSeq` named `file`
   * that had `tailBytes` bytes after its last newline.
   * @throws AuditError SEGMENT_CHECKSUM_MISMATCH naming the file and what differs.
   */
  finish(summary: SegmentSummary, firstSeq: number, file: string, tailBytes = 0): void {
    const problem =
      this.hash.digest('hex') !== summary.sha256 || summary.bytes !== this.bytes || tailBytes > 0
        ? 'bytes differ from its sealed summary'
        : summary.firstSeq !== firstSeq ||
            summary.lastSeq !== firstSeq + this.count - 1 ||
            summary.count !== this.count ||
            summary.treeSize !== summary.lastSeq + 1
          ? 'sealed summary names other entries than the segment holds'
          : summary.minTs !== this.minTs || summary.maxTs !== this.maxTs
            ? 'sealed summary gives another time range than its entries'
            : undefined;
    if (problem !== undefined)
      throw new AuditError('SEGMENT_CHECKSUM_MISMATCH', `${file}: ${problem}`, { file });
  }
}

/**
 * The lines of the segment `file` (first entry `firstSeq`) from seq `from` on, as bytes without
 * the newline (a view valid until the next line), with their seq. When the segment is sealed
 * (`summary` given) and read whole, it is checked against the summary at its end.
 * @throws AuditError SEGMENT_CHECKSUM_MISMATCH when a sealed segment differs from its summary.
 */
export function* checkedSegmentLines(
  file: string,
  firstSeq: number,
  summary: SegmentSummary | undefined,
  from = 0,
  name = path.basename(file),
): Generator<{ bytes: Buffer; file: string; seq: number }> {
  const check = from <= firstSeq && summary !== undefined ? new SegmentCheck() : undefined;
  const tail = { bytes: 0 };
  let seq = firstSeq;
  for (const { data } of readLineBytes(file, tail)) {
    check?.addLine(data);
    if (seq >= from) yield { bytes: data.subarray(0, data.length - 1), file: name, seq };
    seq++;
  }
  check?.finish(summary!, firstSeq, name, tail.bytes);
}
