/**
 * Raw line spans of a segment file, first to last or last to first, for the scanner: large
 * positioned reads split on `\n`, each line handed over as a span of a shared buffer so that a
 * line the pre-check rejects is never decoded into a string (measured: decoding every line was
 * most of a time-window query's cost). A span is valid until the next one is taken. Bytes after
 * the last newline (a line the writer is still writing) are not a line. Archived (`.gz`) segments
 * are read the same way (store/segment-file.ts).
 */
import { openSegmentFile } from '../store/index.js';

const CHUNK = 4 * 1024 * 1024;

/** One line: bytes `[start, end)` of `buf` (without the newline). */
export interface RawLine {
  buf: Buffer;
  start: number;
  end: number;
}

/** Yields the complete lines of `file`, first to last. */
export function* readRawLines(file: string, chunkBytes = CHUNK): Generator<RawLine> {
  const seg = openSegmentFile(file);
  try {
    let pos = 0;
    let carry: Buffer = Buffer.alloc(0);
    const chunk = Buffer.allocUnsafe(chunkBytes);
    const line: RawLine = { buf: chunk, start: 0, end: 0 };
    for (;;) {
      const n = seg.read(chunk, 0, chunkBytes, pos);
      if (n === 0) return;
      pos += n;
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = buf.indexOf(10, 0); nl >= 0; nl = buf.indexOf(10, start)) {
        line.buf = buf;
        line.start = start;
        line.end = nl;
        yield line;
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
    }
  } finally {
    seg.close();
  }
}

/** Yields the complete lines of `file`, last to first. */
export function* readRawLinesReverse(file: string, chunkBytes = CHUNK): Generator<RawLine> {
  const seg = openSegmentFile(file);
  try {
    let pos = seg.size;
    // `tail` holds bytes after the current read position that belong to a line not yet complete.
    let tail: Buffer = Buffer.alloc(0);
    let first = true;
    const line: RawLine = { buf: tail, start: 0, end: 0 };
    while (pos > 0) {
      const len = Math.min(chunkBytes, pos);
      pos -= len;
      const chunk = Buffer.allocUnsafe(len);
      const n = seg.read(chunk, 0, len, pos);
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
      // buf ends with the newline that closes its last line.
      let end = buf.length - 1;
      for (;;) {
        const nl = end > 0 ? buf.lastIndexOf(10, end - 1) : -1;
        if (nl < 0) break;
        line.buf = buf;
        line.start = nl + 1;
        line.end = end;
        yield line;
        end = nl;
      }
      tail = Buffer.from(buf.subarray(0, end + 1));
    }
    if (!first && tail.length > 0) {
      line.buf = tail;
      line.start = 0;
      line.end = tail.length - 1;
      yield line;
    }
  } finally {
    seg.close();
  }
}

/** The complete lines of `file` as strings, last first. */
export function* readLinesReverse(file: string): Generator<string> {
  for (const l of readRawLinesReverse(file)) yield l.buf.toString('utf8', l.start, l.end);
}

/**
 * The complete lines of `file` that contain `needle`, first to last, found by searching the raw
 * bytes chunk by chunk (no per-line work: lookups by id and record type).
 */
export function* findLinesHolding(file: string, needle: string, chunkBytes = CHUNK): Generator<string> {
  const n = Buffer.from(needle);
  const seg = openSegmentFile(file);
  try {
    let pos = 0;
    let carry: Buffer = Buffer.alloc(0);
    const chunk = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const read = seg.read(chunk, 0, chunkBytes, pos);
      if (read === 0) return;
      pos += read;
      const buf =
        carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      const lastNl = buf.lastIndexOf(10);
      // Only complete lines are searched; the rest waits for the next chunk.
      const complete = lastNl < 0 ? 0 : lastNl + 1;
      let at = buf.indexOf(n);
      while (at >= 0 && at < complete) {
        const start = buf.lastIndexOf(10, at) + 1;
        const end = buf.indexOf(10, at);
        yield buf.toString('utf8', start, end);
        at = buf.indexOf(n, end + 1);
      }
      carry = Buffer.from(buf.subarray(complete));
    }
  } finally {
    seg.close();
  }
}
