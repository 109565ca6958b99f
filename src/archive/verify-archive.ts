/**
 * Verification of a trail archived in S3, straight from the bucket: the chosen range's segments,
 * one at a time, are streamed to a private temporary directory, the object's SHA-256 and size
 * checked against its sealed summary, and the lines fed to the same verifier as a trail directory
 * (chain, content commitments, Merkle roots at the signed checkpoints of every segment end). A
 * segment that does not start at seq 0 starts from the archived tree state before it, itself
 * checked against the signed checkpoint at that size; see docs/archive.md for what a ranged check
 * proves.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Checkpoint,
  type CheckpointInput,
  ErasureCheck,
  type VerifyInput,
  type VerifyReport,
  verifyTrail,
} from '../chain/index.js';
import { AuditError, type AuditErrorCode } from '../errors.js';
import { checkedSegmentLines, type SegmentSummary, type TrailMeta } from '../store/index.js';
import {
  ARCHIVE_SEGMENTS,
  ARCHIVE_TRAIL_META,
  archiveSegmentName,
  archiveStartName,
  archiveSummaryName,
  checkpointObjectName,
  parseArchiveSummaryName,
} from './archive-layout.js';
import { openRangeStart, type RangeStart } from './range-start.js';
import type { S3ConnectOptions, S3Location } from './s3-location.js';
import { S3Objects } from './s3-objects.js';

/** Options of {@link verifyArchive}. */
export interface VerifyArchiveOptions {
  s3?: S3ConnectOptions;
  /** First and last seq of the range to check; the whole segments holding them are checked. */
  fromSeq?: number;
  toSeq?: number;
  /**
   * Time window (epoch ms): only the segments whose event times meet it, and those between them,
   * chosen by their summaries' time ranges (all summaries of the seq range are read).
   */
  fromTime?: number;
  toTime?: number;
  /** Verifier key to trust instead of the one in the archived trail.json (recommended). */
  verifierKey?: string;
  /**
   * Checkpoints kept elsewhere (witnesses), given the archived trail's origin; those inside the
   * checked range must be consistent with it.
   */
  against?: (origin: string) => Promise<CheckpointInput[]>;
  onProgress?: (entries: number) => void;
  /** Where the temporary download directory is made; default the OS temporary directory. */
  tmpDir?: string;
}

/** The outcome of {@link verifyArchive}: the verifier's report and the range it covered. */
export interface ArchiveVerifyReport extends VerifyReport {
  source: string;
  /** The seqs checked (whole segments), `to` inclusive; `to` is -1 when nothing was checked. */
  range: { from: number; to: number };
  segments: number;
  /** Checkpoints given with `against` outside the checked range: not checked. */
  againstOutside: Array<{ source: string; size: number }>;
  /**
   * Erased payloads whose marker names an entry after the checked range (an erasure recorded in a
   * segment not archived, or not in the range): not checked here; `verify` of the trail checks them.
   */
  erasuresBeyond: number;
}

function integrity(code: AuditErrorCode, message: string, detail: Record<string, unknown> = {}): never {
  throw new AuditError(code, message, detail);
}

function parseSummary(text: string | undefined, firstSeq: number, url: string): SegmentSummary {
  let s: Partial<SegmentSummary> | undefined;
  try {
    s = text === undefined ? undefined : (JSON.parse(text) as Partial<SegmentSummary>);
  } catch {
    s = undefined;
  }
  const ok =
    s !== null &&
    typeof s === 'object' &&
    s.firstSeq === firstSeq &&
    Number.isSafeInteger(s.lastSeq) &&
    Number.isSafeInteger(s.bytes) &&
    Number.isSafeInteger(s.treeSize) &&
    s.treeSize === (s.lastSeq ?? -2) + 1 &&
    typeof s.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(s.sha256);
  if (!ok) integrity('ENTRY_MALFORMED', `${url}: not a segment summary of seq ${firstSeq}`, { file: url });
  return s as SegmentSummary;
}

/**
 * Verifies the trail archived at `target`, or the range of it holding `fromSeq`..`toSeq`.
 * Integrity failures are in `report.failure` (as for a trail directory), not thrown.
 * @throws AuditError TRAIL_NOT_FOUND (no archived trail there), NOT_FOUND (no archived segment in
 *   the range), STORE_IO (S3 or temporary file error), KEY_INVALID, CONFIG_INVALID.
 */
