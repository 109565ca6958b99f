/**
 * `sealtrail export --format jsonl|json|csv [--out F] [--manifest M] [filters] [--json]`: the
 * selected entries, oldest first, streamed with bounded memory. With `--out`, the manifest goes
 * to `F.manifest.json` (or `--manifest`); to stdout, the manifest is written only with
 * `--manifest`. Progress is shown on stderr when it is a terminal. The export is recorded in the
 * trail as `audit.read`.
 */
import path from 'node:path';
import { AuditError } from '../errors.js';
import { renderVisible } from '../event/index.js';
import {
  type EntryFormat,
  type ExportManifest,
  exportEntries,
  exportToFile,
  manifestText,
  outputsCollide,
  PartialFile,
} from '../read/index.js';
import { DirSource } from '../store/index.js';
import {
  DIR_OPTION,
  intOption,
  out,
  outJson,
  parseVerbArgs,
  progress,
  stdoutClosed,
  writeOut,
} from './common.js';
import { POSTGRES_OPTIONS, type ReadTarget, readTarget } from './postgres-options.js';
import {
  AS_OPTION,
  checkOutputPath,
  DECRYPT_OPTION,
  FILTER_OPTIONS,
  filterFromOptions,
  formatOption,
  issueLine,
  orderOption,
  readReveal,
  stdoutText,
  withOptionNames,
} from './read-options.js';
import { auditRead } from './record-read.js';

export async function runExport(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('export', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    ...FILTER_OPTIONS,
    ...AS_OPTION,
    ...DECRYPT_OPTION,
    format: { type: 'string' },
    out: { type: 'string' },
    manifest: { type: 'string' },
    limit: { type: 'string' },
    order: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.format === undefined)
    throw new AuditError('USAGE', 'export: --format jsonl|json|csv is required');
  const format = formatOption<EntryFormat>(values.format, ['jsonl', 'json', 'csv'], 'jsonl');
  const target = await readTarget('export', values);
  try {
    return await exportFrom(target, values, format);
  } finally {
    target.close();
  }
}

async function exportFrom(
  target: ReadTarget,
  values: Parameters<typeof filterFromOptions>[0] & {
    as?: string | undefined;
    decrypt?: boolean | undefined;
    out?: string | undefined;
    manifest?: string | undefined;
    limit?: string | undefined;
    order?: string | undefined;
    json?: boolean | undefined;
  },
  format: EntryFormat,
): Promise<number> {
  const dir = target.source;
  checkOutputPath('out', values.out, dir);
  checkOutputPath('manifest', values.manifest, dir);
  const source = typeof dir === 'string' ? new DirSource(dir) : dir;
  const limit = intOption('limit', values.limit);
  const total = Number(source.latestCheckpoint()?.split('\n')[1]) || undefined;
  const reveal = await readReveal(target, values.decrypt);
  const bar = progress('exporting', total);
  const options = {
    ...(reveal === undefined ? {} : { reveal }),
    format,
    order: orderOption(values.order, 'oldest'),
    ...(limit === undefined ? {} : { limit }),
    onIssue: (issue: { seq?: number; file: string; reason: string }) =>
      process.stderr.write(`${issueLine(issue)}\n`),
    onProgress: (n: number) => bar.update(n),
  };
  const filter = filterFromOptions(values);
  let manifest: ExportManifest;
  let cut = false;
  let manifestError: unknown;
  if (values.out !== undefined) {
    const file = values.out;
    const manifestFile = values.manifest ?? `${file}.manifest.json`;
    if (outputsCollide(file, manifestFile))
      throw new AuditError(
        'USAGE',
        `--manifest: ${renderVisible(manifestFile)} is where --out writes the export; give another path`,
        { field: 'manifest' },
      );
    manifest = await withOptionNames(() => exportToFile(source, filter, file, { ...options, manifestFile }));
    bar.done();
    if (values.json === true) outJson(manifest);
    else {
      out(
        `exported ${manifest.entries} entries to ${renderVisible(file)} (${manifest.bytes} bytes, sha256 ${manifest.sha256}); manifest ${renderVisible(manifestFile)}`,
      );
    }
  } else {
    // Opened first: a manifest path that cannot be written fails before any entry is read.
    const manifestFile = values.manifest === undefined ? undefined : new PartialFile(values.manifest);
    const shown = stdoutText(format);
    try {
      manifest = await withOptionNames(() =>
        exportEntries(source, filter, (chunk) => writeOut(shown(chunk)), options),
      );
    } catch (err) {
      manifestFile?.abandon();
      throw err;
    }
    bar.done();
    cut = stdoutClosed();
    if (cut) manifestFile?.abandon();
    else if (manifestFile !== undefined) {
      try {
        manifestFile.write(manifestText({ ...manifest, file: null }));
        manifestFile.commit();
      } catch (err) {
        // the entries reached stdout: the read is recorded before the manifest's failure is told
        manifestFile.abandon();
        manifestError = err;
      }
    }
  }
  await auditRead(target, {
    verb: 'export',
    as: values.as,
    filter: manifest.filter,
    count: manifest.entries,
    format: values.out === undefined ? format : `${format} ${path.basename(values.out)}`,
    issues: manifest.issueCount,
    // `outputClosed`: the reader of stdout went away; `count` is what the export read, not what it delivered.
    extra: { ...(reveal === undefined ? {} : { decrypted: true }), ...(cut ? { outputClosed: true } : {}) },
  });
  if (cut)
    throw new AuditError('STORE_IO', 'stdout: closed before the export was complete; no manifest written');
  if (manifestError !== undefined) throw manifestError;
  return manifest.issueCount > 0 ? 1 : 0;
}
