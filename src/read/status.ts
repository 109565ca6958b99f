/**
 * The state of a trail directory at a glance, for `sealtrail status`: entries, segments, size on
 * disk, the newest and oldest entry, the last checkpoint and seal, the last verification recorded
 * by a report, dropped-event and recovery records, reads waiting in pending-reads/, retention and
 * the key ids in use. Reads the newest segment and searches the raw bytes of the others for a few
 * record types; nothing is written. On a PostgreSQL log the same records are searched by the
 * server; what only a directory has (segments, bytes on disk, quarantine, pending reads, retention
 * files, key files) is null.
 */
import fs from 'node:fs';
import path from 'node:path';
import { NoteVerifier, openCheckpoint } from '../chain/index.js';
import { type RetentionState, retentionState } from '../retention/state.js';
import { DirSource, listPendingReads, lockHolder, readLines } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';
import { decodeLine } from './entry.js';
import { findLinesHolding, readLinesReverse } from './query-lines.js';
import { countLines } from './query-scan.js';

/** What `sealtrail status --json` prints. */
export interface TrailStatus {
  /** The directory, or how a PostgreSQL log is named (`postgres user@host:port/db log NAME`). */
  dir: string;
  store: 'directory' | 'postgres';
  origin: string;
  content: string;
  createdAt: string;
  writer: { running: boolean; pid: number | null };
  /** Entries stored, which a reader can read: on a pruned trail, not those before `firstSeq`. */
  entries: number;
  /** Entries ever written: the seq the next entry gets, the size of the Merkle tree. */
  treeSize: number;
  /** Seq of the oldest stored entry (above 0 once the trail was pruned), or null when none is. */
  firstSeq: number | null;
  oldestEntry: string | null;
  newestEntry: string | null;
  segments: { count: number; sealed: number; bytes: number } | null;
  bytesOnDisk: number | null;
  lastCheckpoint: { size: number; time: string; reason: string; signatureVerified: boolean } | null;
  /** Entries written after the last checkpoint (a running writer signs them on its interval). */
  unsignedEntries: number;
  checkpoints: number;
  lastSeal: { epoch: number; start: string; end: string; size: number } | null;
  seals: number;
  sealEpochMs: number;
  /** The last verification a `sealtrail report` recorded in the trail. */
  lastVerification: { at: string; result: string; by: string } | null;
  /** The queue lives in the writing process (`AuditTrail.queueDepth`); dropped events are recorded. */
  queue: { depth: null; droppedEvents: number; overflowRecords: number };
  recoveries: number;
  quarantinedFiles: number | null;
  /** Reads left for the writer to record; null where this role may not see them (PostgreSQL reader). */
  pendingReads: number | null;
  /** Policy, legal holds, what was pruned, archived segments, and the last retention run. */
  retention: (RetentionState & { lastApplied: { at: string; meta: Record<string, unknown> } | null }) | null;
  /** Key files: null on PostgreSQL (they live in the writer's key directory, not in the database). */
  keys: { checkpointKeyId: string; files: string[] | null };
}

function dirBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    // gone since the listing (a segment archived or pruned meanwhile): not counted
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (st !== undefined) total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

function tsOf(line: string | undefined): string | null {
  if (line === undefined) return null;
  try {
    return decodeLine(line).ts;
  } catch {
    return null;
  }
}

/**
 * The status of the trail in `dir`.
 * @throws AuditError TRAIL_NOT_FOUND.
 */
export function trailStatus(dir: string | DirSource | PgSource): TrailStatus {
  const source = typeof dir === 'string' ? new DirSource(dir) : dir;
  if (!(source instanceof DirSource)) return pgStatus(source);
  const layout = source.layout;
  const segments = source.segments();
  const last = segments.at(-1);
  const treeSize = last === undefined ? 0 : last.ref.firstSeq + countLines(last.ref.file);
  // the oldest stored segment's first seq: on a pruned trail the entries before it are gone
  const firstSeq = segments[0]?.ref.firstSeq ?? 0;
  const counts = { entries: treeSize - firstSeq, treeSize, firstSeq: treeSize > firstSeq ? firstSeq : null };
  let oldest: string | undefined;
  for (const line of segments.length > 0 ? readLines(segments[0]!.ref.file) : []) {
    oldest = line.text;
    break;
  }
  // the newest segment may be empty (a writer stopped right after it rotated): look further back
  let newest: string | undefined;
  for (let i = segments.length - 1; i >= 0 && newest === undefined; i--) {
    for (const text of readLinesReverse(segments[i]!.ref.file)) {
      newest = text;
      break;
    }
  }

  const records = recordsIn((needle) =>
    segments.flatMap(({ ref }) => [...findLinesHolding(ref.file, needle)]),
  );
  const holder = lockHolder(layout.lock);
  let quarantined = 0;
  try {
    quarantined = fs.readdirSync(layout.quarantineDir).length;
  } catch {
    quarantined = 0;
  }
  let keyFiles: string[] = [];
  try {
    keyFiles = fs.readdirSync(layout.keysDir).sort();
  } catch {
    keyFiles = [];
  }
  return {
    ...common(source, counts, records),
    dir: layout.dir,
    store: 'directory',
    writer: { running: holder !== undefined, pid: holder ?? null },
    oldestEntry: tsOf(oldest),
    newestEntry: tsOf(newest),
    segments: {
      count: segments.length,
      sealed: segments.filter((s) => s.summary !== undefined).length,
      bytes: dirBytes(layout.segmentsDir),
    },
    bytesOnDisk: dirBytes(layout.dir),
    quarantinedFiles: quarantined,
    pendingReads: listPendingReads(layout).length,
    retention: { ...retentionState(layout), lastApplied: records.lastApplied },
    keys: { checkpointKeyId: source.meta.verifierKey.split('+')[1] ?? '', files: keyFiles },
  };
}

