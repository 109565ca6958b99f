/**
 * Decoding stored lines into entries for people and programs: the event fields, its seq, and the
 * content payloads put back in place (erased payloads marked as such).
 */
import { parseCommitted, parsePayloads, splitLine } from '../chain/index.js';

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

/**
 * Decodes one stored line.
 * @throws AuditError ENTRY_MALFORMED when the line is not a sealtrail record.
 */
export function decodeLine(text: string): AuditEntry {
  const { committed, payloads } = splitLine(text);
  const rec = parseCommitted(committed);
  const entry = { seq: rec.seq, ...rec.event } as AuditEntry;
  if (rec.content !== undefined) {
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
