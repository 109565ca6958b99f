/**
 * Read access to a trail directory for verification, proofs and queries: stored lines in seq
 * order (checking sealed segments against their summaries on the way), checkpoints, seals, the
 * persisted leaf hashes, the boundary of a pruned trail, and whether a writer holds the trail now.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseRecordTail, splitLine } from '../chain/record.js';
import { uuid7Ms } from '../event/id.js';
import { type BoundaryFile, readBoundaryFile } from './boundary-file.js';
import { type TrailLayout, trailLayout } from './layout.js';
import { findLineBySeq, readLineBytes } from './line-reader.js';
import { lockHolder } from './lock.js';
import { readCheckpoints, readSeals } from './sealed-files.js';
import { checkedSegmentLines } from './segment-check.js';
import { listSegments, readSummary, type SegmentRef, type SegmentSummary } from './segment-log.js';
import { bisectSeqById, idOfLine } from './seq-by-id.js';
import { readTrailMeta, type TrailMeta } from './trail-meta.js';

/** How far a writer's clock may be behind the time of a segment's seal (see `findSeqById`). */
const CLOCK_SLACK_MS = 5 * 60_000;

/** One stored line and where it is. */
export interface StoredLine {
  text: string;
  file: string;
  seq: number;
}

/** A trail directory opened for reading. */
export class DirSource {
  readonly layout: TrailLayout;
  readonly meta: TrailMeta;

  constructor(dir: string) {
    this.layout = trailLayout(dir);
    this.meta = readTrailMeta(this.layout);
  }

  /** True while a live process holds the writer lock. */
  live(): boolean {
    return lockHolder(this.layout.lock) !== undefined;
  }

  segments(): Array<{ ref: SegmentRef; summary: SegmentSummary | undefined }> {
    return listSegments(this.layout.segmentsDir).map((ref) => ({ ref, summary: readSummary(ref) }));
  }

  /**
   * Stored lines from seq `from` on, in order. Sealed segments are checked against their
   * summary's checksum when read whole.
   * @throws AuditError SEGMENT_CHECKSUM_MISMATCH when a sealed segment's bytes changed.
   */
  *lines(from = 0): Generator<StoredLine> {
    for (const line of this.lineBytes(from)) {
      yield { text: line.bytes.toString('utf8'), file: line.file, seq: line.seq };
    }
  }

  /**
   * {@link lines} as bytes (without the newline; a view valid until the next line), for the
   * verifier, which hashes them as stored.
   */
  *lineBytes(from = 0): Generator<{ bytes: Buffer; file: string; seq: number }> {
    const segments = this.segments();
    for (let i = 0; i < segments.length; i++) {
      const { ref, summary } = segments[i]!;
      const next = segments[i + 1];
      if (next !== undefined && next.ref.firstSeq <= from) continue;
      yield* checkedSegmentLines(ref.file, ref.firstSeq, summary, from);
    }
  }

  /**
   * The stored line of entry `seq`, found without reading the trail up to it (segment by its
   * first seq, then bisection within the segment), or undefined when there is none.
   * @throws AuditError ENTRY_MALFORMED when a line met on the way is not a record.
   */
  lineAt(seq: number): string | undefined {
    const segments = listSegments(this.layout.segmentsDir);
    const i = segments.findLastIndex((s) => s.firstSeq <= seq);
    const ref = segments[i];
    if (ref === undefined) return undefined;
    // Where the segment's seqs end, to aim the search: the next segment's first, or for the last
    // one the number of leaf hashes stored (an estimate: the search is right whatever it says).
    const end = segments[i + 1]?.firstSeq ?? this.storedLeafCount();
    return findLineBySeq(ref.file, seq, (text) => parseRecordTail(splitLine(text).committed).seq, {
      first: ref.firstSeq,
      end,
    });
  }

  /**
   * The seq of the entry with id `id`, or undefined. Ids are UUIDv7, made in order by each writer,
   * so a bisection over seqs (each step one {@link lineAt}) finds it in O(log² n) small reads.
   * When it does not (ids out of order, from a writer whose clock was set back, or a damaged line
   * in the way), every segment is searched unless `scan` is false; a segment that cannot be read
   * is skipped (verify and query report it). Only an entry's own id counts, never the same text
   * in another field. Never throws for a damaged trail.
   */
  findSeqById(id: string, { scan = true }: { scan?: boolean } = {}): number | undefined {
    const segments = this.segments();
    try {
      const seq = this.bisectById(id, segments);
      if (seq !== undefined || !scan) return seq;
    } catch {
      // A line that is not a record, a segment archived or removed under us: the scan decides.
      if (!scan) return undefined;
    }
    const needle = Buffer.from(`"id":${JSON.stringify(id)}`);
    for (const { ref } of segments) {
      const seq = this.searchSegment(ref, needle, id);
      if (seq !== undefined) return seq;
    }
    return undefined;
  }

