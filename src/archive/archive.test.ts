import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addHold } from '../retention/holds.js';
import { addPeriod, parseRetentionPolicy } from '../retention/policy.js';
import { DirSource, type SegmentSummary, trailLayout } from '../store/index.js';
import { trailDirs } from '../test-support/fixtures.js';
import { writeFixtureTrail } from '../test-support/read-fixtures.js';
import { type LocalS3, startLocalS3 } from '../test-support/s3-server.js';
import { AuditTrail } from '../writer/index.js';
import { archiveSegmentName, archiveSummaryName, checkpointObjectName } from './archive-layout.js';
import { pushArchive } from './push.js';
import { parseS3Url } from './s3-location.js';
import { S3Objects } from './s3-objects.js';
import { verifyArchive } from './verify-archive.js';

const dirs = trailDirs();
let s3: LocalS3;
let n = 0;

beforeAll(async () => {
  s3 = await startLocalS3(['archive']);
});
afterAll(async () => {
  await s3.close();
});
afterEach(() => dirs.cleanup());

/** A fresh prefix per test, so tests do not see each other's objects. */
function target(): { url: string; prefix: string } {
  n++;
  return { url: `s3://archive/t${n}/trail`, prefix: `t${n}/trail/` };
}
const conn = () => ({ endpoint: s3.endpoint, credentials: s3.credentials });

async function fixture(): Promise<{ dir: string; sealed: SegmentSummary[] }> {
  const dir = dirs.fresh();
  await writeFixtureTrail(dir);
  const sealed = new DirSource(dir).segments().flatMap((s) => (s.summary === undefined ? [] : [s.summary]));
  return { dir, sealed };
}

function putsSince(mark: number) {
  return s3.requests.slice(mark).filter((r) => r.method === 'PUT');
}

