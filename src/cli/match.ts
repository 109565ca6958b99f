/**
 * `sealtrail match --id ID --field NAME`: tells whether the text on stdin is the one recorded in
 * a field stored as a keyed hash (content mode `hash`). Prints `match` (exit 0) or `no match`
 * (exit 1). One trailing newline of the input is dropped unless `--exact`. The text is tried as
 * given and as the default redactor leaves it, since trails that redact hash the redacted text;
 * a JSON object or array is also tried as that value (structured content such as tool arguments).
 * With `--postgres URL [--log NAME]` the key comes from Vault, `SEALTRAIL_KEY` or the key file
 * in the log's key directory (`--keys DIR`). The check is recorded as an `audit.read` (`--as`).
 */
import { AuditError } from '../errors.js';
import { canonicalJson } from '../event/canonical.js';
import { matchesHashedContent } from '../protect/content-modes.js';
import { createRedactor } from '../protect/redact.js';
import { getEntry } from '../read/index.js';
import { DIR_OPTION, out, parseVerbArgs, readStdinText } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';
import { AS_OPTION, readerKeys } from './read-options.js';
import { auditRead } from './record-read.js';

export async function runMatch(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('match', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    ...AS_OPTION,
    id: { type: 'string' },
    field: { type: 'string' },
    exact: { type: 'boolean' },
  });
  if (values.id === undefined) throw new AuditError('USAGE', 'match: --id is required');
  if (values.field === undefined) throw new AuditError('USAGE', 'match: --field is required');
  const target = await readTarget('match', values);
  let entry: Awaited<ReturnType<typeof getEntry>>;
  try {
    entry = await getEntry(target.source, values.id);
  } finally {
    target.close();
  }
  if (entry === undefined) throw new AuditError('NOT_FOUND', `match: no entry ${values.id}`);
  const field = values.field;
  const mode = (entry.contentModes as Record<string, string> | undefined)?.[field];
  const stored = entry.content?.[field];
  if (entry.erased?.includes(field) === true)
    throw new AuditError('NOT_FOUND', `match: content.${field} was erased`);
  if (mode !== 'hash' || typeof stored !== 'string') {
    throw new AuditError('USAGE', `match: content.${field} of ${values.id} is not stored as a keyed hash`, {
      field,
    });
  }
  let text = await readStdinText();
  if (values.exact !== true) text = text.replace(/\r?\n$/, '');
  const { ring } = await readerKeys(target);
  const redact = createRedactor();
  const candidates: unknown[] = [text, redact(text, 'content').value];
  // Structured content (tool arguments) was hashed as the canonical JSON of its value: a JSON
  // object or array on stdin is tried as that value too (as a text it never matched).
  const value = jsonStructure(text);
  if (value !== undefined) candidates.push(value, redact(value, 'content').value);
  const found = candidates.some((c) => matchesHashedContent(ring, field, c, stored));
  out(found ? 'match' : 'no match');
  // Checking a text against stored content with the key is a read of it, recorded as one (the
  // text itself is not: it may be the content).
  await auditRead(target, {
    verb: 'match',
    as: values.as,
    filter: { id: values.id, field },
    count: 1,
    extra: { matched: found },
  });
  return found ? 0 : 1;
}

/**
 * The object or array `text` holds as JSON, or undefined (a JSON string stays a text; a value no
 * event could hold, nested past canonical JSON's limit, is only a text).
 */
function jsonStructure(text: string): object | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    canonicalJson(value);
    return value;
  } catch {
    return undefined;
  }
}
