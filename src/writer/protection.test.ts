/**
 * Redaction and content modes end to end: what reaches the segment files, what verify says, and
 * what reading back with and without the keys gives.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isAuditError } from '../errors.js';
import { KEY_CHECKS_FILE, KeyRing, openTrailSubjectKeys } from '../keys/index.js';
import { matchesHashedContent, revealContent } from '../protect/content-modes.js';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { readSegmentLines, segmentFiles, trailDirs, writeSegmentLines } from '../test-support/fixtures.js';
import { TrailProtection } from './protection.js';
import { AuditTrail, type AuditTrailOptions } from './trail.js';

const dirs = trailDirs();
afterEach(() => dirs.cleanup());
const freshDir = dirs.fresh;

const ORIGIN = 'example.test/protected';
const ring = (...ids: string[]) =>
  KeyRing.fromKeys(
    ids.map((id) => ({ id, key: KEYS.get(id)! })),
    { context: ORIGIN, current: ids.at(-1)! },
  );
const KEYS = new Map(['k1', 'k2', 'k3'].map((id) => [id, randomBytes(32)]));

const keyIdOf = (stored: unknown) => String(stored).split(':')[1];
const prompts = (i: number) => `confidential question ${i} about the merger`;
const responses = (i: number) => `confidential answer ${i}: the price is 42`;

/** A trail of ORIGIN in content mode `content`, with `more` options. */
function openTrail(dir: string, keys: KeyRing, content: 'hash' | 'encrypt', more: AuditTrailOptions = {}) {
  return AuditTrail.open({ dir, origin: ORIGIN, content, keys, ...more });
}

async function write(dir: string, keys: KeyRing, content: 'hash' | 'encrypt', from: number, to: number) {
  const trail = await openTrail(dir, keys, content);
  for (let i = from; i < to; i++) {
    trail.emit({
      type: 'model.completion',
      actor: { id: i % 2 === 0 ? 'alice' : 'bob' },
      content: { prompt: prompts(i), response: responses(i) },
    });
  }
  await trail.close();
  return trail;
}

function entries(dir: string) {
  return [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
}

function trailBytes(dir: string): Buffer {
  return Buffer.concat(
    fs
      .readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => fs.readFileSync(path.join(e.parentPath, e.name))),
  );
}

/**
 * Closes `trail`, checks that it verifies and holds its completions in the order of `ids`; returns
 * them, with the keys to read them (master key k1).
 */
async function closeInOrder(trail: AuditTrail, dir: string, ids: string[]) {
  await trail.close();
  expect(verifyDir(dir).failure).toBeUndefined();
  const keys = ring('k1');
  const subjects = await openTrailSubjectKeys(dir, keys);
  const all = entries(dir).filter((e) => e.type === 'model.completion');
  expect(all.map((e) => e.id)).toEqual(ids);
  return { all, keys, subjects };
}

