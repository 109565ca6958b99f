/**
 * `sealtrail erase --subject S [--reason R]`: erases the content payloads of every entry about a
 * data subject (GDPR Art. 17) and records the erasure in the trail; the trail still verifies.
 * Takes the writer lock: with a running writer, call `trail.eraseSubject()` in that process.
 * On a PostgreSQL log (`--postgres URL --log NAME --keys DIR`) rows are never rewritten: the
 * subject's data key is destroyed (crypto-shredding), which needs content mode encrypt.
 */
import fs from 'node:fs';
import { AuditError } from '../errors.js';
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
  try {
    const count = await trail.eraseSubject(
      values.subject,
      values.reason === undefined ? {} : { reason: values.reason },
    );
    out(
      values.json === true
        ? jsonText(count)
        : 'postgres' in target
          ? `erased ${count.fields} content fields in ${count.entries} entries by destroying the subject's data key; the erasure is recorded in the log`
          : `erased ${count.fields} content fields in ${count.entries} entries; the erasure is recorded in the trail`,
    );
  } finally {
    await trail.close();
  }
  if ('dir' in target) warnQuarantine(trailLayout(target.dir).quarantineDir);
  return 0;
}

/**
 * Torn lines set aside by crash recovery are not entries: erasure cannot read them, and one may
 * hold the subject's content. Says so on stderr when there are any.
 */
function warnQuarantine(dir: string): void {
  let files: string[];
  try {
    files = fs.readdirSync(dir);
  } catch {
    return;
  }
  if (files.length === 0) return;
  process.stderr.write(
    `sealtrail: note: ${dir} holds ${files.length} file(s) of torn lines from crash recovery, which erasure does not read; inspect and delete them\n`,
  );
}
