/**
 * The append-only segment files of a trail directory: listing, appending with group commit,
 * rotation by size and by UTC day with a sealed-segment summary, and torn-tail recovery on open.
 * Runs in the writer (worker thread or inline); readers use {@link listSegments} and readLines.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parseRecordTailBytes, splitLine } from '../chain/record.js';
import { AuditError } from '../errors.js';
import { writeAll } from '../write-all.js';
import type { AppendThread } from './append-thread.js';
import { ensureDir, FILE_MODE, syncDir, withFile, writeFileAtomic } from './fs-safe.js';
import { parseSegmentFileName, segmentFileName, summaryFileName, type TrailLayout } from './layout.js';
import { readLineBytes, readLines } from './line-reader.js';
import { isArchived } from './segment-file.js';
import { finishRewrites, forEachSealedLine, rewriteSealedSegments } from './segment-rewrite.js';

/** A segment file and the first sequence number it holds. */
export interface SegmentRef {
  firstSeq: number;
  file: string;
  summaryFile: string;
}

/** The summary written when a segment is sealed (rotated). */
export interface SegmentSummary {
  file: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  bytes: number;
  /** SHA-256 (hex) of the segment file's bytes as sealed. */
  sha256: string;
  /** Earliest and latest event time (ISO) in the segment. */
  minTs: string;
  maxTs: string;
  sealedAt: string;
  /** Tree size and root (base64) after the segment's last entry. */
  treeSize: number;
  root: string;
}

