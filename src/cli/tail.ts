/**
 * `sealtrail tail [-n N] [-f] [--json]`: the newest entries, oldest of them first (like tail(1)),
 * and with -f the ones that follow. Every string is rendered visibly: a stored escape sequence,
 * carriage return or bidi override is printed as `\x1b`, `\r`, `\u202e`, never raw.
 */
import { renderVisible } from '../event/index.js';
import { type AuditEntry, decodeLine } from '../read/index.js';
import { DirSource, type StoredLine } from '../store/index.js';
import { DIR_OPTION, intOption, out, parseVerbArgs, trailDir } from './common.js';

/** One entry as a table row for a terminal. */
export function formatEntryRow(e: AuditEntry): string {
  const actor = (e.actor as { id?: unknown } | undefined)?.id;
  const summary = [
    e.outcome === undefined ? '' : `outcome=${String(e.outcome)}`,
    (e.model as { name?: unknown } | undefined)?.name === undefined
      ? ''
      : `model=${String((e.model as { name: unknown }).name)}`,
    typeof e.content?.prompt === 'string' ? `prompt=${JSON.stringify(e.content.prompt.slice(0, 60))}` : '',
  ]
    .filter((s) => s !== '')
    .join(' ');
  const row = `${String(e.seq).padStart(6)}  ${e.ts}  ${e.severity.padEnd(8)}  ${e.type.padEnd(22)}  ${String(actor ?? '-').padEnd(12)}  ${summary}`;
  return renderVisible(row);
}

export async function runTail(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('tail', args, {
    ...DIR_OPTION,
    n: { type: 'string', short: 'n' },
    follow: { type: 'boolean', short: 'f' },
    json: { type: 'boolean' },
  });
  const count = intOption('n', values.n) ?? 20;
  const source = new DirSource(trailDir(values.dir));
  const print = (line: StoredLine): void => {
    const entry = decodeLine(line.text);
    out(values.json === true ? JSON.stringify(entry) : formatEntryRow(entry));
  };
  // Start at the newest segments: walk back until enough lines are found.
  const segments = source.segments();
  let from = 0;
  for (let i = segments.length - 1; i >= 0; i--) {
    from = segments[i]!.ref.firstSeq;
    const lastSeq = segments[i]!.summary?.lastSeq;
    if (lastSeq !== undefined && lastSeq - from + 1 >= count) break;
    if (i === segments.length - 1 && count === 0) break;
  }
  const ring: StoredLine[] = [];
  let next = from;
  for (const line of source.lines(from)) {
    ring.push(line);
    if (ring.length > count) ring.shift();
    next = line.seq + 1;
  }
  ring.forEach(print);
  if (values.follow !== true) return 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    for (const line of source.lines(next)) {
      print(line);
      next = line.seq + 1;
    }
  }
}
