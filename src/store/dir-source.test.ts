import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getEntry, query } from '../read/query.js';
import { sampleEvent, tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { DirSource, type StoredLine } from './dir-source.js';
import { archiveSegment } from './segment-archive.js';
import { openSegmentFile } from './segment-file.js';
import { idOfLine } from './seq-by-id.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('DirSource.lineAt', () => {
  const dir = path.join(root, 'audit');
  let all: StoredLine[];
  /** A fresh copy of the trail, changed by `change`, whose every entry must still be found. */
  const expectAllFound = (name: string, change: (copy: string) => void) => {
    const copy = path.join(root, name);
    fs.cpSync(dir, copy, { recursive: true });
    change(copy);
    const source = new DirSource(copy);
    for (const line of all) expect(source.lineAt(line.seq)).toBe(line.text);
    expect(source.lineAt(all.length)).toBeUndefined();
    return source;
  };

  beforeAll(async () => {
    const trail = await AuditTrail.open({ dir, maxSegmentBytes: 1024 * 1024, worker: false, batchSize: 50 });
    for (let i = 0; i < 1500; i++) {
      trail.emit(
        i % 97 === 0 ? { type: 'x.big', content: { prompt: 'p'.repeat(60_000 + i) } } : sampleEvent(i),
      );
    }
    await trail.close();
    all = [...new DirSource(dir).lines()];
  });

  it('finds every entry across segments and lines longer than a read window, none past the end', () => {
    const source = new DirSource(dir);
    expect(source.segments().length).toBeGreaterThan(2);
    expect(all).toHaveLength(1500);
    for (const line of all) expect(source.lineAt(line.seq)).toBe(line.text);
    // Both sides of every segment boundary, and before the first entry.
    for (const { ref } of source.segments()) {
      for (const seq of [ref.firstSeq - 1, ref.firstSeq, ref.firstSeq + 1]) {
        if (seq >= 0) expect(source.lineAt(seq)).toBe(all[seq]!.text);
      }
    }
    expect(source.lineAt(1500)).toBeUndefined();
    expect(source.lineAt(-1)).toBeUndefined();
  });

  it('finds every entry in archived (.gz) segments', () => {
    const source = expectAllFound('archived', (copy) => {
      for (const { ref, summary } of new DirSource(copy).segments()) {
        if (summary !== undefined) archiveSegment(ref, summary);
      }
    });
    expect(source.segments().filter((s) => s.ref.file.endsWith('.gz')).length).toBeGreaterThan(1);
  });

  it('reads a segment listed before it was archived under its archive name', () => {
    const copy = path.join(root, 'archived-meanwhile');
    fs.cpSync(dir, copy, { recursive: true });
    const { ref, summary } = new DirSource(copy).segments()[0]!;
    const plain = fs.readFileSync(ref.file);
    archiveSegment(ref, summary!);
    expect(fs.existsSync(ref.file)).toBe(false);
    const seg = openSegmentFile(ref.file);
    const back = Buffer.alloc(seg.size);
    seg.read(back, 0, back.length, 0);
    seg.close();
    expect(back.equals(plain)).toBe(true);
  });

  it('finds every entry when the stored leaf count misleads the search of the last segment, or is absent', () => {
    const leaves = (copy: string) => path.join(copy, 'tree', 'level-00.hashes');
    expectAllFound('few-leaves', (copy) => fs.truncateSync(leaves(copy), 32));
    expectAllFound('many-leaves', (copy) => fs.appendFileSync(leaves(copy), Buffer.alloc(32 * 100_000)));
    expectAllFound('no-tree', (copy) => fs.rmSync(path.join(copy, 'tree'), { recursive: true }));
  });
});

