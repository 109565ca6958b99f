/**
 * Rewriting sealed segments line by line (erasure of payloads), each one atomically with its
 * summary. The steps for one segment, and what a crash between them leaves:
 *  1. the new bytes go to `<segment>.rewrite` (0600, fsynced)        → old segment and summary stand;
 *  2. the new summary goes to `<summary>.rewrite` (0600, fsynced)    → same;
 *  3. `<segment>.rewrite` is renamed over the segment (dir fsynced)  → new segment, old summary;
 *  4. `<summary>.rewrite` is renamed over the summary (dir fsynced)  → done.
 * `finishRewrites` (run when a writer opens the trail) completes step 4 when the segment on disk
 * is exactly the one the pending summary describes, and otherwise drops the leftovers, so that a
 * crash never leaves a summary that disagrees with its segment and nothing is ever "healed" to a
 * checksum the rewrite did not compute itself. An archived (`.gz`) segment is rewritten as an
 * archive again; its summary's checksum is over the decompressed bytes, as always.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeAll } from '../write-all.js';
import { blockGzip } from './block-gzip.js';
import { ATOMIC_TEMP_RE, FILE_MODE, syncDir, withFile, writeFileAtomic } from './fs-safe.js';
import type { TrailLayout } from './layout.js';
import { readLines } from './line-reader.js';
import { ARCHIVE_SUFFIX, gunzipSegment, isArchived } from './segment-file.js';
import { listSegments, readSummary, type SegmentSummary } from './segment-log.js';

const PENDING = '.rewrite';

/** Gives `visit` every line of the sealed segments, in order, reading only (erasure counts first). */
export function forEachSealedLine(layout: TrailLayout, visit: (line: string) => void): void {
  for (const ref of listSegments(layout.segmentsDir)) {
    if (readSummary(ref) === undefined) continue; // the open segment, as rewriteSealedSegments
    for (const line of readLines(ref.file)) visit(line.text);
  }
}

/**
 * Applies `transform` to every line of every sealed segment; a segment is rewritten only when a
 * line changed (and, given `only`, only the segments it accepts by first seq). `transform` returns
 * the new line (no newline), or undefined to keep it.
 * Returns the number of segments rewritten.
 * @throws AuditError STORE_IO naming the file on an I/O error (segments done so far stay done).
 */
export function rewriteSealedSegments(
  layout: TrailLayout,
  transform: (line: string) => string | undefined,
  only?: (firstSeq: number) => boolean,
): number {
  let rewritten = 0;
  for (const ref of listSegments(layout.segmentsDir)) {
    if (only !== undefined && !only(ref.firstSeq)) continue;
    const summary = readSummary(ref);
    if (summary === undefined) continue; // the open segment: the writer rotates before erasing
    const tmp = `${ref.file}${PENDING}`;
    const hash = createHash('sha256');
    let bytes = 0;
    let changed = false;
    const archived = isArchived(ref.file);
    const kept: Buffer[] = [];
    withFile(tmp, 'write', () => {
      const fd = fs.openSync(tmp, 'w', FILE_MODE);
      try {
        for (const line of readLines(ref.file)) {
          const next = transform(line.text);
          if (next !== undefined) changed = true;
          const data = Buffer.from(`${next ?? line.text}\n`);
          if (archived) kept.push(data);
          else writeAll(fd, data);
          hash.update(data);
          bytes += data.length;
        }
        if (changed && archived) writeAll(fd, blockGzip(Buffer.concat(kept)));
        if (changed) fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    });
    if (!changed) {
      fs.rmSync(tmp, { force: true });
      continue;
    }
    const next: SegmentSummary = { ...summary, bytes, sha256: hash.digest('hex') };
    const summaryTmp = `${ref.summaryFile}${PENDING}`;
    withFile(summaryTmp, 'write', () => writeFileAtomic(summaryTmp, `${JSON.stringify(next)}\n`));
    withFile(ref.file, 'replace', () => {
      fs.renameSync(tmp, ref.file);
      // An archive left beside the plain segment by an archiving that a crash cut short holds the
      // old bytes: it goes (readers read the plain one while both exist).
      if (!archived) fs.rmSync(`${ref.file}${ARCHIVE_SUFFIX}`, { force: true });
      syncDir(layout.segmentsDir);
    });
    withFile(ref.summaryFile, 'replace', () => {
      fs.renameSync(summaryTmp, ref.summaryFile);
      syncDir(layout.segmentsDir);
    });
    rewritten++;
  }
  return rewritten;
}

/**
 * Completes or drops rewrites a crash interrupted (see the file comment), and removes the temp
 * files of atomic writes a crash cut short: an archive being written (segment-archive.ts) is a
 * whole copy of a segment's content, which no erasure would reach. The writer holds the trail's
 * lock, so no other process is writing one.
 */
export function finishRewrites(layout: TrailLayout): void {
  let names: string[];
  try {
    names = fs.readdirSync(layout.segmentsDir);
  } catch {
    return;
  }
  for (const name of names.filter((n) => ATOMIC_TEMP_RE.test(n))) {
    fs.rmSync(path.join(layout.segmentsDir, name), { force: true });
  }
  for (const name of names.filter((n) => n.endsWith(PENDING))) {
    const pending = path.join(layout.segmentsDir, name);
    const target = pending.slice(0, -PENDING.length);
    if (target.endsWith('.summary.json')) {
      const summary = JSON.parse(fs.readFileSync(pending, 'utf8')) as SegmentSummary;
      const plain = path.join(layout.segmentsDir, summary.file);
      const segment = fs.existsSync(plain) ? plain : `${plain}${ARCHIVE_SUFFIX}`;
      let onDisk = '';
      try {
        const bytes = isArchived(segment) ? gunzipSegment(segment) : fs.readFileSync(segment);
        onDisk = createHash('sha256').update(bytes).digest('hex');
      } catch {
        onDisk = ''; // gone or damaged: the pending summary is dropped
      }
      if (onDisk === summary.sha256 && !fs.existsSync(`${segment}${PENDING}`)) {
        fs.renameSync(pending, target);
        syncDir(layout.segmentsDir);
        continue;
      }
    }
    fs.rmSync(pending, { force: true });
  }
}
