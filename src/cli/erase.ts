/**
 * `sealtrail erase --subject S [--reason R]`: erases the content payloads of every entry about a
 * data subject (GDPR Art. 17) and records the erasure in the trail; the trail still verifies.
 * Takes the writer lock: with a running writer, call `trail.eraseSubject()` in that process.
 * On a PostgreSQL log (`--postgres URL --log NAME --keys DIR`) rows are never rewritten: the
 * subject's data key is destroyed (crypto-shredding), which needs content mode encrypt.
 */
import { AuditError } from '../errors.js';
import type { ErasureCount } from '../retention/erase.js';
import { trailLayout } from '../store/index.js';
import { AuditTrail } from '../writer/index.js';
import { DIR_OPTION, jsonText, out, parseVerbArgs } from './common.js';
import { POSTGRES_OPTIONS, writeTarget } from './postgres-options.js';

export async function runErase(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('erase', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    subject: { type: 'string' },
    reason: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.subject === undefined || values.subject === '')
    throw new AuditError('USAGE', 'erase: --subject is required');
  const target = writeTarget('erase', values);
  const trail = await AuditTrail.open({ ...target, create: false, handleExit: false });
  let count: ErasureCount;
  try {
    count = await trail.eraseSubject(
      values.subject,
      values.reason === undefined ? {} : { reason: values.reason },
    );
  } finally {
    await trail.close();
  }
  const torn =
    count.quarantine === undefined || count.quarantine.erased === 0
      ? ''
      : ` and in ${count.quarantine.erased} torn lines set aside by crash recovery`;
  out(
    values.json === true
      ? jsonText(count)
      : 'postgres' in target
        ? `erased ${count.fields} content fields in ${count.entries} entries by destroying the subject's data key; the erasure is recorded in the log`
        : `erased ${count.fields} content fields in ${count.entries} entries${torn}; the erasure is recorded in the trail`,
  );
  const unreadable = count.quarantine?.unreadable ?? 0;
  if (unreadable > 0 && 'dir' in target) {
    // Torn lines whose record cannot be read: whether they are about the subject is unknown.
    process.stderr.write(
      `sealtrail: note: ${trailLayout(target.dir).quarantineDir} holds ${unreadable} torn line(s) with content whose entry cannot be read, which erasure left as they were; inspect and delete them\n`,
    );
  }
  return 0;
}
