/**
 * Every tamper class of the integrity model, each detected by verify on its own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Checkpoint,
  CompactTree,
  hashLeaf,
  NoteSigner,
  rootAt,
  signCheckpoint,
  TileTree,
} from '../chain/index.js';
import { canonicalJson } from '../event/canonical.js';
import { DirSource, listSegments, trailLayout } from '../store/index.js';
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
import { proveConsistency, proveInclusion } from './prove.js';
import { query } from './query.js';
import { verifyDir } from './verify-dir.js';

const ENTRIES = 12;
let base: string;
let root: string;
let seed: string;
let vkey: string;
let oldCheckpoint: string;

beforeAll(async () => {
  root = tempDir();
  base = path.join(root, 'base');
  const trail = await AuditTrail.open({ dir: base });
  seed = trail.sealSeed!;
  vkey = trail.verifierKey;
  for (let i = 0; i < ENTRIES - 2; i++) trail.emit(sampleEvent(i));
  await trail.checkpoint();
  oldCheckpoint = path.join(root, 'exported-checkpoint');
  fs.copyFileSync(path.join(base, 'checkpoint'), oldCheckpoint);
  trail.emit(sampleEvent(100));
  trail.emit({ type: 'auth.failure', actor: { id: 'mallory', ip: '198.51.100.9' }, outcome: 'failure' });
  await trail.close();
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const copy = (): string => copyTrail(root, base);

function origin(dir: string): string {
  return (JSON.parse(fs.readFileSync(path.join(dir, 'trail.json'), 'utf8')) as { origin: string }).origin;
}

function rootOf(committed: string[]): Buffer {
  const tree = new CompactTree();
  for (const c of committed) tree.append(hashLeaf(c));
  return tree.root();
}

function segment(dir: string): string {
  return segmentFiles(dir)[0]!;
}

describe('verify', () => {
  describe('on an intact trail', () => {
    it('passes with the seal seed, the original key and an older exported checkpoint', () => {
      const report = verifyDir(base, { sealSeed: seed, verifierKey: vkey, against: [oldCheckpoint] });
      expect(report.failure).toBeUndefined();
      expect(report.entries).toBe(ENTRIES);
      expect(report.contentFields.verified).toBeGreaterThan(0);
    });
  });

  describe('when any single byte of an entry line is flipped', () => {
    it('fails for every byte position', () => {
      const dir = copy();
      const file = segment(dir);
      const original = fs.readFileSync(file);
      const lines = original.toString('utf8').split('\n');
      const start = Buffer.byteLength(`${lines.slice(0, 5).join('\n')}\n`);
      const end = start + Buffer.byteLength(lines[5]!) + 1; // through its newline
      const passed: number[] = [];
      for (let pos = start; pos < end; pos++) {
        const bytes = Buffer.from(original);
        bytes[pos] = bytes[pos]! ^ 0x01;
        fs.writeFileSync(file, bytes);
        if (verifyDir(dir).ok) passed.push(pos - start);
      }
      expect(passed).toEqual([]);
    });
  });

  describe('when the last entry is changed', () => {
    it('fails at that entry, and with ROOT_MISMATCH against the signed checkpoint without the tree files', () => {
      const dir = copy();
      const lines = readSegmentLines(segment(dir));
      lines[ENTRIES - 1] = lines[ENTRIES - 1]!.replace('mallory', 'mallorx');
      writeSegmentLines(segment(dir), lines);
      expect(verifyDir(dir).failure).toMatchObject({ code: 'LEAF_HASH_MISMATCH', seq: ENTRIES - 1 });
      // Without the persisted tree (a cache the intruder can delete), the signed root still catches it.
      fs.rmSync(path.join(dir, 'tree'), { recursive: true });
      expect(verifyDir(dir).failure?.code).toBe('ROOT_MISMATCH');
    });
  });

  describe('when a payload is reshaped', () => {
    const forged = [
      [
        'an erased marker with a forged value beside it',
        '{"erased":{"at":"2026-01-01T00:00:00.000Z"},"value":"FORGED"}',
      ],
      ['an erased marker that is not an object', '{"erased":1,"value":"FORGED"}'],
      [
        'an erased marker with an extra field',
        '{"erased":{"at":"2026-01-01T00:00:00.000Z","value":"FORGED"}}',
      ],
      ['a string in place of the payload', '"FORGED"'],
      ['null in place of the payload', 'null'],
    ] as const;
    for (const [name, payload] of forged) {
      it(`fails with ENTRY_MALFORMED at that entry for ${name}, and reads never show it`, async () => {
        const dir = copy();
        const lines = readSegmentLines(segment(dir));
        const [committed, payloads] = lines[3]!.split('\t');
        const response = JSON.parse(payloads!).response;
        lines[3] = `${committed}\t{"prompt":${payload},"response":${JSON.stringify(response)}}`;
        writeSegmentLines(segment(dir), lines);
        expect(verifyDir(dir).failure).toMatchObject({ code: 'ENTRY_MALFORMED', seq: 3 });
        const shown = JSON.stringify(await query(dir, {}).toArray());
        expect(shown).not.toContain('FORGED');
      });
    }
  });

  describe('when entries are deleted', () => {
    for (const [name, index, code] of [
      ['first', 0, 'CHAIN_SEQ_GAP'],
      ['middle', 5, 'CHAIN_SEQ_GAP'],
      ['last', ENTRIES - 1, 'TREE_SIZE_MISMATCH'],
    ] as const) {
      it(`detects the ${name} entry missing (${code})`, () => {
        const dir = copy();
        const lines = readSegmentLines(segment(dir));
        lines.splice(index, 1);
        writeSegmentLines(segment(dir), lines);
        const r = verifyDir(dir);
        expect(r.failure?.code).toBe(code);
        if (index < ENTRIES - 1) expect(r.failure?.seq).toBe(index);
      });
    }
  });

  describe('when two entries are swapped', () => {
    it('fails with CHAIN_SEQ_GAP at the first of them', () => {
      const dir = copy();
      const lines = readSegmentLines(segment(dir));
      [lines[3], lines[4]] = [lines[4]!, lines[3]!];
      writeSegmentLines(segment(dir), lines);
      const r = verifyDir(dir);
      expect(r.failure?.code).toBe('CHAIN_SEQ_GAP');
      expect(r.failure?.seq).toBe(3);
    });
  });

  describe('when an entry is inserted and the chain after it recomputed', () => {
    it('fails with ROOT_MISMATCH against the signed checkpoints', () => {
      const dir = copy();
      const lines = readSegmentLines(segment(dir));
      const forged = lines[4]!.replace('user-4', 'user-9');
      lines.splice(5, 0, forged);
      // Re-link every entry: seq and prev as an attacker without the signing key would.
      let prev: Buffer = Buffer.alloc(32);
      const relinked = lines.map((line, seq) => {
        const [committed, payloads] = line.split('\t');
        const fixed = committed!.replace(
          /,"prev":"[^"]+","seq":\d+,"v":1\}$/,
          `,"prev":"${prev.toString('base64')}","seq":${seq},"v":1}`,
        );
        prev = hashLeaf(fixed);
        return payloads === undefined ? fixed : `${fixed}\t${payloads}`;
      });
      writeSegmentLines(segment(dir), relinked);
      fs.rmSync(path.join(dir, 'tree'), { recursive: true });
      const r = verifyDir(dir);
      expect(r.failure?.code).toBe('ROOT_MISMATCH');
    });
  });

  describe('when an entry is appended, chained right, after the writer closed', () => {
    it('fails verify, and the next writer refuses to sign it (TREE_SIZE_MISMATCH), moving nothing', async () => {
      const dir = copy();
      const lines = readSegmentLines(segment(dir));
      const last = lines.at(-1)!.split('\t')[0]!;
      // No secret needed: the leaf hash is unkeyed, so anyone who can write the file can extend the chain.
      const forged = last
        .replace('"mallory"', '"trusted-admin"')
        .replace(
          /,"prev":"[^"]+","seq":\d+,"v":1\}$/,
          `,"prev":"${hashLeaf(last).toString('base64')}","seq":${ENTRIES},"v":1}`,
        );
      writeSegmentLines(segment(dir), [...lines, forged]);
      const before = fs.readFileSync(segment(dir));
      expect(verifyDir(dir).failure?.code).toBe('TREE_SIZE_MISMATCH');
      await expect(AuditTrail.open({ dir, handleExit: false })).rejects.toMatchObject({
        code: 'TREE_SIZE_MISMATCH',
        message: expect.stringContaining(
          `seq ${ENTRIES}..${ENTRIES} follow the checkpoint its writer signed when it closed`,
        ),
      });
      expect(fs.readFileSync(segment(dir)).equals(before)).toBe(true);
      expect(verifyDir(dir).failure?.code).toBe('TREE_SIZE_MISMATCH');
    });
  });

  describe('when the whole trail is rewritten and re-signed with a new key', () => {
    let forged: string;
    beforeAll(async () => {
      forged = copy();
      fs.rmSync(forged, { recursive: true });
      const meta = JSON.parse(fs.readFileSync(path.join(base, 'trail.json'), 'utf8')) as { origin: string };
      const trail = await AuditTrail.open({ dir: forged, origin: meta.origin });
      for (let i = 0; i < ENTRIES; i++) trail.emit(sampleEvent(i + 1000));
      await trail.close();
    });

    it('passes on its own (nothing outside the host to compare with)', () => {
      expect(verifyDir(forged).ok).toBe(true);
    });

    it('fails with CHECKPOINT_SIGNATURE_INVALID given the original verifier key', () => {
      expect(verifyDir(forged, { verifierKey: vkey }).failure?.code).toBe('CHECKPOINT_SIGNATURE_INVALID');
    });

    it('fails given an older exported checkpoint (--against)', () => {
      expect(verifyDir(forged, { against: [oldCheckpoint] }).ok).toBe(false);
    });
  });

  describe('when the log and its checkpoint files are truncated together', () => {
    // The intruder holds the host's signing key: the shortened trail gets a fresh, valid checkpoint.
    function truncate(): string {
      const dir = copy();
      const lines = readSegmentLines(segment(dir));
      writeSegmentLines(segment(dir), lines.slice(0, 4));
      fs.rmSync(path.join(dir, 'tree'), { recursive: true });
      fs.rmSync(path.join(dir, 'seals.jsonl'));
      const skey = fs.readFileSync(path.join(dir, 'keys', 'checkpoint.skey'), 'utf8').trim();
      const root = rootOf(lines.slice(0, 4).map((l) => l.split('\t')[0]!));
      const note = signCheckpoint(new Checkpoint(origin(dir), 4, root), NoteSigner.fromSkey(skey));
      const time = new Date().toISOString();
      fs.writeFileSync(
        path.join(dir, 'checkpoints.jsonl'),
        `${JSON.stringify({ note, reason: 'close', size: 4, time })}\n`,
      );
      fs.writeFileSync(path.join(dir, 'checkpoint'), note);
      return dir;
    }

    it('passes on its own (nothing outside the host to compare with)', () => {
      expect(verifyDir(truncate()).failure).toBeUndefined();
    });

    it('fails with TREE_SIZE_MISMATCH against an older exported checkpoint', () => {
      const r = verifyDir(truncate(), { against: [oldCheckpoint] });
      expect(r.failure?.code).toBe('TREE_SIZE_MISMATCH');
      expect(r.failure?.source).toBe(oldCheckpoint);
    });

    it('fails with SEAL_MISSING given the seal seed, even with the seals file removed', () => {
      expect(verifyDir(truncate(), { sealSeed: seed }).failure?.code).toBe('SEAL_MISSING');
    });
  });

  describe('when a seal is forged', () => {
    it('fails with SEAL_INVALID', () => {
      const dir = copy();
      const file = path.join(dir, 'seals.jsonl');
      const seals = fs.readFileSync(file, 'utf8').trim().split('\n');
      const last = JSON.parse(seals.at(-1)!) as { tag: string };
      const tag = Buffer.from(last.tag, 'base64');
      tag[0] = tag[0]! ^ 1;
      last.tag = tag.toString('base64');
      seals[seals.length - 1] = JSON.stringify(last);
      fs.writeFileSync(file, `${seals.join('\n')}\n`);
      expect(verifyDir(dir, { sealSeed: seed }).failure?.code).toBe('SEAL_INVALID');
    });
  });

  describe('when the end of the trail is rolled back to an earlier state, seals included', () => {
    it('fails with SEAL_MISSING given the seed: the seal key on disk cannot be rolled back', async () => {
      const dir = path.join(root, 'rolled');
      const first = await AuditTrail.open({ dir });
      const rollSeed = first.sealSeed!;
      first.emit(sampleEvent(1));
      await first.close(); // seal of epoch 0
      const earlier = copyTrail(root, dir);
      const second = await AuditTrail.open({ dir });
      second.emit(sampleEvent(2));
      await second.close(); // seal of epoch 1; the key is now at epoch 2
      // Every file as it was after the first close, but the key file as it is now.
      fs.copyFileSync(path.join(dir, 'keys', 'seal.key'), path.join(earlier, 'keys', 'seal.key'));
      expect(verifyDir(earlier).failure).toBeUndefined();
      expect(verifyDir(earlier, { sealSeed: rollSeed }).failure).toMatchObject({
        code: 'SEAL_MISSING',
        message: expect.stringMatching(/epochs 1\.\.1: missing, though the writer's seal key is at epoch 2/),
      });
      expect(verifyDir(dir, { sealSeed: rollSeed }).failure).toBeUndefined();
    });
  });

  describe('when a line of checkpoints.jsonl or seals.jsonl is not a record of its file', () => {
    // Before, such a line was skipped: a checkpoint or seal overwritten with garbage went unseen.
    function damage(name: string, line: number, text: string): string {
      const dir = copy();
      const file = path.join(dir, name);
      const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(lines.length).toBeGreaterThan(line);
      lines[line] = text;
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      return dir;
    }

    it.each([
      ['not JSON', '{"note":"'],
      ['JSON of another shape', 'null'],
      ['a record without its note', '{"reason":"interval","size":3,"time":"2026-01-01T00:00:00.000Z"}'],
    ])('names the checkpoint line: %s', (_, text) => {
      const r = verifyDir(damage('checkpoints.jsonl', 0, text));
      expect(r.failure).toMatchObject({
        code: 'CHECKPOINT_MALFORMED',
        message: 'checkpoints.jsonl line 1: not a stored checkpoint (changed or damaged)',
        file: expect.stringMatching(/checkpoints\.jsonl$/),
      });
    });

    it('names the seal line, with or without the seal seed', () => {
      const dir = damage('seals.jsonl', 0, '{"epoch":0,"tag":7}');
      for (const r of [verifyDir(dir), verifyDir(dir, { sealSeed: seed })])
        expect(r.failure).toMatchObject({
          code: 'SEAL_INVALID',
          message: 'seals.jsonl line 1: not a stored seal (changed or damaged)',
        });
    });
  });

  describe("when the seals are removed with the writer's seal key", () => {
    function strip(): string {
      const dir = copy();
      fs.writeFileSync(path.join(dir, 'seals.jsonl'), '');
      fs.rmSync(path.join(dir, 'keys', 'seal.key'));
      return dir;
    }

    it('fails with SEAL_MISSING while a lock says a writer runs (a running writer always has its key)', () => {
      const dir = strip();
      fs.writeFileSync(path.join(dir, 'writer.lock'), `${process.pid}\n`);
      expect(verifyDir(dir).failure).toBeUndefined();
      expect(verifyDir(dir, { sealSeed: seed }).failure).toMatchObject({
        code: 'SEAL_MISSING',
        message: expect.stringMatching(/writer's seal key is missing, though a writer holds the trail/),
      });
    });

    it('reports that the writer key was not at hand when no writer runs', () => {
      const intact = verifyDir(copy(), { sealSeed: seed });
      expect(intact.seals?.writerKeyChecked).toBe(true);
      // Without the key only the final seal's coverage tells a rollback: a copy for an auditor.
      const dir = copy();
      fs.rmSync(path.join(dir, 'keys', 'seal.key'));
      const r = verifyDir(dir, { sealSeed: seed });
      expect(r.failure).toBeUndefined();
      expect(r.seals?.writerKeyChecked).toBe(false);
      expect(verifyDir(strip(), { sealSeed: seed }).failure?.code).toBe('SEAL_MISSING');
    });
  });

  describe('when a seal is missing', () => {
    it('fails with SEAL_MISSING', () => {
      const dir = copy();
      fs.writeFileSync(path.join(dir, 'seals.jsonl'), '');
      expect(verifyDir(dir, { sealSeed: seed }).failure?.code).toBe('SEAL_MISSING');
    });
  });

  describe('when the persisted Merkle leaves are altered', () => {
    it('fails with ROOT_MISMATCH naming the entry', () => {
      const dir = copy();
      const file = path.join(dir, 'tree', 'level-00.hashes');
      const bytes = fs.readFileSync(file);
      bytes[32 * 3] = bytes[32 * 3]! ^ 0xff;
      fs.writeFileSync(file, bytes);
      const r = verifyDir(dir);
      expect(r.failure?.code).toBe('LEAF_HASH_MISMATCH');
      expect(r.failure?.seq).toBe(3);
    });
  });

  describe('when the writer closes while verify reads', () => {
    it('takes the trail as live: the checkpoints read before the close do not cover its last entries', async () => {
      const dir = copy();
      const file = path.join(dir, 'checkpoints.jsonl');
      const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
      fs.writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n`); // the close's checkpoint not yet written
      const source = new DirSource(dir);
      let asked = 0;
      source.live = () => asked++ === 0; // held when verify starts, released before it ends
      const r = verifyDir(source);
      expect(r.failure).toBeUndefined();
      expect(r.unsignedTail).toBeGreaterThan(0);
      expect(verifyDir(dir).failure?.code).toBe('TREE_SIZE_MISMATCH'); // no writer at either end
    });
  });

  describe('when a segment cannot be read', () => {
    it('throws STORE_IO naming the file: what cannot be read is not reported as tampering', () => {
      const dir = copy();
      const file = segment(dir);
      fs.rmSync(file);
      fs.mkdirSync(file); // opens, but every read fails (EISDIR)
      expect(() => verifyDir(dir, { workers: 0 })).toThrow(
        expect.objectContaining({ code: 'STORE_IO', message: `cannot read ${file}: EISDIR` }),
      );
    });
  });

  describe('when leaf hashes are added past the end of the log', () => {
    it('fails with TREE_SIZE_MISMATCH when no writer runs, and a writer that opens the trail cuts them', async () => {
      const dir = copy();
      const file = path.join(dir, 'tree', 'level-00.hashes');
      fs.appendFileSync(file, Buffer.alloc(32, 7));
      expect(verifyDir(dir).failure).toMatchObject({
        code: 'TREE_SIZE_MISMATCH',
        message: `tree/level-00.hashes: ${ENTRIES + 1} leaf hashes, but the log holds ${ENTRIES} entries`,
      });
      await (await AuditTrail.open({ dir })).close();
      expect(verifyDir(dir).failure).toBeUndefined();
    });
  });

  describe('when content payloads are altered', () => {
    /** Rewrites the payload part of entry 2 with `edit`. */
    function editPayloads(edit: (payloads: string) => string): string {
      const dir = copy();
      const lines = readSegmentLines(segment(dir));
      const [committed, payloads] = lines[2]!.split('\t');
      lines[2] = `${committed}\t${edit(payloads!)}`;
      writeSegmentLines(segment(dir), lines);
      return dir;
    }

    it('detects a payload added under the name __proto__', () => {
      const dir = editPayloads(
        (p) => `${p.slice(0, -1)},"__proto__":{"salt":"AAAAAAAAAAAAAAAAAAAAAA==","value":1}}`,
      );
      expect(verifyDir(dir).failure).toMatchObject({ code: 'CONTENT_COMMITMENT_MISMATCH', seq: 2 });
    });

    it('detects bytes slipped in after the last value', () => {
      const dir = editPayloads((p) => `${p.slice(0, -2)} }}`);
      expect(verifyDir(dir).failure?.seq).toBe(2);
    });

    it('detects the two payloads of an entry swapped', () => {
      const dir = editPayloads((p) => {
        const stored = JSON.parse(p) as Record<string, unknown>;
        return JSON.stringify({ prompt: stored.response, response: stored.prompt });
      });
      expect(verifyDir(dir).failure).toMatchObject({ code: 'CONTENT_COMMITMENT_MISMATCH', seq: 2 });
    });

    describe('marked erased, with no entry recording that erasure (anyone who can write the files could hide content so)', () => {
      const forge = (by: number) =>
        editPayloads((p) => {
          const stored = JSON.parse(p) as Record<string, unknown>;
          stored.prompt = { erased: { at: '2026-01-01T00:00:00.000Z', by } };
          return canonicalJson(stored);
        });

      it('fails when the entry named is not an erasure', () => {
        expect(verifyDir(forge(3)).failure).toMatchObject({
          code: 'CONTENT_COMMITMENT_MISMATCH',
          message: 'entry 2: content.prompt is marked erased by entry 3, which does not record that erasure',
        });
      });

      it('fails when the entry named is past the end of the log, or not after the erased one', () => {
        expect(verifyDir(forge(50)).failure?.message).toBe(
          'entry 2: content.prompt is marked erased by entry 50, which is not in the log',
        );
        expect(verifyDir(forge(2)).failure?.message).toBe(
          'content.prompt: erased by entry 2, which does not follow it',
        );
      });
    });

    it('detects a stored U+FFFD replaced by a byte that is not UTF-8 (a lenient decode reads it back the same)', async () => {
      const dir = path.join(root, 'replacement-char');
      const trail = await AuditTrail.open({ dir, handleExit: false });
      trail.emit({ type: 'model.request', content: { prompt: 'price: \ufffd100 ok' } });
      await trail.close();
      expect(verifyDir(dir).failure).toBeUndefined();
      const file = segment(dir);
      const bytes = fs.readFileSync(file);
      const at = bytes.indexOf(Buffer.from('\ufffd100', 'utf8'));
      expect(at).toBeGreaterThan(0);
      fs.writeFileSync(
        file,
        Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff]), bytes.subarray(at + 3)]),
      );
      expect(verifyDir(dir).failure).toMatchObject({ code: 'ENTRY_MALFORMED', seq: 0 });
    });
  });

  describe('on content whose value holds the text of the next payload header', () => {
    it('passes', async () => {
      const dir = path.join(root, 'header-like');
      const trail = await AuditTrail.open({ dir });
      // {"a":{},"b":{"salt":"x"}} holds `},"b":{"salt":"`, what the next field's header looks like.
      trail.emit({ type: 'tool.result', content: { a: { a: {}, b: { salt: 'x' } }, b: 'second' } });
      await trail.close();
      const report = verifyDir(dir);
      expect(report.failure).toBeUndefined();
      expect(report.contentFields.verified).toBe(2);
    });
  });
});

