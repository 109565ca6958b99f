/**
 * One segment file checked as verify checks it, in runs of consecutive entries
 * (chain/entry-run.ts), plus the sealed segment's check against its summary, reading large chunks
 * and hashing each chunk once for the checksum. Runs in the threads of read/verify-pool.ts and, for
 * small trails, in the caller's. verifyTrail then joins the runs in order; anything a run did not
 * show clean is read again line by line ({@link segmentLines}) and checked there.
 */
import path from 'node:path';
import { EntryRun, RUN_MAX_ENTRIES, type VerifiedRun } from '../chain/index.js';
import { AuditError } from '../errors.js';
import {
  checkedSegmentLines,
  openSegmentFile,
  recordTs,
  SegmentCheck,
  type SegmentSummary,
} from '../store/index.js';

/** One segment to verify, whole, and checked against its summary when it has one. */
export interface SegmentTask {
  file: string;
  firstSeq: number;
  summary: SegmentSummary | undefined;
}

/** What a segment yields, in order: runs, then its end. */
export type SegmentPart =
  | { kind: 'run'; fromSeq: number; run: VerifiedRun }
  | {
      kind: 'end';
      /** The summary check failed (code and message as the line reader throws them). */
      error?: { code: 'SEGMENT_CHECKSUM_MISMATCH'; message: string };
      /** Reading stopped on an unexpected error: lines from this position seq on were not checked. */
      stoppedAt?: number;
    };

const CHUNK = 4 * 1024 * 1024;

/**
 * Checks the segment of `task` run by run. `fromSeq` of a run is the position of its first line
 * (its seq if the lines are as written).
 */
export function* verifySegment(task: SegmentTask): Generator<SegmentPart> {
  const { file, firstSeq, summary } = task;
  const name = path.basename(file);
  let pos = firstSeq; // position seq of the next line
  let seg: ReturnType<typeof openSegmentFile>;
  try {
    seg = openSegmentFile(file);
  } catch {
    yield { kind: 'end', stoppedAt: pos };
    return;
  }
  let stopped = false;
  const check = summary !== undefined ? new SegmentCheck() : undefined;
  let run = new EntryRun();
  let runFrom = -1;
  // Byte 0 stays free: a run hashes a line's leaf with its 0x00 prefix written just before it.
  let buf = Buffer.allocUnsafeSlow(CHUNK + 1);
  let have = 0; // bytes of a partial line carried at buf[1..]
  let read = 0;
  try {
    for (;;) {
      if (have === buf.length - 1) {
        const grown = Buffer.allocUnsafeSlow(2 * buf.length);
        buf.copy(grown, 0, 0, 1 + have);
        buf = grown;
      }
      const n = seg.read(buf, 1 + have, buf.length - 1 - have, read);
      if (n === 0) break;
      check?.addBytes(buf.subarray(1 + have, 1 + have + n));
      read += n;
      const stop = 1 + have + n;
      let start = 1;
      let tab = -1;
      for (;;) {
        const nl = buf.indexOf(0x0a, start);
        if (nl < 0 || nl >= stop) break;
        if (tab < start) {
          tab = buf.indexOf(0x09, start);
          if (tab < 0 || tab >= stop) tab = stop;
        }
        if (check !== undefined) check.addEntry(recordTs(buf.subarray(start, nl + 1)));
        if (runFrom < 0) runFrom = pos;
        run.add(buf, start, Math.min(tab, nl), nl);
        if (!run.ok || run.lines === RUN_MAX_ENTRIES) {
          yield { kind: 'run', fromSeq: runFrom, run: run.result() };
          run = new EntryRun();
          runFrom = -1;
        }
        pos++;
        start = nl + 1;
      }
      have = stop - start;
      buf.copy(buf, 1, start, stop);
    }
    if (run.lines > 0) yield { kind: 'run', fromSeq: runFrom, run: run.result() };
    runFrom = -1;
    check?.finish(summary!, firstSeq, name, have);
  } catch (err) {
    stopped = true;
    if (err instanceof AuditError && err.code === 'SEGMENT_CHECKSUM_MISMATCH') {
      yield { kind: 'end', error: { code: err.code, message: err.message } };
    } else yield { kind: 'end', stoppedAt: runFrom >= 0 ? runFrom : pos };
  } finally {
    seg.close();
  }
  if (!stopped) yield { kind: 'end' };
}

/**
 * The stored lines of the segment of `task` with a position seq in [`fromSeq`, `toSeq`), read as
 * the trail's own reader reads them: when the range reaches the end of a sealed segment read whole,
 * its summary is checked there (and a mismatch thrown).
 * @throws AuditError SEGMENT_CHECKSUM_MISMATCH as checkedSegmentLines.
 */
export function* segmentLines(
  task: SegmentTask,
  fromSeq: number,
  toSeq = Number.POSITIVE_INFINITY,
): Generator<{ bytes: Buffer; file: string; seq: number }> {
  if (fromSeq >= toSeq) return;
  for (const line of checkedSegmentLines(task.file, task.firstSeq, task.summary)) {
    if (line.seq < fromSeq) continue;
    yield line;
    if (line.seq + 1 >= toSeq) return;
  }
}
