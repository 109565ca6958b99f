import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { canSetAppendOnly, runCutBackWriter } from '../test-support/cut-back.js';
import { trailDirs } from '../test-support/fixtures.js';
import { trailLayout } from './layout.js';
import { listSegments, readSummary, SegmentLog } from './segment-log.js';

const dirs = trailDirs();
afterEach(() => dirs.cleanup());

const DAY = 86_400_000;
const line = (seq: number) => Buffer.from(`{"event":{},"prev":"${'A'.repeat(43)}=","seq":${seq},"v":1}\n`);

describe('SegmentLog', () => {
  it('rotates at the first batch of a new UTC day, and not before', () => {
    const layout = trailLayout(dirs.fresh());
    fs.mkdirSync(layout.dir, { recursive: true });
    const log = SegmentLog.open(layout);
    const monday = Date.UTC(2026, 10, 23, 23, 59, 0);
    log.append(line(0), 1, '2026-11-23T23:59:00.000Z', '2026-11-23T23:59:00.000Z', monday);
    log.sync();
    expect(log.needsRotation(monday + 59_000)).toBe(false); // 23:59:59, same day
    expect(log.needsRotation(monday + 60_000)).toBe(true); // 00:00:00 the next day
    const summary = log.rotate(1, Buffer.alloc(32));
    expect(summary).toMatchObject({ firstSeq: 0, lastSeq: 0, count: 1 });
    log.append(line(1), 1, '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:00.000Z', monday + 60_000);
    expect(log.needsRotation(monday + 60_000 + DAY / 2)).toBe(false);
    log.close();
    const segments = listSegments(layout.segmentsDir);
    expect(segments.map((s) => s.firstSeq)).toEqual([0, 1]);
    expect(readSummary(segments[0]!)?.maxTs).toBe('2026-11-23T23:59:00.000Z');
    expect(readSummary(segments[1]!)).toBeUndefined(); // the open segment has no summary yet
  });

  it('reopened after a rotation with no append since, starts a new segment and leaves the sealed one as sealed', () => {
    const layout = trailLayout(dirs.fresh());
    fs.mkdirSync(layout.dir, { recursive: true });
    const now = Date.UTC(2026, 10, 23, 12);
    let log = SegmentLog.open(layout);
    log.append(Buffer.concat([line(0), line(1)]), 2, '', '', now);
    const sealed = log.rotate(2, Buffer.alloc(32))!;
    log.close();
    log = SegmentLog.open(layout);
    expect(log.size).toBe(2);
    expect(log.lastCommitted).toBe(line(1).toString().trimEnd());
    log.append(line(2), 1, '', '', now);
    log.close();
    const segments = listSegments(layout.segmentsDir);
    expect(segments.map((s) => s.firstSeq)).toEqual([0, 2]);
    expect(fs.statSync(segments[0]!.file).size).toBe(sealed.bytes);
    expect(readSummary(segments[0]!)).toEqual(sealed);
  });

  it('rotates by size once the segment reaches its limit', () => {
    const layout = trailLayout(dirs.fresh());
    fs.mkdirSync(layout.dir, { recursive: true });
    const log = SegmentLog.open(layout, { maxSegmentBytes: 2 * line(0).length });
    const now = Date.UTC(2026, 10, 23, 12);
    log.append(line(0), 1, '', '', now);
    expect(log.needsRotation(now)).toBe(false);
    log.append(line(1), 1, '', '', now);
    expect(log.needsRotation(now)).toBe(true);
    log.close();
  });
});

describe('SegmentLog.append, when a write fails part way and the part cannot be cut back at once', () => {
  it.skipIf(!canSetAppendOnly(dirs.root()))('writes the batch again only after the part is cut back', () => {
    const dir = dirs.fresh();
    const child = runCutBackWriter('segment-log', dir);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const [segment] = listSegments(trailLayout(dir).segmentsDir);
    // the line before, then the batch whole: no part of a first attempt before it
    const text = fs.readFileSync(segment!.file, 'utf8');
    expect(text.length).toBe(1000 + 5000);
    expect(text === `${'a'.repeat(999)}\n${'b'.repeat(4999)}\n`).toBe(true);
  });

  it.skipIf(!canSetAppendOnly(dirs.root()))('seals the segment without the part', () => {
    const dir = dirs.fresh();
    const child = runCutBackWriter('segment-log-rotate', dir);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const [segment] = listSegments(trailLayout(dir).segmentsDir);
    const bytes = fs.readFileSync(segment!.file);
    expect(bytes.length).toBe(1000);
    expect(readSummary(segment!)).toMatchObject({
      bytes: 1000,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
  });

  it.skipIf(!canSetAppendOnly(dirs.root()))('closes the segment without the part', () => {
    // A writer signs its `close` checkpoint after this sync: whole lines of the part left after it
    // would be entries it did not sign, and the next open would refuse the trail.
    const dir = dirs.fresh();
    const child = runCutBackWriter('segment-log-close', dir);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const [segment] = listSegments(trailLayout(dir).segmentsDir);
    expect(fs.readFileSync(segment!.file).length).toBe(1000);
  });
});
