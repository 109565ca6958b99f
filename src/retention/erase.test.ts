import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyTrail } from '../chain/index.js';
import { isAuditError } from '../errors.js';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource, trailLayout } from '../store/index.js';
import { finishRewrites } from '../store/segment-rewrite.js';
import { resealSummary, trailDirs } from '../test-support/fixtures.js';
import { AuditTrail, MemoryTrailStore } from '../writer/index.js';
import { aboutSubject, type ErasureCount, eraseTornLine } from './erase.js';

const dirs = trailDirs();
afterEach(() => dirs.cleanup());
const freshDir = dirs.fresh;

const secretOf = (i: number) => `alice-secret-${i}-${'x'.repeat(200)}`;

/** Emits `n` events, a third of them about alice, each batch on its own so that segments rotate. */
async function emitMixed(trail: AuditTrail, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const alice = i % 3 === 0;
    trail.emit({
      type: 'model.completion',
      actor: { id: alice ? 'alice' : `bob-${i}` },
      content: alice ? { prompt: secretOf(i), response: `reply to alice ${i}` } : { prompt: `bob asks ${i}` },
    });
    if (i % 4 === 3) await trail.flush();
  }
}

/** Every byte under `dir`, file by file. */
/** A closed trail of 30 mixed events in several segments, and the path of its first segment. */
async function rotatedTrail(): Promise<{ dir: string; first: string }> {
  const dir = freshDir();
  const trail = await AuditTrail.open({ dir, worker: false, maxSegmentBytes: 4096 });
  await emitMixed(trail, 30);
  await trail.close();
  const segments = path.join(dir, 'segments');
  const first = fs
    .readdirSync(segments)
    .filter((f) => f.endsWith('.log'))
    .sort()[0]!;
  return { dir, first: path.join(segments, first) };
}

function allFiles(dir: string): Array<[string, Buffer]> {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      return [file, fs.readFileSync(file)] as [string, Buffer];
    });
}

