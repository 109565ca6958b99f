/**
 * How prepared events travel from the caller's thread to the appender: one string per batch,
 * records separated by `\n`, fields by U+001F. Neither separator can occur raw inside the
 * fields: canonical JSON escapes every control character, and content names are validated.
 * Strings cross to a worker much cheaper than objects (measured: ≈1.1 µs vs ≈2.7 µs each),
 * and one string per batch cheaper still.
 */
import type { PreparedEvent } from '../event/prepare.js';

export const RECORD_SEPARATOR = '\n';
export const FIELD_SEPARATOR = '\x1f';

/** Frames one prepared event: `ts US eventJson (US name US valueJson)*`. */
export function frameEvent(p: PreparedEvent): string {
  let s = `${p.ts}${FIELD_SEPARATOR}${p.eventJson}`;
  for (const [name, valueJson] of p.content) s += `${FIELD_SEPARATOR}${name}${FIELD_SEPARATOR}${valueJson}`;
  return s;
}
