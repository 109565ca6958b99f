import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyTrail } from '../chain/index.js';
import { isAuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import { KeyRing } from '../keys/index.js';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { sampleEvent, segmentFiles, tempDir } from '../test-support/fixtures.js';
import type { Channel } from './channel.js';
import { MemoryTrailStore } from './open-memory.js';
import { AuditTrail } from './trail.js';

const dirs: string[] = [];
function freshDir(): string {
  const d = path.join(tempDir(), 'audit');
  dirs.push(path.dirname(d));
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Writes `count` sample events in batches of `batchSize`, so that segments rotate at `maxSegmentBytes`. */
async function writeRotated(dir: string, count: number, maxSegmentBytes: number, batchSize: number) {
  const trail = await AuditTrail.open({ dir, maxSegmentBytes, batchSize });
  for (let i = 0; i < count; i++) {
    trail.emit(sampleEvent(i));
    if (i % batchSize === batchSize - 1) await trail.flush();
  }
  await trail.close();
  return trail;
}

function readAll(dir: string) {
  return [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
}

describe('AuditTrail', () => {
  for (const worker of [true, false]) {
    describe(`on a directory (${worker ? 'worker thread' : 'inline'})`, () => {
      it('records emitted events in order, gap-free, and they verify after close', async () => {
        const dir = freshDir();
        const trail = await AuditTrail.open({ dir, worker });
        const ids = Array.from({ length: 250 }, (_, i) => trail.emit(sampleEvent(i)));
        await trail.close();
        const entries = readAll(dir);
        expect(entries.map((e) => e.id)).toEqual(ids);
        expect(entries.map((e) => e.seq)).toEqual(ids.map((_, i) => i));
        expect(entries[3]!.content).toEqual(sampleEvent(3).content);
        const report = verifyDir(dir, { sealSeed: trail.sealSeed! });
        expect(report.failure).toBeUndefined();
        expect(report.entries).toBe(250);
        expect(report.seals?.epochs).toBeGreaterThanOrEqual(1);
      });

      it('builds batches in buffers the appender gave back, and every entry reads back as emitted', async () => {
        const dir = freshDir();
        const trail = await AuditTrail.open({ dir, worker, batchSize: 10 });
        const ids: string[] = [];
        for (let i = 0; i < 400; i++) {
          ids.push(trail.emit(sampleEvent(i)));
          // Let written batches come back while later ones are still on their way.
          if (i % 25 === 24) await new Promise((r) => setImmediate(r));
        }
        await trail.close();
        const entries = readAll(dir);
        expect(entries.map((e) => e.id)).toEqual(ids);
        expect(entries.map((e) => e.content)).toEqual(ids.map((_, i) => sampleEvent(i).content));
        expect(verifyDir(dir).failure).toBeUndefined();
      });
    });
  }

  describe('inline, when a sync fails', () => {
    it('syncs the written batch again and never writes it twice', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir, worker: false, batchSize: 10 });
      const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      const sync = vi.spyOn(fs, 'fdatasyncSync').mockImplementationOnce(() => {
        throw eio;
      });
      const ids: string[] = [];
      try {
        for (let i = 0; i < 10; i++) ids.push(trail.emit(sampleEvent(i))); // its sync fails
        expect(sync).toHaveBeenCalled();
        expect(trail.queueDepth).toBe(10);
        await trail.flush(); // the sync is tried again in the background
        expect(trail.queueDepth).toBe(0);
        for (let i = 10; i < 30; i++) ids.push(trail.emit(sampleEvent(i)));
        await trail.flush();
      } finally {
        sync.mockRestore();
      }
      await trail.close();
      expect(readAll(dir).map((e) => e.id)).toEqual(ids);
      expect(verifyDir(dir).failure).toBeUndefined();
    });
  });

  describe('when reopened after a close', () => {
    it('continues the same chain with the next seq', async () => {
      const dir = freshDir();
      const first = await AuditTrail.open({ dir });
      const seed = first.sealSeed!;
      for (let i = 0; i < 10; i++) first.emit(sampleEvent(i));
      await first.close();
      for (let round = 0; round < 3; round++) {
        const again = await AuditTrail.open({ dir });
        expect(again.sealSeed).toBeUndefined();
        for (let i = 0; i < 5; i++) again.emit(sampleEvent(i));
        await again.close();
      }
      const entries = readAll(dir);
      expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i));
      expect(verifyDir(dir, { sealSeed: seed }).failure).toBeUndefined();
    });
  });

  describe('when segments rotate by size', () => {
    it('writes summaries and the trail still verifies across segments', async () => {
      const dir = freshDir();
      const trail = await writeRotated(dir, 60, 8 * 1024, 5);
      const source = new DirSource(dir);
      const segments = source.segments();
      expect(segments.length).toBeGreaterThan(3);
      const sealed = segments.filter((s) => s.summary !== undefined);
      expect(sealed.length).toBe(segments.length - 1);
      expect(sealed[1]!.summary!.firstSeq).toBe(sealed[0]!.summary!.lastSeq + 1);
      expect(verifyDir(dir, { sealSeed: trail.sealSeed! }).failure).toBeUndefined();
    });

    it('detects a sealed segment whose bytes changed', async () => {
      const dir = freshDir();
      await writeRotated(dir, 12, 4 * 1024, 3);
      const file = segmentFiles(dir)[0]!;
      const text = fs.readFileSync(file, 'utf8');
      fs.writeFileSync(file, text.replace('eu-west-1', 'eu-west-2'));
      const report = verifyDir(dir);
      expect(report.ok).toBe(false);
    });

    it('detects a sealed summary whose time range or entries were edited', async () => {
      const dir = freshDir();
      await writeRotated(dir, 12, 4 * 1024, 3);
      expect(verifyDir(dir).failure).toBeUndefined();
      const summaryFile = segmentFiles(dir)[0]!.replace(/\.log$/, '.summary.json');
      const original = fs.readFileSync(summaryFile, 'utf8');
      const summary = JSON.parse(original);
      for (const edit of [
        { minTs: '2000-01-01T00:00:00.000Z' },
        { maxTs: '2099-01-01T00:00:00.000Z' },
        { lastSeq: summary.lastSeq - 1 },
      ]) {
        fs.writeFileSync(summaryFile, JSON.stringify({ ...summary, ...edit }));
        expect(verifyDir(dir).failure?.code).toBe('SEGMENT_CHECKSUM_MISMATCH');
      }
      fs.writeFileSync(summaryFile, original);
      expect(verifyDir(dir).failure).toBeUndefined();
    });
  });

  describe('when a second writer opens the same directory', () => {
    it('fails with TRAIL_LOCKED', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir });
      await expect(AuditTrail.open({ dir })).rejects.toSatisfy((e) => isAuditError(e, 'TRAIL_LOCKED'));
      await trail.close();
    });
  });

  describe('files and directories', () => {
    it('are created 0600 and 0700', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir });
      trail.emit(sampleEvent(1));
      await trail.close();
      const walk = (p: string): void => {
        const st = fs.statSync(p);
        if (st.isDirectory()) {
          expect((st.mode & 0o777).toString(8), p).toBe('700');
          for (const f of fs.readdirSync(p)) walk(path.join(p, f));
        } else {
          expect((st.mode & 0o777).toString(8), p).toBe('600');
        }
      };
      walk(dir);
    });
  });

  describe('emit', () => {
    it('throws EVENT_INVALID naming the field and records nothing for it', async () => {
      const trail = await AuditTrail.open({ store: 'memory' });
      expect(() => trail.emit({ type: 'model.completion', latencyMs: -1 } as never)).toThrow(/latencyMs/);
      trail.emit(sampleEvent(0));
      await trail.close();
    });

    it.each(['audit.erasure', 'retention.content_expired', 'audit.read', 'security.anomaly'])(
      'refuses a %s event (EVENT_INVALID, field type): the trail records those itself, by recordOwn',
      async (type) => {
        const dir = freshDir();
        const trail = await AuditTrail.open({ dir, handleExit: false });
        const own = { type, meta: { fields: 1 } } as AuditEventInput;
        for (const refused of [() => trail.emit(own), () => trail.prepare(own)])
          expect(refused).toThrow(
            expect.objectContaining({ code: 'EVENT_INVALID', detail: { field: 'type' } }),
          );
        await expect(trail.emitDurable(own)).rejects.toMatchObject({ code: 'EVENT_INVALID' });
        // a prepared event made by other means, in a batch: none of the batch is queued
        const forged = { ...trail.prepare({ type: 'x.ok' }), type };
        expect(() => trail.emitPrepared([trail.prepare({ type: 'x.before' }), forged])).toThrow(
          expect.objectContaining({ code: 'EVENT_INVALID' }),
        );
        trail.recordOwn(own);
        await trail.close();
        expect(readAll(dir).filter((e) => e.type === type)).toHaveLength(1);
        expect(readAll(dir).filter((e) => e.type === 'x.before')).toHaveLength(0);
      },
    );

    it('takes and writes events emitted while close() flushes, then refuses more', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir });
      trail.emit(sampleEvent(0));
      const flushed = trail.flush();
      const closed = trail.close();
      const during: string[] = [];
      void flushed.then(() => during.push(trail.emit(sampleEvent(1))));
      await closed;
      expect(during).toHaveLength(1);
      expect(readAll(dir).map((e) => e.id)).toContain(during[0]);
      expect(() => trail.emit(sampleEvent(2))).toThrow(expect.objectContaining({ code: 'TRAIL_CLOSED' }));
      expect(verifyDir(dir).failure).toBeUndefined();
    });

    it('close() ends while the application keeps emitting', async () => {
      const trail = await AuditTrail.open({ store: 'memory' });
      let refused = false;
      const loop = () => {
        try {
          trail.emit(sampleEvent(0));
          setImmediate(loop);
        } catch (err) {
          refused = isAuditError(err, 'TRAIL_CLOSED');
        }
      };
      loop();
      await new Promise((r) => setTimeout(r, 50));
      await trail.close();
      await new Promise((r) => setImmediate(r));
      expect(refused).toBe(true);
    });

    it('throws TRAIL_CLOSED after close', async () => {
      const trail = await AuditTrail.open({ store: 'memory' });
      await trail.close();
      expect(() => trail.emit(sampleEvent(0))).toThrow(expect.objectContaining({ code: 'TRAIL_CLOSED' }));
    });
  });

  describe.each([true, false])('after close (worker thread: %s)', (worker) => {
    it('checkpoint() rejects with TRAIL_CLOSED', async () => {
      const trail = await AuditTrail.open({ dir: freshDir(), worker });
      trail.emit(sampleEvent(0));
      await trail.close();
      await expect(trail.checkpoint()).rejects.toMatchObject({ code: 'TRAIL_CLOSED' });
    });
  });

  describe('prepare and emitPrepared', () => {
    it('record the prepared events in order under the ids prepare gave them', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir });
      const prepared = [0, 1, 2].map((i) => trail.prepare(sampleEvent(i)));
      trail.emitPrepared(prepared);
      await trail.close();
      expect(readAll(dir).map((e) => e.id)).toEqual(prepared.map((p) => p.id));
      expect(verifyDir(dir).ok).toBe(true);
    });

    it('record the events as they were when emitPrepared returned, also while subject keys are fetched', async () => {
      const dir = freshDir();
      const keys = KeyRing.fromKeys([{ id: 'k1', key: randomBytes(32) }], {
        context: 'example.test/prepared',
        current: 'k1',
      });
      const trail = await AuditTrail.open({ dir, origin: 'example.test/prepared', content: 'encrypt', keys });
      const prepared = [0, 1, 2].map((i) =>
        trail.prepare({
          type: 'x.prepared',
          actor: { id: `new-subject-${i}` },
          content: { prompt: `p${i}` },
        }),
      );
      trail.emitPrepared(prepared);
      for (const p of prepared) p.eventJson = p.eventJson.replace('x.prepared', 'x.changed');
      await trail.close();
      expect(
        readAll(dir)
          .filter((e) => e.type !== 'system.keys_loaded')
          .map((e) => e.type),
      ).toEqual(['x.prepared', 'x.prepared', 'x.prepared']);
    });

    it('prepare throws EVENT_INVALID naming the field', async () => {
      const trail = await AuditTrail.open({ store: 'memory' });
      expect(() => trail.prepare({ type: 'model.completion', latencyMs: -1 })).toThrow(
        expect.objectContaining({ code: 'EVENT_INVALID', detail: { field: 'latencyMs' } }),
      );
      await trail.close();
    });

    it('with policy reject, queues none of a batch the queue cannot take whole', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir, maxQueue: 10, batchSize: 10, overflow: 'reject' });
      trail.emitPrepared([0, 1, 2, 3].map((i) => trail.prepare(sampleEvent(i))));
      const tooMany = Array.from({ length: 7 }, (_, i) => trail.prepare(sampleEvent(i)));
      expect(() => trail.emitPrepared(tooMany)).toThrow(expect.objectContaining({ code: 'BUFFER_FULL' }));
      await trail.close();
      expect(readAll(dir).length).toBe(4);
    });
  });

  describe('emitDurable', () => {
    it('resolves only when the entry is in the segment file', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir });
      const id = await trail.emitDurable(sampleEvent(7));
      expect(fs.readFileSync(segmentFiles(dir)[0]!, 'utf8')).toContain(id);
      await trail.close();
    });
  });

  describe('when the queue is full', () => {
    it('with policy reject, throws BUFFER_FULL and keeps what was accepted', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir, maxQueue: 10, batchSize: 10, overflow: 'reject' });
      let accepted = 0;
      let rejected = 0;
      for (let i = 0; i < 25; i++) {
        try {
          trail.emit(sampleEvent(i));
          accepted++;
        } catch (err) {
          expect(isAuditError(err, 'BUFFER_FULL')).toBe(true);
          rejected++;
        }
      }
      await trail.close();
      expect(rejected).toBeGreaterThan(0);
      expect(readAll(dir).length).toBe(accepted);
    });

    it('with policy count, records the number dropped as a system.overflow entry', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir, maxQueue: 10, batchSize: 10, overflow: 'count' });
      for (let i = 0; i < 25; i++) trail.emit(sampleEvent(i));
      await trail.flush();
      await trail.close();
      const entries = readAll(dir);
      const overflow = entries.filter((e) => e.type === 'system.overflow');
      const recorded = entries.filter((e) => e.type === 'model.completion').length;
      // One entry, or more when the writer made room while the loop ran.
      expect(overflow.length).toBeGreaterThan(0);
      const lost = overflow.reduce((sum, e) => sum + (e.meta as { lost: number }).lost, 0);
      expect(lost).toBe(25 - recorded);
      expect(verifyDir(dir).failure).toBeUndefined();
    });

    describe('when the writer has caught up but the caller has not yielded since', () => {
      /** Emits `count` events, then blocks this thread (never yielding) until the writer made them durable. */
      function emitAndWaitSync(trail: AuditTrail, count: number): void {
        for (let i = 0; i < count; i++) trail.emit(sampleEvent(i));
        const channel = (trail as unknown as { channel: Channel }).channel;
        expect(channel.waitDurableSync(count, 30_000)).toBe(true);
      }

      it('with policy count, drops nothing', async () => {
        const dir = freshDir();
        const trail = await AuditTrail.open({ dir, maxQueue: 100, batchSize: 10, overflow: 'count' });
        emitAndWaitSync(trail, 100);
        for (let i = 0; i < 50; i++) trail.emit({ type: 'x.after' });
        expect(trail.droppedPending).toBe(0);
        await trail.close();
        expect(readAll(dir).filter((e) => e.type === 'x.after')).toHaveLength(50);
      });

      it('with policy reject, accepts the event', async () => {
        const dir = freshDir();
        const trail = await AuditTrail.open({ dir, maxQueue: 100, batchSize: 10, overflow: 'reject' });
        emitAndWaitSync(trail, 100);
        const id = trail.emit({ type: 'x.after' });
        await trail.close();
        expect(readAll(dir).map((e) => e.id)).toContain(id);
      });
    });

    it('with policy count, emitDurable waits for room instead of being dropped', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir, maxQueue: 100, batchSize: 10, overflow: 'count' });
      for (let i = 0; i < 100; i++) trail.emit(sampleEvent(i));
      const id = await trail.emitDurable({ type: 'x.important' });
      await trail.close();
      expect(readAll(dir).map((e) => e.id)).toContain(id);
    });

    it('with policy block, waits and loses nothing', async () => {
      const dir = freshDir();
      const trail = await AuditTrail.open({ dir, maxQueue: 20, batchSize: 10, overflow: 'block' });
      for (let i = 0; i < 500; i++) trail.emit(sampleEvent(i));
      await trail.close();
      expect(readAll(dir).length).toBe(500);
    });
  });

  describe('options', () => {
    it.each([
      ['overflow', { overflow: 'drop' }],
      ['batchSize', { batchSize: 0 }],
      ['batchSize', { batchSize: 'x' }],
      ['maxQueue', { maxQueue: Number.NaN }],
      ['flushIntervalMs', { flushIntervalMs: -1 }],
      ['maxSegmentBytes', { maxSegmentBytes: 'big' }],
      ['maxStringBytes', { maxStringBytes: 0 }],
      ['maxQueue', { maxQueue: 10 }],
      ['keys', { keys: { current: 'k1' } }],
    ])('refuses a bad %s before opening anything', async (field, bad) => {
      const dir = freshDir();
      await expect(AuditTrail.open({ dir, ...(bad as object) })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        detail: { field },
      });
      expect(fs.existsSync(dir)).toBe(false);
      const trail = await AuditTrail.open({ dir });
      await trail.close();
    });
  });

  describe('on a memory store', () => {
    it('keeps entries, checkpoints and seals that verify with the same verifier, across a reopen', async () => {
      const store = new MemoryTrailStore('example.test/memory');
      const first = await AuditTrail.open({ store });
      for (let i = 0; i < 20; i++) first.emit(sampleEvent(i));
      await first.close();
      const second = await AuditTrail.open({ store });
      second.emit(sampleEvent(20));
      await second.close();
      const report = verifyTrail(store.verifyInput());
      expect(report.failure).toBeUndefined();
      expect(report).toMatchObject({ ok: true, entries: 21, seals: { epochs: 2, lastSealedSize: 21 } });
    });

    it('refuses a second writer while one has the store open', async () => {
      const store = new MemoryTrailStore();
      const trail = await AuditTrail.open({ store });
      await expect(AuditTrail.open({ store })).rejects.toMatchObject({ code: 'TRAIL_LOCKED' });
      await trail.close();
    });
  });
});