describe('content mode encrypt', () => {
  it('stores no plaintext, verifies, and decrypts with the keys: three rotated keys included', async () => {
    const dir = freshDir();
    await write(dir, ring('k1'), 'encrypt', 0, 4);
    await write(dir, ring('k1', 'k2'), 'encrypt', 4, 8);
    await write(dir, ring('k1', 'k2', 'k3'), 'encrypt', 8, 12);
    const bytes = trailBytes(dir);
    for (let i = 0; i < 12; i++) {
      expect(bytes.includes(prompts(i))).toBe(false);
      expect(bytes.includes(responses(i))).toBe(false);
    }
    expect(verifyDir(dir).failure).toBeUndefined();

    const keys = ring('k1', 'k2', 'k3');
    const subjects = await openTrailSubjectKeys(dir, keys);
    const all = entries(dir).filter((e) => e.type === 'model.completion');
    expect(all).toHaveLength(12);
    for (const [i, e] of all.entries()) {
      expect(e.contentModes).toEqual({ prompt: 'encrypt', response: 'encrypt' });
      expect(await revealContent(e, ORIGIN, { ring: keys, subjects })).toEqual({
        prompt: prompts(i),
        response: responses(i),
      });
    }
  });

  it('encrypts on the caller while the writer is behind, to the same stored form', async () => {
    const dir = freshDir();
    let onCaller = 0;
    const here = vi.spyOn(TrailProtection.prototype, 'encryptHere');
    try {
      // Small batches emitted in one synchronous loop: the writer falls many batches behind.
      const trail = await openTrail(dir, ring('k1'), 'encrypt', { batchSize: 4 });
      const emit = (i: number) =>
        trail.emit({
          type: 'model.completion',
          actor: { id: i % 2 === 0 ? 'alice' : 'bob' },
          content: { prompt: prompts(i), response: responses(i) },
        });
      emit(0);
      emit(1);
      await trail.flush(); // both subjects' keys at hand: what follows is framed as it is emitted
      for (let i = 2; i < 400; i++) emit(i);
      await trail.close();
      onCaller = here.mock.calls.length;
    } finally {
      here.mockRestore();
    }
    expect(onCaller).toBeGreaterThan(0);
    expect(onCaller).toBeLessThan(398); // while the writer keeps up, it encrypts
    expect(verifyDir(dir).failure).toBeUndefined();
    const bytes = trailBytes(dir);
    const keys = ring('k1');
    const subjects = await openTrailSubjectKeys(dir, keys);
    const all = entries(dir).filter((e) => e.type === 'model.completion');
    expect(all).toHaveLength(400);
    for (const [i, e] of all.entries()) {
      expect(bytes.includes(prompts(i))).toBe(false);
      expect(e.contentModes).toEqual({ prompt: 'encrypt', response: 'encrypt' });
      expect(await revealContent(e, ORIGIN, { ring: keys, subjects })).toEqual({
        prompt: prompts(i),
        response: responses(i),
      });
    }
  });

  it.each([true, false])(
    "frames events at once while their subjects' keys are created, and keeps their order (worker thread: %s)",
    async (worker) => {
      const dir = freshDir();
      const trail = await openTrail(dir, ring('k1'), 'encrypt', { batchSize: 4, worker });
      // New subjects, a subject-less event, and alice again: none can have a key before the loop yields.
      const events = Array.from({ length: 40 }, (_, i) => ({
        type: 'model.completion' as const,
        ...(i % 5 === 4 ? {} : { actor: { id: i % 3 === 0 ? 'alice' : `user-${i}` } }),
        content: { prompt: prompts(i) },
      }));
      const ids = events.map((e) => trail.emit(e));
      // Every event is framed: the batches wait for the keys as bytes, not as prepared events.
      const waiting = (trail as unknown as { waiting: Array<{ data: Uint8Array; count: number }> }).waiting;
      expect(waiting.reduce((n, b) => n + b.count, 0)).toBe(40);
      expect(waiting.every((b) => b.data instanceof Uint8Array && b.data.length > 0)).toBe(true);
      const { all, keys, subjects } = await closeInOrder(trail, dir, ids);
      for (const [i, e] of all.entries()) {
        // Each under its subject's own key (none had to fall back to the master key), or the master key.
        expect(keyIdOf(e.content!.prompt)).toMatch(i % 5 === 4 ? /^k1$/ : /^s-/);
        expect(await revealContent(e, ORIGIN, { ring: keys, subjects })).toEqual({ prompt: prompts(i) });
      }
    },
  );

  it('lets go of events sent under the master key while the keys of their subjects are created', async () => {
    const dir = freshDir();
    const trail = await openTrail(dir, ring('k1'), 'encrypt', { batchSize: 4, maxQueue: 8 });
    // Each event has a new subject, and no key can be created before the loop yields: the queue
    // fills, and the waiting batches go under the master key.
    const ids = Array.from({ length: 200 }, (_, i) =>
      trail.emit({ type: 'model.completion', actor: { id: `user-${i}` }, content: { prompt: prompts(i) } }),
    );
    const waiting = (trail as unknown as { waiting: Array<{ count: number }> }).waiting;
    expect(waiting.reduce((n, b) => n + b.count, 0)).toBeLessThanOrEqual(8);
    const { all, keys, subjects } = await closeInOrder(trail, dir, ids);
    for (const [i, e] of all.entries())
      expect(await revealContent(e, ORIGIN, { ring: keys, subjects })).toEqual({ prompt: prompts(i) });
  });

  describe("when a subject's key cannot be fetched once", () => {
    it('encrypts the waiting events under the master key, and asks for the key again for the next ones', async () => {
      const dir = freshDir();
      const keys = ring('k1');
      const trail = await openTrail(dir, keys, 'encrypt');
      // A damaged key file for alice: fetching her key fails until it is removed.
      const name = (await openTrailSubjectKeys(dir, keys)).subjectName('alice');
      const damaged = path.join(dir, 'keys', 'subjects', `${name}.key`);
      fs.writeFileSync(damaged, Buffer.alloc(512), { mode: 0o600 });
      vi.stubEnv('SEALTRAIL_QUIET', '1');
      trail.emit({ type: 'model.completion', actor: { id: 'alice' }, content: { prompt: prompts(0) } });
      await trail.flush();
      fs.rmSync(damaged);
      trail.emit({ type: 'model.completion', actor: { id: 'alice' }, content: { prompt: prompts(1) } });
      await trail.close();
      vi.unstubAllEnvs();

      const [first, second] = entries(dir).filter((e) => e.type === 'model.completion');
      expect(keyIdOf(first!.content!.prompt)).toBe('k1');
      // Not the master key for the rest of the process: on PostgreSQL that content could never be erased.
      expect(keyIdOf(second!.content!.prompt)).toMatch(/^s-/);
      const subjects = await openTrailSubjectKeys(dir, keys);
      expect(await revealContent(second!, ORIGIN, { ring: keys, subjects })).toEqual({ prompt: prompts(1) });
    });
  });

  it('refuses ciphertexts swapped between two entries or two fields: verify and decryption both', async () => {
    const dir = freshDir();
    await write(dir, ring('k1'), 'encrypt', 0, 4);
    const keys = ring('k1');
    const subjects = await openTrailSubjectKeys(dir, keys);
    const file = segmentFiles(dir)[0]!;
    const original = readSegmentLines(file);
    const payloadsOf = (line: string) => JSON.parse(line.split('\t')[1]!);
    const withPayloads = (line: string, p: unknown) => `${line.split('\t')[0]}\t${JSON.stringify(p)}`;

    // Entries 1 and 3 (both alice; entry 0 records the keys loaded): swap their prompt
    // ciphertexts, salts and all.
    const a = payloadsOf(original[1]!);
    const b = payloadsOf(original[3]!);
    const lines = [...original];
    lines[1] = withPayloads(original[1]!, { ...a, prompt: b.prompt });
    lines[3] = withPayloads(original[3]!, { ...b, prompt: a.prompt });
    writeSegmentLines(file, lines);
    expect(verifyDir(dir).failure).toMatchObject({ code: 'CONTENT_COMMITMENT_MISMATCH', seq: 1 });
    const swapped = entries(dir)[1]!;
    await expect(revealContent(swapped, ORIGIN, { ring: keys, subjects })).rejects.toSatisfy((e) =>
      isAuditError(e, 'DECRYPT_FAILED'),
    );

    // Two fields of one entry.
    const fields = [...original];
    fields[2] = withPayloads(original[2]!, {
      prompt: payloadsOf(original[2]!).response,
      response: payloadsOf(original[2]!).prompt,
    });
    writeSegmentLines(file, fields);
    expect(verifyDir(dir).failure).toMatchObject({ code: 'CONTENT_COMMITMENT_MISMATCH', seq: 2 });
    await expect(revealContent(entries(dir)[2]!, ORIGIN, { ring: keys, subjects })).rejects.toSatisfy((e) =>
      isAuditError(e, 'DECRYPT_FAILED'),
    );
  });

  it('records, at each open, which provider served the master keys and their ids, never a key', async () => {
    const dir = freshDir();
    const keys = ring('k1');
    await write(dir, keys, 'encrypt', 0, 1);
    await write(dir, keys, 'encrypt', 1, 2);
    const loaded = entries(dir).filter((e) => e.type === 'system.keys_loaded');
    expect(loaded.map((e) => e.seq)).toEqual([0, 2]);
    expect(loaded[0]!.meta).toEqual({ provider: 'explicit', current: 'k1', keys: 'k1' });
  });

  it('names the missing key id when the master key is absent', async () => {
    const dir = freshDir();
    const trail = await openTrail(dir, ring('k2'), 'encrypt');
    trail.emit({ type: 'model.request', content: { prompt: 'no subject: the master key encrypts' } });
    await trail.close();
    await expect(revealContent(entries(dir)[1]!, ORIGIN, { ring: ring('k1') })).rejects.toSatisfy(
      (err) => isAuditError(err, 'KEY_NOT_FOUND') && (err as Error).message.includes('k2'),
    );
  });

  it('erasing a subject destroys its key and payloads; the trail verifies and others still decrypt', async () => {
    const dir = freshDir();
    const keys = ring('k1');
    const trail = await openTrail(dir, keys, 'encrypt', { maxSegmentBytes: 2048 });
    for (let i = 0; i < 8; i++) {
      trail.emit({
        type: 'model.completion',
        actor: { id: i % 2 === 0 ? 'alice' : 'bob' },
        content: { prompt: prompts(i), response: responses(i) },
      });
      await trail.flush();
    }
    const subjects = await openTrailSubjectKeys(dir, keys);
    const aliceBefore = entries(dir).find((e) => e.subject === 'alice')!;
    expect(await trail.eraseSubject('alice')).toEqual({ entries: 4, fields: 8 });
    // Written after the erasure: under a new generation of alice's key, readable.
    trail.emit({ type: 'model.completion', actor: { id: 'alice' }, content: { prompt: prompts(8) } });
    await trail.close();

    expect(verifyDir(dir).failure).toBeUndefined();
    const after = entries(dir);
    const alices = after.filter((x) => x.subject === 'alice' && x.type === 'model.completion');
    expect(alices).toHaveLength(5);
    for (const e of alices.slice(0, 4)) expect(e.erased?.sort()).toEqual(['prompt', 'response']);
    // A copy of alice's ciphertext made before the erasure can no longer be read.
    await expect(revealContent(aliceBefore, ORIGIN, { ring: keys, subjects })).rejects.toSatisfy((e) =>
      isAuditError(e, 'KEY_DESTROYED'),
    );
    const aliceAfter = after.find(
      (e) => e.subject === 'alice' && e.type === 'model.completion' && !e.erased,
    )!;
    expect(await revealContent(aliceAfter, ORIGIN, { ring: keys, subjects })).toEqual({ prompt: prompts(8) });
    expect(keyIdOf(aliceAfter.content!.prompt)).not.toBe(keyIdOf(aliceBefore.content!.prompt));
    const bob = after.find((e) => e.subject === 'bob')!;
    expect(await revealContent(bob, ORIGIN, { ring: keys, subjects })).toEqual({
      prompt: prompts(1),
      response: responses(1),
    });
  });
  describe('when an event emitted before the erasure still waits for its subject key', () => {
    it('erases it and destroys the key it was written under: no key of the subject is left', async () => {
      const dir = freshDir();
      const keys = ring('k1');
      const trail = await openTrail(dir, keys, 'encrypt');
      // alice's first event: her key is created on first use, after this returns.
      trail.emit({ type: 'model.completion', actor: { id: 'alice' }, content: { prompt: prompts(0) } });
      expect(await trail.eraseSubject('alice')).toEqual({ entries: 1, fields: 1 });
      await trail.close();

      expect(verifyDir(dir).failure).toBeUndefined();
      const [alice] = entries(dir).filter((e) => e.subject === 'alice' && e.type === 'model.completion');
      expect(alice!.erased).toEqual(['prompt']);
      const subjects = await openTrailSubjectKeys(dir, keys);
      const name = subjects.subjectName('alice');
      const left = fs.readdirSync(path.join(dir, 'keys', 'subjects'));
      expect(left).not.toContain(`${name}.key`);
      const erased = JSON.parse(
        fs.readFileSync(path.join(dir, 'keys', 'subjects', `${name}.erased`), 'utf8'),
      );
      expect(erased.erased).toEqual([
        { generation: expect.stringMatching(/^s-/), erasedAt: expect.any(Number) },
      ]);
    });
  });

  describe("when an event's subject key is still being created as the subject is erased", () => {
    it('encrypts what comes after the erasure under a new live key, not the destroyed one', async () => {
      const dir = freshDir();
      const keys = ring('k1');
      const trail = await openTrail(dir, keys, 'encrypt');
      const erasing = trail.eraseSubject('alice');
      // alice's first event: her key is created while the erasure waits for earlier events.
      trail.emit({ type: 'model.completion', actor: { id: 'alice' }, content: { prompt: prompts(0) } });
      await erasing;
      trail.emit({ type: 'model.completion', actor: { id: 'alice' }, content: { prompt: prompts(1) } });
      await trail.close();

      expect(verifyDir(dir).failure).toBeUndefined();
      const subjects = await openTrailSubjectKeys(dir, keys);
      const alices = entries(dir).filter((e) => e.subject === 'alice' && e.type === 'model.completion');
      expect(alices).toHaveLength(2);
      // Emitted after the call, the first is either erased or under a key that still lives.
      if (alices[0]!.erased === undefined)
        expect(await revealContent(alices[0]!, ORIGIN, { ring: keys, subjects })).toEqual({
          prompt: prompts(0),
        });
      expect(alices[1]!.erased).toBeUndefined();
      expect(await revealContent(alices[1]!, ORIGIN, { ring: keys, subjects })).toEqual({
        prompt: prompts(1),
      });
      // ... and a second erasure reaches it.
      const again = await openTrail(dir, keys, 'encrypt');
      await again.eraseSubject('alice');
      await again.close();
      const reopened = await openTrailSubjectKeys(dir, keys);
      await expect(revealContent(alices[1]!, ORIGIN, { ring: keys, subjects: reopened })).rejects.toSatisfy(
        (e) => isAuditError(e, 'KEY_DESTROYED'),
      );
    });
  });

  describe('when the trail is opened for the erasure without encrypt fields', () => {
    it("destroys the subject's key all the same, so copies of its ciphertexts stay unreadable", async () => {
      const dir = freshDir();
      const keys = ring('k1');
      // trail.json says hash; the application encrypted one field, as a per-field override.
      const app = await openTrail(dir, keys, 'hash', {
        content: { default: 'hash', fields: { response: 'encrypt' } },
      });
      app.emit({ type: 'model.completion', actor: { id: 'alice' }, content: { response: responses(0) } });
      await app.close();
      const copy = entries(dir).find((e) => e.subject === 'alice')!;
      expect(keyIdOf(copy.content!.response)).toMatch(/^s-/);
      // As `sealtrail erase` opens it: the trail.json mode, no content option.
      const eraser = await AuditTrail.open({ dir, keys });
      expect(await eraser.eraseSubject('alice')).toEqual({ entries: 1, fields: 1 });
      await eraser.close();
      expect(verifyDir(dir).failure).toBeUndefined();
      const subjects = await openTrailSubjectKeys(dir, keys);
      await expect(revealContent(copy, ORIGIN, { ring: keys, subjects })).rejects.toSatisfy((e) =>
        isAuditError(e, 'KEY_DESTROYED'),
      );
    });
  });
});

