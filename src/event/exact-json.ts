/**
 * JSON text read at the edges (`sealtrail append`, the collector's ingest, `sealtrail redact
 * --json`) must give back the numbers it holds exactly: the trail keeps values exactly. JSON.parse
 * rounds an integer beyond ±(2^53−1) to the nearest double (I-JSON, RFC 7493 §2.2), so such a
 * number is refused with its field path instead of being recorded changed.
 */
import { AuditError } from '../errors.js';

/** Text that may hold such an integer: 16 digits in a row, or a positive exponent. */
const MAYBE_INEXACT = /\d{16}|\d[eE]\+?[1-9]/;

/** False when `text` cannot hold such an integer: no 16 digits in a row, no positive exponent. */
export function mayHoldInexact(text: string): boolean {
  return MAYBE_INEXACT.test(text);
}

/**
 * The path of the first integer in `value` beyond ±(2^53−1) (one JSON.parse rounded), as `prefix`
 * followed by `.name` and `[i]` steps; undefined when there is none.
 */
export function inexactNumberPath(value: unknown, prefix = ''): string | undefined {
  const stack: Array<[unknown, string]> = [[value, prefix]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'number') {
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) return path;
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i]!;
        stack.push([(v as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`]);
      }
    }
  }
  return undefined;
}

/** The message for a number {@link inexactNumberPath} found. */
export function inexactNumberMessage(path: string): string {
  return `${path || '(the document)'}: an integer beyond ±(2^53-1) cannot be kept exactly (JSON parsers round it); send it as a string`;
}

/**
 * Returns `doc`, parsed from `text`, unless it holds a number the text cannot have given exactly.
 * @throws AuditError EVENT_INVALID naming `where` and the number's path (`detail.field`).
 */
export function exactJson(text: string, doc: unknown, where: string): unknown {
  const path = mayHoldInexact(text) ? inexactNumberPath(doc) : undefined;
  if (path === undefined) return doc;
  const message = inexactNumberMessage(path);
  throw new AuditError('EVENT_INVALID', where === '' ? message : `${where}: ${message}`, { field: path });
}
