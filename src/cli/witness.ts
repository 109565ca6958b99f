/**
 * `sealtrail witness push --to SPEC...`: hands the trail's checkpoints that each witness does not
 * hold yet to it: `s3://bucket/prefix` (Object Lock flags as for `archive push`), an http(s)
 * collector URL (token in $SEALTRAIL_WITNESS_TOKEN), or a directory. Exit 1 when a witness holds
 * a checkpoint the trail contradicts (rollback or fork) or refuses one. `--every 1m` repeats until
 * SIGINT or SIGTERM, so every checkpoint the trail issues reaches its witnesses.
 */
import { AuditError } from '../errors.js';
import { pushToWitnesses } from '../witness/index.js';
import { DIR_OPTION, out, outJson, parseVerbArgs, trailDir } from './common.js';
import { everyOption, repeatUntilSignal } from './every.js';
import { LOCK_OPTIONS, lockFromArgs, S3_OPTION, s3Connect } from './s3-options.js';

export async function runWitness(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'push') throw new AuditError('USAGE', 'witness: expected push');
  const { values } = parseVerbArgs('witness push', rest, {
    ...DIR_OPTION,
    ...S3_OPTION,
    ...LOCK_OPTIONS,
    to: { type: 'string', multiple: true },
    every: { type: 'string' },
    json: { type: 'boolean' },
  });
  const every = everyOption(values.every);
  if (values.to === undefined || values.to.length === 0)
    throw new AuditError('USAGE', 'witness push: --to is required (s3://bucket/prefix, URL or directory)', {
      field: 'to',
    });
  const specs = values.to;
  const options = { s3: s3Connect(values), lock: lockFromArgs(values) };
  await repeatUntilSignal(every, async () => {
    const reports = await pushToWitnesses(trailDir(values.dir), specs, options);
    // Repeating, a round that pushed nothing says nothing.
    const shown = every === undefined ? reports : reports.filter((r) => r.pushed > 0);
    if (values.json === true) {
      if (shown.length > 0) outJson(shown);
    } else
      for (const r of shown)
        out(
          `${r.witness}: ${r.pushed} checkpoints pushed, newest witnessed size ${r.latest} (held ${r.held} before)`,
        );
  });
  return 0;
}
