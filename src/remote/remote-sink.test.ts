/**
 * The remote sink against a real collector on loopback: the collector is stopped mid-stream while
 * the producer keeps emitting, the producer itself restarts on its spool, the collector comes
 * back on the same port, and every event is found once, in order, with the trail verifying.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { type AuditEntry, query, verifyDir } from '../read/index.js';
import { Collector } from '../server/collector.js';
import { createToken } from '../server/tokens.js';
import { RemoteSink } from './remote-sink.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-remote-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function event(i: number): { type: 'tool.call'; actor: { id: string }; action: string; meta: { n: number } } {
  return { type: 'tool.call', actor: { id: 'agent-1' }, action: `step-${i}`, meta: { n: i } };
}

async function stored(dir: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of query(dir, { type: 'tool.call' }, { order: 'oldest' })) out.push(e);
  return out;
}

describe('RemoteSink', () => {
  describe('when the collector stops mid-stream and the producer restarts', () => {
    it('delivers every event exactly once, in order, and the trail verifies', async () => {
      const dir = path.join(tmp, 'trail');
      const spoolDir = path.join(tmp, 'spool');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      let collector = await Collector.open({ dir });
      const { port, url } = await collector.listen({ port: 0 });
      const opts = { url, token, spoolDir, batchSize: 7, minRetryMs: 10, maxRetryMs: 100 };

      let sink = new RemoteSink(opts);
      for (let i = 0; i < 30; i++) sink.emit(event(i));
      await sink.flush();
      expect(sink.pendingBytes).toBe(0);

      await collector.close();
      for (let i = 30; i < 60; i++) sink.emit(event(i));
      // Let the sender fail against the closed port and back off.
      await new Promise((r) => setTimeout(r, 150));
      expect(sink.pendingBytes).toBeGreaterThan(0);
      expect(fs.statSync(spoolDir).mode & 0o777).toBe(0o700);
      expect(fs.statSync(path.join(spoolDir, 'spool.jsonl')).mode & 0o777).toBe(0o600);

      // The producer restarts while the collector is still down.
      await sink.close();
      sink = new RemoteSink(opts);
      for (let i = 60; i < 90; i++) sink.emit(event(i));

      collector = await Collector.open({ dir });
      await collector.listen({ port });
      await sink.flush();
      await sink.close();
      await collector.close();

      const entries = await stored(dir);
      expect(entries.map((e) => (e.meta as { n: number }).n)).toEqual(
        Array.from({ length: 90 }, (_, i) => i),
      );
      expect(entries.map((e) => (e.meta as { sinkSeq: number }).sinkSeq)).toEqual(
        Array.from({ length: 90 }, (_, i) => i),
      );
      expect(entries.every((e) => (e.meta as { producer: string }).producer === 'worker')).toBe(true);
      expect(verifyDir(dir).ok).toBe(true);
    });
  });

  describe('when the collector refuses one event', () => {
    it('sets it aside in rejected.jsonl and delivers the others in order', async () => {
      const dir = path.join(tmp, 'trail-2');
      const spoolDir = path.join(tmp, 'spool-2');
      const token = createToken(dir, { name: 'p2', scopes: ['ingest'] }).token;
      const collector = await Collector.open({ dir });
      const { url } = await collector.listen({ port: 0 });
      const sink = new RemoteSink({ url, token, spoolDir, batchSize: 10 });
      try {
        for (let i = 0; i < 5; i++) sink.emit(event(i));
        sink.emit({ ...event(99), actor: { id: 7 } } as unknown as Parameters<RemoteSink['emit']>[0]);
        for (let i = 5; i < 10; i++) sink.emit(event(i));
        await sink.flush();
      } finally {
        await sink.close();
        await collector.close();
      }
      const ns = (await stored(dir)).map((e) => (e.meta as { n: number }).n);
      expect(ns).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const rejected = fs.readFileSync(path.join(spoolDir, 'rejected.jsonl'), 'utf8').trim().split('\n');
      expect(rejected).toHaveLength(1);
      expect(JSON.parse(rejected[0]!).meta.n).toBe(99);
    });
  });

  describe('when the spool is full', () => {
    it('throws BUFFER_FULL instead of growing', () => {
      const sink = new RemoteSink({
        url: 'http://127.0.0.1:9',
        token: 'stk_x',
        spoolDir: path.join(tmp, 'spool-3'),
        maxSpoolBytes: 400,
        minRetryMs: 60_000,
      });
      let err: unknown;
      try {
        for (let i = 0; i < 100; i++) sink.emit(event(i));
      } catch (e) {
        err = e;
      }
      expect(isAuditError(err, 'BUFFER_FULL')).toBe(true);
      expect(fs.statSync(path.join(tmp, 'spool-3', 'spool.jsonl')).size).toBeLessThanOrEqual(400);
      return sink.close();
    });
  });
});
