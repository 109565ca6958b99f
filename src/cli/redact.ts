/**
 * `sealtrail redact [--json] [--off NAME,...]`: redacts personal data and secrets from stdin with
 * the default redactor (docs/redaction.md). Text in, redacted text out; input that is not UTF-8 is
 * refused (exit 2, naming the line), never passed on changed. With `--json`, stdin is
 * one JSON document or JSON lines and each document becomes one line
 * `{"value": <redacted>, "findings": [...], "failed": false}`: the findings never hold a value.
 */
import { AuditError } from '../errors.js';
import { exactJson } from '../event/exact-json.js';
import { DETECTOR_NAMES } from '../protect/detector-names.js';
import { createRedactor, type DetectorName } from '../protect/index.js';
import { jsonText, parseVerbArgs, readStdinText, writeOut } from './common.js';

/** The verb's own help, printed by `sealtrail redact --help`. */
export const REDACT_USAGE = `usage: sealtrail redact [--json] [--off NAME[,NAME...]]
  Replaces personal data and secrets on stdin with typed markers ([EMAIL], [CARD], [SECRET:github], ...).
  (no option)     text on stdin, redacted text on stdout; everything else byte for byte
  --json          stdin is one JSON document or JSON lines; for each, one line on stdout:
                  {"value":<redacted>,"findings":[{"path":"content.prompt","kind":"email","count":1}],"failed":false}
                  an object is read as an event input: identifier fields (actor, subject, ids) keep
                  personal data and lose only secrets; findings never hold a value
  --off NAMES     turn detectors off, comma-separated: ${DETECTOR_NAMES.join(', ')}
The whole input is read before anything is written. Exit 0, or 2 with one line on stderr.`;

export async function runRedact(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('redact', args, {
    json: { type: 'boolean' },
    off: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    await writeOut(`${REDACT_USAGE}\n`);
    return 0;
  }
  const detectors: Partial<Record<DetectorName, boolean>> = {};
  for (const list of values.off ?? []) {
    for (const name of list.split(',')) {
      if (name.trim() !== '') detectors[name.trim() as DetectorName] = false;
    }
  }
  const redact = createRedactor({ detectors });
  const input = await readStdinText();
  if (values.json !== true) {
    await writeOut(redact(input, 'content').value);
    return 0;
  }
  let out = '';
  for (const doc of parseDocuments(input)) {
    const r = redact(doc);
    out += `${jsonText({ value: r.value, findings: r.findings, failed: r.failed })}\n`;
    if (out.length > 1 << 20) {
      await writeOut(out);
      out = '';
    }
  }
  if (out !== '') await writeOut(out);
  return 0;
}

/** One JSON document, or else JSON lines (blank lines skipped); numbers come back exactly. */
function parseDocuments(input: string): unknown[] {
  if (input.trim() === '') return [];
  let whole: unknown;
  try {
    whole = JSON.parse(input);
  } catch {
    // not one document: JSON lines
  }
  if (whole !== undefined) return [exactJson(whole, 'stdin')];
  const docs: unknown[] = [];
  const lines = input.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch {
      throw new AuditError('EVENT_INVALID', `stdin line ${i + 1}: not valid JSON`, { line: i + 1 });
    }
    docs.push(exactJson(doc, `stdin line ${i + 1}`));
  }
  return docs;
}
