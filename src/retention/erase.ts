/**
 * Erasure of content payloads (GDPR Art. 17, content expiry): a payload is replaced by
 * `{"erased":{"at":..,"reason":..}}` and its digest stays in the committed record, so the leaf,
 * the chain, every checkpoint and every proof are unchanged and `verify` still passes
 * (docs/format.md §2). Pure line logic here; the segment rewrite is in store/segment-rewrite.ts.
 */
import { type ErasedMarker, parseCommitted, parsePayloads, splitLine } from '../chain/record.js';
import { canonicalJson, quoteJsonString } from '../event/canonical.js';

/** Which entries lose their payloads. */
export interface ErasureTarget {
  /** Entries whose `subject` is exactly this. */
  subject: string;
  /** Recorded in each erased payload (no personal data: it is stored in clear). */
  reason?: string;
  /** ISO time of the erasure. */
  at: string;
  /** The seq of the entry that will record the erasure (docs/format.md §2): the next one. */
  by: number;
}

/** What an erasure changed. */
export interface ErasureCount {
  /** Entries with at least one payload erased now. */
  entries: number;
  /** Payloads erased now (payloads erased before are not counted again). */
  fields: number;
  /**
   * Lines of crash recovery's quarantine (docs/format.md §9) about the subject whose payloads were
   * cut now, and lines there that carry payloads but whose record cannot be read, so that whose
   * they are is unknown (left as they were). Absent when nothing is quarantined.
   */
  quarantine?: { erased: number; unreadable: number };
  /**
   * PostgreSQL (crypto-shredding): the key was destroyed, but the payloads written under it while
   * the erasure ran could not be read to count them (a dropped connection); `entries` and `fields`
   * are those read before the destruction. Recorded as `meta.countIncomplete` too.
   */
  countIncomplete?: true;
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
 * A quarantined torn line (docs/format.md §9) with every payload erased when `select(committed)`
 * holds, or undefined when nothing changes. A line carries payloads only after its tab, and the
 * writer writes the committed record before it, so the record is whole whenever there are
 * payloads to erase; payloads cut short by the crash go whole. A line with payloads whose record
 * cannot be read (`select` throws) is counted in `quarantine.unreadable` and kept.
 */
export function eraseTornLine(
  line: string,
  select: (committed: string) => boolean,
  marker: ErasedMarker,
  count: ErasureCount,
): string | undefined {
  const quarantine = count.quarantine ?? { erased: 0, unreadable: 0 };
  count.quarantine = quarantine;
  const { committed, payloads } = splitLine(line);
  if (payloads === undefined || payloads === '') return undefined;
  let selected: boolean;
  try {
    selected = select(committed);
  } catch {
    quarantine.unreadable++;
    return undefined;
  }
  if (!selected) return undefined;
  let erased: string | undefined;
  try {
    erased = erasePayloads(line, () => true, marker, { entries: 0, fields: 0 });
  } catch {
    erased = `${committed}\t`; // cut short by the crash: not a payload object any more
  }
  if (erased !== undefined) quarantine.erased++;
  return erased;
}

/** The `select` of {@link eraseTornLine} for a subject's erasure. */
export const aboutSubject = (subject: string) => (committed: string) =>
  parseCommitted(committed).event.subject === subject;

/**
 * The stored line with every payload erased when `select(committed)` holds (content expiry uses
 * its own selection), or undefined when nothing changes. The committed part is kept byte for byte.
 */
export function erasePayloads(
  line: string,
  select: (committed: string) => boolean,
  marker: ErasedMarker,
  count: ErasureCount,
): string | undefined {
  const { committed, payloads } = splitLine(line);
  if (payloads === undefined || !select(committed)) return undefined;
  const erased: ErasedMarker = { at: marker.at, by: marker.by };
  if (marker.reason !== undefined) erased.reason = marker.reason;
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
