import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { acquireLock } from '../store/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { decryptField, encryptField } from './field-cipher.js';
import { KeyRing } from './key-ring.js';
import { SubjectKeyStore } from './subject-keys.js';
import { SUBJECT_RECORD_BYTES } from './subject-record.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const CONTEXT = 'example.test/trail';
const K1 = randomBytes(32);
const master = KeyRing.fromKeys([{ id: 'k1', key: K1 }], { context: CONTEXT });
let n = 0;
const freshDir = () => path.join(root, `trail-${++n}`, 'keys', 'subjects');

const HOSTILE = [
  'alice@example.com',
  '../../etc/passwd',
  'con',
  'line\nbreak',
  'nul\0byte',
  '😀 ünïcødé',
  '/',
  'x'.repeat(5000),
];

async function errorOf(p: Promise<unknown>): Promise<AuditError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AuditError) return err;
    throw err;
  }
  throw new Error('expected an AuditError');
}

/** Every byte under `dir`, names and contents, as latin1 text for searching. */
function everything(dir: string): string {
  return fs
    .readdirSync(dir)
    .map((f) => `${f}\n${fs.readFileSync(path.join(dir, f), 'latin1')}`)
    .join('\n');
}

describe('SubjectKeyStore', () => {
  describe('subjectKey', () => {
    it('creates one key per subject, stored under a keyed hash: no subject id on disk', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      for (const id of HOSTILE) await store.subjectKey(id);
      const files = fs.readdirSync(dir).sort();
      expect(files).toHaveLength(HOSTILE.length + 1);
      for (const f of files) expect(f).toMatch(/^(?:[0-9a-f]{32}|index)\.key$/);
      const all = everything(dir);
      // Short ids such as '/' occur in any base64; the distinctive ones must not appear.
      for (const id of HOSTILE.filter((i) => i.length >= 8)) expect(all).not.toContain(id.slice(0, 20));
    });

    it('keeps files 0600 in a 0700 directory, each record 512 bytes', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      await store.subjectKey('bob');
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      for (const f of fs.readdirSync(dir)) {
        const st = fs.statSync(path.join(dir, f));
        expect(st.mode & 0o777).toBe(0o600);
        expect(st.size).toBe(SUBJECT_RECORD_BYTES);
      }
    });

    it('gives the same key back, also from a reopened store', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      const first = await store.subjectKey('carol');
      expect(first.current).toMatch(/^s-[0-9a-f]{16}$/);
      expect(first.source.provider).toBe('subject');
      const text = encryptField(first, { aad: 'entry 1', plaintext: 'carol said this' });
      const reopened = await SubjectKeyStore.open(dir, master);
      expect(reopened.subjectName('carol')).toBe(store.subjectName('carol'));
      const again = await reopened.subjectKey('carol', { mode: 'read' });
      expect(again.current).toBe(first.current);
      expect(decryptField(again, text, 'entry 1')).toBe('carol said this');
    });

    it('gives different subjects unrelated keys and names', async () => {
      const store = await SubjectKeyStore.open(freshDir(), master);
      const a = await store.subjectKey('dave');
      const b = await store.subjectKey('erin');
      expect(store.subjectName('dave')).not.toBe(store.subjectName('erin'));
      const text = encryptField(a, { aad: 'x', plaintext: 'dave' });
      expect(() => decryptField(b, text.replace(a.current, b.current), 'x')).toThrow(
        expect.objectContaining({ code: 'DECRYPT_FAILED' }),
      );
    });

    it('names subjects differently in another store (another naming key)', async () => {
      const a = await SubjectKeyStore.open(freshDir(), master);
      const b = await SubjectKeyStore.open(freshDir(), master);
      expect(a.subjectName('frank')).not.toBe(b.subjectName('frank'));
    });

    it('creates a single key when many writers ask at once', async () => {
      const store = await SubjectKeyStore.open(freshDir(), master);
      const rings = await Promise.all(Array.from({ length: 20 }, () => store.subjectKey('grace')));
      expect(new Set(rings.map((r) => r.current)).size).toBe(1);
    });

    it('reading a subject that never had a key fails with KEY_NOT_FOUND, naming only the hash', async () => {
      const store = await SubjectKeyStore.open(freshDir(), master);
      const err = await errorOf(store.subjectKey('heidi@example.com', { mode: 'read' }));
      expect(err.code).toBe('KEY_NOT_FOUND');
      expect(err.message).toBe(`subject key ${store.subjectName('heidi@example.com')}: not found`);
      expect(err.message).not.toContain('heidi');
    });

    it('refuses a key file moved to another subject with KEY_INVALID', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      await store.subjectKey('ivan');
      const from = path.join(dir, `${store.subjectName('ivan')}.key`);
      fs.copyFileSync(from, path.join(dir, `${store.subjectName('judy')}.key`));
      const fresh = await SubjectKeyStore.open(dir, master);
      expect((await errorOf(fresh.subjectKey('judy', { mode: 'read' }))).code).toBe('KEY_INVALID');
    });

    it('needs the master key that wrapped it: KEY_NOT_FOUND naming its id', async () => {
      const dir = freshDir();
      await SubjectKeyStore.open(dir, master);
      const stranger = KeyRing.fromKeys([{ id: 'k9', key: randomBytes(32) }], { context: CONTEXT });
      const err = await errorOf(SubjectKeyStore.open(dir, stranger));
      expect(err.code).toBe('KEY_NOT_FOUND');
      expect(err.message).toMatch(/\bk1\b/);
    });

    describe('when the master key that wrapped it is still missing after the ring is read again', () => {
      it('reads the ring again once, not at every request (a key file costs a scrypt derivation)', async () => {
        const dir = freshDir();
        const k9 = KeyRing.fromKeys(
          [
            { id: 'k1', key: K1 },
            { id: 'k9', key: randomBytes(32) },
          ],
          { context: CONTEXT, current: 'k9' },
        );
        await SubjectKeyStore.open(dir, master); // the naming key under k1
        await (await SubjectKeyStore.open(dir, k9)).subjectKey('ivan'); // ivan's key under k9
        let reloads = 0;
        const store = await SubjectKeyStore.open(dir, master, {
          reloadRing: async () => {
            reloads++;
            return master;
          },
        });
        for (let i = 0; i < 3; i++) {
          const err = await errorOf(store.subjectKey('ivan'));
          expect(err.code).toBe('KEY_NOT_FOUND');
          expect(err.message).toMatch(/\bk9\b/);
        }
        expect(reloads).toBe(1);
      });
    });
  });

  describe('destroySubjectKey', () => {
    it('leaves nothing of the key on disk or in memory, and reading fails with KEY_DESTROYED', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      const ring = await store.subjectKey('mallory');
      const generation = ring.current;
      const text = encryptField(ring, { aad: 'e', plaintext: 'personal data' });
      const file = path.join(dir, `${store.subjectName('mallory')}.key`);
      const stored = JSON.parse(fs.readFileSync(file, 'utf8'));
      const dataKey = ring.exportForWorker().keys[0]!.key;

      expect(await store.destroySubjectKey('mallory')).toBe(generation);

      expect(fs.existsSync(file)).toBe(false);
      const all = everything(dir);
      expect(all).not.toContain(stored.wrapped);
      expect(all).not.toContain(Buffer.from(dataKey).toString('latin1'));
      expect(() => ring.exportForWorker()).toThrow(expect.objectContaining({ code: 'KEY_NOT_FOUND' }));
      const err = await errorOf(store.subjectKey('mallory', { mode: 'read' }));
      expect(err.code).toBe('KEY_DESTROYED');
      const reopened = await SubjectKeyStore.open(dir, master);
      expect((await errorOf(reopened.subjectKey('mallory', { mode: 'read' }))).code).toBe('KEY_DESTROYED');
      expect(text).toMatch(/^st1:s-/);
    });

    it('writes a 0600 erasure record naming the destroyed generation', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      const { current } = await store.subjectKey('niaj');
      await store.destroySubjectKey('niaj');
      const file = path.join(dir, `${store.subjectName('niaj')}.erased`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const record = JSON.parse(fs.readFileSync(file, 'utf8'));
      expect(record).toMatchObject({
        format: 'sealtrail-subject-erased/1',
        erased: [{ generation: current }],
      });
    });

    it('answers the generation destroyed, and undefined for a subject without a key and for a second destruction', async () => {
      const store = await SubjectKeyStore.open(freshDir(), master);
      expect(await store.destroySubjectKey('olivia')).toBeUndefined();
      const { current } = await store.subjectKey('peggy');
      expect(await store.destroySubjectKey('peggy')).toBe(current);
      expect(await store.destroySubjectKey('peggy')).toBeUndefined();
    });

    it('lets writing start a new generation, while the old one stays destroyed', async () => {
      const store = await SubjectKeyStore.open(freshDir(), master);
      const old = await store.subjectKey('rupert');
      const oldGeneration = old.current;
      const text = encryptField(old, { aad: 'e', plaintext: 'old' });
      await store.destroySubjectKey('rupert');
      const fresh = await store.subjectKey('rupert');
      expect(fresh.current).not.toBe(oldGeneration);
      expect(() => decryptField(fresh, text, 'e')).toThrow(
        expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
      );
      const err = await errorOf(store.subjectKey('rupert', { mode: 'read', generation: oldGeneration }));
      expect(err.code).toBe('KEY_DESTROYED');
      expect((await store.subjectKey('rupert', { mode: 'read', generation: fresh.current })).current).toBe(
        fresh.current,
      );
      const unknown = await errorOf(
        store.subjectKey('rupert', { mode: 'read', generation: 's-0000000000000000' }),
      );
      expect(unknown.code).toBe('KEY_NOT_FOUND');
    });

    describe('when the key is asked for while its destruction waits its turn', () => {
      it('hands out a new generation, never the key being destroyed', async () => {
        const store = await SubjectKeyStore.open(freshDir(), master);
        const old = await store.subjectKey('quentin');
        const destroying = store.destroySubjectKey('quentin');
        const asked = store.subjectKey('quentin');
        expect(await destroying).toBe(old.current);
        const ring = await asked;
        expect(ring.current).not.toBe(old.current);
        // A live key: it encrypts, and reading names it.
        expect(encryptField(ring, { aad: 'e', plaintext: 'after' })).toMatch(/^st1:s-/);
        expect((await store.subjectKey('quentin', { mode: 'read' })).current).toBe(ring.current);
      });
    });

    it('finishes a destruction that was interrupted after its erasure record', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      await store.subjectKey('sybil');
      const file = path.join(dir, `${store.subjectName('sybil')}.key`);
      const saved = fs.readFileSync(file);
      await store.destroySubjectKey('sybil');
      // As if the process died between the erasure record and the shredding:
      fs.writeFileSync(file, saved, { mode: 0o600 });
      const reopened = await SubjectKeyStore.open(dir, master);
      expect((await errorOf(reopened.subjectKey('sybil', { mode: 'read' }))).code).toBe('KEY_DESTROYED');
      expect(fs.existsSync(file)).toBe(false);
    });
  });

  describe('rewrap', () => {
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const keyIdOf = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')).keyId;

    it('waits while another process destroys a key, and does not write that key back', async () => {
      const dir = freshDir();
      const writer = await SubjectKeyStore.open(dir, master);
      for (const id of ['xavier', 'yolanda']) await writer.subjectKey(id);
      const name = writer.subjectName('xavier');
      const file = path.join(dir, `${name}.key`);
      // the lock an erasure in another process holds while it shreds the key
      const release = acquireLock(path.join(dir, `${name}.lock`), 'erasing');
      const rotator = await SubjectKeyStore.open(dir, master);
      const rewrap = rotator.rewrap(master.rotate({ key: randomBytes(32) }));
      await pause(200);
      expect(keyIdOf(file)).toBe('k1');
      fs.rmSync(file);
      release();
      expect(await rewrap).toEqual({ rewrapped: 1, failed: [] });
      expect(fs.existsSync(file)).toBe(false);
      expect(keyIdOf(path.join(dir, `${writer.subjectName('yolanda')}.key`))).toBe('k2');
    });

    it('lets a destruction wait while another process rewraps that key', async () => {
      const dir = freshDir();
      const writer = await SubjectKeyStore.open(dir, master);
      const { current } = await writer.subjectKey('zelda');
      const name = writer.subjectName('zelda');
      const release = acquireLock(path.join(dir, `${name}.lock`), 'rewrapping');
      const destroyed = writer.destroySubjectKey('zelda');
      await pause(200);
      expect(fs.existsSync(path.join(dir, `${name}.key`))).toBe(true);
      release();
      expect(await destroyed).toBe(current);
      expect(fs.existsSync(path.join(dir, `${name}.key`))).toBe(false);
      expect(fs.readdirSync(dir).filter((f) => f.includes('.lock'))).toEqual([]);
    });

    it('finishes an interrupted destruction instead of rewrapping the key', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      await store.subjectKey('yvonne');
      const file = path.join(dir, `${store.subjectName('yvonne')}.key`);
      const saved = fs.readFileSync(file);
      await store.destroySubjectKey('yvonne');
      // as if the process died after the erasure record, before the key file was gone
      fs.writeFileSync(file, saved, { mode: 0o600 });
      const rotator = await SubjectKeyStore.open(dir, master);
      expect(await rotator.rewrap(master.rotate({ key: randomBytes(32) }))).toEqual({
        rewrapped: 0,
        failed: [],
      });
      expect(fs.existsSync(file)).toBe(false);
    });

    it('rewraps the others when one key file is damaged, and names it', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      for (const id of ['trent', 'victor', 'walter']) await store.subjectKey(id);
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.key') && f !== 'index.key');
      const damaged = path.join(dir, files[1]!);
      fs.writeFileSync(damaged, 'x');
      const rotated = master.rotate({ key: randomBytes(32) });
      const result = await store.rewrap(rotated);
      expect(result.rewrapped).toBe(2);
      expect(result.failed.map((f) => f.file)).toEqual([damaged]);
      for (const f of files.filter((f) => path.join(dir, f) !== damaged))
        expect(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).keyId).toBe('k2');
    });

    it('rewraps every subject key under the new current key, in place, keeping the data keys', async () => {
      const dir = freshDir();
      const store = await SubjectKeyStore.open(dir, master);
      const texts = new Map<string, string>();
      for (const id of ['trent', 'victor', 'walter']) {
        texts.set(id, encryptField(await store.subjectKey(id), { aad: id, plaintext: `about ${id}` }));
      }
      const inodes = new Map(fs.readdirSync(dir).map((f) => [f, fs.statSync(path.join(dir, f)).ino]));
      const rotated = master.rotate({ key: randomBytes(32) });

      expect(await store.rewrap(rotated)).toEqual({ rewrapped: 3, failed: [] });

      for (const f of fs.readdirSync(dir)) {
        expect(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).keyId).toBe('k2');
        expect(fs.statSync(path.join(dir, f)).ino).toBe(inodes.get(f));
      }
      expect(await store.rewrap(rotated)).toEqual({ rewrapped: 0, failed: [] });
      // Only k2 is needed now.
      const onlyNew = KeyRing.fromKeys([{ id: 'k2', key: rotated.exportForWorker().keys[1]!.key }], {
        context: CONTEXT,
      });
      const reopened = await SubjectKeyStore.open(dir, onlyNew);
      for (const [id, text] of texts) {
        expect(decryptField(await reopened.subjectKey(id, { mode: 'read' }), text, id)).toBe(`about ${id}`);
      }
    });
  });

  it('prints without key material', async () => {
    const store = await SubjectKeyStore.open(freshDir(), master);
    expect(String(store)).toMatch(/^\[SubjectKeyStore /);
    expect(JSON.stringify({ store })).not.toContain(K1.toString('base64'));
  });
});
