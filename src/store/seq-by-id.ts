/**
 * Finding an entry's seq by its id, for both stores. Ids are UUIDv7, made in order by each
 * writer, so a bisection over seqs (one line read per step) finds an entry in O(log n) reads.
 * Ids out of order (a writer whose clock was set back) or a damaged line defeat it; callers then
 * search the lines.
 */
import { parseCommitted, splitLine } from '../chain/record.js';

/** The entry id of a stored line, or undefined when the line is not a record. */
export function idOfLine(line: string): string | undefined {
  try {
    const id = parseCommitted(splitLine(line).committed).event.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The seq in [lo, hi) whose line has id `id`, found by bisection, or undefined. `lineAt` gives
 * the stored line of a seq (undefined past the end). An unreadable line counts as past the id.
 */
export function bisectSeqById(
  id: string,
  lo: number,
  hi: number,
  lineAt: (seq: number) => string | undefined,
): number | undefined {
  while (lo < hi) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const line = lineAt(mid);
    const found = line === undefined ? undefined : idOfLine(line);
    if (found === id) return mid;
    if (found === undefined || found > id) hi = mid;
    else lo = mid + 1;
  }
  return undefined;
}
