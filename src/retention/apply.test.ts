import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NoteVerifier, openCheckpoint, verifyInclusion } from '../chain/index.js';
import { isAuditError } from '../errors.js';
import { type AuditEntry, decodeLine, proveInclusion, query, verifyDir } from '../read/index.js';
import { DirSource, listSegments, readBoundaryFile, trailLayout } from '../store/index.js';
import { resealSummary, trailDirs } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import type { RetentionPolicy } from './policy.js';

const dirs = trailDirs();
afterEach(() => dirs.cleanup());

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

const POLICY: RetentionPolicy = {
  default: { keep: 'forever' },
  categories: {
    security: { keep: '7y' },
    authentication: { keep: '7y' },
    ai: { keep: '1y', contentDays: 90 },
  },
};

/**
 * A trail whose oldest segments hold 8-year-old security events and 2-year-old AI events, then
 * newer ones; small segments, so each flushed batch of four seals one.
 */
async function oldTrail(worker = false): Promise<{ dir: string; seed: string }> {
  const dir = dirs.fresh();
  const trail = await AuditTrail.open({ dir, worker, maxSegmentBytes: 1024 });
  const batch = async (make: (i: number) => Parameters<AuditTrail['emit']>[0], n: number) => {
    for (let i = 0; i < n; i++) {
      trail.emit(make(i));
      if (i % 4 === 3) await trail.flush();
    }
    await trail.flush();
  };
  await batch((i) => ({ type: 'auth.failure', ts: ago(8 * 365 + i), actor: { id: `u${i}` } }), 8);
  await batch(
    (i) => ({
      type: 'model.completion',
      ts: ago(2 * 365 + i),
      subject: i === 5 ? 'carol' : `s${i}`,
      content: { prompt: `old prompt ${i}`, response: `old response ${i}` },
    }),
    12,
  );
  // Kept: security events of 3 years ago (7y), AI events of 100 days (content expired) and today.
  await batch((i) => ({ type: 'auth.failure', ts: ago(3 * 365 + i), actor: { id: `k${i}` } }), 4);
  await batch(
    (i) => ({ type: 'model.completion', ts: ago(100), subject: `r${i}`, content: { prompt: `recent ${i}` } }),
    4,
  );
  await batch((i) => ({ type: 'model.completion', subject: `n${i}`, content: { prompt: `new ${i}` } }), 4);
  await trail.close();
  return { dir, seed: trail.sealSeed! };
}

