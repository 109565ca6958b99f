/**
 * `sealtrail query [filters] [--format table|jsonl|json|csv] [--limit N] [--order newest|oldest]`:
 * matching entries, newest first by default (table: 50 unless --limit). Unreadable lines are
 * reported on stderr (seq, file, reason) and skipped; then the exit code is 1. The read is
 * recorded in the trail as `audit.read`.
 */
import { type EntryFormat, entryWriter, query } from '../read/index.js';
import { DIR_OPTION, intOption, parseVerbArgs, stdoutClosed, writeOut } from './common.js';
import { POSTGRES_OPTIONS, type ReadTarget, readTarget } from './postgres-options.js';
import {
  AS_OPTION,
  DECRYPT_OPTION,
  FILTER_OPTIONS,
  filterFromOptions,
  formatOption,
  issueLine,
  orderOption,
  readReveal,
  stdoutText,
  TABLE_HEADER,
  tableRow,
  withOptionNames,
} from './read-options.js';
import { auditRead } from './record-read.js';

const FORMATS = ['table', 'jsonl', 'json', 'csv'] as const;

export async function runQuery(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('query', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    ...FILTER_OPTIONS,
    ...AS_OPTION,
    ...DECRYPT_OPTION,
    format: { type: 'string' },
    limit: { type: 'string' },
    order: { type: 'string' },
  });
  const target = await readTarget('query', values);
  try {
    return await runQueryOn(target, values);
  } finally {
    target.close();
  }
}

async function runQueryOn(
  target: ReadTarget,
  values: Parameters<typeof filterFromOptions>[0] & {
    as?: string | undefined;
    decrypt?: boolean | undefined;
    format?: string | undefined;
    limit?: string | undefined;
    order?: string | undefined;
  },
): Promise<number> {
  const format = formatOption(values.format, FORMATS, 'table');
  const limit = intOption('limit', values.limit) ?? (format === 'table' ? 50 : undefined);
  const order = orderOption(values.order, 'newest');
  const filter = filterFromOptions(values);
  const dir = target.source;
  const reveal = await readReveal(target, values.decrypt);
  const q = withOptionNames(() =>
    query(dir, filter, {
      order,
      ...(reveal === undefined ? {} : { reveal }),
      ...(limit === undefined ? {} : { limit }),
      onIssue: (issue) => process.stderr.write(`${issueLine(issue)}\n`),
    }),
  );
  let count = 0;
  if (format === 'table') {
    await writeOut(`${TABLE_HEADER}\n`);
    for await (const e of q) {
      if (stdoutClosed()) break;
      count++;
      await writeOut(`${tableRow(e)}\n`);
    }
  } else {
    const w = entryWriter(format as EntryFormat);
    const shown = stdoutText(format);
    await writeOut(w.start());
    for await (const e of q) {
      if (stdoutClosed()) break;
      count++;
      await writeOut(shown(w.entry(e)));
    }
    await writeOut(w.end());
  }
  await auditRead(target, {
    verb: 'query',
    as: values.as,
    filter: q.filter.normalized,
    count,
    format,
    issues: q.stats.issues,
    ...(reveal === undefined ? {} : { extra: { decrypted: true } }),
  });
  return q.stats.issues > 0 ? 1 : 0;
}
