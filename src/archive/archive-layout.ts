/**
 * Object names of a trail archived in S3 (docs/archive.md), relative to the archive's prefix.
 * Pure naming. The archive holds only what a verifier needs and nothing secret: no keys, no
 * seal key, no tokens.
 */
import { segmentFileName, summaryFileName } from '../store/index.js';

/** The trail's public description (trail.json as stored: origin, verifier key, ...). */
export const ARCHIVE_TRAIL_META = 'trail.json';
/** Folder of segment files, their summaries and their start states. */
export const ARCHIVE_SEGMENTS = 'segments/';
/** Folder of signed checkpoints, one object per tree size. */
export const ARCHIVE_CHECKPOINTS = 'checkpoints/';

const SIZE_DIGITS = 20;

/** The archived segment file that starts at `firstSeq`. */
export function archiveSegmentName(firstSeq: number): string {
  return ARCHIVE_SEGMENTS + segmentFileName(firstSeq);
}

/** The archived summary of the segment that starts at `firstSeq`. */
export function archiveSummaryName(firstSeq: number): string {
  return ARCHIVE_SEGMENTS + summaryFileName(firstSeq);
}

/** The tree state before entry `firstSeq` (right border and last leaf), for `firstSeq > 0`. */
export function archiveStartName(firstSeq: number): string {
  return `${ARCHIVE_SEGMENTS}${String(firstSeq).padStart(SIZE_DIGITS, '0')}.start.json`;
}

/** The signed checkpoint of tree size `size` (also the layout of S3 and file witnesses). */
export function checkpointObjectName(size: number): string {
  return `${ARCHIVE_CHECKPOINTS}${String(size).padStart(SIZE_DIGITS, '0')}.note`;
}

/** The tree size of a checkpoint object name, or undefined for other names. */
export function parseCheckpointObjectName(name: string): number | undefined {
  const m = /(?:^|\/)(\d{20})\.note$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}

/** The first seq of an archived summary name, or undefined for other names. */
export function parseArchiveSummaryName(name: string): number | undefined {
  const m = /^segments\/(\d{20})\.summary\.json$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}