describe('DirSource.findSeqById', () => {
  const ids = (dir: string) =>
    [...new DirSource(dir).lines()].map((l) => ({ seq: l.seq, id: idOfLine(l.text)! }));
  /** A trail of `n` sample events (in segments of `segmentBytes`): its folder, ids by seq, a source. */
  const writeTrail = async (name: string, n: number, segmentBytes = 64 * 1024) => {
    const dir = path.join(root, name);
    const trail = await AuditTrail.open({ dir, maxSegmentBytes: segmentBytes, worker: false, batchSize: 20 });
    for (let i = 0; i < n; i++) trail.emit(sampleEvent(i));
    await trail.close();
    return { dir, all: ids(dir), source: new DirSource(dir) };
  };

  it('finds every entry by its own id across segments, also where other fields hold an earlier entry id', async () => {
    const dir = path.join(root, 'by-id');
    const trail = await AuditTrail.open({ dir, maxSegmentBytes: 64 * 1024, worker: false, batchSize: 20 });
    const early: string[] = [];
    for (let i = 0; i < 600; i++) {
      // Some later entries carry an earlier entry's id as text in other fields.
      const other = early[i % 50];
      const id = trail.emit(
        other === undefined || i % 7 !== 0
          ? sampleEvent(i)
          : { ...sampleEvent(i), actor: { id: other }, meta: { id: other } },
      );
      early.push(id);
    }
    await trail.close();
    const source = new DirSource(dir);
    expect(source.segments().length).toBeGreaterThan(3);
    const all = ids(dir);
    expect(all).toHaveLength(600);
    for (const { seq, id } of all) expect(source.findSeqById(id)).toBe(seq);
    expect(source.findSeqById('01234567-89ab-7cde-8f01-23456789abcd')).toBeUndefined();
    expect(source.findSeqById('not an id')).toBeUndefined();
  });

  it('finds entries whose ids are out of order, written by a writer whose clock was set back', async () => {
    const dir = path.join(root, 'clock-back');
    const trail = await AuditTrail.open({ dir, worker: false });
    for (let i = 0; i < 50; i++) trail.emit(sampleEvent(i));
    await trail.close();
    // A second writer, a day behind: its ids sort before the first writer's.
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const now = Date.now; Date.now = () => now() - 86_400_000;
         const { AuditTrail } = await import(${JSON.stringify(dist)});
         const t = await AuditTrail.open({ dir: ${JSON.stringify(dir)}, worker: false });
         for (let i = 0; i < 50; i++) t.emit({ type: 'x.later', meta: { i } });
         await t.close();`,
      ],
      { encoding: 'utf8' },
    );
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const all = ids(dir);
    const later = all.filter((_, k) => k > 0 && all[k - 1]!.id > all[k]!.id);
    expect(later.length).toBeGreaterThan(0); // the ids really are out of order
    const source = new DirSource(dir);
    for (const { seq, id } of all) expect(source.findSeqById(id)).toBe(seq);
  });

  it('never throws for a damaged trail: a missing id is not found, present ids still are', async () => {
    const { dir, all, source } = await writeTrail('damaged', 400);
    const [first, second] = source.segments();
    expect(second).toBeDefined();
    // Overwrite a middle line of the first (sealed) segment with garbage of the same length.
    const bytes = fs.readFileSync(first!.ref.file);
    const starts = [0];
    for (let k = bytes.indexOf(10); k !== -1 && k + 1 < bytes.length; k = bytes.indexOf(10, k + 1))
      starts.push(k + 1);
    const mid = Math.floor(starts.length / 2);
    bytes.fill(0x78, starts[mid]!, starts[mid + 1]! - 1);
    fs.writeFileSync(first!.ref.file, bytes);

    const missing = '01234567-89ab-7cde-8f01-23456789abcd';
    const issues: unknown[] = [];
    expect(source.findSeqById(missing)).toBeUndefined();
    expect(await getEntry(dir, missing, { onIssue: (i) => issues.push(i) })).toBeUndefined();
    const rows = [];
    for await (const e of query(
      dir,
      { id: missing, seqFrom: 0, seqTo: all.length },
      { onIssue: (i) => issues.push(i) },
    ))
      rows.push(e);
    expect(rows).toEqual([]);
    // Entries on either side of the damage, in the damaged segment too, are still found.
    for (const { seq, id } of [all[0]!, all[mid - 1]!, all[mid + 1]!]) {
      expect(source.findSeqById(id)).toBe(seq);
      expect((await getEntry(dir, id))?.id).toBe(id);
    }
    const later = all.at(-1)!;
    expect(source.findSeqById(later.id)).toBe(later.seq);
    expect((await getEntry(dir, later.id))?.id).toBe(later.id);
  });

  it('finds entries in readable segments when another segment cannot be read at all', async () => {
    const { dir, all, source } = await writeTrail('unreadable', 400);
    const segments = source.segments();
    expect(segments.length).toBeGreaterThan(3);
    // The second segment becomes a directory: every read of it fails (EISDIR).
    const second = segments[1]!.ref;
    fs.rmSync(second.file);
    fs.mkdirSync(second.file);
    const readable = all.filter(({ seq }) => seq < second.firstSeq || seq >= segments[2]!.ref.firstSeq);
    for (const { seq, id } of [readable[0]!, readable.at(-1)!, ...readable.filter((_, k) => k % 50 === 0)]) {
      expect(source.findSeqById(id)).toBe(seq);
      expect((await getEntry(dir, id))?.seq).toBe(seq);
    }
    expect(source.findSeqById('ffffffff-ffff-7fff-bfff-ffffffffffff')).toBeUndefined();
    expect(source.findSeqById('01234567-89ab-7cde-8f01-23456789abcd')).toBeUndefined();
  });

  it('finds an entry by id when a line before it was removed (lines no longer where their seqs say)', async () => {
    const { dir, all, source } = await writeTrail('line-removed', 100, 1024 * 1024);
    const [only] = source.segments();
    expect(source.segments()).toHaveLength(1); // the removed line comes before the target in its segment
    const lines = fs.readFileSync(only!.ref.file, 'utf8').split('\n');
    lines.splice(40, 1);
    fs.writeFileSync(only!.ref.file, lines.join('\n'));
    const target = all[70]!;
    expect((await getEntry(dir, target.id))?.id).toBe(target.id);
    const rows = [];
    for await (const e of query(dir, { id: target.id })) rows.push(e);
    expect(rows.map((e) => e.id)).toEqual([target.id]);
  });
});