describe('when a persisted tree file is changed', () => {
  let big: string;
  beforeAll(async () => {
    big = path.join(root, 'big');
    const trail = await AuditTrail.open({ dir: big });
    for (let i = 0; i < 600; i++) trail.emit({ type: 'x.step', meta: { i } });
    await trail.close();
  });

  /** A copy of the 600-entry trail with one byte of `tree/<file>` flipped at hash `index`. */
  function flipped(file: string, index: number): string {
    const dir = copyTrail(root, big);
    const f = path.join(dir, 'tree', file);
    const bytes = fs.readFileSync(f);
    bytes[index * 32 + 5]! ^= 0x01;
    fs.writeFileSync(f, bytes);
    return dir;
  }

  it('verify names a node above the leaves that no longer hashes from the ones below', () => {
    expect(verifyDir(copyTrail(root, big)).failure).toBeUndefined();
    expect(verifyDir(flipped('level-08.hashes', 1)).failure).toMatchObject({
      code: 'ROOT_MISMATCH',
      message: expect.stringMatching(/node 1 of level 8 /),
    });
  });

  it('prove and consistency refuse, rather than hand out a proof that fails against the checkpoint', () => {
    const up = flipped('level-08.hashes', 0);
    expect(() => proveInclusion(up, { seq: 300 })).toThrow(
      expect.objectContaining({ code: 'ROOT_MISMATCH' }),
    );
    expect(() => proveConsistency(up, 300)).toThrow(expect.objectContaining({ code: 'ROOT_MISMATCH' }));
    // a leaf hash on the path of entry 0's proof
    const leaf = flipped('level-00.hashes', 1);
    expect(() => proveInclusion(leaf, { seq: 0 })).toThrow(
      expect.objectContaining({ code: 'ROOT_MISMATCH' }),
    );
    expect(proveInclusion(copyTrail(root, big), { seq: 300 }).treeSize).toBe(600);
  });
});

