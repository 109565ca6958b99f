/**
 * The scanner under every query: plans which segments to read from their summaries (a sealed
 * segment whose time span or seq range lies outside the window is skipped unread), then yields
 * their lines oldest or newest first, with each line's seq and file. A segment that cannot be
 * read becomes an issue, not a crash. Skipping trusts the summaries; `verify` checks the trail.
 */
import path from 'node:path';
import { isAuditError } from '../errors.js';
import {
  listSegments,
  openSegmentFile,
  readSummary,
  type SegmentRef,
  type SegmentSummary,
} from '../store/index.js';
import { type RawLine, readRawLines, readRawLinesReverse } from './query-lines.js';
import { entryTimeMs } from './query-time.js';

/** A line that could not be read or decoded: reported and skipped, never fatal. */
export interface ReadIssue {
  /** The seq the line holds by its position in the trail, when known. */
  seq?: number;
  /** Segment file name. */
  file: string;
  reason: string;
}

/** Counters of one scan, for benchmarks, manifests and `--stats`. */
export interface ScanStats {
  segments: number;
  segmentsRead: number;
  segmentsSkipped: number;
  linesRead: number;
  /** Lines passed over by the time, seq or id pre-check without being parsed. */
  linesPrefiltered: number;
  entriesDecoded: number;
  matched: number;
  issues: number;
}

/** Where a scan may look. */
export interface ScanBounds {
  fromMs: number;
  toMs: number;
  seqFrom: number;
  seqTo: number;
  order: 'oldest' | 'newest';
}

/** One line to decode. */
export interface ScannedLine {
  text: string;
  file: string;
  seq: number;
}

interface PlannedSegment {
  ref: SegmentRef;
  summary: SegmentSummary | undefined;
  /** First seq of the next segment (exclusive end of this one), undefined for the newest. */
  endSeq: number | undefined;
}

/** A fresh set of counters. */
export function emptyStats(): ScanStats {
  return {
    segments: 0,
    segmentsRead: 0,
    segmentsSkipped: 0,
    linesRead: 0,
    linesPrefiltered: 0,
    entriesDecoded: 0,
    matched: 0,
    issues: 0,
  };
}

/** True when the summary shows that no entry of the segment can fall in [fromMs, toMs). */
function outsideWindow(summary: SegmentSummary | undefined, fromMs: number, toMs: number): boolean {
  if (summary === undefined) return false;
  const min = entryTimeMs(summary.minTs);
  const max = entryTimeMs(summary.maxTs);
  if (Number.isNaN(min) || Number.isNaN(max)) return false; // a damaged summary: read the segment
  return max < fromMs || min >= toMs;
}

/** The segments a scan reads, in reading order, and how many it skips. */
export function planSegments(segmentsDir: string, bounds: ScanBounds, stats: ScanStats): PlannedSegment[] {
  const refs = listSegments(segmentsDir);
  stats.segments = refs.length;
  const planned: PlannedSegment[] = [];
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i]!;
    const endSeq = refs[i + 1]?.firstSeq;
    const summary = readSummary(ref);
    const seqOutside = (endSeq !== undefined && endSeq <= bounds.seqFrom) || ref.firstSeq >= bounds.seqTo;
    if (seqOutside || outsideWindow(summary, bounds.fromMs, bounds.toMs)) {
      stats.segmentsSkipped++;
      continue;
    }
    planned.push({ ref, summary, endSeq });
  }
  return bounds.order === 'newest' ? planned.reverse() : planned;
}

// The stored event time: the last `"ts":"` of the committed part is the event's own (keys are
// sorted and nothing after `ts` in an event can hold a `ts` key; a string holding `"ts":"` is
// escaped as `\"ts\":\"`). Standard form only; anything else is decoded and checked in full.
const TS_KEY = Buffer.from('"ts":"');
const ISO_UTC_MS_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A cheap check on the raw line that can only say "certainly not": time window and required substrings. */
export interface LinePrecheck {
  fromIso: string | undefined;
  toIso: string | undefined;
  /** Each inner list: the committed part must contain at least one of these. */
  needles: string[][];
}

interface CompiledPrecheck {
  from: Buffer | undefined;
  to: Buffer | undefined;
  needles: Buffer[][];
}

function compilePrecheck(check: LinePrecheck | undefined): CompiledPrecheck | undefined {
  if (check === undefined) return undefined;
  const iso = (s: string | undefined) =>
    s !== undefined && ISO_UTC_MS_RE.test(s) ? Buffer.from(s, 'latin1') : undefined;
  return {
    from: iso(check.fromIso),
    to: iso(check.toIso),
    needles: check.needles.map((any) => any.map((n) => Buffer.from(n))),
  };
}

