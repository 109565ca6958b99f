/**
 * Decoding stored lines into entries for people and programs: the event fields, its seq, and the
 * content payloads put back in place (erased payloads marked as such).
 */
import { parseCommitted, parsePayloads, splitLine } from '../chain/index.js';
import { AuditError } from '../errors.js';

/** An entry as read back from the trail. */
export interface AuditEntry {
  seq: number;
  id: string;
  ts: string;
  type: string;
  category: string;
  severity: string;
  content?: Record<string, unknown>;
  /** Content fields whose payload was erased (the digest still commits to it). */
  erased?: string[];
  [field: string]: unknown;
}

/** Entry fields a reader sets from the record, never taken from its event. */
const READER_FIELDS = ['seq', 'content', 'erased'] as const;

/**
 * Decodes one stored line.
 * @throws AuditError ENTRY_MALFORMED when the line is not a sealtrail record.
 */
export function decodeLine(text: string): AuditEntry {
  const { committed, payloads } = splitLine(text);
  const rec = parseCommitted(committed);
  // The writer never puts these in an event (docs/format.md §2): only a damaged line has them, and
  // spread over the entry they would stand for the reader's own fields (`e.erased.join` threw in tail).
  for (const k of READER_FIELDS) {
    if (k in rec.event) throw new AuditError('ENTRY_MALFORMED', `event holds ${k}, which only a reader sets`);
  }
  const entry = { seq: rec.seq, ...rec.event } as AuditEntry;
  if (rec.content !== undefined) {
    // `null` made Object.keys throw a TypeError, which tail did not take for a damaged line
    if (typeof rec.content !== 'object' || rec.content === null || Array.isArray(rec.content))
      throw new AuditError('ENTRY_MALFORMED', 'record content is not an object of digests');
    const stored = payloads === undefined ? {} : parsePayloads(payloads);
    const content: Record<string, unknown> = {};
    const erased: string[] = [];
    for (const name of Object.keys(rec.content)) {
      const p = stored[name];
      if (p !== undefined && 'value' in p) content[name] = p.value;
      else erased.push(name);
    }
    entry.content = content;
    if (erased.length > 0) entry.erased = erased;
  }
  return entry;
}

/**
 * Decodes one stored line into an entry with the fields every reader relies on: a numeric seq and
 * string id, ts, type, category and severity. A line that parses but lacks one of them (a damaged
 * record) is refused like one that does not parse, so each reader reports it instead of failing
 * on it.
 * @throws AuditError ENTRY_MALFORMED.
 */
export function decodeEntry(text: string): AuditEntry {
  const entry = decodeLine(text);
  if (typeof entry.seq !== 'number') throw new AuditError('ENTRY_MALFORMED', 'record has no seq');
  for (const k of ['id', 'ts', 'type', 'category', 'severity'] as const) {
    if (typeof entry[k] !== 'string') throw new AuditError('ENTRY_MALFORMED', `event has no ${k}`);
  }
  return entry;
}
