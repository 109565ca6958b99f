/**
 * Segment lines from the last to the first, for newest-first reading: large positioned reads from
 * the end, split on `\n`, so the newest entries of a large segment come without reading it all.
 * Bytes after the last newline (a line the writer is still writing) are not a line.
 */
import fs from 'node:fs';

const CHUNK = 1024 * 1024;

/** Yields the complete lines of `file` (without their newline), last first. */
export function* readLinesReverse(file: string): Generator<string> {
  const fd = fs.openSync(file, 'r');
  try {
    let pos = fs.fstatSync(fd).size;
    // `tail` holds bytes after the current read position that belong to a line not yet complete.
    let tail: Buffer = Buffer.alloc(0);
    let first = true;
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const chunk = Buffer.allocUnsafe(len);
      const n = fs.readSync(fd, chunk, 0, len, pos);
      let buf = tail.length > 0 ? Buffer.concat([chunk.subarray(0, n), tail]) : chunk.subarray(0, n);
      if (first) {
        // Drop a fragment without its newline: not a line yet.
        const lastNl = buf.lastIndexOf(10);
        if (lastNl < 0) {
          tail = buf;
          continue;
        }
        buf = buf.subarray(0, lastNl + 1);
        first = false;
      }
      // buf ends with '\n' (or is the start of a line continuing into `tail`'s complete end).
      let end = buf.length - 1; // index of the newline closing the current line
      for (;;) {
        const nl = end > 0 ? buf.lastIndexOf(10, end - 1) : -1;
        if (nl < 0) break;
        yield buf.toString('utf8', nl + 1, end);
        end = nl;
      }
      tail = Buffer.from(buf.subarray(0, end + 1));
    }
    if (!first && tail.length > 1) yield tail.toString('utf8', 0, tail.length - 1);
    else if (!first && tail.length === 1) yield '';
  } finally {
    fs.closeSync(fd);
  }
}