describe('when the checkpoint file is replaced', () => {
  it('verify fails for an older signed checkpoint or garbage; sealtrail checkpoint refuses garbage', () => {
    const older = copy();
    fs.copyFileSync(oldCheckpoint, path.join(older, 'checkpoint'));
    expect(verifyDir(older).failure).toMatchObject({ code: 'CHECKPOINT_MALFORMED' });
    const garbage = copy();
    fs.writeFileSync(path.join(garbage, 'checkpoint'), 'garbage\n');
    expect(verifyDir(garbage).failure).toMatchObject({ code: 'CHECKPOINT_MALFORMED' });
  });

  it('a writer that opens the trail puts back the latest one (a crash between line and file)', async () => {
    const dir = copy();
    fs.copyFileSync(oldCheckpoint, path.join(dir, 'checkpoint'));
    const trail = await AuditTrail.open({ dir });
    expect(fs.readFileSync(path.join(dir, 'checkpoint'), 'utf8')).not.toBe(
      fs.readFileSync(oldCheckpoint, 'utf8'),
    );
    await trail.close();
    expect(verifyDir(dir).failure).toBeUndefined();
  });
});

describe('when segments of a pruned trail are added, renamed or put back', () => {
  const DAY = 86_400_000;
  const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
  let pruned: string;
  let backup: string;
  let prunedSeed: string;

  // Entries 0..7 (AI events of two years ago, with content) are pruned at a boundary of 8; their
  // segments (four entries each) are kept aside, as a backup or a pruning that crashed would keep them.
  beforeAll(async () => {
    pruned = path.join(root, 'pruned');
    const trail = await AuditTrail.open({ dir: pruned, worker: false, maxSegmentBytes: 1024 });
    prunedSeed = trail.sealSeed!;
    for (let i = 0; i < 16; i++) {
      const old = i < 8;
      trail.emit(
        old
          ? { type: 'model.completion', ts: ago(730 - i), subject: `s${i}`, content: { prompt: `old ${i}` } }
          : { type: 'auth.failure', ts: ago(365 - i), actor: { id: `k${i}` } },
      );
      if (i % 4 === 3) await trail.flush();
    }
    await trail.close();
    backup = path.join(root, 'pruned-segments');
    fs.cpSync(trailLayout(pruned).segmentsDir, backup, { recursive: true });
    const again = await AuditTrail.open({ dir: pruned, create: false, worker: false });
    await again.applyRetention({ categories: { ai: { keep: '1y' }, authentication: { keep: '7y' } } });
    await again.close();
  });

  const segmentsOf = (dir: string) => trailLayout(dir).segmentsDir;
  const name = (seq: number, ext: string) => `${String(seq).padStart(20, '0')}.${ext}`;
  /** A copy of the pruned trail with the backed-up segment of first seq `seq` put back. */
  const withPruned = (...seqs: number[]): string => {
    const dir = copyTrail(root, pruned);
    for (const seq of seqs)
      for (const ext of ['log', 'summary.json'])
        fs.copyFileSync(path.join(backup, name(seq, ext)), path.join(segmentsOf(dir), name(seq, ext)));
    return dir;
  };
  /** Writes a segment of `lines` first seq `seq` and a summary that matches it, as a forger would. */
  const forgeSegment = (dir: string, seq: number, lines: string[]): void => {
    const file = path.join(segmentsOf(dir), name(seq, 'log'));
    if (lines.length > 0) writeSegmentLines(file, lines);
    else fs.writeFileSync(file, '');
    const treeSize = seq + lines.length;
    const tree = TileTree.open(path.join(dir, 'tree'), { readOnly: true });
    const rootB64 = rootAt(tree, Math.min(treeSize, tree.size)).toString('base64');
    tree.close();
    const summary = { firstSeq: seq, lastSeq: treeSize - 1, count: lines.length, treeSize, root: rootB64 };
    const ts = lines.map((l) => /"ts":"([^"]+)"(?!.*"ts":")/.exec(l.split('\t')[0]!)![1]!).sort();
    fs.writeFileSync(
      path.join(segmentsOf(dir), name(seq, 'summary.json')),
      JSON.stringify({
        ...summary,
        file: name(seq, 'log'),
        minTs: ts[0] ?? '',
        maxTs: ts.at(-1) ?? '',
        sealedAt: ago(0),
      }),
    );
    resealSummary(file);
  };
  const firstKept = (dir: string) => readSegmentLines(listSegments(segmentsOf(dir))[0]!.file);

  it('verifies the pruned trail itself from the boundary', () => {
    const report = verifyDir(copyTrail(root, pruned), { sealSeed: prunedSeed });
    expect(report.failure).toBeUndefined();
    expect(report.prunedBefore).toBe(8);
  });

  it('fails for a forged segment put before the boundary, which readers would show', async () => {
    const dir = copyTrail(root, pruned);
    const forged = firstKept(dir)[0]!
      .replace('"k8"', '"FORGED"')
      .replace(/"seq":8,/, '"seq":3,');
    forgeSegment(dir, 3, [forged]);
    const shown: string[] = [];
    for await (const e of query(dir, {}, { order: 'oldest' }))
      if (e.seq === 3) shown.push(String((e.actor as { id?: string }).id));
    expect(shown).toEqual(['FORGED']);
    for (const workers of [0, 2])
      expect(verifyDir(dir, { sealSeed: prunedSeed, workers }).failure).toMatchObject({
        code: 'CHAIN_LINK_MISMATCH',
        seq: 3,
      });
  });

  it('fails for a kept segment renamed to start earlier, with forged lines put before its entries', () => {
    const dir = copyTrail(root, pruned);
    const kept = listSegments(segmentsOf(dir))[0]!;
    const lines = firstKept(dir);
    fs.rmSync(kept.file);
    fs.rmSync(kept.summaryFile);
    const fake = (seq: number) =>
      lines[0]!.replace('"k8"', `"FORGED${seq}"`).replace(/"seq":8,/, `"seq":${seq},`);
    forgeSegment(dir, 6, [fake(6), fake(7), ...lines]);
    for (const workers of [0, 2])
      expect(verifyDir(dir, { workers }).failure).toMatchObject({ code: 'CHAIN_LINK_MISMATCH', seq: 6 });
  });

  it('verifies the segments a crashed pruning left just before the boundary, and their content', () => {
    const dir = withPruned(4);
    for (const workers of [0, 2]) {
      const report = verifyDir(dir, { sealSeed: prunedSeed, workers });
      expect(report.failure).toBeUndefined();
      expect(report.prunedBefore).toBe(4);
      expect(report.contentFields.verified).toBe(4);
    }
    const file = path.join(segmentsOf(dir), name(4, 'log'));
    const lines = readSegmentLines(file);
    lines[1] = lines[1]!.replace('old 5', 'new 5');
    writeSegmentLines(file, lines);
    resealSummary(file);
    for (const workers of [0, 2])
      expect(verifyDir(dir, { workers }).failure).toMatchObject({
        code: 'CONTENT_COMMITMENT_MISMATCH',
        seq: 5,
      });
  });

  it('fails for a segment named to start before its first entry, which hides entries from readers', async () => {
    const dir = copyTrail(root, pruned);
    const [, second] = listSegments(segmentsOf(dir));
    const lines = readSegmentLines(second!.file);
    fs.rmSync(second!.file);
    fs.rmSync(second!.summaryFile);
    forgeSegment(dir, 10, lines); // entries 12..15, named 10: readers look for 10 and 11 there
    const seqs: number[] = [];
    for await (const e of query(dir, { seqFrom: 10, seqTo: 12 }, { order: 'oldest' })) seqs.push(e.seq);
    expect(seqs).toEqual([]);
    for (const workers of [0, 2])
      expect(verifyDir(dir, { workers }).failure).toMatchObject({
        code: 'CHAIN_SEQ_GAP',
        seq: 12,
        file: name(10, 'log'),
      });
  });

  it('fails for an empty segment put between two, which readers take as holding the entries after its name', () => {
    const dir = copyTrail(root, pruned);
    forgeSegment(dir, 10, []);
    expect(() => proveInclusion(dir, { seq: 11 })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    for (const workers of [0, 2])
      expect(verifyDir(dir, { workers }).failure).toMatchObject({
        code: 'CHAIN_SEQ_GAP',
        seq: 12,
        file: name(10, 'log'),
      });
  });

  it('fails when the stored entries stop before the boundary, their checkpoints cut to match', () => {
    const dir = withPruned(0);
    for (const ref of listSegments(segmentsOf(dir))) if (ref.firstSeq >= 8) fs.rmSync(ref.file);
    const layout = trailLayout(dir);
    const kept = fs
      .readFileSync(layout.checkpoints, 'utf8')
      .trimEnd()
      .split('\n')
      .filter((l) => (JSON.parse(l) as { size: number }).size <= 4);
    fs.writeFileSync(layout.checkpoints, `${kept.join('\n')}\n`);
    fs.writeFileSync(layout.latestCheckpoint, (JSON.parse(kept.at(-1)!) as { note: string }).note);
    fs.rmSync(path.join(dir, 'tree'), { recursive: true });
    expect(verifyDir(dir).failure).toMatchObject({ code: 'CHAIN_SEQ_GAP', source: 'boundary.json' });
  });
});