function entries(dir: string) {
  return [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
}

describe('eraseSubject', () => {
  for (const worker of [true, false]) {
    it(`removes every payload of the subject, keeps the trail verifiable and records the erasure (${worker ? 'worker' : 'inline'})`, async () => {
      const dir = freshDir();
      // Small segments: the subject's entries are spread over several sealed ones.
      const trail = await AuditTrail.open({ dir, worker, maxSegmentBytes: 4096 });
      await emitMixed(trail, 60);
      const count = await trail.eraseSubject('alice', { reason: 'gdpr-art-17' });
      expect(count).toEqual({ entries: 20, fields: 40 });
      trail.emit({ type: 'model.request', actor: { id: 'carol' }, content: { prompt: 'after the erasure' } });
      await trail.close();

      const report = verifyDir(dir, { sealSeed: trail.sealSeed! });
      expect(report.failure).toBeUndefined();
      expect(report.contentFields.erased).toBe(40);

      for (const [file, bytes] of allFiles(dir)) {
        for (let i = 0; i < 60; i += 3) expect(bytes.includes(secretOf(i)), file).toBe(false);
        expect(bytes.includes('reply to alice'), file).toBe(false);
      }
      const all = entries(dir);
      const alice = all.filter((e) => e.subject === 'alice' && e.type === 'model.completion');
      expect(alice).toHaveLength(20);
      for (const e of alice) expect(e.erased?.sort()).toEqual(['prompt', 'response']);
      const bob = all.find((e) => e.subject === 'bob-1')!;
      expect(bob.content).toEqual({ prompt: 'bob asks 1' });
      const record = all.find((e) => e.type === 'audit.erasure')!;
      expect(record).toMatchObject({
        subject: 'alice',
        outcome: 'success',
        meta: { entries: 20, fields: 40, reason: 'gdpr-art-17' },
      });
      expect(all.at(-1)!.content).toEqual({ prompt: 'after the erasure' });
    });
  }

  it('removes the archive an interrupted archiving left beside a plain segment, old bytes and all', async () => {
    const { dir, first } = await rotatedTrail();
    fs.writeFileSync(`${first}.gz`, gzipSync(fs.readFileSync(first))); // as a crash mid-archive leaves it
    const again = await AuditTrail.open({ dir, worker: false });
    await again.eraseSubject('alice');
    await again.close();
    expect(fs.existsSync(`${first}.gz`)).toBe(false);
    for (const [file, bytes] of allFiles(dir)) expect(bytes.includes(secretOf(0)), file).toBe(false);
    expect(verifyDir(dir).failure).toBeUndefined();
  });

  it('leaves no copy in the temp file a crash left while a segment was being archived', async () => {
    const { dir, first } = await rotatedTrail();
    // The archive written aside (fs-safe writeFileAtomic) by a process that died before the rename.
    const tmp = `${first}.gz.tmp-99999`;
    fs.writeFileSync(tmp, gzipSync(fs.readFileSync(first)), { mode: 0o600 });
    const again = await AuditTrail.open({ dir, worker: false });
    await again.eraseSubject('alice');
    await again.close();
    expect(fs.existsSync(tmp)).toBe(false);
    for (const [file, bytes] of allFiles(dir)) {
      const text = file.includes('.gz') ? gunzipSync(bytes) : bytes;
      expect(text.includes(secretOf(0)), file).toBe(false);
    }
    expect(verifyDir(dir).failure).toBeUndefined();
  });

  it('counts nothing the second time and leaves the files as they were', async () => {
    const dir = freshDir();
    const trail = await AuditTrail.open({ dir, worker: false });
    await emitMixed(trail, 9);
    await trail.eraseSubject('alice');
    const segments = path.join(dir, 'segments');
    const before = fs.readdirSync(segments).map((f) => fs.readFileSync(path.join(segments, f)));
    expect(await trail.eraseSubject('alice')).toEqual({ entries: 0, fields: 0 });
    await trail.close();
    expect(verifyDir(dir).failure).toBeUndefined();
    // Only new segments (the erasure records) were added; the rewritten ones were not touched again.
    const after = fs.readdirSync(segments).map((f) => fs.readFileSync(path.join(segments, f)));
    for (const b of before.filter((x) => x.length > 0)) expect(after.some((a) => a.equals(b))).toBe(true);
  });

  it('matches the subject exactly, hostile characters included', async () => {
    const dir = freshDir();
    const trail = await AuditTrail.open({ dir, worker: false });
    const evil = 'eve\u202e"\\\n';
    trail.emit({ type: 'model.request', actor: { id: evil }, content: { prompt: 'evil prompt' } });
    trail.emit({ type: 'model.request', actor: { id: 'eve' }, content: { prompt: 'plain eve' } });
    expect(await trail.eraseSubject(evil)).toEqual({ entries: 1, fields: 1 });
    await trail.close();
    const all = entries(dir);
    expect(all[0]!.erased).toEqual(['prompt']);
    expect(all[1]!.content).toEqual({ prompt: 'plain eve' });
    expect(verifyDir(dir).failure).toBeUndefined();
  });

  it("names the erasure entry in each marker; another subject's erasure does not explain a marker moved onto an entry", async () => {
    const dir = freshDir();
    const trail = await AuditTrail.open({ dir, worker: false });
    trail.emit({ type: 'model.request', actor: { id: 'alice' }, content: { prompt: 'alice words' } });
    trail.emit({ type: 'model.request', actor: { id: 'bob' }, content: { prompt: 'bob words' } });
    await trail.eraseSubject('bob');
    await trail.close();
    expect(verifyDir(dir).failure).toBeUndefined();
    const lines = fs
      .readdirSync(path.join(dir, 'segments'))
      .filter((f) => f.endsWith('.log'))
      .flatMap((f) => fs.readFileSync(path.join(dir, 'segments', f), 'utf8').split('\n'))
      .filter((l) => l !== '');
    const erasure = lines.findIndex((l) => l.includes('"type":"audit.erasure"'));
    const bobPayload = lines[1]!.split('\t')[1]!;
    expect(JSON.parse(bobPayload)).toEqual({ prompt: { erased: { at: expect.any(String), by: erasure } } });
    // Bob's marker copied onto alice's entry, in the sealed segment that holds both.
    const [segment] = fs.readdirSync(path.join(dir, 'segments')).filter((f) => f.endsWith('.log'));
    const file = path.join(dir, 'segments', segment!);
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace(lines[0]!.split('\t')[1]!, bobPayload));
    resealSummary(file);
    // Caught twice over: bob's erasure counts one payload, and alice is not its subject.
    const failure = verifyDir(dir).failure;
    expect(failure?.code).toBe('CONTENT_COMMITMENT_MISMATCH');
    expect(failure?.message).toContain(
      `content.prompt is marked erased by entry ${erasure}, which records 1 erased payloads, not 2`,
    );
  });

  it('works on a memory trail', async () => {
    const store = new MemoryTrailStore();
    const trail = await AuditTrail.open({ store });
    await emitMixed(trail, 6);
    expect(await trail.eraseSubject('alice')).toEqual({ entries: 2, fields: 4 });
    await trail.close();
    expect(store.log.lines.some((l) => l.includes('alice-secret'))).toBe(false);
    const report = verifyTrail(store.verifyInput());
    expect(report.failure).toBeUndefined();
    expect(report.contentFields.erased).toBe(4);
  });

  it('refuses an empty subject with USAGE', async () => {
    const trail = await AuditTrail.open({ store: 'memory' });
    await expect(trail.eraseSubject('')).rejects.toSatisfy((e) => isAuditError(e, 'USAGE'));
    await trail.close();
  });
});

