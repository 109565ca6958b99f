/**
 * verifyDir checks segments in runs, in parallel threads for a large trail: for every kind of
 * damage it must give the report the line-by-line verifier gives (verifyTrail over the trail's own
 * lines), with the same first failing seq, file and reason, in threads and in the caller's thread.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VerifyReport, verifyTrail } from '../chain/index.js';
import { canonicalJson } from '../event/canonical.js';
import { DirSource } from '../store/index.js';
import {
  readSegmentLines,
  resealSummary,
  sampleEvent,
  segmentFiles,
  tempDir,
  writeSegmentLines,
} from '../test-support/fixtures.js';
import { copyTrail } from '../test-support/read-fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { verifyDir } from './verify-dir.js';

const ENTRIES = 400;
let root: string;
let base: string;

beforeAll(async () => {
  root = tempDir();
  base = path.join(root, 'base');
  // Small segments: a dozen of them, each a task of its own.
  const trail = await AuditTrail.open({ dir: base, maxSegmentBytes: 32 * 1024, handleExit: false });
  for (let i = 0; i < ENTRIES; i++) {
    if (i % 7 === 3) trail.emit({ type: 'auth.failure', actor: { id: `u${i}` }, outcome: 'failure' });
    else trail.emit(sampleEvent(i));
    if (i % 50 === 49) await trail.checkpoint();
  }
  await trail.close();
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const copy = (): string => copyTrail(root, base);

/** The verifier fed line by line, as before segments were checked in runs. */
function lineByLine(dir: string): VerifyReport {
  const source = new DirSource(dir);
  const leaves = source.storedLeaves();
  try {
    return verifyTrail({
      origin: source.meta.origin,
      verifierKey: source.meta.verifierKey,
      lines: source.lineBytes(0),
      checkpoints: source
        .checkpoints()
        .map((c, i) => ({ note: c.note, source: `checkpoints.jsonl line ${i + 1}` })),
      live: source.live(),
      storedLeaf: leaves.leaf,
    });
  } finally {
    leaves.close();
  }
}

/** Verifies `dir` in two threads and in this one; both must equal the line-by-line report. */
function expectSameReports(dir: string): VerifyReport {
  const expected = lineByLine(dir);
  expect(verifyDir(dir, { workers: 2 })).toEqual(expected);
  expect(verifyDir(dir, { workers: 0 })).toEqual(expected);
  return expected;
}

/** The segment files and, for each, the seq of its first line. */
function segments(dir: string): Array<{ file: string; firstSeq: number }> {
  return segmentFiles(dir).map((file) => ({ file, firstSeq: Number(path.basename(file, '.log')) }));
}

/** A seq in the newest (unsealed) segment whose event has content. */
function contentSeqInOpenSegment(dir: string): number {
  const first = segments(dir).at(-1)!.firstSeq;
  return first % 7 === 3 ? first + 1 : first;
}

function summaryOf(file: string): string {
  return file.replace(/\.log$/, '.summary.json');
}

function editLine(dir: string, seq: number, edit: (line: string) => string): void {
  const seg = segments(dir).findLast((s) => s.firstSeq <= seq)!;
  const lines = readSegmentLines(seg.file);
  lines[seq - seg.firstSeq] = edit(lines[seq - seg.firstSeq]!);
  writeSegmentLines(seg.file, lines);
}

