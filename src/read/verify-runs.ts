/**
 * The lines verifyTrail reads for a trail directory, as runs of entries already checked
 * (read/verify-segment.ts, in parallel threads for a large trail) with a way back to their lines.
 * What a run did not show clean, and what a stalled thread left, is handed over as plain lines,
 * read again, so verifyTrail checks them itself and reports the same seq and reason as it would
 * have line by line; a sealed segment's failed summary check is thrown where the line reader throws
 * it, after the segment's last line.
 */
import path from 'node:path';
import type { TrailLine } from '../chain/index.js';
import { AuditError } from '../errors.js';
import type { VerifyPool } from './verify-pool.js';
import { type SegmentPart, type SegmentTask, segmentLines, verifySegment } from './verify-segment.js';

function* inline(tasks: readonly SegmentTask[]): Generator<SegmentPart> {
  for (const task of tasks) yield* verifySegment(task);
}

/** The lines of `tasks` (segments in seq order) for verifyTrail, checked by `pool` or in this thread. */
export function* verifiedLines(tasks: readonly SegmentTask[], pool?: VerifyPool): Generator<TrailLine> {
  const parts = pool === undefined ? inline(tasks) : pool.parts(tasks);
  try {
    for (const task of tasks) {
      const name = path.basename(task.file);
      let pos = Math.max(task.from, task.firstSeq); // the first line not yet handed over
      for (;;) {
        const next = parts.next();
        const part = next.done === true ? undefined : next.value;
        if (part === undefined) {
          yield* segmentLines(task, pos);
          break;
        }
        if (part.kind === 'end') {
          if (part.error !== undefined)
            throw new AuditError(part.error.code, part.error.message, { file: name });
          if (part.stoppedAt !== undefined) yield* segmentLines(task, part.stoppedAt);
          break;
        }
        const { fromSeq, run } = part;
        const toSeq = fromSeq + run.lines;
        if (run.ok) yield { file: name, run, lines: () => segmentLines(task, fromSeq, toSeq) };
        else yield* segmentLines(task, fromSeq, toSeq);
        pos = toSeq;
      }
    }
  } finally {
    parts.return(undefined); // a verify that stopped early: the segment being read is closed
  }
}