/** Segment files of a trail in sequence order (plain or archived, see segment-file.ts). */
export function listSegments(segmentsDir: string): SegmentRef[] {
  let names: string[];
  try {
    names = fs.readdirSync(segmentsDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const refs: SegmentRef[] = [];
  const have = new Set(names);
  for (const name of names) {
    const firstSeq = parseSegmentFileName(name);
    // While a segment is being archived both forms exist: the plain one is read until it is removed.
    if (firstSeq !== undefined && !(isArchived(name) && have.has(segmentFileName(firstSeq)))) {
      refs.push({
        firstSeq,
        file: path.join(segmentsDir, name),
        summaryFile: path.join(segmentsDir, summaryFileName(firstSeq)),
      });
    }
  }
  return refs.sort((a, b) => a.firstSeq - b.firstSeq);
}

/** Reads a sealed segment's summary, or undefined while the segment is open. */
export function readSummary(ref: SegmentRef): SegmentSummary | undefined {
  try {
    return JSON.parse(fs.readFileSync(ref.summaryFile, 'utf8')) as SegmentSummary;
  } catch {
    return undefined;
  }
}

const TS_KEY = Buffer.from('"ts":"');

/**
 * The event time (ISO) of a stored line (bytes, payloads and newline allowed): the last `"ts":"`
 * of the committed record is the event's own (keys are sorted).
 */
export function recordTs(line: Buffer): string {
  const tab = line.indexOf(0x09);
  const i = line.lastIndexOf(TS_KEY, tab < 0 ? line.length : tab);
  if (i < 0) return '';
  const start = i + TS_KEY.length;
  return line.toString('latin1', start, line.indexOf(0x22, start));
}

/** What torn-tail recovery moved aside. */
export interface Recovery {
  file: string;
  quarantineFile: string;
  bytes: number;
  /** Complete lines that did not end as the writer writes them. */
  lines: number;
}

/** Options of {@link SegmentLog.open}. */
export interface SegmentLogOptions {
  /** Rotate when the current segment reaches this many bytes; default 64 MiB. */
  maxSegmentBytes?: number;
  /**
   * Entries the latest signed checkpoint covers: recovery never cuts below it (a checkpoint covers
   * only entries already synced, so a crash cannot tear them; a bad line there was written by
   * someone else).
   */
  signedSize?: number;
  /** Writes batches off the calling thread (append-thread.ts); without it `append` writes them. */
  appendThread?: AppendThread;
}

const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The appender's view of the segment files. */
export class SegmentLog {
  /** Number of entries in all segments (= next seq). */
  size = 0;
  /** Committed bytes of the last entry, or undefined for an empty log. */
  lastCommitted: string | undefined;
  /** Set when opening moved a torn tail aside. */
  recovery: Recovery | undefined;

  private fd = -1;
  private current: SegmentRef | undefined;
  private bytes = 0;
  private hash: Hash = createHash('sha256');
  private minTs = '';
  private maxTs = '';
  private day = '';
  private readonly maxBytes: number;
  private readonly thread: AppendThread | undefined;
  /** Set while the file may end in part of a batch whose write failed (its cut-back failed too). */
  private torn = false;

  private constructor(
    readonly layout: TrailLayout,
    options: SegmentLogOptions,
  ) {
    this.maxBytes = options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
    this.thread = options.appendThread;
  }

  /**
   * Opens the segments for appending, recovering a torn tail of the last segment.
   * @throws AuditError STORE_IO when a file cannot be read or written; TREE_SIZE_MISMATCH when a
   *   line below `signedSize` is not one the writer wrote (nothing is moved then).
   */
  static open(layout: TrailLayout, options: SegmentLogOptions = {}): SegmentLog {
    const log = new SegmentLog(layout, options);
    ensureDir(layout.segmentsDir);
    finishRewrites(layout);
    const segments = listSegments(layout.segmentsDir);
    const last = segments.at(-1);
    if (last !== undefined) withFile(last.file, 'recover', () => log.resume(last, options.signedSize ?? 0));
    return log;
  }

  /** Scans the open segment: checksum, times, last entry; quarantines a torn or garbled tail. */
  private resume(ref: SegmentRef, signedSize: number): void {
    const tail = { bytes: 0 };
    let good = 0;
    let bad = 0;
    let lastCommitted: Buffer | undefined;
    let lastSeq = ref.firstSeq - 1;
    const hash = createHash('sha256');
    let minTs = '';
    let maxTs = '';
    for (const { data, offset } of readLineBytes(ref.file, tail)) {
      if (bad > 0) {
        bad++;
        continue;
      }
      const tab = data.indexOf(0x09);
      const committed = data.subarray(0, tab < 0 ? data.length - 1 : tab);
      let seq: number;
      try {
        seq = parseRecordTailBytes(committed).seq;
      } catch {
        seq = -1;
      }
      if (seq !== lastSeq + 1) {
        // A line the writer did not finish (e.g. zeros after a power loss): it and all after go aside.
        bad = 1;
        continue;
      }
      lastSeq = seq;
      lastCommitted = Buffer.from(committed); // the reader reuses its buffer
      good = offset + data.length;
      hash.update(data);
      const ts = recordTs(data);
      if (minTs === '' || ts < minTs) minTs = ts;
      if (ts > maxTs) maxTs = ts;
    }
    const total = fs.statSync(ref.file).size;
    if (good < total && lastSeq + 1 < signedSize)
      throw new AuditError(
        'TREE_SIZE_MISMATCH',
        `${path.basename(ref.file)}: the line of seq ${lastSeq + 1} is not one the writer wrote, but a signed checkpoint covers ${signedSize} entries: the segment was changed, not torn by a crash; nothing was moved (run sealtrail verify)`,
        { file: ref.file, seq: lastSeq + 1 },
      );
    if (good < total) {
      ensureDir(this.layout.quarantineDir);
      const quarantineFile = path.join(
        this.layout.quarantineDir,
        `${path.basename(ref.file)}.${new Date().toISOString().replace(/[:.]/g, '-')}.torn`,
      );
      const fd = fs.openSync(ref.file, 'r');
      const torn = Buffer.alloc(total - good);
      fs.readSync(fd, torn, 0, torn.length, good);
      fs.closeSync(fd);
      writeFileAtomic(quarantineFile, torn);
      fs.truncateSync(ref.file, good);
      this.recovery = { file: ref.file, quarantineFile, bytes: torn.length, lines: bad };
    }
    if (lastCommitted === undefined && ref.firstSeq > 0) {
      // An empty newest segment: the chain ends in the segment before it.
      fs.rmSync(ref.file);
      const prev = listSegments(this.layout.segmentsDir).at(-1);
      if (prev !== undefined) this.resume(prev, signedSize);
      return;
    }
    this.current = ref;
    this.size = lastSeq + 1;
    this.lastCommitted = lastCommitted?.toString('utf8');
    this.bytes = good;
    this.hash = hash;
    this.minTs = minTs;
    this.maxTs = maxTs;
    if (fs.existsSync(ref.summaryFile)) {
      // Sealed (rotated, then closed before the next append): it stays as sealed, and the next
      // append starts a new segment.
      this.current = undefined;
      return;
    }
    // The day the segment was started (as startSegment records it), not of its last write.
    const stat = fs.statSync(ref.file);
    this.day = utcDay(stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs);
    this.fd = fs.openSync(ref.file, 'a', FILE_MODE);
  }

  /** True when the next batch must start a new segment (size reached, or a new UTC day). */
  needsRotation(now: number): boolean {
    return (
      this.current !== undefined &&
      this.bytes > 0 &&
      (this.bytes >= this.maxBytes || utcDay(now) !== this.day)
    );
  }

  /**
   * Appends complete lines (each ending in `\n`) holding `count` entries. Not durable until {@link sync}.
   * With an append thread the lines are queued: they are in the file once {@link writes} says so.
   * @throws AuditError STORE_IO on a write error (the partial write is cut back first), or, with an
   *   append thread, while one of its writes is failing and no slot is free.
   */
  append(data: Uint8Array, count: number, minTs: string, maxTs: string, now: number): void {
    if (this.current === undefined) this.startSegment(this.size, now);
    const file = this.current!.file;
    const thread = this.thread;
    try {
      this.cutTornTail();
      if (thread?.fits(data.length) === true) thread.write(this.fd, data, this.bytes, file);
      else {
        thread?.waitIdle(file);
        writeAll(this.fd, data);
      }
    } catch (err) {
      if (err instanceof AuditError) throw err; // nothing of this batch was written or queued
      // Cut a partial write back so the file ends on a whole entry.
      try {
        fs.ftruncateSync(this.fd, this.bytes);
      } catch {
        this.torn = true; // cut back before the next batch; or the next open recovers the tail
      }
      throw new AuditError(
        'STORE_IO',
        `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`,
        {
          file,
        },
      );
    }
    this.hash.update(data);
    this.bytes += data.length;
    this.size += count;
    if (this.minTs === '' || minTs < this.minTs) this.minTs = minTs;
    if (maxTs > this.maxTs) this.maxTs = maxTs;
  }

  /**
   * Cuts off the part of a batch that a failed write left, where cutting it back right then
   * failed too: a batch written after it, or a summary sealing the file with it, would leave it as
   * a torn line amid whole ones (the next open would set aside every line after it); a checkpoint
   * signed with it there (the `close` one) would stand before whole lines of it that the next open
   * refuses as not the writer's (unsigned-tail.ts).
   * @throws Error from node:fs when it still cannot be cut.
   */
  private cutTornTail(): void {
    if (!this.torn) return;
    fs.ftruncateSync(this.fd, this.bytes);
    this.torn = false;
  }

  /** Remembers the last entry's committed bytes (for the chain after a restart). */
  setLast(committed: string): void {
    this.lastCommitted = committed;
  }

  /** Rewrites lines of the sealed segments (erasure); see segment-rewrite.ts. */
  rewriteLines(transform: (line: string) => string | undefined): number {
    return rewriteSealedSegments(this.layout, transform);
  }

  /** Every line of the sealed segments, read only. */
  scanLines(visit: (line: string) => void): void {
    forEachSealedLine(this.layout, visit);
  }

  /**
   * Batches handed to {@link append} and those of them in the file (equal without an append
   * thread): a sync covers the batches written when it began.
   */
  writes(): { issued: number; written: number } {
    const thread = this.thread;
    return thread === undefined
      ? { issued: 0, written: 0 }
      : { issued: thread.issued, written: thread.completed };
  }

  /**
   * fdatasync of the open segment, after every queued write and the cut of a torn tail, since a
   * checkpoint, a seal or the segment's summary follows: one per batch (group commit).
   */
  sync(): void {
    if (this.fd < 0) return;
    const file = this.current!.file;
    this.thread?.waitIdle(file);
    withFile(file, 'write', () => this.cutTornTail());
    withFile(file, 'sync', () => fs.fdatasyncSync(this.fd));
  }

  /**
   * fdatasync of the open segment on libuv's thread pool, so that the writer builds the next batch
   * while the disk works. It syncs through a descriptor of its own (fsync applies to the file,
   * not the descriptor), so rotation may close the segment meanwhile: rotation syncs it itself.
   * `done` gets an AuditError STORE_IO on failure.
   */
  syncAsync(done: (err: AuditError | undefined) => void): void {
    if (this.fd < 0) {
      done(undefined);
      return;
    }
    const file = this.current!.file;
    const fail = (err: NodeJS.ErrnoException) =>
      done(new AuditError('STORE_IO', `cannot sync ${file}: ${err.code ?? 'EIO'}`, { file }));
    fs.open(file, 'r', (err, fd) => {
      if (err !== null) return fail(err);
      fs.fdatasync(fd, (syncErr) => {
        fs.close(fd, () => (syncErr === null ? done(undefined) : fail(syncErr)));
      });
    });
  }

  /** Seals the open segment: writes its summary; the next append opens a new one. */
  rotate(treeSize: number, root: Buffer): SegmentSummary | undefined {
    const ref = this.current;
    if (ref === undefined || this.bytes === 0) return undefined;
    this.sync(); // after the queued writes: the descriptor is closed below
    fs.closeSync(this.fd);
    this.fd = -1;
    const summary: SegmentSummary = {
      file: path.basename(ref.file),
      firstSeq: ref.firstSeq,
      lastSeq: this.size - 1,
      count: this.size - ref.firstSeq,
      bytes: this.bytes,
      sha256: this.hash.digest('hex'),
      minTs: this.minTs,
      maxTs: this.maxTs,
      sealedAt: new Date().toISOString(),
      treeSize,
      root: root.toString('base64'),
    };
    withFile(ref.summaryFile, 'write', () =>
      writeFileAtomic(ref.summaryFile, `${JSON.stringify(summary)}\n`),
    );
    this.current = undefined;
    return summary;
  }

  private startSegment(firstSeq: number, now: number): void {
    const file = path.join(this.layout.segmentsDir, segmentFileName(firstSeq));
    withFile(file, 'create', () => {
      this.fd = fs.openSync(file, 'a', FILE_MODE);
      syncDir(this.layout.segmentsDir);
    });
    this.current = {
      firstSeq,
      file,
      summaryFile: path.join(this.layout.segmentsDir, summaryFileName(firstSeq)),
    };
    this.bytes = 0;
    this.hash = createHash('sha256');
    this.minTs = '';
    this.maxTs = '';
    this.day = utcDay(now);
  }

  /** Closes the open segment file (it stays open for appending at the next start). */
  close(): void {
    if (this.fd >= 0) {
      this.sync();
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Reads committed bytes of entries with seq in [from, to) from the segment files, in order.
 * @throws AuditError STORE_IO when entries from `from` on were pruned (docs/retention.md).
 */
export function* readCommitted(segmentsDir: string, from: number, to: number): Generator<string> {
  if (from >= to) return;
  const segments = listSegments(segmentsDir);
  const first = segments[0]?.firstSeq ?? 0;
  if (from < first) {
    throw new AuditError(
      'STORE_IO',
      `entries ${from}..${first - 1} were pruned: the tree files in tree/ cannot be rebuilt, restore them from a backup`,
      { file: segmentsDir },
    );
  }
  for (let i = 0; i < segments.length; i++) {
    const ref = segments[i]!;
    const next = segments[i + 1];
    if (next !== undefined && next.firstSeq <= from) continue;
    let seq = ref.firstSeq;
    for (const line of readLines(ref.file)) {
      if (seq >= to) return;
      if (seq >= from) yield splitLine(line.text).committed;
      seq++;
    }
  }
}