  /**
   * The seq of the entry with id `id` in segment `ref`, or undefined; a segment that cannot be read
   * (removed, not a file) is skipped, as scans skip it.
   */
  private searchSegment(ref: SegmentRef, needle: Buffer, id: string): number | undefined {
    try {
      return seqOfIdIn(ref.file, needle, id);
    } catch {
      return undefined;
    }
  }

  private bisectById(id: string, segments: ReturnType<DirSource['segments']>): number | undefined {
    let lo = segments[0]?.ref.firstSeq ?? 0;
    // A segment sealed before the id was made cannot hold it (with slack for clocks): this also
    // keeps the search out of old, archived segments.
    const idMs = uuid7Ms(id);
    for (let i = 0; idMs !== undefined && i + 1 < segments.length; i++) {
      const sealedAt = segments[i]!.summary?.sealedAt;
      if (sealedAt !== undefined && Date.parse(sealedAt) < idMs - CLOCK_SLACK_MS) {
        lo = segments[i + 1]!.ref.firstSeq;
      }
    }
    // Past the last entry: the persisted leaves, which may lag the segments by a batch, widened.
    let hi = Math.max(lo, this.storedLeafCount() ?? lo);
    for (let step = 1024; this.lineAt(hi) !== undefined; step *= 2) hi += step;
    return bisectSeqById(id, lo, hi, (seq) => this.lineAt(seq));
  }

  /** The number of leaf hashes in tree/level-00.hashes, or undefined without it. */
  private storedLeafCount(): number | undefined {
    try {
      return Math.floor(fs.statSync(path.join(this.layout.treeDir, 'level-00.hashes')).size / 32);
    } catch {
      return undefined;
    }
  }

  /** The stored checkpoints; a line that is not one is left out and given to `onBad`. */
  checkpoints(onBad?: (lineNo: number) => void) {
    return readCheckpoints(this.layout, onBad);
  }

  /**
   * The boundary of a pruned trail (entries before its `size` are gone), or undefined.
   * @throws AuditError BOUNDARY_INVALID when boundary.json is not a boundary file.
   */
  boundary(): BoundaryFile | undefined {
    return readBoundaryFile(this.layout);
  }

  /** The stored seals; a line that is not one is left out and given to `onBad`. */
  seals(onBad?: (lineNo: number) => void) {
    return readSeals(this.layout, onBad);
  }

  /** The latest signed checkpoint note, or undefined before the first. */
  latestCheckpoint(): string | undefined {
    try {
      return fs.readFileSync(this.layout.latestCheckpoint, 'utf8');
    } catch {
      return undefined;
    }
  }

  /**
   * Reader of the persisted leaf hashes (tree/level-00.hashes), read in chunks, for verify.
   * `leaf(seq)` is undefined past the end or when the tree files are absent (they are a cache);
   * `range(seq, count)` reads the leaves of `count` entries at once (fewer past the end).
   * Call `close()` when done.
   */
  storedLeaves(): {
    leaf: (seq: number) => Buffer | undefined;
    range: (seq: number, count: number) => Buffer;
    close: () => void;
  } {
    const file = path.join(this.layout.treeDir, 'level-00.hashes');
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return { leaf: () => undefined, range: () => Buffer.alloc(0), close: () => {} };
    }
    const chunk = Buffer.alloc(32 * 65536);
    let base = -1;
    let have = 0;
    const leaf = (seq: number): Buffer | undefined => {
      if (base < 0 || seq < base || seq >= base + have) {
        if (fd === undefined) return undefined;
        base = seq;
        have = Math.floor(fs.readSync(fd, chunk, 0, chunk.length, seq * 32) / 32);
        if (have === 0) return undefined;
      }
      const off = (seq - base) * 32;
      return chunk.subarray(off, off + 32);
    };
    // The leaves of `count` entries from `seq` in one read; fewer where the file ends.
    const range = (seq: number, count: number): Buffer => {
      if (fd === undefined) return Buffer.alloc(0);
      const out = Buffer.allocUnsafe(32 * count);
      const n = fs.readSync(fd, out, 0, out.length, seq * 32);
      return out.subarray(0, n - (n % 32));
    };
    const close = (): void => {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    };
    return { leaf, range, close };
  }
}

/** The recorded seq of the line of `file` whose own id is `id` (lines holding `needle` parsed). */
function seqOfIdIn(file: string, needle: Buffer, id: string): number | undefined {
  for (const { data } of readLineBytes(file)) {
    if (!data.includes(needle)) continue;
    const text = data.toString('utf8', 0, data.length - 1);
    if (idOfLine(text) === id) return parseRecordTail(splitLine(text).committed).seq;
  }
  return undefined;
}
