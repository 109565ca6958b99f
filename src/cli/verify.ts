/**
 * `sealtrail verify`: checks the whole trail; names the first failing seq and the reason; exit 1
 * on any integrity failure. `--against SPEC` (repeatable) checks checkpoints kept elsewhere: a
 * file, a witness directory, `s3://bucket/prefix` or a collector URL, and reports a rollback or a
 * fork; `--key VKEY` trusts an auditor's verifier key instead of trail.json's; `--seal-seed` checks
 * seals. `--from-s3 s3://bucket/prefix` verifies an archive straight from S3 instead of `--dir`,
 * the whole of it or the segments holding `--from-seq`..`--to-seq` or events of `--from`..`--to`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type ArchiveVerifyReport, parseS3Url, verifyArchive } from '../archive/index.js';
import type { VerifyReport } from '../chain/index.js';
import { AuditError } from '../errors.js';
import { parseTimeBound, verifyDir } from '../read/index.js';
import { readTrailMeta } from '../store/index.js';
import { pgKeyFiles } from '../store/postgres/pg-keys.js';
import { readWitnessed, type WitnessOptions } from '../witness/index.js';
import { DIR_OPTION, intOption, out, outJson, parseVerbArgs, progress } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';
import { S3_OPTION, s3Connect } from './s3-options.js';

export async function runVerify(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('verify', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    ...S3_OPTION,
    against: { type: 'string', multiple: true },
    'seal-seed': { type: 'string' },
    key: { type: 'string' },
    'from-s3': { type: 'string' },
    'from-seq': { type: 'string' },
    'to-seq': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
  });
  const specs = values.against ?? [];
  if (specs.includes(''))
    throw new AuditError('USAGE', '--against: expected a file, directory or URL, got an empty string');
  const witnessOptions: WitnessOptions = { s3: s3Connect(values) };
  const readAgainst = async (origin: string) =>
    (await Promise.all(specs.map((s) => readWitnessed(s, origin, witnessOptions)))).flat();
  const bar = values.json === true ? progress('') : undefined;
  let report: VerifyReport | ArchiveVerifyReport;
  if (values['from-s3'] !== undefined) {
    if (values['seal-seed'] !== undefined)
      throw new AuditError(
        'USAGE',
        'verify: --seal-seed does not apply to --from-s3 (seals are not archived)',
      );
    const target = parseS3Url(values['from-s3'], 'from-s3');
    const opts: Parameters<typeof verifyArchive>[1] = { s3: s3Connect(values), against: readAgainst };
    const from = intOption('from-seq', values['from-seq']);
    const to = intOption('to-seq', values['to-seq']);
    if (from !== undefined) opts.fromSeq = from;
    if (to !== undefined) opts.toSeq = to;
    const now = Date.now();
    if (values.from !== undefined) opts.fromTime = parseTimeBound('from', values.from, now);
    if (values.to !== undefined) opts.toTime = parseTimeBound('to', values.to, now);
    if (values.key !== undefined) opts.verifierKey = values.key;
    const p = bar ?? progress('verifying');
    opts.onProgress = (n) => p.update(n);
    report = await verifyArchive(target, opts);
    p.done();
  } else {
    for (const name of ['from-seq', 'to-seq', 'from', 'to'] as const)
      if (values[name] !== undefined) throw new AuditError('USAGE', `verify: --${name} applies to --from-s3`);
    const target = await readTarget('verify', values);
    const dir = target.source;
    try {
      let total: number | undefined;
      try {
        total =
          typeof dir === 'string'
            ? fs.statSync(path.join(dir, 'tree', 'level-00.hashes')).size / 32
            : dir.size();
      } catch {
        total = undefined;
      }
      const opts: Parameters<typeof verifyDir>[1] = {};
      if (specs.length > 0)
        opts.witnessed = await readAgainst(
          typeof dir === 'string' ? readTrailMeta(dir).origin : dir.meta.origin,
        );
      if (values.key !== undefined) opts.verifierKey = values.key;
      const seed = values['seal-seed'] ?? process.env.SEALTRAIL_SEAL_SEED;
      if (seed !== undefined) opts.sealSeed = seed;
      if (typeof dir !== 'string' && values.keys !== undefined)
        opts.sealKeyFile = pgKeyFiles(values.keys).sealKey;
      const p = bar ?? progress('verifying', total);
      opts.onProgress = (n) => p.update(n);
      report = verifyDir(dir, opts);
      p.done();
    } finally {
      target.close();
    }
  }
  if (values.json === true) {
    outJson(report);
  } else if (report.ok) {
    const parts: string[] = [];
    if ('range' in report) {
      parts.push(
        `ok: ${report.source} entries ${report.range.from}..${report.range.to} (${report.segments} segments)`,
      );
    } else parts.push(`ok: ${report.entries} entries`);
    parts.push(`root ${report.root}`);
    if (!('range' in report) && report.prunedBefore > 0)
      parts.push(
        `entries before ${report.prunedBefore} pruned by retention (verified from the signed boundary)`,
      );
    if (report.latestCheckpoint !== undefined)
      parts.push(`latest checkpoint size ${report.latestCheckpoint.size}`);
    if (report.unsignedTail > 0)
      parts.push(`${report.unsignedTail} newest entries not yet checkpointed (writer running)`);
    if (report.against.length <= 3)
      for (const a of report.against) parts.push(`consistent with ${a.source} (size ${a.size})`);
    else {
      // A witness directory holds one checkpoint per push: one clause each made a line of dozens.
      const sizes = report.against.map((a) => a.size);
      parts.push(
        `consistent with ${report.against.length} outside checkpoints (sizes ${Math.min(...sizes)}..${Math.max(...sizes)}; --json lists them)`,
      );
    }
    if ('range' in report) {
      for (const a of report.againstOutside)
        parts.push(`${a.source} (size ${a.size}) outside the archived range, not checked`);
      if (report.erasuresBeyond > 0)
        parts.push(
          `${report.erasuresBeyond} erased payloads name erasure entries after the archived range, not checked (verify the trail for them)`,
        );
      parts.push('seals not checked (not archived)');
    } else if (report.seals !== undefined) {
      parts.push(`${report.seals.epochs} seal epochs verified`);
      if (!report.seals.writerKeyChecked)
        parts.push("without the writer's seal key (seals removed from the end would not show)");
    } else parts.push('seals not checked (no --seal-seed)');
    out(parts.join('; '));
  } else {
    const f = report.failure!;
    const where = f.seq === undefined ? '' : ` at seq ${f.seq}${f.file === undefined ? '' : ` (${f.file})`}`;
    process.stderr.write(`sealtrail: integrity failure${where}: ${f.code}: ${f.message}\n`);
  }
  return report.ok ? 0 : 1;
}
