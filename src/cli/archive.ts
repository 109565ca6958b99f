/**
 * `sealtrail archive push s3://bucket/prefix`: copies the trail's sealed segments to S3 with
 * checksums and Object Lock (`--lock-mode`, `--retain-days`, `--legal-hold`); safe to repeat,
 * and `--every 10m` repeats it until SIGINT or SIGTERM.
 */
import { parseS3Url, pushArchive } from '../archive/index.js';
import { AuditError } from '../errors.js';
import { DIR_OPTION, out, outJson, parseVerbArgs, trailDir } from './common.js';
import { everyOption, repeatUntilSignal } from './every.js';
import { LOCK_OPTIONS, lockFromArgs, S3_OPTION, s3Connect } from './s3-options.js';

export async function runArchive(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'push') throw new AuditError('USAGE', 'archive: expected push');
  const { values, positionals } = parseVerbArgs(
    'archive push',
    rest,
    { ...DIR_OPTION, ...S3_OPTION, ...LOCK_OPTIONS, every: { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  if (positionals.length !== 1)
    throw new AuditError('USAGE', 'archive push: expected one s3://bucket/prefix');
  const target = parseS3Url(positionals[0]!, 'archive push');
  const every = everyOption(values.every);
  const options = { s3: s3Connect(values), lock: lockFromArgs(values) };
  await repeatUntilSignal(every, async () => {
    const report = await pushArchive(trailDir(values.dir), target, options);
    if (every !== undefined && report.pushed === 0) return; // repeating, a round with nothing new says nothing
    if (values.json === true) {
      outJson(report);
    } else {
      const l = report.lock;
      const lock =
        report.lockFrom === 'policy'
          ? 'Object Lock and legal holds from the retention policy'
          : `${l.mode === 'none' ? 'no Object Lock' : `${l.mode} ${l.retainDays} days`}${l.legalHold ? ', legal hold' : ''}`;
      out(
        `archived ${report.segments} sealed segments (entries ${report.archivedFrom}..${report.archivedSize - 1}) to ${report.target}: ` +
          `${report.pushed} objects uploaded, ${report.present} already there; ${lock}`,
      );
    }
  });
  return 0;
}
