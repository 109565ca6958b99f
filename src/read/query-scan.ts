/**
 * The scanner under every query: plans which segments to read from their summaries (a sealed
 * segment whose time span or seq range lies outside the window is skipped unread), then yields
 * their lines oldest or newest first, with each line's seq and file. A segment that cannot be
 * read becomes an issue, not a crash. Skipping trusts the summaries; `verify` checks the trail.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  listSegments,
  readLines,
  readSummary,
  type SegmentRef,
  type SegmentSummary,
} from '../store/index.js';
import { readLinesReverse } from './query-lines-reverse.js';
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
const TS_KEY = '"ts":"';
const ISO_UTC_MS_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** A cheap check on the raw line that can only say "certainly not": time window and required substrings. */
export interface LinePrecheck {
  fromIso: string | undefined;
  toIso: string | undefined;
  /** Each inner list: the committed part must contain at least one of these. */
  needles: string[][];
}

/** True when the raw line certainly does not match (so it need not be parsed). */
export function rejectsLine(text: string, check: LinePrecheck): boolean {
  const tab = text.indexOf('\t');
  const end = tab < 0 ? text.length : tab;
  if (check.fromIso !== undefined || check.toIso !== undefined) {
    const i = text.lastIndexOf(TS_KEY, end);
    if (i >= 0) {
      const ts = text.slice(i + TS_KEY.length, i + TS_KEY.length + 24);
      if (ISO_UTC_MS_RE.test(ts)) {
        if (check.fromIso !== undefined && ts < check.fromIso) return true;
        if (check.toIso !== undefined && ts >= check.toIso) return true;
      }
    }
  }
  for (const any of check.needles) {
    let found = false;
    for (const n of any) {
      const at = text.indexOf(n);
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
 * Lines of the planned segments, in the scan's order, with the seq each holds by position.
 * Unreadable segments are reported through `onIssue` and passed over.
 */
export function* scanLines(
  segmentsDir: string,
  bounds: ScanBounds,
  stats: ScanStats,
  onIssue: (issue: ReadIssue) => void,
): Generator<ScannedLine> {
  for (const seg of planSegments(segmentsDir, bounds, stats)) {
    const file = path.basename(seg.ref.file);
    stats.segmentsRead++;
    try {
      if (bounds.order === 'oldest') {
        let seq = seg.ref.firstSeq;
        for (const line of readLines(seg.ref.file)) {
          stats.linesRead++;
          if (seq >= bounds.seqTo) break;
          if (seq >= bounds.seqFrom) yield { text: line.text, file, seq };
          seq++;
        }
      } else {
        // Newest first: the seq of the last line is the next segment's first seq - 1; for the
        // newest segment, count its lines (one pass over the bytes, no decoding).
        let seq = (seg.endSeq ?? seg.ref.firstSeq + countLines(seg.ref.file)) - 1;
        for (const text of readLinesReverse(seg.ref.file)) {
          stats.linesRead++;
          if (seq < bounds.seqFrom) break;
          if (seq < bounds.seqTo) yield { text, file, seq };
          seq--;
        }
      }
    } catch (err) {
      onIssue({
        file,
        reason: `cannot read segment: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      });
    }
  }
}

/** Complete lines in a file (newline bytes). */
export function countLines(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
    let pos = 0;
    let count = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return count;
      pos += n;
      let at = buf.indexOf(10, 0);
      while (at >= 0 && at < n) {
        count++;
        at = buf.indexOf(10, at + 1);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