describe('pushArchive', () => {
  it('uploads every sealed segment with its summary, start state and end checkpoint, and never the open segment', async () => {
    const { dir, sealed } = await fixture();
    expect(sealed.length).toBeGreaterThan(3);
    const t = target();
    const report = await pushArchive(dir, parseS3Url(t.url), { s3: conn() });
    expect(report.segments).toBe(sealed.length);
    expect(report.archivedSize).toBe(sealed.at(-1)!.lastSeq + 1);
    const objects = await S3Objects.connect(parseS3Url(t.url), conn());
    const names = (await objects.list()).map((o) => o.name);
    objects.close();
    // trail.json + per segment: log, summary, checkpoint, and a start state for all but the first
    expect(names.length).toBe(1 + sealed.length * 4 - 1);
    expect(names).toContain('trail.json');
    for (const s of sealed) {
      expect(names).toContain(archiveSegmentName(s.firstSeq));
      expect(names).toContain(archiveSummaryName(s.firstSeq));
      expect(names).toContain(checkpointObjectName(s.treeSize));
    }
    const open = new DirSource(dir).segments().filter((s) => s.summary === undefined);
    expect(open.length).toBe(1);
    expect(names).not.toContain(archiveSegmentName(open[0]!.ref.firstSeq));
    expect(names.some((x) => x.includes('keys') || x.includes('skey') || x.includes('seal'))).toBe(false);
  });

  it('sends the SHA-256 checksum and the Object Lock headers with each upload (seen by the server)', async () => {
    const { dir, sealed } = await fixture();
    const t = target();
    const mark = s3.requests.length;
    const now = Date.parse('2026-03-05T00:00:00Z');
    await pushArchive(dir, parseS3Url(t.url), {
      s3: conn(),
      lock: { mode: 'COMPLIANCE', retainDays: 30, legalHold: true },
      now,
    });
    const puts = putsSince(mark);
    expect(puts.length).toBe(sealed.length * 4);
    for (const p of puts) {
      expect(p.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
      expect(p.headers['x-amz-object-lock-legal-hold']).toBe('ON');
      expect(p.headers['if-none-match']).toBe('*');
      expect(p.headers['x-amz-checksum-sha256']).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(p.headers['x-amz-sdk-checksum-algorithm']).toBe('SHA256');
    }
    const first = sealed[0]!;
    const segPut = puts.find((p) =>
      p.url.startsWith(`/archive/${t.prefix}${archiveSegmentName(first.firstSeq)}`),
    )!;
    const local = fs.readFileSync(new DirSource(dir).segments()[0]!.ref.file);
    expect(segPut.headers['x-amz-checksum-sha256']).toBe(createHash('sha256').update(local).digest('base64'));
    // Retained 30 days from the segment's newest event.
    const until = Date.parse(String(segPut.headers['x-amz-object-lock-retain-until-date']));
    expect(until).toBe(Date.parse(first.maxTs) + 30 * 86_400_000);
    // The checkpoint at the segment's end: 30 days from its issue time.
    const cp = new DirSource(dir).checkpoints().find((c) => c.size === first.treeSize)!;
    expect(Date.parse(cp.time)).toBeGreaterThan(Date.parse(first.maxTs));
    const cpPut = puts.find((p) =>
      p.url.startsWith(`/archive/${t.prefix}${checkpointObjectName(first.treeSize)}`),
    )!;
    expect(Date.parse(String(cpPut.headers['x-amz-object-lock-retain-until-date']))).toBe(
      Date.parse(cp.time) + 30 * 86_400_000,
    );
  });

  it('sends no retention with lock mode none, and no legal hold unless asked', async () => {
    const { dir } = await fixture();
    const mark = s3.requests.length;
    await pushArchive(dir, parseS3Url(target().url), { s3: conn(), lock: { mode: 'none' } });
    const puts = putsSince(mark);
    expect(puts.length).toBeGreaterThan(0);
    for (const p of puts) {
      expect(p.headers['x-amz-object-lock-mode']).toBeUndefined();
      expect(p.headers['x-amz-object-lock-legal-hold']).toBeUndefined();
    }
  });

  it('without lock options, locks each segment as the retention policy keeps it, with legal hold where a hold covers it', async () => {
    const { dir, sealed } = await fixture();
    const policy = parseRetentionPolicy({
      format: 'sealtrail-retention/1',
      default: { keep: '1y' },
      categories: { security: { keep: '7y' } },
      objectLock: { mode: 'GOVERNANCE' },
    });
    const now = Date.parse('2026-03-05T00:00:00Z');
    const segmentPut = (mark: number, prefix: string, firstSeq: number) =>
      putsSince(mark).find((p) => p.url.startsWith(`/archive/${prefix}${archiveSegmentName(firstSeq)}`))!;

    let t = target();
    let mark = s3.requests.length;
    const report = await pushArchive(dir, parseS3Url(t.url), { s3: conn(), policy, now });
    expect(report.lockFrom).toBe('policy');
    for (const seg of sealed) {
      const put = segmentPut(mark, t.prefix, seg.firstSeq);
      expect(put.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
      // The longest keep of the policy, from the segment's newest event.
      expect(Date.parse(String(put.headers['x-amz-object-lock-retain-until-date']))).toBe(
        addPeriod(Date.parse(seg.maxTs), '7y'),
      );
      expect(put.headers['x-amz-object-lock-legal-hold']).toBeUndefined();
    }

    // A legal hold over the whole trail puts every segment under legal hold.
    addHold(trailLayout(dir), { id: 'case-1', reason: 'litigation', createdAt: new Date(now).toISOString() });
    t = target();
    mark = s3.requests.length;
    await pushArchive(dir, parseS3Url(t.url), { s3: conn(), policy, now });
    for (const seg of sealed)
      expect(segmentPut(mark, t.prefix, seg.firstSeq).headers['x-amz-object-lock-legal-hold']).toBe('ON');

    // Explicit options win over the policy.
    t = target();
    mark = s3.requests.length;
    const explicit = await pushArchive(dir, parseS3Url(t.url), {
      s3: conn(),
      policy,
      lock: { mode: 'none' },
      now,
    });
    expect(explicit.lockFrom).toBe('options');
    expect(segmentPut(mark, t.prefix, sealed[0]!.firstSeq).headers['x-amz-object-lock-mode']).toBeUndefined();

    // A part of a lock (a legal hold alone, or days alone) is refused: the rest would fall to the
    // defaults, weaker than the policy's.
    mark = s3.requests.length;
    for (const lock of [{ legalHold: true }, { retainDays: 30 }, { mode: 'COMPLIANCE' as const }])
      await expect(
        pushArchive(dir, parseS3Url(target().url), { s3: conn(), policy, lock, now }),
      ).rejects.toMatchObject({
        code: 'USAGE',
        detail: { field: 'lock' },
      });
    expect(putsSince(mark)).toEqual([]);
  });

  it('is idempotent: a second push uploads nothing', async () => {
    const { dir } = await fixture();
    const t = target();
    const first = await pushArchive(dir, parseS3Url(t.url), { s3: conn() });
    const mark = s3.requests.length;
    const again = await pushArchive(dir, parseS3Url(t.url), { s3: conn() });
    expect(again.pushed).toBe(0);
    expect(again.present).toBe(first.pushed);
    expect(putsSince(mark)).toEqual([]);
  });

  it('fails with ARCHIVE_CONFLICT naming the key when another object is at a key', async () => {
    const a = await fixture();
    const b = await fixture();
    const t = target();
    await pushArchive(a.dir, parseS3Url(t.url), { s3: conn() });
    await expect(pushArchive(b.dir, parseS3Url(t.url), { s3: conn() })).rejects.toMatchObject({
      code: 'ARCHIVE_CONFLICT',
      message: expect.stringContaining(`s3://archive/${t.prefix}trail.json`),
    });
  });

  it('refuses to archive a sealed segment that no longer matches its summary', async () => {
    const { dir } = await fixture();
    const file = new DirSource(dir).segments()[1]!.ref.file;
    const bytes = fs.readFileSync(file);
    bytes[20] = bytes[20]! ^ 1;
    fs.writeFileSync(file, bytes);
    await expect(pushArchive(dir, parseS3Url(target().url), { s3: conn() })).rejects.toMatchObject({
      code: 'SEGMENT_CHECKSUM_MISMATCH',
    });
  });

  it('rejects a retention period out of range with USAGE', async () => {
    const { dir } = await fixture();
    await expect(
      pushArchive(dir, parseS3Url(target().url), { s3: conn(), lock: { retainDays: 0 } }),
    ).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('retain-days') });
  });
});