describe('finishRewrites', () => {
  async function sealedTrail(): Promise<string> {
    const dir = freshDir();
    const trail = await AuditTrail.open({ dir, worker: false, maxSegmentBytes: 2048 });
    await emitMixed(trail, 12);
    await trail.close();
    return dir;
  }

  it('completes a rewrite whose segment was replaced before the crash', async () => {
    const dir = await sealedTrail();
    const layout = trailLayout(dir);
    const summaryFile = fs.readdirSync(layout.segmentsDir).find((f) => f.endsWith('.summary.json'))!;
    const summaryPath = path.join(layout.segmentsDir, summaryFile);
    const summary = JSON.parse(fs.readFileSync(summaryPath, 'utf8'));
    // As if the crash came after step 3: the segment is new, its summary still the old one.
    const old = { ...summary, sha256: '0'.repeat(64) };
    fs.writeFileSync(`${summaryPath}.rewrite`, `${JSON.stringify(summary)}\n`);
    fs.writeFileSync(summaryPath, `${JSON.stringify(old)}\n`);
    expect(verifyDir(dir).failure?.code).toBe('SEGMENT_CHECKSUM_MISMATCH');
    finishRewrites(layout);
    expect(verifyDir(dir).failure).toBeUndefined();
    expect(fs.existsSync(`${summaryPath}.rewrite`)).toBe(false);
  });

  it('drops a pending summary that does not describe the segment on disk', async () => {
    const dir = await sealedTrail();
    const layout = trailLayout(dir);
    const summaryFile = fs.readdirSync(layout.segmentsDir).find((f) => f.endsWith('.summary.json'))!;
    const summaryPath = path.join(layout.segmentsDir, summaryFile);
    const summary = JSON.parse(fs.readFileSync(summaryPath, 'utf8'));
    fs.writeFileSync(`${summaryPath}.rewrite`, `${JSON.stringify({ ...summary, sha256: 'f'.repeat(64) })}\n`);
    fs.writeFileSync(`${path.join(layout.segmentsDir, summary.file)}.rewrite`, 'half-written');
    finishRewrites(layout);
    expect(fs.readdirSync(layout.segmentsDir).some((f) => f.endsWith('.rewrite'))).toBe(false);
    expect(verifyDir(dir).failure).toBeUndefined();
  });
});

describe('eraseTornLine', () => {
  const target = { subject: 'alice', at: '2026-12-07T00:00:00.000Z', by: 9 };
  const alice = aboutSubject('alice');
  const committed = (subject: string) =>
    `{"content":{"prompt":"sha256:x"},"event":{"id":"e1","subject":"${subject}","ts":"t","type":"x.a"},"prev":"p","seq":3,"v":1}`;
  const payload = '{"prompt":{"salt":"s","value":"alice private words"}}';

  it("erases a whole line's payloads field by field, and cuts payloads the crash left half written", () => {
    const count: ErasureCount = { entries: 0, fields: 0 };
    expect(eraseTornLine(`${committed('alice')}\t${payload}`, alice, target, count)).toBe(
      `${committed('alice')}\t{"prompt":{"erased":{"at":"2026-12-07T00:00:00.000Z","by":9}}}`,
    );
    expect(eraseTornLine(`${committed('alice')}\t${payload.slice(0, 40)}`, alice, target, count)).toBe(
      `${committed('alice')}\t`,
    );
    expect(count).toEqual({ entries: 0, fields: 0, quarantine: { erased: 2, unreadable: 0 } });
  });

  it("leaves other subjects' lines, lines without payloads, and counts payloads whose record cannot be read", () => {
    const count: ErasureCount = { entries: 0, fields: 0 };
    expect(eraseTornLine(`${committed('bob')}\t${payload}`, alice, target, count)).toBeUndefined();
    expect(eraseTornLine(committed('alice').slice(0, 50), alice, target, count)).toBeUndefined();
    expect(
      eraseTornLine(`${committed('alice').slice(0, 50)}\t${payload}`, alice, target, count),
    ).toBeUndefined();
    expect(count.quarantine).toEqual({ erased: 0, unreadable: 1 });
  });
});
