/**
 * Small append-only JSON-lines files (checkpoints, seals): each append is one durable write;
 * a torn last line (no newline, after a crash) is ignored by readers and cut by the writer.
 */
import fs from 'node:fs';
import { appendFileDurable, readIfExists, withFile } from './fs-safe.js';

/**
 * Parses every complete line of a JSON-lines file. A line that is not JSON, or not of the shape
 * `valid` accepts, is left out and reported to `onBad` (1-based), not thrown.
 */
export function readJsonLines<T>(
  file: string,
  valid: (value: unknown) => value is T,
  onBad?: (lineNo: number) => void,
): T[] {
  const text = withFile(file, 'read', () => readIfExists(file)) ?? '';
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  const out: T[] = [];
  const lines = text.slice(0, end).split('\n');
  for (let i = 0; i < lines.length; i++) {
    let value: unknown;
    try {
      value = JSON.parse(lines[i]!);
    } catch {
      value = undefined;
    }
    if (valid(value)) out.push(value);
    else onBad?.(i + 1);
  }
  return out;
}

/** The last complete record of a JSON-lines file, read from its end, if `valid` accepts it. */
export function readLastJsonLine<T>(file: string, valid: (value: unknown) => value is T): T | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const size = fs.fstatSync(fd).size;
    for (let window = 4096; ; window *= 4) {
      const start = Math.max(0, size - window);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      const text = buf.toString('utf8');
      const end = text.lastIndexOf('\n');
      const begin = end < 0 ? -1 : text.lastIndexOf('\n', end - 1);
      if (end >= 0 && (begin >= 0 || start === 0)) {
        try {
          const value: unknown = JSON.parse(text.slice(begin + 1, end));
          return valid(value) ? value : undefined;
        } catch {
          return undefined;
        }
      }
      if (start === 0) return undefined;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Cuts a torn last line (one without its newline) off a JSON-lines file. */
export function repairJsonLines(file: string): void {
  const text = readIfExists(file);
  if (text === undefined || text.length === 0 || text.endsWith('\n')) return;
  fs.truncateSync(file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
}

/** Appends one record durably. */
export function appendJsonLine(file: string, record: unknown): void {
  withFile(file, 'append to', () => appendFileDurable(file, `${JSON.stringify(record)}\n`));
}
