/**
 * `boundary.json` of a pruned trail (docs/format.md §10): the signed boundary note, the signed
 * checkpoint of its size, and what was pruned (the removed segments' summaries, which hold no
 * content). Written atomically before any segment is removed.
 */
import { AuditError } from '../errors.js';
import { readIfExists, withFile, writeFileAtomic } from './fs-safe.js';
import type { TrailLayout } from './layout.js';
import type { SegmentSummary } from './segment-log.js';

/** Format name of `boundary.json`. */
export const BOUNDARY_FILE_FORMAT = 'sealtrail-boundary-file/1';

/** The contents of `boundary.json`. */
export interface BoundaryFile {
  format: typeof BOUNDARY_FILE_FORMAT;
  /** First kept seq (N). */
  size: number;
  /** The boundary, a C2SP signed note (chain/boundary.ts). */
  note: string;
  /** The signed checkpoint of size N. */
  checkpoint: string;
  /** ISO time of the latest pruning. */
  prunedAt: string;
  /** Summaries of every segment pruned so far, oldest first. */
  pruned: Array<Omit<SegmentSummary, 'sealedAt'>>;
}

/**
 * The boundary file of a trail, or undefined when it was never pruned.
 * @throws AuditError BOUNDARY_INVALID when the file is not a boundary file; STORE_IO when unreadable.
 */
export function readBoundaryFile(layout: TrailLayout): BoundaryFile | undefined {
  const text = withFile(layout.boundary, 'read', () => readIfExists(layout.boundary));
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AuditError('BOUNDARY_INVALID', 'boundary.json: not JSON', { file: layout.boundary });
  }
  const b = parsed as Partial<BoundaryFile> | null;
  if (
    b === null ||
    typeof b !== 'object' ||
    b.format !== BOUNDARY_FILE_FORMAT ||
    typeof b.note !== 'string' ||
    typeof b.checkpoint !== 'string' ||
    !Number.isSafeInteger(b.size) ||
    !Array.isArray(b.pruned)
  ) {
    throw new AuditError('BOUNDARY_INVALID', `boundary.json: not a ${BOUNDARY_FILE_FORMAT} document`, {
      file: layout.boundary,
    });
  }
  return b as BoundaryFile;
}

/** Writes `boundary.json` durably (temp file, fsync, rename). */
export function writeBoundaryFile(layout: TrailLayout, b: BoundaryFile): void {
  withFile(layout.boundary, 'write', () => writeFileAtomic(layout.boundary, `${JSON.stringify(b)}\n`));
}
