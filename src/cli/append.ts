/**
 * `sealtrail append`: events as JSON lines on stdin, one id per line on stdout. With `--durable`
 * an id is printed only once its entry is on disk (each stdin chunk is one group commit).
 * A bad line stops the command with exit 2 naming the line; the lines before it stay recorded and
 * their ids are printed.
 */
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { AuditError } from '../errors.js';
import { exactJson } from '../event/exact-json.js';
import type { AuditEventInput } from '../event/index.js';
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
  // A chunk can end inside a multi-byte character: the decoder keeps those bytes for the next one.
  const decoder = new StringDecoder('utf8');
  let lineNo = 0;
  let carry = '';
  try {
    for await (const chunk of stdinChunks()) {
      const text = carry + decoder.write(chunk);
      const end = text.lastIndexOf('\n');
      carry = end < 0 ? text : text.slice(end + 1);
      if (end < 0) continue;
      await emitBatch(trail, text.slice(0, end).split('\n'), () => ++lineNo, durable);
    }
    carry += decoder.end();
    if (carry.trim() !== '') await emitBatch(trail, [carry], () => ++lineNo, durable);
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
  lines: string[],
  nextLine: () => number,
  durable: boolean,
): Promise<void> {
  let ids = '';
  let failure: unknown;
  try {
    for (const line of lines) {
      const n = nextLine();
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
