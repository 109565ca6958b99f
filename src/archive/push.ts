/**
 * `archive push`: copies the sealed segments of a trail directory to S3 with their summaries, the
 * tree state before each segment, the signed checkpoint at each segment's end and the trail's
 * public description, each with a SHA-256 checksum and the Object Lock retention and legal hold
 * asked for or, when none is asked for and the trail has a retention policy, the ones the policy
 * and the trail's legal holds give each segment (retention/policy.ts `objectLockRetention`). Idempotent: an object already there with the same checksum is skipped; a different
 * object at a key is an ARCHIVE_CONFLICT naming the key. The open segment is never pushed, and a
 * segment is checked against its summary before it leaves the host.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { TileTree } from '../chain/index.js';
import { splitLine } from '../chain/record.js';
import { AuditError } from '../errors.js';
import { holdCovering, readHolds } from '../retention/holds.js';
import { entryFacts } from '../retention/plan.js';
import { objectLockRetention, type RetentionPolicy } from '../retention/policy.js';
import { readRetentionPolicy } from '../retention/policy-file.js';
import {
  checkedSegmentLines,
  DirSource,
  gunzipSegment,
  isArchived,
  readBoundaryFile,
  type SegmentSummary,
} from '../store/index.js';
import {
  ARCHIVE_TRAIL_META,
  archiveSegmentName,
  archiveStartName,
  archiveSummaryName,
  checkpointObjectName,
} from './archive-layout.js';
import {
  type ArchiveLock,
  checkArchiveLock,
  DEFAULT_ARCHIVE_LOCK,
  lockHeaders,
  retainUntil,
} from './object-lock.js';
import { buildRangeStart } from './range-start.js';
import type { S3ConnectOptions, S3Location } from './s3-location.js';
import { type ObjectLockHeaders, S3Objects } from './s3-objects.js';

/** Options of {@link pushArchive}. */
export interface PushArchiveOptions {
  s3?: S3ConnectOptions;
  /**
   * Object Lock of the uploaded objects. Default: from the trail's retention policy when it has one
   * (`retention.json`), else {@link DEFAULT_ARCHIVE_LOCK}.
   */
  lock?: Partial<ArchiveLock>;
  /**
   * The retention policy to take the lock from (default the trail's own); overridden by a `lock`
   * that gives its mode and (unless `none`) its days, refused with a part of one.
   */
  policy?: RetentionPolicy;
  now?: number;
  /** Called after each object, pushed or found present. */
  onObject?: (name: string, action: 'pushed' | 'present') => void;
}

/** What {@link pushArchive} did. */
export interface PushArchiveReport {
  target: string;
  origin: string;
  /** Sealed segments in the trail directory (all are in the archive afterwards). */
  segments: number;
  /** Objects uploaded now, and objects found already there with the same checksum. */
  pushed: number;
  present: number;
  /** Entries covered by the archive: seq archivedFrom (0 unless the trail was pruned) to archivedSize - 1. */
  archivedFrom: number;
  archivedSize: number;
  lock: ArchiveLock;
  /** Where the lock came from: the options, the trail's retention policy, or the defaults. */
  lockFrom: 'options' | 'policy' | 'default';
}

/** The Object Lock of one object. */
interface ObjectLock {
  headers?: ObjectLockHeaders | undefined;
  legalHold: boolean;
}

