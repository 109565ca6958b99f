/**
 * `sealtrail anomalies --from T [--to T] [filters] [--webhook URL] [--json]`: runs the anomaly
 * rules over history. Each new finding is recorded in the trail as a `security.anomaly` event
 * (a finding recorded by an earlier run is not recorded or alerted again) and POSTed to the
 * webhook, signed with `$SEALTRAIL_WEBHOOK_SECRET`. Exit 1 when there are findings. The run is
 * recorded as `audit.read`. On a PostgreSQL log (`--postgres URL [--log NAME]`) the findings
 * and the read go through the log's pending reads (record-read.ts).
 */
import { AuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import { renderVisible } from '../event/index.js';
import { type AlertHandler, detectAnomalies, webhookAlert } from '../read/index.js';
import { DIR_OPTION, out, outJson, parseVerbArgs } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';
import { AS_OPTION, FILTER_OPTIONS, filterFromOptions, issueLine, withOptionNames } from './read-options.js';
import { auditRead } from './record-read.js';

export async function runAnomalies(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('anomalies', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    ...FILTER_OPTIONS,
    ...AS_OPTION,
    webhook: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.from === undefined && values.since === undefined) {
    throw new AuditError('USAGE', 'anomalies: --from (or --since) is required');
  }
  const handlers: AlertHandler[] = [];
  if (values.webhook !== undefined) {
    const secret = process.env.SEALTRAIL_WEBHOOK_SECRET;
    if (secret === undefined)
      throw new AuditError('USAGE', '--webhook: set SEALTRAIL_WEBHOOK_SECRET to sign the alerts');
    handlers.push(
      withOptionNames(() => {
        try {
          return webhookAlert({ url: values.webhook!, secret });
        } catch (err) {
          if (err instanceof AuditError && err.detail.field === 'url')
            throw new AuditError('USAGE', `--webhook: ${err.message.slice(5)}`);
          if (err instanceof AuditError && err.detail.field === 'secret') {
            throw new AuditError('USAGE', `SEALTRAIL_WEBHOOK_SECRET: ${err.message.slice(8)}`);
          }
          throw err;
        }
      }),
    );
  }
  const target = await readTarget('anomalies', values);
  const dir = target.source;
  const events: AuditEventInput[] = [];
  let run: Awaited<ReturnType<typeof detectAnomalies>>;
  try {
    run = await withOptionNames(() =>
      detectAnomalies(dir, filterFromOptions(values), { handlers, record: (e) => void events.push(e) }),
    );
  } finally {
    target.close();
  }
  for (const issue of run.issues) process.stderr.write(`${issueLine(issue)}\n`);
  for (const f of run.alertFailures)
    process.stderr.write(`sealtrail: alert for finding ${f.finding} not delivered: ${f.reason}\n`);
  if (values.json === true) outJson(run);
  else if (run.findings.length === 0) out(`no anomalies in ${run.entries} entries`);
  else {
    const lines = run.findings.map(
      (f) =>
        `${f.severity.padEnd(8)}  ${f.rule.padEnd(19)}  ${f.from}  ${f.key}  ${f.count}/${f.threshold}  ${f.message}`,
    );
    lines.push(
      `${run.findings.length} findings in ${run.entries} entries; ${run.findings.length - run.alreadyRecorded} recorded as security.anomaly now, ${run.alreadyRecorded} recorded before`,
    );
    out(lines.map(renderVisible).join('\n'));
  }
  await auditRead(
    target,
    {
      verb: 'anomalies',
      as: values.as,
      filter: filterFromOptions(values) as Record<string, unknown>,
      count: run.entries,
    },
    events,
  );
  return run.findings.length > 0 ? 1 : 0;
}