describe('verifyDir in runs and threads', () => {
  it('writes a trail of many sealed segments for these tests', () => {
    expect(segments(base).length).toBeGreaterThanOrEqual(6);
  });

  describe('on an intact trail', () => {
    it('passes with every entry and content field counted, as line by line', () => {
      const r = expectSameReports(base);
      expect(r.ok).toBe(true);
      expect(r.entries).toBe(ENTRIES);
      expect(r.contentFields.verified).toBeGreaterThan(300);
    });
  });

  describe('when a node above the leaves is changed in the tree files', () => {
    it('fails with ROOT_MISMATCH naming it, in threads as in this one', () => {
      const dir = copy();
      const file = path.join(dir, 'tree', 'level-08.hashes');
      const bytes = fs.readFileSync(file);
      bytes[0] = bytes[0]! ^ 1;
      fs.writeFileSync(file, bytes);
      for (const workers of [0, 2])
        expect(verifyDir(dir, { workers }).failure).toMatchObject({
          code: 'ROOT_MISMATCH',
          message: expect.stringMatching(/node 0 of level 8/),
        });
    });
  });

  describe("when a sealed segment's summary claims another tree", () => {
    for (const [what, edit, code] of [
      [
        'root',
        (j: Record<string, unknown>) => ({ ...j, root: Buffer.alloc(32, 7).toString('base64') }),
        'ROOT_MISMATCH',
      ],
      ['size', (j: Record<string, unknown>) => ({ ...j, treeSize: 5 }), 'SEGMENT_CHECKSUM_MISMATCH'],
    ] as const) {
      it(`fails for its ${what} (${code}), which archive push trusts`, () => {
        const dir = copy();
        const summary = summaryOf(segments(dir)[1]!.file);
        fs.writeFileSync(summary, JSON.stringify(edit(JSON.parse(fs.readFileSync(summary, 'utf8')))));
        expect(verifyDir(dir, { workers: 0 }).failure?.code).toBe(code);
        expect(verifyDir(dir, { workers: 2 }).failure?.code).toBe(code);
      });
    }
  });

  describe('when a content payload is changed in a sealed segment', () => {
    it('fails with CONTENT_COMMITMENT_MISMATCH at that seq', () => {
      const dir = copy();
      editLine(dir, 100, (l) => l.replace('Revenue grew', 'Revenue fell'));
      expect(expectSameReports(dir).failure).toMatchObject({ code: 'CONTENT_COMMITMENT_MISMATCH', seq: 100 });
    });
  });

  describe('when an event is changed', () => {
    it('fails with LEAF_HASH_MISMATCH at that seq', () => {
      const dir = copy();
      editLine(dir, 57, (l) => l.replace('"user-', '"usex-'));
      expect(expectSameReports(dir).failure).toMatchObject({ code: 'LEAF_HASH_MISMATCH', seq: 57 });
    });
  });

  describe('when the last entry of a segment is changed and the tree files are gone', () => {
    it('fails with CHAIN_LINK_MISMATCH at the first entry of the next segment', () => {
      const dir = copy();
      const [, , seg, next] = segments(dir);
      editLine(dir, next!.firstSeq - 1, (l) => l.replace('"event":{', '"event":{"x":1,'));
      // Its summary rewritten to match, so that its checksum does not fail first.
      resealSummary(seg!.file);
      fs.rmSync(path.join(dir, 'tree'), { recursive: true });
      const r = expectSameReports(dir);
      expect(r.failure).toMatchObject({ code: 'CHAIN_LINK_MISMATCH', seq: next!.firstSeq });
      expect(r.failure?.file).toBe(path.basename(next!.file));
    });
  });

  describe("when a sealed segment's summary is removed", () => {
    it('fails with SEGMENT_CHECKSUM_MISMATCH naming the segment: only the newest may be open', () => {
      const dir = copy();
      const seg = segments(dir)[1]!;
      fs.rmSync(summaryOf(seg.file));
      const r = verifyDir(dir, { workers: 2 });
      expect(r.failure).toMatchObject({ code: 'SEGMENT_CHECKSUM_MISMATCH' });
      expect(r.failure?.message).toBe(
        `${path.basename(seg.file)}: a later segment follows, but its sealed summary is missing or unreadable`,
      );
      expect(verifyDir(dir, { workers: 0 }).failure?.message).toBe(r.failure?.message);
    });

    it('and when its byte count is changed', () => {
      const dir = copy();
      const seg = segments(dir)[1]!;
      const summary = JSON.parse(fs.readFileSync(summaryOf(seg.file), 'utf8')) as Record<string, unknown>;
      summary.bytes = 1;
      fs.writeFileSync(summaryOf(seg.file), JSON.stringify(summary));
      expect(expectSameReports(dir).failure).toMatchObject({
        code: 'SEGMENT_CHECKSUM_MISMATCH',
        message: `${path.basename(seg.file)}: bytes differ from its sealed summary`,
      });
    });
  });

  describe('when a line is deleted', () => {
    it('fails with CHAIN_SEQ_GAP at its seq', () => {
      const dir = copy();
      const seg = segments(dir)[2]!;
      const lines = readSegmentLines(seg.file);
      lines.splice(4, 1);
      writeSegmentLines(seg.file, lines);
      expect(expectSameReports(dir).failure).toMatchObject({ code: 'CHAIN_SEQ_GAP', seq: seg.firstSeq + 4 });
    });
  });

  describe('when a whole segment is removed', () => {
    it('fails with CHAIN_SEQ_GAP at its first seq', () => {
      const dir = copy();
      const seg = segments(dir)[4]!;
      fs.rmSync(seg.file);
      fs.rmSync(summaryOf(seg.file));
      expect(expectSameReports(dir).failure).toMatchObject({ code: 'CHAIN_SEQ_GAP', seq: seg.firstSeq });
    });
  });

  describe('when bytes are appended to a sealed segment', () => {
    it('fails with SEGMENT_CHECKSUM_MISMATCH after its last entry', () => {
      const dir = copy();
      const [, seg, next] = segments(dir);
      fs.appendFileSync(seg!.file, '{"torn');
      const r = expectSameReports(dir);
      expect(r.failure).toMatchObject({ code: 'SEGMENT_CHECKSUM_MISMATCH', seq: next!.firstSeq });
    });
  });

  describe('when a sealed segment is archived', () => {
    it('passes, and fails with SEGMENT_CHECKSUM_MISMATCH naming the archive once it is damaged', () => {
      const dir = copy();
      const seg = segments(dir)[1]!;
      const gz = `${seg.file}.gz`;
      fs.writeFileSync(gz, gzipSync(fs.readFileSync(seg.file)));
      fs.rmSync(seg.file);
      expect(expectSameReports(dir).ok).toBe(true);
      // zero bytes appended, which gunzip would skip without a word
      const intact = fs.readFileSync(gz);
      fs.appendFileSync(gz, Buffer.alloc(16));
      expect(expectSameReports(dir).failure).toMatchObject({
        code: 'SEGMENT_CHECKSUM_MISMATCH',
        file: path.basename(gz),
      });
      fs.writeFileSync(gz, intact);
      const bytes = fs.readFileSync(gz);
      bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
      fs.writeFileSync(gz, bytes);
      // The damaged archive names itself, not the segment read before it.
      expect(expectSameReports(dir).failure).toMatchObject({
        code: 'SEGMENT_CHECKSUM_MISMATCH',
        file: path.basename(gz),
      });
    });
  });

  describe('when a payload of the open segment is marked erased, and no entry records that erasure', () => {
    it('fails naming the entry, in runs and threads alike', () => {
      const dir = copy();
      const seq = contentSeqInOpenSegment(dir);
      editLine(dir, seq, (line) => {
        const tab = line.indexOf('\t');
        const payloads = JSON.parse(line.slice(tab + 1)) as Record<string, unknown>;
        payloads.prompt = { erased: { at: '2026-01-01T00:00:00.000Z', by: seq + 1 } };
        return `${line.slice(0, tab)}\t${canonicalJson(payloads)}`;
      });
      const r = expectSameReports(dir);
      expect(r.failure).toMatchObject({ code: 'CONTENT_COMMITMENT_MISMATCH', seq: seq + 1 });
      expect(r.failure?.message).toBe(
        `entry ${seq}: content.prompt is marked erased by entry ${seq + 1}, which does not record that erasure`,
      );
    });
  });

  describe('when the payloads of the open segment are not canonical', () => {
    it('fails with ENTRY_MALFORMED at that seq', () => {
      const dir = copy();
      const seq = contentSeqInOpenSegment(dir);
      editLine(dir, seq, (line) => line.replace('{"prompt":{"salt"', '{"prompt": {"salt"'));
      expect(expectSameReports(dir).failure).toMatchObject({ code: 'ENTRY_MALFORMED', seq });
    });
  });

  describe('when the persisted leaf hashes are cut short', () => {
    it('passes: the leaves it has still match', () => {
      const dir = copy();
      fs.truncateSync(path.join(dir, 'tree', 'level-00.hashes'), 32 * 100);
      expect(expectSameReports(dir).ok).toBe(true);
    });
  });

  describe('when one byte anywhere is flipped', () => {
    it('fails as line by line, for bytes spread over the segments', () => {
      const dir = copy();
      const files = segments(dir);
      const originals = files.map((s) => fs.readFileSync(s.file));
      for (let k = 0; k < 6; k++) {
        const i = (k * 3) % files.length;
        const bytes = Buffer.from(originals[i]!);
        const at = Math.floor((((k * 7919) % 997) / 997) * bytes.length);
        bytes[at] = bytes[at]! ^ 0x04;
        fs.writeFileSync(files[i]!.file, bytes);
        expect(expectSameReports(dir).ok).toBe(false);
        fs.writeFileSync(files[i]!.file, originals[i]!);
      }
    });
  });
});
