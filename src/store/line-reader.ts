/**
 * Fast, synchronous line iteration over a segment file: large positioned reads, split on `\n`,
 * no readline (measured several times slower on million-line files).
 */
import fs from 'node:fs';

const CHUNK = 4 * 1024 * 1024;

/** One complete line and where it starts in the file. */
export interface Line {
  text: string;
  offset: number;
  bytes: number;
}

/**
 * Yields every complete (newline-terminated) line of `file`. A trailing fragment without a newline
 * is not yielded; `tail.bytes` tells how long it is, for torn-tail recovery.
 */
export function* readLines(file: string, tail: { bytes: number } = { bytes: 0 }): Generator<Line> {
  const fd = fs.openSync(file, 'r');
  try {
    let pos = 0;
    let carry: Buffer = Buffer.alloc(0);
    let carryOffset = 0;
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, pos);
      if (n === 0) break;
      const chunk = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      const base = carry.length > 0 ? carryOffset : pos;
      pos += n;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(10, start);
        if (nl < 0) break;
        yield { text: chunk.toString('utf8', start, nl), offset: base + start, bytes: nl - start + 1 };
        start = nl + 1;
      }
      carry = Buffer.from(chunk.subarray(start));
      carryOffset = base + start;
    }
    tail.bytes = carry.length;
  } finally {
    fs.closeSync(fd);
  }
}
