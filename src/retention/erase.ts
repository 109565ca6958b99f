/**
 * Erasure of content payloads (GDPR Art. 17, content expiry): a payload is replaced by
 * `{"erased":{"at":..,"reason":..}}` and its digest stays in the committed record, so the leaf,
 * the chain, every checkpoint and every proof are unchanged and `verify` still passes
 * (docs/format.md §2). Pure line logic here; the segment rewrite is in store/segment-rewrite.ts.
 */
import { parseCommitted, parsePayloads, splitLine } from '../chain/record.js';
import { canonicalJson, quoteJsonString } from '../event/canonical.js';

/** Which entries lose their payloads. */
export interface ErasureTarget {
  /** Entries whose `subject` is exactly this. */
  subject: string;
  /** Recorded in each erased payload (no personal data: it is stored in clear). */
  reason?: string;
  /** ISO time of the erasure. */
  at: string;
}

/** What an erasure changed. */
export interface ErasureCount {
  /** Entries with at least one payload erased now. */
  entries: number;
  /** Payloads erased now (payloads erased before are not counted again). */
  fields: number;
}

/**
 * The stored line with the target's payloads erased, or undefined when nothing changes (another
 * subject, no payloads, or all already erased). The committed part is returned byte for byte.
 */
export function eraseLine(line: string, target: ErasureTarget, count: ErasureCount): string | undefined {
  // Cheap filter first: the canonical text of the subject must occur in the record.
  const needle = `"subject":${quoteJsonString(target.subject)}`;
  return erasePayloads(
    line,
    (committed) => committed.includes(needle) && parseCommitted(committed).event.subject === target.subject,
    target,
    count,
  );
}

/**
 * The stored line with every payload erased when `select(committed)` holds (content expiry uses
 * its own selection), or undefined when nothing changes. The committed part is kept byte for byte.
 */
export function erasePayloads(
  line: string,
  select: (committed: string) => boolean,
  marker: { at: string; reason?: string },
  count: ErasureCount,
): string | undefined {
  const { committed, payloads } = splitLine(line);
  if (payloads === undefined || !select(committed)) return undefined;
  const erased = marker.reason === undefined ? { at: marker.at } : { at: marker.at, reason: marker.reason };
  let fields = 0;
  // fromEntries defines own data properties, so even a stored "__proto__" name stays a name.
  const out = Object.fromEntries(
    Object.entries(parsePayloads(payloads)).map(([name, p]) => {
      if ('erased' in p) return [name, p];
      fields++;
      return [name, { erased }];
    }),
  );
  if (fields === 0) return undefined;
  count.entries++;
  count.fields += fields;
  return `${committed}\t${canonicalJson(out)}`;
}