describe('content mode hash', () => {
  it('stores keyed hashes only, and a presented text matches the one recorded', async () => {
    const dir = freshDir();
    await write(dir, ring('k1'), 'hash', 0, 3);
    const bytes = trailBytes(dir);
    for (let i = 0; i < 3; i++) expect(bytes.includes(prompts(i))).toBe(false);
    expect(verifyDir(dir).failure).toBeUndefined();
    const e = entries(dir)[2]!;
    expect(e.contentModes).toEqual({ prompt: 'hash', response: 'hash' });
    const stored = e.content!.prompt as string;
    expect(stored).toMatch(/^sth1:k1:/);
    expect(matchesHashedContent(ring('k1'), 'prompt', prompts(1), stored)).toBe(true);
    expect(matchesHashedContent(ring('k1'), 'prompt', prompts(2), stored)).toBe(false);
    // Bound to the field: the response's text does not match under the prompt's name.
    expect(matchesHashedContent(ring('k1'), 'response', prompts(1), stored)).toBe(false);
  });
});

describe('a key replaced under the same id', () => {
  it('is refused by the next writer (KEY_INVALID naming the id), and the keys it used are kept by check value only', async () => {
    const dir = freshDir();
    await write(dir, ring('k1'), 'hash', 0, 1);
    const checks = path.join(dir, 'keys', KEY_CHECKS_FILE);
    expect(fs.statSync(checks).mode & 0o777).toBe(0o600);
    const recorded = JSON.parse(fs.readFileSync(checks, 'utf8')) as Record<string, string>;
    expect(Object.keys(recorded)).toEqual(['k1']);
    expect(fs.readFileSync(checks).includes(KEYS.get('k1')!.toString('hex'))).toBe(false);
    const other = KeyRing.fromKeys([{ id: 'k1', key: randomBytes(32) }], { context: ORIGIN });
    await expect(openTrail(dir, other, 'hash')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: expect.stringContaining(
        'key k1 (from explicit) is not the key this trail has used under that id',
      ),
    });
    // the right key, and a new one under a new id, still open it; the new id is recorded
    await write(dir, ring('k1', 'k2'), 'hash', 1, 2);
    expect(Object.keys(JSON.parse(fs.readFileSync(checks, 'utf8')))).toEqual(['k1', 'k2']);
    expect(verifyDir(dir).failure).toBeUndefined();
    fs.writeFileSync(checks, '{"k1":"not a check value"}');
    await expect(openTrail(dir, ring('k1', 'k2'), 'hash')).rejects.toMatchObject({
      code: 'KEY_INVALID',
      message: `${checks}: not a file of key check values`,
    });
  });
});