/** The status of a PostgreSQL log: the records are searched by the server (see the file's note). */
function pgStatus(source: PgSource): TrailStatus {
  // a PostgreSQL log is never pruned (no retention there): every entry ever written is stored
  const entries = source.size();
  const records = recordsIn((needle) =>
    [
      ...source.scan({ seqFrom: 0, seqTo: Number.MAX_SAFE_INTEGER, order: 'oldest', needles: [[needle]] }),
    ].map((l) => l.text),
  );
  return {
    ...common(source, { entries, treeSize: entries, firstSeq: entries === 0 ? null : 0 }, records),
    dir: source.name,
    store: 'postgres',
    writer: { running: source.live(), pid: null },
    oldestEntry: entries === 0 ? null : tsOf(source.lineAt(0)),
    newestEntry: entries === 0 ? null : tsOf(source.lineAt(entries - 1)),
    segments: null,
    bytesOnDisk: null,
    quarantinedFiles: null,
    pendingReads: source.pendingReads(),
    retention: null,
    keys: { checkpointKeyId: source.meta.verifierKey.split('+')[1] ?? '', files: null },
  };
}

/** The records status counts, from the lines holding a needle (`linesHolding`). */
function recordsIn(linesHolding: (needle: string) => Iterable<string>) {
  let dropped = 0;
  let overflowRecords = 0;
  let recoveries = 0;
  let lastVerification: TrailStatus['lastVerification'] = null;
  let lastApplied: { at: string; meta: Record<string, unknown> } | null = null;
  for (const text of linesHolding('"type":"admin.retention_applied"')) {
    try {
      const e = decodeLine(text);
      if (e.type === 'admin.retention_applied') lastApplied = { at: e.ts, meta: { ...(e.meta ?? {}) } };
    } catch {
      // as below
    }
  }
  for (const text of linesHolding('"type":"system.overflow"')) {
    try {
      const e = decodeLine(text);
      if (e.type !== 'system.overflow') continue;
      overflowRecords++;
      const lost = (e.meta as { lost?: unknown } | undefined)?.lost;
      if (typeof lost === 'number') dropped += lost;
    } catch {
      // an unreadable line: `query` and `verify` report it
    }
  }
  for (const text of linesHolding('"type":"system.recovery"')) {
    if (text.includes('"type":"system.recovery"')) recoveries++;
  }
  for (const text of linesHolding('"verified":')) {
    try {
      const e = decodeLine(text);
      const meta = e.meta as { verb?: unknown; verified?: unknown } | undefined;
      if (e.type === 'audit.read' && meta?.verb === 'report' && typeof meta.verified === 'string') {
        lastVerification = {
          at: e.ts,
          result: meta.verified,
          by: String((e.actor as { id?: unknown } | undefined)?.id ?? 'unknown'),
        };
      }
    } catch {
      // as above
    }
  }
  return { dropped, overflowRecords, recoveries, lastVerification, lastApplied };
}

/** The fields both stores fill the same way: metadata, checkpoints, seals and the records. */
function common(
  source: DirSource | PgSource,
  counts: { entries: number; treeSize: number; firstSeq: number | null },
  r: ReturnType<typeof recordsIn>,
) {
  const stored = source.checkpoints();
  const lastCp = stored.at(-1);
  let lastCheckpoint: TrailStatus['lastCheckpoint'] = null;
  if (lastCp !== undefined) {
    // The size the note signs, not the stored record's own `size` field, which nothing signs.
    let signatureVerified = true;
    let size = 0;
    try {
      size = openCheckpoint(lastCp.note, NoteVerifier.fromVkey(source.meta.verifierKey)).size;
    } catch {
      signatureVerified = false;
    }
    lastCheckpoint = { size, time: lastCp.time, reason: lastCp.reason, signatureVerified };
  }
  const seals = source.seals();
  const lastSeal = seals.at(-1);
  return {
    origin: source.meta.origin,
    content: source.meta.content,
    createdAt: new Date(source.meta.createdAt).toISOString(),
    ...counts,
    lastCheckpoint,
    // a checkpoint signs the tree size, pruned entries included
    unsignedEntries: Math.max(0, counts.treeSize - (lastCheckpoint?.size ?? 0)),
    checkpoints: stored.length,
    lastSeal:
      lastSeal === undefined
        ? null
        : {
            epoch: lastSeal.epoch,
            start: new Date(lastSeal.start).toISOString(),
            end: new Date(lastSeal.end).toISOString(),
            size: lastSeal.size,
          },
    seals: seals.length,
    sealEpochMs: source.meta.sealEpochMs,
    lastVerification: r.lastVerification,
    queue: { depth: null, droppedEvents: r.dropped, overflowRecords: r.overflowRecords },
    recoveries: r.recoveries,
  };
}