describe('an S3 endpoint that takes the connection and never answers', () => {
  it('fails the request with STORE_IO once its socket stays silent for requestTimeoutMs', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const objects = await S3Objects.connect(parseS3Url('s3://archive/t/trail'), {
        endpoint,
        credentials: s3.credentials,
        requestTimeoutMs: 300,
      });
      const err = await objects.head('trail.json').catch((e: unknown) => e);
      objects.close();
      expect(err).toMatchObject({ code: 'STORE_IO' });
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      for (const sock of sockets) sock.destroy();
      silent.close();
    }
  });
});

describe('verifyArchive', () => {
  async function pushed(): Promise<{ dir: string; sealed: SegmentSummary[]; url: string; prefix: string }> {
    const f = await fixture();
    const t = target();
    await pushArchive(f.dir, parseS3Url(t.url), { s3: conn() });
    return { ...f, ...t };
  }

  it('verifies the whole archive from S3', async () => {
    const { sealed, url } = await pushed();
    const report = await verifyArchive(parseS3Url(url), { s3: conn() });
    expect(report.failure).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.range).toEqual({ from: 0, to: sealed.at(-1)!.lastSeq });
    expect(report.entries).toBe(sealed.at(-1)!.treeSize);
    expect(report.root).toBe(sealed.at(-1)!.root);
    expect(report.segments).toBe(sealed.length);
  });

  it('verifies a range that starts after seq 0 from the archived tree state, downloading only its segments', async () => {
    const { sealed, url, prefix } = await pushed();
    const mid = sealed[2]!;
    const mark = s3.requests.length;
    const report = await verifyArchive(parseS3Url(url), {
      s3: conn(),
      fromSeq: mid.firstSeq + 1,
      toSeq: mid.lastSeq,
    });
    expect(report.failure).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.range).toEqual({ from: mid.firstSeq, to: mid.lastSeq });
    expect(report.segments).toBe(1);
    const segmentGets = s3.requests
      .slice(mark)
      .filter((r) => r.method === 'GET' && r.url.includes('.log'))
      .map((r) => r.url.split('?')[0]);
    expect(segmentGets).toEqual([`/archive/${prefix}${archiveSegmentName(mid.firstSeq)}`]);
  });

  it('checks witnessed checkpoints inside the archive, segment by segment, and lists those beyond it', async () => {
    const { dir, sealed, url } = await pushed();
    const witnessed = new DirSource(dir).checkpoints().map((c, i) => ({ note: c.note, source: `kept-${i}` }));
    const end = sealed.at(-1)!.treeSize;
    const report = await verifyArchive(parseS3Url(url), { s3: conn(), against: async () => witnessed });
    expect(report.failure).toBeUndefined();
    const sizes = (xs: Array<{ size: number }>) => [...new Set(xs.map((x) => x.size))].sort((a, b) => a - b);
    const all = sizes(new DirSource(dir).checkpoints());
    expect(sizes(report.against)).toEqual(all.filter((x) => x <= end));
    expect(sizes(report.againstOutside)).toEqual(all.filter((x) => x > end));
    expect(report.againstOutside.length).toBeGreaterThan(0);
    expect(report.checkpoints).toBe(sealed.length);
  });

  it('verifies the segments that hold a time window, chosen by their summaries', async () => {
    const { sealed, url } = await pushed();
    const a = sealed[1]!;
    const b = sealed[2]!;
    const report = await verifyArchive(parseS3Url(url), {
      s3: conn(),
      fromTime: Date.parse(a.maxTs),
      toTime: Date.parse(b.minTs),
    });
    expect(report.failure).toBeUndefined();
    expect(report.range).toEqual({ from: a.firstSeq, to: b.lastSeq });
    expect(report.segments).toBe(2);
    await expect(
      verifyArchive(parseS3Url(url), { s3: conn(), fromTime: Date.parse('2031-01-01T00:00:00Z') }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reports SEGMENT_CHECKSUM_MISMATCH when an archived segment was changed in the bucket', async () => {
    const { sealed, prefix, url } = await pushed();
    const file = s3.objectFile('archive', prefix + archiveSegmentName(sealed[1]!.firstSeq));
    const bytes = fs.readFileSync(file);
    bytes[30] = bytes[30]! ^ 1;
    fs.writeFileSync(file, bytes);
    const report = await verifyArchive(parseS3Url(url), { s3: conn() });
    expect(report.ok).toBe(false);
    expect(report.failure?.code).toBe('SEGMENT_CHECKSUM_MISMATCH');
    expect(report.failure?.message).toContain(archiveSegmentName(sealed[1]!.firstSeq));
  });

  it('reports ROOT_MISMATCH when a segment and its summary were rewritten together', async () => {
    const { sealed, prefix, url } = await pushed();
    const s = sealed[1]!;
    const segFile = s3.objectFile('archive', prefix + archiveSegmentName(s.firstSeq));
    // Swap one event's outcome and fix the summary's checksum: only the signed checkpoints catch it.
    const text = fs.readFileSync(segFile, 'utf8');
    const changed = text.replace('"outcome":"success"', '"outcome":"failure"');
    expect(changed).not.toBe(text);
    fs.writeFileSync(segFile, changed);
    const sumFile = s3.objectFile('archive', prefix + archiveSummaryName(s.firstSeq));
    const summary = JSON.parse(fs.readFileSync(sumFile, 'utf8')) as SegmentSummary;
    summary.sha256 = createHash('sha256').update(changed).digest('hex');
    summary.bytes = Buffer.byteLength(changed);
    fs.writeFileSync(sumFile, JSON.stringify(summary));
    const report = await verifyArchive(parseS3Url(url), { s3: conn() });
    expect(report.ok).toBe(false);
    expect(['CHAIN_LINK_MISMATCH', 'ROOT_MISMATCH']).toContain(report.failure?.code);
  });

  it('reports CHAIN_SEQ_GAP when the first segments are missing and no range was asked', async () => {
    const { sealed, prefix, url } = await pushed();
    fs.rmSync(s3.objectFile('archive', prefix + archiveSummaryName(sealed[0]!.firstSeq)));
    fs.rmSync(
      s3
        .objectFile('archive', prefix + archiveSummaryName(sealed[0]!.firstSeq))
        .replace(/object$/, 'metadata.json'),
      { force: true },
    );
    const report = await verifyArchive(parseS3Url(url), { s3: conn() });
    expect(report.ok).toBe(false);
    expect(report.failure?.code).toBe('CHAIN_SEQ_GAP');
  });

  describe('when retention pruned the oldest segments and gzipped the rest before the push', () => {
    it('uploads the sealed bytes and the boundary checkpoint, so the archive verifies from its first seq', async () => {
      const dir = dirs.fresh();
      const trail = await AuditTrail.open({ dir, worker: false, maxSegmentBytes: 1024 });
      const ago = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
      for (let i = 0; i < 24; i++) {
        trail.emit({ type: 'x.note', ts: ago(i < 8 ? 400 : 100), meta: { i } });
        if (i % 4 === 3) await trail.flush();
      }
      const result = await trail.applyRetention(
        parseRetentionPolicy({ default: { keep: '1y' }, archiveAfter: '30d' }),
      );
      await trail.close();
      const firstKept = result.prune.firstKept!;
      expect(firstKept).toBeGreaterThan(0);
      expect(result.archived.segments).toBeGreaterThan(0);
      const t = target();
      const pushed = await pushArchive(dir, parseS3Url(t.url), { s3: conn() });
      const report = await verifyArchive(parseS3Url(t.url), { s3: conn(), fromSeq: firstKept });
      expect(report.failure).toBeUndefined();
      expect(report.ok).toBe(true);
      expect(report.range.from).toBe(firstKept);
      expect(report.range.to).toBe(pushed.archivedSize - 1);
      expect(pushed.archivedFrom).toBe(firstKept);
    });
  });

  describe('when content was erased before the push', () => {
    it('checks each erased payload against its erasure entry in a later segment, and counts those beyond the archive', async () => {
      const dir = dirs.fresh();
      const trail = await AuditTrail.open({ dir, worker: false, maxSegmentBytes: 1024 });
      for (let i = 0; i < 12; i++) {
        trail.emit({
          type: 'model.completion',
          actor: { id: `u${i % 3}` },
          content: { prompt: `question ${i}` },
        });
        if (i % 3 === 2) await trail.flush();
      }
      expect(await trail.eraseSubject('u1')).toEqual({ entries: 4, fields: 4 });
      const t = target();
      // The erasure entry is in the open segment: not archived, its markers cannot be checked there.
      await pushArchive(dir, parseS3Url(t.url), { s3: conn() });
      const before = await verifyArchive(parseS3Url(t.url), { s3: conn() });
      expect(before.failure).toBeUndefined();
      expect(before.erasuresBeyond).toBeGreaterThan(0);
      // Sealed later, the erasure entry is archived with them: every marker is checked against it.
      for (let i = 0; i < 12; i++) {
        trail.emit({ type: 'x.more', meta: { i } });
        await trail.flush(); // a batch each: the segment rotates at a batch that finds it full
      }
      await trail.close();
      await pushArchive(dir, parseS3Url(t.url), { s3: conn() });
      const after = await verifyArchive(parseS3Url(t.url), { s3: conn() });
      expect(after.failure).toBeUndefined();
      expect(after.ok).toBe(true);
      expect(after.erasuresBeyond).toBe(0);
      expect(after.contentFields.erased).toBe(4);
    });
  });

  it('fails with NOT_FOUND for a range that starts after the archive ends', async () => {
    const { sealed, url } = await pushed();
    await expect(
      verifyArchive(parseS3Url(url), { s3: conn(), fromSeq: sealed.at(-1)!.lastSeq + 1 }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining('the archive ends at seq'),
    });
  });

  it('fails with TRAIL_NOT_FOUND where nothing was archived', async () => {
    await expect(verifyArchive(parseS3Url(target().url), { s3: conn() })).rejects.toMatchObject({
      code: 'TRAIL_NOT_FOUND',
    });
  });
});
