/**
 * Entries a writer finds after the latest checkpoint when it opens a trail. Extending the hash
 * chain takes no secret (the leaf hash is unkeyed), so anyone who can write the segment files or
 * insert rows could add entries while no writer runs, and the next writer would sign them. So a
 * writer's session is bracketed by checkpoints: it closes with a `close` checkpoint of everything
 * it wrote, and when it opens after one, it first signs an `open` checkpoint, before it appends.
 * Entries after a `close` checkpoint were then not written by this trail's writer, and are
 * refused; entries after any other checkpoint are what a writer that stopped uncleanly had synced
 * but not yet checkpointed (at most one checkpoint interval), and are adopted and named in the
 * open's `system.recovery` entry.
 */
import { AuditError } from '../errors.js';
import type { Recovery, StoredCheckpoint } from '../store/index.js';

/** Entries `[fromSeq, fromSeq + entries)`, adopted after an unclean stop. */
export interface AdoptedTail {
  fromSeq: number;
  entries: number;
}

/**
 * What to do with the entries after `latest` in a log of `size` entries (`where` names the log in
 * errors): nothing when there are none, adopt them after an unclean stop.
 * @throws AuditError TREE_SIZE_MISMATCH when they follow a `close` checkpoint; nothing is signed.
 */
export function checkUnsignedTail(
  latest: StoredCheckpoint | undefined,
  size: number,
  where: string,
): AdoptedTail | undefined {
  const signed = latest?.size ?? 0;
  if (size <= signed) return undefined;
  if (latest?.reason === 'close')
    throw new AuditError(
      'TREE_SIZE_MISMATCH',
      `${where}: seq ${signed}..${size - 1} follow the checkpoint its writer signed when it closed (size ${signed}), so that writer did not write them; they are left unsigned (run sealtrail verify)`,
      { seq: signed },
    );
  return { fromSeq: signed, entries: size - signed };
}

/** The `system.recovery` entry of an open that set a torn tail aside or adopted entries; else undefined. */
export function recoveryEvent(
  torn: Recovery | undefined,
  adopted: AdoptedTail | undefined,
): Record<string, unknown> | undefined {
  if (torn === undefined && adopted === undefined) return undefined;
  const meta: Record<string, unknown> =
    torn === undefined
      ? {}
      : { file: torn.file, quarantineFile: torn.quarantineFile, bytes: torn.bytes, lines: torn.lines };
  if (adopted !== undefined) {
    meta.adoptedFromSeq = adopted.fromSeq;
    meta.adoptedEntries = adopted.entries;
  }
  return { type: 'system.recovery', severity: 'warning', outcome: 'success', meta };
}