export async function verifyArchive(
  target: S3Location,
  options: VerifyArchiveOptions = {},
): Promise<ArchiveVerifyReport> {
  const s3 = await S3Objects.connect(target, options.s3);
  const tmp = fs.mkdtempSync(path.join(options.tmpDir ?? os.tmpdir(), 'sealtrail-archive-'));
  try {
    const metaText = await s3.get(ARCHIVE_TRAIL_META);
    if (metaText === undefined)
      throw new AuditError(
        'TRAIL_NOT_FOUND',
        `no archived trail at ${s3.url('')} (no ${ARCHIVE_TRAIL_META})`,
      );
    let meta: TrailMeta;
    try {
      meta = JSON.parse(metaText.toString('utf8')) as TrailMeta;
    } catch {
      throw new AuditError('TRAIL_NOT_FOUND', `${s3.url(ARCHIVE_TRAIL_META)}: not a trail description`);
    }
    if (typeof meta.origin !== 'string' || typeof meta.verifierKey !== 'string')
      throw new AuditError('TRAIL_NOT_FOUND', `${s3.url(ARCHIVE_TRAIL_META)}: not a trail description`);
    const starts = (await s3.list(ARCHIVE_SEGMENTS))
      .map((o) => parseArchiveSummaryName(o.name))
      .filter((n): n is number => n !== undefined);
    const from = options.fromSeq ?? 0;
    const to = options.toSeq ?? Number.MAX_SAFE_INTEGER;
    const timed = options.fromTime !== undefined || options.toTime !== undefined;
    const fromTime = options.fromTime ?? Number.NEGATIVE_INFINITY;
    const toTime = options.toTime ?? Number.POSITIVE_INFINITY;
    const picked = starts.filter(
      (first, i) => first <= to && (starts[i + 1] ?? Number.MAX_SAFE_INTEGER) - 1 >= from,
    );
    if (picked.length === 0)
      throw new AuditError(
        'NOT_FOUND',
        `no archived segment at ${s3.url('')} holds seq ${options.fromSeq ?? 0}${options.toSeq === undefined ? '' : `..${options.toSeq}`}`,
        { field: 'from-seq' },
      );
    const report: ArchiveVerifyReport = {
      ok: false,
      origin: meta.origin,
      entries: 0,
      root: '',
      checkpoints: 0,
      against: [],
      contentFields: { verified: 0, erased: 0 },
      unsignedTail: 0,
      prunedBefore: 0,
      source: s3.url(''),
      range: { from: picked[0]!, to: -1 },
      segments: picked.length,
      againstOutside: [],
      erasuresBeyond: 0,
    };
    const verifierKey = options.verifierKey ?? meta.verifierKey;
    const getNote = async (size: number): Promise<CheckpointInput> => {
      const name = checkpointObjectName(size);
      const note = await s3.get(name);
      if (note === undefined)
        integrity('CHECKPOINT_MISSING', `${s3.url(name)}: the signed checkpoint at size ${size} is missing`);
      return { note: note.toString('utf8'), source: s3.url(name) };
    };
    const fail = (err: unknown): ArchiveVerifyReport => {
      if (!(err instanceof AuditError) || err.exitCode !== 1) throw err;
      report.ok = false;
      report.failure = { code: err.code, message: err.message };
      return report;
    };
    let span: Array<{ firstSeq: number; summary: SegmentSummary }> = [];
    let first: number;
    let startNote: CheckpointInput | undefined;
    try {
      for (const firstSeq of picked) {
        const name = archiveSummaryName(firstSeq);
        const text = (await s3.get(name))?.toString('utf8');
        span.push({ firstSeq, summary: parseSummary(text, firstSeq, s3.url(name)) });
      }
      // The last segment's end is known only from its summary: a range past it holds nothing.
      if (from > span.at(-1)!.summary.lastSeq)
        throw new AuditError(
          'NOT_FOUND',
          `no archived segment at ${s3.url('')} holds seq ${from}: the archive ends at seq ${span.at(-1)!.summary.lastSeq}`,
          { field: 'from-seq' },
        );
      if (timed) {
        // The segments whose time range meets the window, and every segment between them.
        const meets = (x: SegmentSummary) => Date.parse(x.maxTs) >= fromTime && Date.parse(x.minTs) <= toTime;
        const i = span.findIndex((x) => meets(x.summary));
        const j = span.findLastIndex((x) => meets(x.summary));
        if (i < 0)
          throw new AuditError(
            'NOT_FOUND',
            `no archived segment at ${s3.url('')} holds events in that time window`,
            {
              field: 'from',
            },
          );
        span = span.slice(i, j + 1);
      }
      first = span[0]!.firstSeq;
      report.range = { from: first, to: span.at(-1)!.summary.treeSize - 1 };
      report.segments = span.length;
      if (options.fromSeq === undefined && !timed && first !== 0)
        integrity('CHAIN_SEQ_GAP', `${s3.url('')}: entries 0..${first - 1} are missing from the archive`, {
          expected: 0,
          found: first,
        });
      if (first > 0) startNote = await getNote(first);
    } catch (err) {
      return fail(err);
    }
    // Witnessed checkpoints, each checked with the segment whose end it does not pass.
    const given = options.against === undefined ? [] : await options.against(meta.origin);
    const againstOf = span.map((): CheckpointInput[] => []);
    for (const c of given) {
      const size = checkpointSize(c.note);
      const k = size === undefined ? 0 : span.findIndex((x) => size >= first && size <= x.summary.treeSize);
      if (k < 0) report.againstOutside.push({ source: c.source, size: size! });
      else againstOf[k]!.push(c);
    }
    // One segment at a time: downloaded, checked, verified from the signed state before it to the
    // signed checkpoint at its end, and removed, so the temporary space is one segment's.
    report.checkpoints = startNote === undefined ? 0 : 1;
    let prevNote = startNote;
    // One for the whole range: a marker in one segment may name the erasure entry of a later one.
    const erasures = new ErasureCheck();
    for (let k = 0; k < span.length; k++) {
      const { firstSeq, summary } = span[k]!;
      const name = archiveSegmentName(firstSeq);
      const file = path.join(tmp, path.basename(name));
      let start: RangeStart | undefined;
      let endNote: CheckpointInput;
      try {
        if (firstSeq > 0) {
          const startName = archiveStartName(firstSeq);
          const text = await s3.get(startName);
          if (text === undefined)
            integrity(
              'CHECKPOINT_MISSING',
              `${s3.url(startName)}: the tree state before the segment is missing`,
            );
          start = openRangeStart(text.toString('utf8'), firstSeq, s3.url(startName));
        }
        const got = await s3.download(name, file);
        if (got === undefined)
          integrity('CHAIN_SEQ_GAP', `${s3.url(name)}: missing (entries ${firstSeq}..${summary.lastSeq})`, {
            file: name,
          });
        if (got.sha256 !== summary.sha256 || got.size !== summary.bytes)
          integrity('SEGMENT_CHECKSUM_MISMATCH', `${s3.url(name)}: bytes differ from its sealed summary`, {
            file: name,
          });
        endNote = await getNote(summary.treeSize);
      } catch (err) {
        return fail(err);
      }
      const input: VerifyInput = {
        origin: meta.origin,
        verifierKey,
        lines: checkedSegmentLines(file, firstSeq, summary, 0, s3.url(name)),
        checkpoints: prevNote === undefined ? [endNote] : [prevNote, endNote],
        against: againstOf[k]!,
        live: false,
        erasures,
      };
      if (start !== undefined) input.start = { size: start.size, border: start.border, prev: start.prev };
      if (options.onProgress !== undefined) input.onProgress = options.onProgress;
      const r = verifyTrail(input);
      fs.rmSync(file, { force: true });
      report.entries = r.entries;
      report.root = r.root;
      report.contentFields.verified += r.contentFields.verified;
      report.contentFields.erased += r.contentFields.erased;
      report.against.push(...r.against);
      if (r.latestCheckpoint !== undefined) report.latestCheckpoint = r.latestCheckpoint;
      if (!r.ok) {
        report.failure = r.failure!;
        return report;
      }
      report.checkpoints++;
      prevNote = endNote;
    }
    report.erasuresBeyond = erasures.waitingClaims;
    report.ok = true;
    return report;
  } finally {
    s3.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The tree size a checkpoint note claims, read without checking its signature (the verifier does). */
function checkpointSize(note: string): number | undefined {
  try {
    return Checkpoint.parse(note.slice(0, note.indexOf('\n\n') + 1)).size;
  } catch {
    return undefined;
  }
}
