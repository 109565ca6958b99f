/**
 * The lines verifyTrail reads for a trail directory, as runs of entries already checked
 * (read/verify-segment.ts, in parallel threads for a large trail) with a way back to their lines.
 * What a run did not show clean, and what a stalled thread left, is handed over as plain lines,
 * read again, so verifyTrail checks them itself and reports the same seq and reason as it would
 * have line by line; a sealed segment's failed summary check is thrown where the line reader throws
 * it, after the segment's last line.
 */
import path from 'node:path';
import { parseRecordTailBytes, type TrailLine } from '../chain/index.js';
import { AuditError } from '../errors.js';
import type { VerifyPool } from './verify-pool.js';
import { type SegmentPart, type SegmentTask, segmentLines, verifySegment } from './verify-segment.js';

function* inline(tasks: readonly SegmentTask[]): Generator<SegmentPart> {
  for (const task of tasks) yield* verifySegment(task);
}

/**
 * A segment whose name (its first seq) is not where its entries start. Readers find an entry by
 * seq, and skip segments by seq, from the names: a misnamed one would hide entries from them.
 */
function misnamed(name: string, seq: number, why: string): AuditError {
  return new AuditError('CHAIN_SEQ_GAP', `${name}: ${why}`, { file: name, seq });
}

/** The seq recorded in a stored line, or undefined when it has none (verifyTrail reports that). */
function recordedSeq(line: TrailLine): number | undefined {
  if ('run' in line) return line.run.firstSeq;
  const bytes = 'bytes' in line ? line.bytes : Buffer.from(line.text);
  const tab = bytes.indexOf(0x09);
  try {
    return parseRecordTailBytes(tab < 0 ? bytes : bytes.subarray(0, tab)).seq;
  } catch {
    return undefined;
  }
}

/** The lines of `tasks` (segments in seq order) for verifyTrail, checked by `pool` or in this thread. */
export function* verifiedLines(tasks: readonly SegmentTask[], pool?: VerifyPool): Generator<TrailLine> {
  const parts = pool === undefined ? inline(tasks) : pool.parts(tasks);
  let end: number | undefined; // the seq after the last line of the segment before
  try {
    for (const task of tasks) {
      const name = path.basename(task.file);
      let pos = task.firstSeq; // the first line not yet handed over
      let first = true;
      // Each segment starts at the seq its name gives. Checked once verifyTrail took its first line
      // (so a broken chain is reported as line by line): that line's seq is then the one expected.
      const own = function* (line: TrailLine, lines: number): Generator<TrailLine> {
        yield line;
        pos += lines;
        if (first) {
          first = false;
          const seq = recordedSeq(line);
          if (seq !== undefined && seq !== task.firstSeq)
            throw misnamed(
              name,
              seq,
              `named to start at seq ${task.firstSeq}, but its first entry is ${seq}`,
            );
        }
      };
      const plain = function* (from: number, to?: number): Generator<TrailLine> {
        pos = from;
        for (const line of segmentLines(task, from, to)) yield* own(line, 1);
      };
      for (;;) {
        const next = parts.next();
        const part = next.done === true ? undefined : next.value;
        if (part === undefined) {
          yield* plain(pos);
          break;
        }
        if (part.kind === 'end') {
          if (part.error !== undefined)
            throw new AuditError(part.error.code, part.error.message, { file: name });
          if (part.stoppedAt !== undefined) yield* plain(part.stoppedAt);
          break;
        }
        const { fromSeq, run } = part;
        const toSeq = fromSeq + run.lines;
        if (run.ok) {
          pos = fromSeq;
          yield* own({ file: name, run, lines: () => segmentLines(task, fromSeq, toSeq) }, run.lines);
        } else yield* plain(fromSeq, toSeq);
      }
      // An empty segment (only the newest may be, named at the next seq) holds no line to check.
      if (first && end !== undefined && task.firstSeq !== end)
        throw misnamed(name, end, `empty, named to start at seq ${task.firstSeq}, not ${end}`);
      end = pos;
    }
  } finally {
    parts.return(undefined); // a verify that stopped early: the segment being read is closed
  }
}
