/**
 * Entries as JSON lines, a JSON array and CSV. CSV follows RFC 4180 (CRLF line ends, a field with a
 * comma, quote, CR or LF quoted, quotes doubled), and a cell that a spreadsheet would read as a
 * formula — one starting with `=`, `+`, `-`, `@`, TAB, CR or LF, or their full-width forms, also
 * after leading white space — gets a leading `'` (OWASP "CSV injection"), so opening an export can never run a formula from a field.
 * JSON output escapes the code points of docs/format.md §3, as the trail does. Pure logic.
 */
import { escapeHostile } from '../event/index.js';
import type { AuditEntry } from './entry.js';

/** The output formats of query and export. */
export type EntryFormat = 'jsonl' | 'json' | 'csv';

/** What an erased payload shows in tables and CSV (CSV's `erased` column names the erased fields). */
export const ERASED_MARKER = '[erased]';

/** The CSV columns, in order: one per field of the event shape, structured fields as JSON. */
export const CSV_COLUMNS = [
  'seq',
  'id',
  'ts',
  'type',
  'category',
  'severity',
  'actor.id',
  'actor.type',
  'actor.sessionId',
  'actor.ip',
  'actor.userAgent',
  'actor.authMethod',
  'subject',
  'conversation.id',
  'conversation.turn',
  'requestId',
  'traceId',
  'resource.type',
  'resource.id',
  'action',
  'outcome',
  'model.provider',
  'model.name',
  'usage.inputTokens',
  'usage.outputTokens',
  'usage.totalTokens',
  'latencyMs',
  'guardrails',
  'content',
  'meta',
  'flagged',
  'truncated',
  'erased',
] as const;

// First characters a spreadsheet may take as the start of a formula (or that hide one after them),
// also behind leading white space or line breaks: importers that trim cells (a "trim spaces"
// option, a paste) turn ` =1+1` or `\n=1+1` into a formula, and LF hides what follows as CR does.
const FORMULA_START_RE = /^[\t\r\n]|^\s*[=+\-@\uff1d\uff0b\uff0d\uff20]/;

/**
 * One CSV cell: neutralized against formula injection, then quoted per RFC 4180 when needed.
 */
export function csvCell(value: string): string {
  const safe = FORMULA_START_RE.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The content payloads as shown: erased ones as `[erased]`. */
export function shownContent(e: AuditEntry): Record<string, unknown> | undefined {
  if (e.content === undefined && e.erased === undefined) return undefined;
  const shown: Record<string, unknown> = { ...e.content };
  for (const name of e.erased ?? []) shown[name] = ERASED_MARKER;
  return shown;
}

function pick(e: AuditEntry, column: string): unknown {
  if (column === 'content') return shownContent(e);
  const dot = column.indexOf('.');
  if (dot < 0) return e[column];
  const group = e[column.slice(0, dot)];
  return typeof group === 'object' && group !== null
    ? (group as Record<string, unknown>)[column.slice(dot + 1)]
    : undefined;
}

function cellText(v: unknown, column: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  // a list of names, as flagged and erased hold: `prompt,response` (no JSON quoting)
  if (column === 'erased' && Array.isArray(v)) return v.join(',');
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** The CSV header line (with its CRLF). */
export function csvHeader(): string {
  return `${CSV_COLUMNS.map(csvCell).join(',')}\r\n`;
}

/** One entry as a CSV record (with its CRLF). */
export function csvRow(e: AuditEntry): string {
  return `${CSV_COLUMNS.map((c) => csvCell(cellText(pick(e, c), c))).join(',')}\r\n`;
}

/** One entry as a JSON line (with its LF); hostile code points escaped, the value unchanged. */
export function jsonLine(e: AuditEntry): string {
  return `${escapeHostile(JSON.stringify(e))}\n`;
}

/** Writes entries in one format, piece by piece: `start`, then `entry` per entry, then `end`. */
export interface EntryWriter {
  start(): string;
  entry(e: AuditEntry): string;
  end(): string;
}

/** The writer for `format`. */
export function entryWriter(format: EntryFormat): EntryWriter {
  switch (format) {
    case 'jsonl':
      return { start: () => '', entry: jsonLine, end: () => '' };
    case 'csv':
      return { start: csvHeader, entry: csvRow, end: () => '' };
    case 'json': {
      let n = 0;
      return {
        start: () => '[',
        entry: (e) => `${n++ === 0 ? '\n' : ',\n'}${escapeHostile(JSON.stringify(e))}`,
        end: () => (n === 0 ? ']\n' : '\n]\n'),
      };
    }
  }
}