const sha256Hex = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Pushes the sealed segments of the trail in `dir` to `target`.
 * @throws AuditError TRAIL_NOT_FOUND, SEGMENT_CHECKSUM_MISMATCH (a local sealed segment differs
 *   from its summary: nothing of it is pushed), CHECKPOINT_MISSING (no signed checkpoint at a
 *   segment's end), ARCHIVE_CONFLICT (another object at a key), STORE_IO (S3 or file error),
 *   USAGE (lock options), CONFIG_INVALID (S3 settings).
 */
export async function pushArchive(
  dir: string,
  target: S3Location,
  options: PushArchiveOptions = {},
): Promise<PushArchiveReport> {
  const lock: ArchiveLock = { ...DEFAULT_ARCHIVE_LOCK, ...options.lock };
  checkArchiveLock(lock);
  const now = options.now ?? Date.now();
  const source = new DirSource(dir);
  const explicit = options.lock !== undefined && Object.keys(options.lock).length > 0;
  const trailPolicy = options.policy ?? readRetentionPolicy(source.layout);
  // Overriding a retention policy's lock takes a whole lock: the fields left out would otherwise
  // fall to the defaults (GOVERNANCE, 365 days), weaker than the policy, unseen.
  if (explicit && trailPolicy !== undefined) {
    const { mode, retainDays } = options.lock!;
    if (mode === undefined || (mode !== 'none' && retainDays === undefined))
      throw new AuditError(
        'USAGE',
        "lock: the trail's retention policy sets its Object Lock; to override it, give the mode and the days together (--lock-mode and --retain-days), not a part of a lock",
        { field: 'lock' },
      );
  }
  const policy = explicit ? undefined : trailPolicy;
  const holds = policy === undefined ? [] : readHolds(source.layout);
  // The lock of an object whose newest event is at `newest`; `held`: a legal hold covers an entry.
  const lockOf = (newest: string, held: boolean): ObjectLock => {
    if (policy === undefined) return { headers: lockHeaders(lock, newest, now), legalHold: lock.legalHold };
    const r = objectLockRetention(policy, { maxTs: newest }, held);
    const headers =
      r.retainUntil === undefined
        ? undefined
        : {
            mode: r.mode,
            retainUntil: new Date(Math.max(r.retainUntil.getTime(), retainUntil(newest, 1, now).getTime())),
          };
    return { headers, legalHold: r.legalHold };
  };
  const sealed = source
    .segments()
    .filter((s): s is { ref: (typeof s)['ref']; summary: SegmentSummary } => s.summary !== undefined);
  const notes = new Map<number, { note: string; time: string }>();
  for (const c of source.checkpoints()) notes.set(c.size, c);
  const s3 = await S3Objects.connect(target, options.s3);
  const report: PushArchiveReport = {
    target: s3.url(''),
    origin: source.meta.origin,
    segments: sealed.length,
    pushed: 0,
    present: 0,
    archivedFrom: sealed[0]?.ref.firstSeq ?? 0,
    archivedSize: 0,
    lock,
    lockFrom: explicit ? 'options' : policy === undefined ? 'default' : 'policy',
  };
  const ensure = async (
    name: string,
    body: Buffer,
    contentType: string,
    objectLock: ObjectLock,
  ): Promise<void> => {
    const head = await s3.head(name);
    if (head !== undefined) {
      const there = head.sha256 ?? sha256Hex((await s3.get(name)) ?? Buffer.alloc(0));
      if (there !== sha256Hex(body)) {
        throw new AuditError(
          'ARCHIVE_CONFLICT',
          `${s3.url(name)}: another object is already archived under this key (local copy changed, or the archive was written by another trail)`,
          { key: s3.key(name) },
        );
      }
      report.present++;
      options.onObject?.(name, 'present');
      return;
    }
    const put: Parameters<S3Objects['put']>[2] = { contentType, metadata: { origin: source.meta.origin } };
    if (objectLock.headers !== undefined) put.lock = objectLock.headers;
    if (objectLock.legalHold) put.legalHold = true;
    await s3.put(name, body, put);
    report.pushed++;
    options.onObject?.(name, 'pushed');
  };
  const tree = sealed.length > 0 ? TileTree.open(source.layout.treeDir, { readOnly: true }) : undefined;
  try {
    const nowIso = new Date(now).toISOString();
    await ensure(
      ARCHIVE_TRAIL_META,
      fs.readFileSync(source.layout.meta),
      'application/json',
      lockOf(nowIso, false),
    );
    for (const { ref, summary } of sealed) {
      // Never archive a segment that no longer matches what was sealed.
      let held = false;
      for (const line of checkedSegmentLines(ref.file, ref.firstSeq, summary)) {
        if (holds.length > 0 && !held)
          held =
            holdCovering(holds, entryFacts(splitLine(line.bytes.toString('utf8')).committed)) !== undefined;
      }
      const segmentLock = lockOf(summary.maxTs, held);
      const cp = notes.get(summary.treeSize);
      if (cp === undefined)
        throw new AuditError(
          'CHECKPOINT_MISSING',
          `no signed checkpoint at size ${summary.treeSize}, the end of ${summary.file}`,
          { file: summary.file },
        );
      // The sealed bytes, which the summary's checksum covers: a segment that retention gzipped
      // here (`<seq>.log.gz`) is uploaded decompressed, as `verify --from-s3` checks it.
      const bytes = isArchived(ref.file) ? gunzipSegment(ref.file) : fs.readFileSync(ref.file);
      await ensure(archiveSegmentName(ref.firstSeq), bytes, 'text/plain', segmentLock);
      if (ref.firstSeq > 0 && ref === sealed[0]!.ref) {
        // A pruned trail: the first segment starts from the boundary, whose signed checkpoint
        // (docs/format.md §10) is the one a verification of the archive starts from.
        const boundaryNote = notes.get(ref.firstSeq)?.note ?? readBoundaryFile(source.layout)?.checkpoint;
        if (boundaryNote === undefined)
          throw new AuditError(
            'CHECKPOINT_MISSING',
            `no signed checkpoint at size ${ref.firstSeq}, the start of ${summary.file}`,
            { file: summary.file },
          );
        await ensure(
          checkpointObjectName(ref.firstSeq),
          Buffer.from(boundaryNote),
          'text/plain',
          segmentLock,
        );
      }
      if (ref.firstSeq > 0) {
        const start = Buffer.from(`${JSON.stringify(buildRangeStart(tree!, ref.firstSeq))}\n`);
        await ensure(archiveStartName(ref.firstSeq), start, 'application/json', segmentLock);
      }
      // The checkpoint counts from its issue time (docs/archive.md), never less than its segment.
      const cpTime = Date.parse(cp.time) > Date.parse(summary.maxTs) ? cp.time : summary.maxTs;
      await ensure(
        checkpointObjectName(summary.treeSize),
        Buffer.from(cp.note),
        'text/plain',
        lockOf(cpTime, held),
      );
      // The summary last: its presence says the segment's objects are all there.
      await ensure(
        archiveSummaryName(ref.firstSeq),
        fs.readFileSync(ref.summaryFile),
        'application/json',
        segmentLock,
      );
      report.archivedSize = summary.lastSeq + 1;
    }
  } finally {
    tree?.close();
    s3.close();
  }
  return report;
}
