/**
 * `sealtrail match --id ID --field NAME`: tells whether the text on stdin is the one recorded in
 * a field stored as a keyed hash (content mode `hash`). Prints `match` (exit 0) or `no match`
 * (exit 1). One trailing newline of the input is dropped unless `--exact`. The text is tried as
 * given and as the default redactor leaves it, since trails that redact hash the redacted text.
 */
import { AuditError } from '../errors.js';
import { openTrailKeyRing } from '../keys/index.js';
import { matchesHashedContent } from '../protect/content-modes.js';
import { createRedactor } from '../protect/redact.js';
import { getEntry } from '../read/index.js';
import { DIR_OPTION, out, parseVerbArgs, trailDir } from './common.js';

export async function runMatch(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('match', args, {
    ...DIR_OPTION,
    id: { type: 'string' },
    field: { type: 'string' },
    exact: { type: 'boolean' },
  });
  if (values.id === undefined) throw new AuditError('USAGE', 'match: --id is required');
  if (values.field === undefined) throw new AuditError('USAGE', 'match: --field is required');
  const dir = trailDir(values.dir);
  const entry = await getEntry(dir, values.id);
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
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  let text = Buffer.concat(chunks).toString('utf8');
  if (values.exact !== true) text = text.replace(/\r?\n$/, '');
  const ring = await openTrailKeyRing(dir);
  const candidates = [text, createRedactor()(text, 'content').value];
  const found = candidates.some((c) => matchesHashedContent(ring, field, c, stored));
  out(found ? 'match' : 'no match');
  return found ? 0 : 1;
}
