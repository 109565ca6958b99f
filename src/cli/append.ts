/**
 * `sealtrail append`: events as JSON lines on stdin, one id per line on stdout. With `--durable`
 * an id is printed only once its entry is on disk (each stdin chunk is one group commit).
 * A bad line stops the command with exit 2 naming the line; the lines before it stay recorded and
 * their ids are printed. Input must be UTF-8 (a leading byte order mark is dropped); a line split
 * over many chunks is joined once (a 40 MB line: 0.9 s, against 13.9 s when each chunk re-joined
 * the line so far; measured on the 2-core machine of docs/benchmarks.md).
 */
import fs from 'node:fs';
import { AuditError } from '../errors.js';
import { exactJson } from '../event/exact-json.js';
import type { AuditEventInput } from '../event/index.js';
import { strictUtf8Lines } from '../utf8.js';
import { AuditTrail } from '../writer/index.js';
import { DIR_OPTION, parseVerbArgs, writeOut } from './common.js';
import { POSTGRES_OPTIONS, writeTarget } from './postgres-options.js';

export async function runAppend(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('append', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    durable: { type: 'boolean' },
  });
  const trail = await AuditTrail.open({ ...writeTarget('append', values), create: false });
  const durable = values.durable === true;
  let lineNo = 0;
  // Lines are cut on the newline byte (never part of a multi-byte character), and the start of a
  // line that has not ended yet is kept in pieces, joined once its newline comes: a long line
  // costs its length, not its length times its chunks.
  let carry: Buffer[] = [];
  let first = true;
  try {
    for await (const read of stdinChunks()) {
      let chunk = read;
      if (first) {
        first = false;
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3); // a BOM
      }
      const end = chunk.lastIndexOf(0x0a);
      if (end < 0) {
        carry.push(chunk);
        continue;
      }
      carry.push(chunk.subarray(0, end));
      const block = carry.length === 1 ? carry[0]! : Buffer.concat(carry);
      carry = [chunk.subarray(end + 1)];
      await emitBatch(trail, strictUtf8Lines(block), () => ++lineNo, durable);
    }
    const rest = carry.length === 1 ? carry[0]! : Buffer.concat(carry);
    if (rest.length > 0) {
      const [line] = strictUtf8Lines(rest);
      if (line === undefined || line.trim() !== '') await emitBatch(trail, [line], () => ++lineNo, durable);
    }
  } finally {
    await trail.close();
  }
  return 0;
}

/**
 * Standard input in chunks of up to 256 KiB (process.stdin reads 64 KiB): each chunk's events go
 * to the writer as one batch, and a batch handed to the writer thread has a fixed cost (measured:
 * ~1 µs per event at 64 KiB, a quarter of that at 256 KiB). A pipe or terminal still yields what it has.
 */
function stdinChunks(): AsyncIterable<Buffer> {
  return fs.createReadStream('', { fd: 0, autoClose: false, highWaterMark: 1 << 18 });
}

/**
 * Emits one chunk's lines as one batch and prints their ids. At a bad line, the ids of the lines
 * before it are still printed (and, with `--durable`, flushed first), then the error is thrown.
 */
async function emitBatch(
  trail: AuditTrail,
  lines: ReadonlyArray<string | undefined>,
  nextLine: () => number,
  durable: boolean,
): Promise<void> {
  let ids = '';
  let failure: unknown;
  try {
    for (const line of lines) {
      const n = nextLine();
      if (line === undefined)
        throw new AuditError('EVENT_INVALID', `stdin line ${n}: not valid UTF-8`, { field: 'stdin' });
      if (line.trim() === '') continue;
      ids += `${emitLine(trail, line, n)}\n`;
    }
  } catch (err) {
    failure = err;
  }
  if (durable) await trail.flush();
  await writeOut(ids);
  if (failure !== undefined) throw failure;
}

function emitLine(trail: AuditTrail, line: string, n: number): string {
  let event: AuditEventInput;
  try {
    event = JSON.parse(line) as AuditEventInput;
  } catch {
    throw new AuditError('EVENT_INVALID', `stdin line ${n}: not valid JSON`, { line: n });
  }
  try {
    return trail.emit(exactJson(event, '') as AuditEventInput);
  } catch (err) {
    if (err instanceof AuditError && err.code === 'EVENT_INVALID') {
      throw new AuditError('EVENT_INVALID', `stdin line ${n}: ${err.message}`, { ...err.detail, line: n });
    }
    throw err;
  }
}
