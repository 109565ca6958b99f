/**
 * `sealtrail status [--json]`: entries, segments, size on disk, the last checkpoint and seal, the
 * last verification recorded by a report, dropped-event and recovery records, pending reads,
 * retention and key ids. Exit 0; nothing is written. With `--postgres URL [--log NAME]`, what a
 * PostgreSQL log has (no segments, files, pending reads or retention files).
 */
import { renderVisible } from '../event/index.js';
import { type TrailStatus, trailStatus } from '../read/index.js';
import { DIR_OPTION, out, outJson, parseVerbArgs } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';

function retentionLines(r: TrailStatus['retention']): string[] {
  if (r === null) return ['retention: none on a PostgreSQL log (everything is kept)'];
  const p = r.pruned;
  const last = r.lastApplied;
  return [
    `retention: ${r.policy === null ? 'no policy (everything is kept)' : JSON.stringify(r.policy)}${r.policyError === null ? '' : ` (INVALID: ${r.policyError})`}`,
    `  pruned: ${p === null ? 'nothing' : `entries before seq ${p.firstKept} (${p.segments} segments, ${p.oldest ?? '-'} to ${p.newest ?? '-'}), last at ${p.at}`}; archived segments: ${r.archivedSegments}`,
    `  legal holds: ${r.holdsError !== null ? `UNREADABLE: ${r.holdsError}` : r.holds.length === 0 ? 'none' : r.holds.map((h) => `${h.id} (${h.reason})`).join(', ')}`,
    `  last run: ${last === null ? 'never' : `${last.at} ${JSON.stringify(last.meta)}`}`,
  ];
}

/** Entries stored and, once some were pruned, entries ever written: both, each named. */
function entriesLine(s: TrailStatus): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const span = `from ${s.oldestEntry ?? '-'} to ${s.newestEntry ?? '-'}`;
  if (s.entries === s.treeSize) return `entries: ${n(s.entries)}, ${span}`;
  const first = s.treeSize - s.entries;
  const kept = s.firstSeq === null ? 'none' : `seq ${first} to ${s.treeSize - 1}`;
  return `entries: ${n(s.entries)} kept (${kept}), ${span}; ${n(s.treeSize)} written in all (tree size), the ${n(first)} before seq ${first} no longer stored (pruned)`;
}

export async function runStatus(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('status', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    json: { type: 'boolean' },
  });
  const target = await readTarget('status', values);
  let s: TrailStatus;
  try {
    s = trailStatus(target.source);
  } finally {
    target.close();
  }
  if (values.json === true) {
    outJson(s);
    return 0;
  }
  const cp = s.lastCheckpoint;
  const seal = s.lastSeal;
  const v = s.lastVerification;
  const lines = [
    `trail ${s.origin} in ${s.dir} (content ${s.content}, created ${s.createdAt})`,
    `writer: ${s.writer.running ? (s.writer.pid === null ? 'running' : `running (pid ${s.writer.pid})`) : 'not running'}`,
    entriesLine(s),
    s.segments === null
      ? 'segments: none (entries are rows in PostgreSQL)'
      : `segments: ${s.segments.count} (${s.segments.sealed} sealed), ${s.segments.bytes.toLocaleString('en-US')} bytes; ${(s.bytesOnDisk ?? 0).toLocaleString('en-US')} bytes on disk in all`,
    `last checkpoint: ${cp === null ? 'none' : `size ${cp.size} at ${cp.time} (${cp.reason}), signature ${cp.signatureVerified ? 'valid' : 'INVALID'}`}; ${s.checkpoints} checkpoints; ${s.unsignedEntries} entries after it`,
    `last seal: ${seal === null ? 'none' : `epoch ${seal.epoch} (${seal.start} to ${seal.end}${Date.parse(seal.start) > Date.now() ? ', ahead of the clock: each reopen starts the next epoch early, docs/format.md §7' : ''}), size ${seal.size}`}; ${s.seals} seals, epoch ${s.sealEpochMs / 1000} s`,
    `last verification: ${v === null ? 'none recorded (sealtrail report records one; sealtrail verify checks now)' : `${v.result} at ${v.at} by ${v.by}`}`,
    `dropped events: ${s.queue.droppedEvents} in ${s.queue.overflowRecords} overflow records; crash recoveries: ${s.recoveries}${s.quarantinedFiles === null ? '' : `; quarantined files: ${s.quarantinedFiles}`}`,
    `queue: known only inside the writing process (AuditTrail.queueDepth)`,
    ...(s.pendingReads === null ? [] : [`reads waiting to be recorded: ${s.pendingReads}`]),
    ...retentionLines(s.retention),
    `keys: checkpoint key id ${s.keys.checkpointKeyId}; ${s.keys.files === null ? "key files in the writer's key directory (--keys), not in the database" : `key files ${s.keys.files.join(', ') || '-'}`}`,
  ];
  out(lines.map(renderVisible).join('\n'));
  return 0;
}