function entries(dir: string): AuditEntry[] {
  return [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
}

/** A trail of one AI event whose content expired and one of today, and the lines of both. */
async function oldAndNew() {
  const dir = dirs.fresh();
  const trail = await AuditTrail.open({ dir, worker: false });
  trail.emit({ type: 'model.completion', ts: ago(200), subject: 'a', content: { prompt: 'old words' } });
  trail.emit({ type: 'model.completion', subject: 'b', content: { prompt: 'new words' } });
  await trail.close();
  const { segmentsDir, quarantineDir } = trailLayout(dir);
  const [oldLine, newLine] = fs
    .readFileSync(path.join(segmentsDir, fs.readdirSync(segmentsDir)[0]!), 'utf8')
    .split('\n');
  return { dir, quarantineDir, oldLine: oldLine!, newLine: newLine! };
}

async function apply(dir: string, policy: RetentionPolicy, dryRun = false) {
  const trail = await AuditTrail.open({ dir, create: false, worker: false });
  try {
    return await trail.applyRetention(policy, { dryRun });
  } finally {
    await trail.close();
  }
}

/** Every remaining entry has an inclusion proof that verifies against the latest checkpoint. */
function proveAll(dir: string): number {
  const source = new DirSource(dir);
  const verifier = NoteVerifier.fromVkey(source.meta.verifierKey);
  let n = 0;
  for (const line of source.lines()) {
    const p = proveInclusion(dir, { seq: line.seq });
    const cp = openCheckpoint(p.checkpoint, verifier);
    verifyInclusion(
      p.index,
      p.treeSize,
      Buffer.from(p.leafHash, 'base64'),
      p.hashes.map((h) => Buffer.from(h, 'base64')),
      cp.rootHash,
    );
    n++;
  }
  return n;
}

describe('applyRetention', () => {
  describe('when old segments are past their keep period', () => {
    it('prunes them, and every remaining entry still verifies (seals too) and proves', async () => {
      const { dir, seed } = await oldTrail();
      const before = entries(dir).length;
      const result = await apply(dir, POLICY);
      expect(result.prune.entries).toBe(20);
      expect(result.prune.firstKept).toBe(20);
      expect(result.blockedBy).toMatchObject({ seq: 20, reason: 'keep', type: 'auth.failure' });
      // The newest sealed segment (entries of today) is newer than every period: not read.
      expect(result.segmentsRead).toBe(7);

      const report = verifyDir(dir, { sealSeed: seed });
      expect(report.failure).toBeUndefined();
      expect(report.ok).toBe(true);
      expect(report.prunedBefore).toBe(20);
      const left = entries(dir);
      expect(left[0]!.seq).toBe(20);
      expect(left.length).toBe(before - 20 + 3); // pruned, content expired, applied
      expect(proveAll(dir)).toBe(left.length);
      expect(listSegments(trailLayout(dir).segmentsDir)[0]!.firstSeq).toBe(20);
      expect(
        readBoundaryFile(trailLayout(dir))
          ?.pruned.map((p) => p.count)
          .reduce((a, b) => a + b),
      ).toBe(20);
    });

    it('records each action in the trail', async () => {
      const { dir } = await oldTrail();
      await apply(dir, POLICY);
      const types = entries(dir).map((e) => e.type);
      expect(types.slice(-3)).toEqual([
        'retention.pruned',
        'retention.content_expired',
        'admin.retention_applied',
      ]);
      const pruned = entries(dir).find((e) => e.type === 'retention.pruned')!;
      expect(pruned.meta).toMatchObject({ segments: 5, entries: 20, firstKept: 20 });
    });

    it('records the earliest and latest event time of all pruned entries, whichever segment holds them', async () => {
      const { dir } = await oldTrail();
      // the fixture's second segment holds older entries than its first (ts counts back with i)
      const times = entries(dir)
        .slice(0, 20)
        .map((e) => e.ts)
        .sort();
      expect(times[0]).not.toBe(entries(dir)[0]!.ts);
      await apply(dir, POLICY);
      const pruned = entries(dir).find((e) => e.type === 'retention.pruned')!;
      // oldestPruned was the first segment's oldest, days after the oldest entry pruned
      expect(pruned.meta).toMatchObject({ oldestPruned: times[0], newestPruned: times.at(-1) });
    });

    it('answers a proof of a pruned entry with NOT_FOUND naming the pruning', async () => {
      const { dir } = await oldTrail();
      await apply(dir, POLICY);
      let err: unknown;
      try {
        proveInclusion(dir, { seq: 3 });
      } catch (e) {
        err = e;
      }
      expect(isAuditError(err, 'NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain('pruned');
    });

    it('prunes again later from the boundary on, and still verifies', async () => {
      const { dir, seed } = await oldTrail();
      await apply(dir, POLICY);
      // Now the 3-year-old security events may go too.
      const result = await apply(dir, {
        ...POLICY,
        categories: { ...POLICY.categories, authentication: { keep: '1y' } },
      });
      expect(result.prune.firstKept).toBe(24);
      expect(verifyDir(dir, { sealSeed: seed }).ok).toBe(true);
      expect(readBoundaryFile(trailLayout(dir))?.pruned.length).toBe(6);
      expect(entries(dir).length).toBe(proveAll(dir));
    });

    it('works through the writer thread', async () => {
      const { dir, seed } = await oldTrail(true);
      const trail = await AuditTrail.open({ dir, create: false });
      const result = await trail.applyRetention(POLICY);
      await trail.close();
      expect(result.prune.firstKept).toBe(20);
      expect(verifyDir(dir, { sealSeed: seed }).ok).toBe(true);
    });
  });

  describe('when boundary.json was edited to a later first kept seq', () => {
    it('refuses to remove the segments before it (BOUNDARY_INVALID), and removes none', async () => {
      const { dir } = await oldTrail();
      await apply(dir, POLICY);
      const layout = trailLayout(dir);
      const before = listSegments(layout.segmentsDir).map((r) => r.firstSeq);
      const b = readBoundaryFile(layout)!;
      // Unsigned: anyone who can write the file can change it; the signed note still says 20.
      fs.writeFileSync(layout.boundary, JSON.stringify({ ...b, size: before.at(-1) }));
      let err: unknown;
      try {
        await apply(dir, POLICY);
      } catch (e) {
        err = e;
      }
      expect(isAuditError(err, 'BOUNDARY_INVALID')).toBe(true);
      expect(listSegments(layout.segmentsDir).map((r) => r.firstSeq)).toEqual(before);
    });
  });

  describe('content expiry', () => {
    it('erases expired payloads, keeps their commitments, and the trail verifies', async () => {
      const { dir } = await oldTrail();
      const result = await apply(dir, POLICY);
      expect(result.expired).toEqual({ entries: 4, fields: 4 });
      const recent = entries(dir).filter((e) => e.type === 'model.completion');
      expect(recent.filter((e) => e.erased !== undefined).map((e) => e.subject)).toEqual([
        'r0',
        'r1',
        'r2',
        'r3',
      ]);
      expect(recent.filter((e) => e.content?.prompt !== undefined).length).toBe(4);
      const report = verifyDir(dir);
      expect(report.ok).toBe(true);
      expect(report.contentFields.erased).toBe(4);
    });
  });

  describe('content expiry in a trail of one segment', () => {
    it('erases it too, though that segment is never pruned', async () => {
      const dir = dirs.fresh();
      const trail = await AuditTrail.open({ dir, worker: false });
      trail.emit({ type: 'model.completion', ts: ago(200), subject: 'a', content: { prompt: 'old' } });
      trail.emit({ type: 'model.completion', subject: 'b', content: { prompt: 'new' } });
      const result = await trail.applyRetention(POLICY);
      await trail.close();
      expect(result.prune.entries).toBe(0);
      expect(result.blockedBy).toMatchObject({ seq: 0, reason: 'keep' });
      expect(result.expired).toEqual({ entries: 1, fields: 1 });
      const [old, recent] = entries(dir);
      expect(old!.erased).toEqual(['prompt']);
      expect(recent!.content?.prompt).toBe('new');
      expect(verifyDir(dir).ok).toBe(true);
    });
  });

  describe('content expiry, and a marker copied onto a payload it did not erase', () => {
    it('fails verify: the expiry entry counts the payloads it erased', async () => {
      const dir = dirs.fresh();
      const trail = await AuditTrail.open({ dir, worker: false });
      trail.emit({ type: 'model.completion', ts: ago(200), subject: 'a', content: { prompt: 'old' } });
      trail.emit({ type: 'model.completion', subject: 'b', content: { prompt: 'keep this' } });
      expect((await trail.applyRetention(POLICY)).expired).toEqual({ entries: 1, fields: 1 });
      await trail.close();
      expect(verifyDir(dir).ok).toBe(true);
      const { segmentsDir } = trailLayout(dir);
      const file = path.join(segmentsDir, fs.readdirSync(segmentsDir).filter((f) => f.endsWith('.log'))[0]!);
      const [oldLine, keptLine] = fs.readFileSync(file, 'utf8').split('\n');
      const marker = oldLine!.split('\t')[1]!;
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(keptLine!.split('\t')[1]!, marker));
      resealSummary(file);
      expect(verifyDir(dir).failure?.message).toMatch(
        /^entry 1: content\.prompt is marked erased by entry \d+, which records 1 erased payloads, not 2$/,
      );
    });
  });

  describe('content expiry, then pruning, and a marker copied onto a newer payload', () => {
    it('fails verify: the expiry entry names the newest entry it expired', async () => {
      // After pruning took some of the payloads it erased, the count no longer catches the copy.
      const dir = dirs.fresh();
      const trail = await AuditTrail.open({ dir, worker: false, maxSegmentBytes: 1024 });
      for (const [days, tag] of [
        [300, 'a'],
        [100, 'b'],
        [0, 'c'],
      ] as const) {
        for (let i = 0; i < 4; i++)
          trail.emit({
            type: 'model.completion',
            ts: ago(days + i / 100),
            subject: `${tag}${i}`,
            content: { prompt: `${tag} prompt ${i} ${'x'.repeat(200)}` },
          });
        await trail.flush();
      }
      trail.emit({ type: 'x.newest' });
      await trail.close();
      const ai = (keep: string): RetentionPolicy => ({
        default: { keep: 'forever' },
        categories: { ai: { keep, contentDays: 30 } },
      });
      expect((await apply(dir, ai('10y'))).expired).toEqual({ entries: 8, fields: 8 });
      expect((await apply(dir, ai('200d'))).prune.entries).toBeGreaterThan(0);
      expect(verifyDir(dir).failure).toBeUndefined();
      const { segmentsDir } = trailLayout(dir);
      const lines = new Map<string, { file: string; line: string }>();
      for (const f of fs.readdirSync(segmentsDir).filter((n) => n.endsWith('.log')))
        for (const line of fs.readFileSync(path.join(segmentsDir, f), 'utf8').split('\n'))
          if (line.includes('"subject":"'))
            lines.set(/"subject":"([a-z0-9]+)"/.exec(line)![1]!, { file: f, line });
      const marker = lines.get('b0')!.line.split('\t')[1]!;
      const target = lines.get('c0')!;
      const file = path.join(segmentsDir, target.file);
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(target.line.split('\t')[1]!, marker));
      resealSummary(file);
      expect(verifyDir(dir).failure?.message).toMatch(
        /^entry \d+: content\.prompt is marked erased by entry \d+, which does not record that erasure$/,
      );
    });
  });

  describe('content expiry and torn lines set aside by crash recovery', () => {
    it('erases expired content there too, and leaves content not yet expired', async () => {
      const { dir, quarantineDir, oldLine, newLine } = await oldAndNew();
      fs.mkdirSync(quarantineDir, { mode: 0o700 });
      const torn = path.join(quarantineDir, 'x.torn');
      fs.writeFileSync(torn, `${oldLine}\n${newLine}\n${oldLine.slice(0, -4)}`, { mode: 0o600 });

      const trail = await AuditTrail.open({ dir, worker: false });
      const result = await trail.applyRetention(POLICY);
      await trail.close();
      expect(result.expired).toEqual({ entries: 1, fields: 1, quarantine: { erased: 2, unreadable: 0 } });
      const left = fs.readFileSync(torn, 'utf8');
      expect(left).not.toContain('old wo');
      expect(left).toContain('new words');
      expect(verifyDir(dir).ok).toBe(true);
    });
  });

  describe('a torn line set aside by crash recovery, when no entry in the segments expires now', () => {
    it('still loses its expired content, and the run records it', async () => {
      const { dir, quarantineDir, oldLine } = await oldAndNew();
      expect((await apply(dir, POLICY)).expired.entries).toBe(1); // the segments hold nothing to expire now
      fs.mkdirSync(quarantineDir, { mode: 0o700 });
      const torn = path.join(quarantineDir, 'x.torn');
      fs.writeFileSync(torn, `${oldLine}\n`, { mode: 0o600 });

      const trail = await AuditTrail.open({ dir, worker: false });
      const result = await trail.applyRetention(POLICY);
      await trail.close();
      expect(result.expired).toEqual({ entries: 0, fields: 0, quarantine: { erased: 1, unreadable: 0 } });
      expect(fs.readFileSync(torn, 'utf8')).not.toContain('old words');
      expect(
        entries(dir).find(
          (e) =>
            e.type === 'retention.content_expired' &&
            (e.meta as { quarantineErased?: number } | undefined)?.quarantineErased === 1,
        ),
      ).toBeDefined();
      expect(verifyDir(dir).ok).toBe(true);
    });
  });

  describe('with a legal hold', () => {
    it('does not prune the held entry nor anything after it, and records the hold', async () => {
      const { dir, seed } = await oldTrail();
      const trail = await AuditTrail.open({ dir, create: false, worker: false });
      await trail.addLegalHold({ id: 'case-7', reason: 'litigation', scope: { subject: 'carol' } });
      const result = await trail.applyRetention(POLICY);
      // carol's entry is seq 13, in the segment of seqs 12..15: the three before it go.
      expect(result.blockedBy).toMatchObject({ seq: 13, reason: 'hold', hold: 'case-7' });
      expect(result.prune.firstKept).toBe(12);
      await trail.removeLegalHold('case-7', { reason: 'case closed' });
      const after = await trail.applyRetention(POLICY);
      await trail.close();
      expect(after.prune.firstKept).toBe(20);
      const types = entries(dir).map((e) => e.type);
      expect(types).toContain('retention.hold_added');
      expect(types).toContain('retention.hold_removed');
      expect(verifyDir(dir, { sealSeed: seed }).ok).toBe(true);
    });

    it('a hold on the whole trail stops all deletion, content expiry included', async () => {
      const { dir } = await oldTrail();
      const trail = await AuditTrail.open({ dir, create: false, worker: false });
      await trail.addLegalHold({ id: 'all', reason: 'regulator inquiry' });
      const result = await trail.applyRetention(POLICY);
      await trail.close();
      expect(result.prune.entries).toBe(0);
      expect(result.expired.entries).toBe(0);
      expect(result.blockedBy).toMatchObject({ seq: 0, reason: 'hold', hold: 'all' });
      expect(entries(dir)[0]!.seq).toBe(0);
    });
  });

  describe('dry run', () => {
    it('reports the plan and changes no byte', async () => {
      const { dir } = await oldTrail();
      const snapshot = () =>
        fs
          .readdirSync(dir, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile() && e.name !== 'writer.lock')
          .map((e) => [
            path.join(e.parentPath, e.name),
            fs.readFileSync(path.join(e.parentPath, e.name)).toString('base64'),
          ]);
      const before = snapshot();
      const trail = await AuditTrail.open({ dir, create: false, worker: false });
      const plan = await trail.applyRetention(POLICY, { dryRun: true });
      // Opening and closing the writer adds checkpoints and a seal: compare segments only.
      await trail.close();
      const segs = (s: string[][]) => s.filter(([f]) => f!.includes(`${path.sep}segments${path.sep}`));
      expect(segs(snapshot())).toEqual(segs(before));
      expect(plan.dryRun).toBe(true);
      expect(plan.prune.entries).toBe(20);
      expect(plan.expire.entries).toBe(4);
    });
  });

  describe('a dry run on a trail whose only segment is still open', () => {
    it('plans the content expiry the run then does (the run seals that segment first)', async () => {
      const dir = dirs.fresh();
      const trail = await AuditTrail.open({ dir, worker: false });
      for (let i = 0; i < 4; i++)
        trail.emit({
          type: 'model.completion',
          ts: ago(100),
          subject: `o${i}`,
          content: { prompt: `open ${i}` },
        });
      await trail.close();
      const plan = await apply(dir, POLICY, true);
      const done = await apply(dir, POLICY);
      expect(done.expired.entries).toBe(4);
      expect(plan.expire.entries).toBe(done.expired.entries);
      expect(plan.prune.entries).toBe(0);
    });
  });

  describe('archive', () => {
    it('gzips old sealed segments, and verify, query and prove read them transparently', async () => {
      const { dir, seed } = await oldTrail();
      const result = await apply(dir, { archiveAfter: '30d' });
      expect(result.archived.segments).toBeGreaterThan(0);
      const names = fs.readdirSync(path.join(dir, 'segments'));
      expect(names.some((n) => n.endsWith('.log.gz'))).toBe(true);
      expect(verifyDir(dir, { sealSeed: seed }).ok).toBe(true);
      const all = [];
      for await (const e of query(dir, {}, { order: 'oldest' })) all.push(e);
      expect(all.length).toBe(entries(dir).length);
      expect(all.find((e) => e.subject === 's1')!.content?.prompt).toBe('old prompt 1');
      expect(proveAll(dir)).toBe(all.length);
      expect(entries(dir).at(-1)!.type).toBe('admin.retention_applied');
      expect(entries(dir).at(-2)!.meta).toMatchObject({ segments: result.archived.segments });
    });

    it('fails verify when an archived segment is damaged', async () => {
      const { dir } = await oldTrail();
      await apply(dir, { archiveAfter: '30d' });
      const gz = fs.readdirSync(path.join(dir, 'segments')).find((n) => n.endsWith('.gz'))!;
      const file = path.join(dir, 'segments', gz);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 12]! ^= 0xff; // the block index's own length
      fs.writeFileSync(file, bytes);
      expect(verifyDir(dir).failure?.code).toBe('SEGMENT_CHECKSUM_MISMATCH');
      bytes[bytes.length - 12]! ^= 0xff;
      bytes[bytes.length >> 1]! ^= 0xff; // inside a block's deflate data
      fs.writeFileSync(file, bytes);
      expect(verifyDir(dir).failure).toMatchObject({ code: 'SEGMENT_CHECKSUM_MISMATCH', file: gz });
    });

    it('erasure still works on archived segments', async () => {
      const { dir } = await oldTrail();
      await apply(dir, { archiveAfter: '30d' });
      const trail = await AuditTrail.open({ dir, create: false, worker: false });
      expect(await trail.eraseSubject('carol')).toEqual({ entries: 1, fields: 2 });
      await trail.close();
      expect(verifyDir(dir).ok).toBe(true);
      expect(
        entries(dir)
          .find((e) => e.subject === 'carol')!
          .erased?.sort(),
      ).toEqual(['prompt', 'response']);
    });
  });

  describe('when the pruned trail is tampered with', () => {
    it('fails when the boundary root is changed', async () => {
      const { dir } = await oldTrail();
      await apply(dir, POLICY);
      const file = trailLayout(dir).boundary;
      const b = JSON.parse(fs.readFileSync(file, 'utf8'));
      const lines = b.note.split('\n');
      lines[3] = Buffer.alloc(32, 7).toString('base64');
      b.note = lines.join('\n');
      fs.writeFileSync(file, JSON.stringify(b));
      const report = verifyDir(dir);
      expect(report.ok).toBe(false);
      expect(['BOUNDARY_INVALID', 'CHECKPOINT_SIGNATURE_INVALID']).toContain(report.failure?.code);
    });

    it('fails when a border hash is changed, even with the signature line kept', async () => {
      const { dir } = await oldTrail();
      await apply(dir, POLICY);
      const file = trailLayout(dir).boundary;
      const b = JSON.parse(fs.readFileSync(file, 'utf8'));
      b.note = b.note.replace(/border (.)/, (_: string, c: string) => `border ${c === 'A' ? 'B' : 'A'}`);
      fs.writeFileSync(file, JSON.stringify(b));
      expect(verifyDir(dir).ok).toBe(false);
    });

    it('fails when the boundary file is removed', async () => {
      const { dir } = await oldTrail();
      await apply(dir, POLICY);
      fs.rmSync(trailLayout(dir).boundary);
      expect(verifyDir(dir).failure?.code).toBe('CHAIN_SEQ_GAP');
    });

    it('fails when a segment the policy keeps is removed as well', async () => {
      const { dir } = await oldTrail();
      await apply(dir, POLICY);
      const [first] = listSegments(trailLayout(dir).segmentsDir);
      fs.rmSync(first!.file);
      fs.rmSync(first!.summaryFile);
      const report = verifyDir(dir);
      expect(report.failure?.code).toBe('CHAIN_SEQ_GAP');
      expect(report.failure?.message).toContain('expected seq 20');
    });

    it('fails when the boundary is moved past a kept segment with an older signed boundary', async () => {
      const { dir } = await oldTrail();
      await apply(dir, POLICY);
      const older = fs.readFileSync(trailLayout(dir).boundary);
      await apply(dir, { ...POLICY, categories: { ...POLICY.categories, authentication: { keep: '1y' } } });
      // Put back the boundary at 20 while entries 20..23 are gone.
      fs.writeFileSync(trailLayout(dir).boundary, older);
      expect(verifyDir(dir).failure?.code).toBe('CHAIN_SEQ_GAP');
    });

    it('fails when the persisted tree over pruned entries is changed', async () => {
      const { dir, seed } = await oldTrail();
      await apply(dir, POLICY);
      const file = path.join(dir, 'tree', 'level-00.hashes');
      const bytes = fs.readFileSync(file);
      bytes[2 * 32]! ^= 1; // leaf 2: pruned; checkpoints and seals of sizes 4, 8, ... cover it
      fs.writeFileSync(file, bytes);
      const report = verifyDir(dir, { sealSeed: seed });
      expect(report.failure?.code).toBe('ROOT_MISMATCH');
    });

    it('verifies from genesis through the boundary when the pruned segments are restored', async () => {
      const { dir } = await oldTrail();
      const backup = path.join(path.dirname(dir), 'backup');
      fs.cpSync(path.join(dir, 'segments'), backup, { recursive: true });
      await apply(dir, POLICY);
      for (const name of fs.readdirSync(backup)) {
        const target = path.join(dir, 'segments', name);
        if (!fs.existsSync(target) && Number(name.slice(0, 20)) < 20)
          fs.copyFileSync(path.join(backup, name), target);
      }
      const report = verifyDir(dir);
      expect(report.ok).toBe(true);
      expect(report.prunedBefore).toBe(0);
      expect(entries(dir)[0]!.seq).toBe(0);
    });
  });
});
