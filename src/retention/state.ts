/**
 * The retention state of a trail directory at a glance, for `sealtrail status` and the
 * compliance report: the policy (and whether it is valid), the legal holds, what was pruned (the
 * boundary) and how many segments are archived. Reads only.
 */
import { AuditError } from '../errors.js';
import {
  isArchived,
  listSegments,
  readBoundaryFile,
  readIfExists,
  type TrailLayout,
} from '../store/index.js';
import { type LegalHold, readHolds } from './holds.js';
import { readRetentionPolicy } from './policy-file.js';

/** What status and the report show about retention. */
export interface RetentionState {
  /** The policy document as stored in retention.json, or null when there is none. */
  policy: unknown;
  /** Why retention.json is not a valid policy, or null. */
  policyError: string | null;
  holds: LegalHold[];
  /** Why holds.json cannot be read, or null. */
  holdsError: string | null;
  /** Entries before `firstKept` were pruned (the signed boundary), or null when nothing was. */
  pruned: {
    firstKept: number;
    at: string;
    segments: number;
    oldest: string | null;
    newest: string | null;
  } | null;
  archivedSegments: number;
}

function message(err: unknown): string {
  return err instanceof AuditError ? err.message : String((err as Error).message);
}

/** The retention state of the trail in `layout`. */
export function retentionState(layout: TrailLayout): RetentionState {
  let policy: unknown = null;
  let policyError: string | null = null;
  const text = readIfExists(layout.retentionPolicy);
  if (text !== undefined) {
    try {
      policy = JSON.parse(text);
      readRetentionPolicy(layout);
    } catch (err) {
      policyError = err instanceof SyntaxError ? 'retention.json: not JSON' : message(err);
    }
  }
  let holds: LegalHold[] = [];
  let holdsError: string | null = null;
  try {
    holds = readHolds(layout);
  } catch (err) {
    holdsError = message(err);
  }
  let pruned: RetentionState['pruned'] = null;
  try {
    const b = readBoundaryFile(layout);
    if (b !== undefined) {
      pruned = {
        firstKept: b.size,
        at: b.prunedAt,
        segments: b.pruned.length,
        // event times, not seqs, order these: a segment can hold entries older than the one before
        oldest:
          b.pruned
            .map((p) => p.minTs)
            .sort()
            .at(0) ?? null,
        newest:
          b.pruned
            .map((p) => p.maxTs)
            .sort()
            .at(-1) ?? null,
      };
    }
  } catch {
    pruned = null; // verify reports a damaged boundary
  }
  return {
    policy,
    policyError,
    holds,
    holdsError,
    pruned,
    archivedSegments: listSegments(layout.segmentsDir).filter((r) => isArchived(r.file)).length,
  };
}