describe('findings and cuts inside a hashed or encrypted content field', () => {
  it('are recorded at the field: the key names below it stay out of the clear record', async () => {
    for (const content of ['hash', 'encrypt'] as const) {
      const dir = freshDir();
      const trail = await openTrail(dir, ring('k1'), content, { redact: true, maxStringBytes: 64 });
      trail.emit({
        type: 'tool.call',
        actor: { id: 'alice' },
        content: {
          toolArgs: {
            patients: { 'Jane MARKERDOE': '4111 1111 1111 1111', 'John MARKERROE': '5500 0000 0000 0004' },
            'notes MARKERLONG': 'x'.repeat(100),
          },
        },
      });
      await trail.close();
      expect(trailBytes(dir).includes('MARKER'), content).toBe(false);
      const e = entries(dir).at(-1)!;
      expect(e.redactions, content).toEqual([{ path: 'content.toolArgs', kind: 'card', count: 2 }]);
      expect(e.truncated, content).toEqual([{ path: 'content.toolArgs', bytes: 100 }]);
      expect(verifyDir(dir).failure, content).toBeUndefined();
    }
  });
});

describe('redaction', () => {
  it('replaces PII before anything is stored and commits the findings, never the values', async () => {
    const dir = freshDir();
    const trail = await AuditTrail.open({ dir, redact: true });
    trail.emit({
      type: 'model.request',
      actor: { id: 'u1' },
      content: { prompt: 'mail me at jane.doe@example.com or call +1 415 555 0132' },
      meta: { note: 'card 4111 1111 1111 1111' },
    });
    await trail.close();
    const bytes = trailBytes(dir);
    for (const secret of ['jane.doe@example.com', '415 555 0132', '4111 1111 1111 1111'])
      expect(bytes.includes(secret)).toBe(false);
    const [e] = entries(dir);
    expect(e!.content!.prompt).toContain('[EMAIL]');
    expect(e!.redactions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'content.prompt', kind: 'email', count: 1 }),
        expect.objectContaining({ path: 'meta.note', kind: 'card', count: 1 }),
      ]),
    );
    expect(verifyDir(dir).failure).toBeUndefined();
  });
});
