/**
 * `sealtrail report [--from T] [--to T] [--format html|json|md] [--out F] [--seal-seed S]
 * [--no-verify] [--gap MINUTES] [filters]`: the compliance report of a period. HTML is one
 * self-contained file. The whole trail is verified unless `--no-verify`. Exit 1 when the trail
 * fails verification or lines were unreadable. Recorded in the trail as `audit.read` (on a
 * PostgreSQL log, `--postgres URL [--log NAME]`, through its pending reads: record-read.ts).
 */
import fs from 'node:fs';
import { buildReport, renderReportHtml, renderReportMarkdown } from '../read/index.js';
import { FILE_MODE, withFile } from '../store/index.js';
import { DIR_OPTION, intOption, jsonText, out, parseVerbArgs } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';
import {
  AS_OPTION,
  checkOutputPath,
  FILTER_OPTIONS,
  filterFromOptions,
  formatOption,
  withOptionNames,
} from './read-options.js';
import { auditRead } from './record-read.js';

export async function runReport(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('report', args, {
    ...DIR_OPTION,
    ...FILTER_OPTIONS,
    ...AS_OPTION,
    format: { type: 'string' },
    out: { type: 'string' },
    'seal-seed': { type: 'string' },
    'no-verify': { type: 'boolean' },
    gap: { type: 'string' },
    ...POSTGRES_OPTIONS,
  });
  const format = formatOption(values.format, ['html', 'json', 'md'] as const, 'html');
  const gapMinutes = intOption('gap', values.gap);
  const seed = values['seal-seed'] ?? process.env.SEALTRAIL_SEAL_SEED;
  const target = await readTarget('report', values);
  const dir = target.source;
  try {
    checkOutputPath('out', values.out, dir);
  } catch (err) {
    target.close();
    throw err;
  }
  let report: Awaited<ReturnType<typeof buildReport>>;
  try {
    report = await withOptionNames(() =>
      buildReport(dir, filterFromOptions(values), {
        verify: values['no-verify'] !== true,
        ...(seed === undefined ? {} : { sealSeed: seed }),
        ...(gapMinutes === undefined ? {} : { gapMinutes }),
      }),
    );
  } finally {
    target.close();
  }
  const text =
    format === 'json'
      ? `${jsonText(report, 2)}\n`
      : format === 'md'
        ? renderReportMarkdown(report)
        : renderReportHtml(report);
  if (values.out !== undefined) {
    const file = values.out;
    withFile(file, 'write', () => fs.writeFileSync(file, text, { mode: FILE_MODE }));
  } else out(text);
  const v = report.integrity.verify;
  await auditRead(target, {
    verb: 'report',
    as: values.as,
    filter: report.filter,
    count: report.totals.entries,
    format,
    issues: report.issues.count,
    extra: { verified: v === null ? 'skipped' : v.ok ? `ok ${v.entries} entries` : `failed: ${v.failure}` },
  });
  return report.integrity.verify?.ok === false || report.issues.count > 0 ? 1 : 0;
}