/** True when bytes [at, at + 24) look like `YYYY-MM-DDTHH:MM:SS.mmmZ` (checked at its fixed punctuation). */
function isIsoAt(b: Buffer, at: number): boolean {
  return (
    b[at + 4] === 0x2d &&
    b[at + 7] === 0x2d &&
    b[at + 10] === 0x54 &&
    b[at + 13] === 0x3a &&
    b[at + 16] === 0x3a &&
    b[at + 19] === 0x2e &&
    b[at + 23] === 0x5a &&
    b[at + 24] === 0x22
  );
}

/** True when the raw line certainly does not match (so it need not be decoded). Compares bytes, allocates nothing but the view. */
function rejectsRaw(l: RawLine, check: CompiledPrecheck): boolean {
  const line = l.buf.subarray(l.start, l.end);
  const tab = line.indexOf(9);
  const end = tab < 0 ? line.length : tab;
  if (check.from !== undefined || check.to !== undefined) {
    const i = line.lastIndexOf(TS_KEY, end - TS_KEY.length);
    const at = i + TS_KEY.length;
    if (i >= 0 && at + 25 <= end && isIsoAt(line, at)) {
      // ISO 8601 UTC times of one form order as their bytes do.
      if (check.from !== undefined && line.compare(check.from, 0, 24, at, at + 24) < 0) return true;
      if (check.to !== undefined && line.compare(check.to, 0, 24, at, at + 24) >= 0) return true;
    }
  }
  for (const any of check.needles) {
    let found = false;
    for (const n of any) {
      const at = line.indexOf(n);
      if (at >= 0 && at < end) {
        found = true;
        break;
      }
    }
    if (!found) return true;
  }
  return false;
}

/**
 * Lines of the planned segments, in the scan's order, with the seq each holds by position. A line
 * the pre-check rejects is counted in `linesPrefiltered` and not decoded. Unreadable segments are
 * reported through `onIssue` and passed over.
 */
export function* scanLines(
  segmentsDir: string,
  bounds: ScanBounds,
  stats: ScanStats,
  onIssue: (issue: ReadIssue) => void,
  precheck?: LinePrecheck,
): Generator<ScannedLine> {
  const check = compilePrecheck(precheck);
  for (const seg of planSegments(segmentsDir, bounds, stats)) {
    const file = path.basename(seg.ref.file);
    stats.segmentsRead++;
    try {
      if (bounds.order === 'oldest') {
        let seq = seg.ref.firstSeq;
        for (const l of readRawLines(seg.ref.file)) {
          stats.linesRead++;
          if (seq >= bounds.seqTo) break;
          if (seq >= bounds.seqFrom) {
            if (check !== undefined && rejectsRaw(l, check)) stats.linesPrefiltered++;
            else yield { text: l.buf.toString('utf8', l.start, l.end), file, seq };
          }
          seq++;
        }
      } else {
        // Newest first: the seq of the last line is the next segment's first seq - 1; for the
        // newest segment, count its lines (one pass over the bytes, no decoding).
        let seq = (seg.endSeq ?? seg.ref.firstSeq + countLines(seg.ref.file)) - 1;
        for (const l of readRawLinesReverse(seg.ref.file)) {
          stats.linesRead++;
          if (seq < bounds.seqFrom) break;
          if (seq < bounds.seqTo) {
            if (check !== undefined && rejectsRaw(l, check)) stats.linesPrefiltered++;
            else yield { text: l.buf.toString('utf8', l.start, l.end), file, seq };
          }
          seq--;
        }
      }
    } catch (err) {
      // A segment that cannot be read (STORE_IO names its errno) is an issue of the read, not its end.
      const why = isAuditError(err) ? err.detail.errno : (err as NodeJS.ErrnoException).code;
      onIssue({ file, reason: `cannot read segment: ${why ?? (err as Error).message}` });
    }
  }
}

/** Complete lines in a file (newline bytes). */
export function countLines(file: string): number {
  const seg = openSegmentFile(file);
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    let pos = 0;
    let count = 0;
    for (;;) {
      const n = seg.read(buf, 0, buf.length, pos);
      if (n === 0) return count;
      pos += n;
      let at = buf.indexOf(10, 0);
      while (at >= 0 && at < n) {
        count++;
        at = buf.indexOf(10, at + 1);
      }
    }
  } finally {
    seg.close();
  }
}
