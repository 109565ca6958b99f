/**
 * `sealtrail tail [-n N] [-f] [--json]`: the newest entries, oldest of them first (like tail(1)),
 * and with -f the ones that follow. Every string is rendered visibly: a stored escape sequence,
 * carriage return or bidi override is printed as `\x1b`, `\r`, `\u202e`, never raw. A line that
 * is not a record is reported on stderr (seq, file, reason) and skipped, as query does; then the
 * exit code is 1. Like the other reading verbs it is recorded (`audit.read`, verb `tail`, after the
 * newest entries are printed; with -f the entries that follow are not counted).
 */
import path from 'node:path';
import { isAuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import { type AuditEntry, decodeEntry } from '../read/index.js';
import { DirSource, type StoredLine } from '../store/index.js';
import { DIR_OPTION, intOption, jsonText, out, parseVerbArgs, stdoutClosed } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';
import { AS_OPTION, issueLine } from './read-options.js';
import { auditRead } from './record-read.js';

/** One entry as a table row for a terminal. */
export function formatEntryRow(e: AuditEntry): string {
  const actor = (e.actor as { id?: unknown } | undefined)?.id;
  const summary = [
    e.outcome === undefined ? '' : `outcome=${String(e.outcome)}`,
    (e.model as { name?: unknown } | undefined)?.name === undefined
      ? ''
      : `model=${String((e.model as { name: unknown }).name)}`,
    typeof e.content?.prompt === 'string' ? `prompt=${JSON.stringify(e.content.prompt.slice(0, 60))}` : '',
    e.erased === undefined ? '' : `erased=${e.erased.join(',')}`,
  ]
    .filter((s) => s !== '')
    .join(' ');
  const row = `${String(e.seq).padStart(6)}  ${e.ts}  ${e.severity.padEnd(8)}  ${e.type.padEnd(22)}  ${String(actor ?? '-').padEnd(12)}  ${summary}`;
  return renderVisible(row);
}

export async function runTail(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('tail', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    n: { type: 'string', short: 'n' },
    follow: { type: 'boolean', short: 'f' },
    json: { type: 'boolean' },
    ...AS_OPTION,
  });
  const count = intOption('n', values.n, '-n') ?? 20;
  const target = await readTarget('tail', values);
  const source = typeof target.source === 'string' ? new DirSource(target.source) : target.source;
  let issues = 0;
  const print = (line: StoredLine): void => {
    let entry: AuditEntry;
    try {
      entry = decodeEntry(line.text);
    } catch (err) {
      // one damaged line must not hide the entries after it (nor end -f)
      if (!isAuditError(err, 'ENTRY_MALFORMED')) throw err;
      issues++;
      process.stderr.write(
        `${issueLine({ seq: line.seq, file: path.basename(line.file), reason: err.message })}\n`,
      );
      return;
    }
    out(values.json === true ? jsonText(entry) : formatEntryRow(entry));
  };
  // Start at the newest segments: walk back until enough lines are found (a log: by its size).
  let from = 0;
  if (source instanceof DirSource) {
    const segments = source.segments();
    for (let i = segments.length - 1; i >= 0; i--) {
      from = segments[i]!.ref.firstSeq;
      const lastSeq = segments[i]!.summary?.lastSeq;
      if (lastSeq !== undefined && lastSeq - from + 1 >= count) break;
      if (i === segments.length - 1 && count === 0) break;
    }
  } else from = Math.max(0, source.size() - count);
  const ring: StoredLine[] = [];
  let next = from;
  for (const line of source.lines(from)) {
    ring.push(line);
    if (ring.length > count) ring.shift();
    next = line.seq + 1;
  }
  ring.forEach(print);
  const follow = values.follow === true;
  await auditRead(target, {
    verb: 'tail',
    as: values.as,
    filter: follow ? { n: count, follow } : { n: count },
    count: ring.length - issues,
    format: values.json === true ? 'json' : 'table',
    issues,
  });
  if (!follow) {
    target.close();
    return issues > 0 ? 1 : 0;
  }
  // Until interrupted, or until the reader of stdout goes away.
  while (!stdoutClosed()) {
    await new Promise((r) => setTimeout(r, 500));
    for (const line of source.lines(next)) {
      print(line);
      next = line.seq + 1;
    }
  }
  target.close();
  return issues > 0 ? 1 : 0;
}
