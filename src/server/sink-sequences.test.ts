/**
 * Exactly-once delivery from remote sinks, against a real collector on loopback: a batch whose
 * answer is lost on the way back (a proxy cuts the connection after the collector wrote it) is
 * sent again by the RemoteSink and recorded once; a repeat sent after the collector restarted is
 * dropped, whether the sink state was saved at close or must be rebuilt from the trail; and the
 * state is bounded: a sink past the count or the age is forgotten, a recent one still deduplicates.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type AuditEntry, query, verifyDir } from '../read/index.js';
import { RemoteSink } from '../remote/index.js';
import { Collector } from './collector.js';
import { SINK_STATE_FILE, SinkSequences } from './sink-sequences.js';
import { createToken } from './tokens.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-sinkseq-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function event(n: number, sinkSeq?: number): Record<string, unknown> {
  const meta: Record<string, unknown> = { n };
  if (sinkSeq !== undefined) Object.assign(meta, { sinkId: 'a1b2c3d4e5f60718', sinkSeq });
  return { type: 'tool.call', actor: { id: 'agent-1' }, action: `step-${n}`, meta };
}

/** An event from the sink `sinkId` with its place `sinkSeq`. */
function fromSink(n: number, sinkId: string, sinkSeq: number): Record<string, unknown> {
  return { type: 'tool.call', actor: { id: 'agent-1' }, action: `step-${n}`, meta: { n, sinkId, sinkSeq } };
}

async function stored(dir: string): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of query(dir, { type: 'tool.call' }, { order: 'oldest' })) out.push(e);
  return out;
}

interface IngestAnswer {
  ids: Array<string | null>;
  duplicates?: number;
  error?: string;
  index?: number;
  field?: string;
}

async function post(
  url: string,
  token: string,
  events: unknown[],
): Promise<{ status: number; body: IngestAnswer }> {
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(events),
  });
  return { status: res.status, body: (await res.json()) as IngestAnswer };
}

/**
 * A TCP proxy to `port` that, for the first `cuts` requests, lets the request through and cuts
 * the client's connection as soon as the answer starts: the collector has written the batch, the
 * client never learns it.
 */
async function lossyProxy(port: number, cuts: number): Promise<{ url: string; close: () => void }> {
  let left = cuts;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (chunk) => {
      if (left > 0) {
        left--;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${own}`,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('exactly-once delivery from remote sinks', () => {
  describe('when the answer to a written batch is lost', () => {
    it('the sink sends it again and the trail holds each event once, in order', async () => {
      const dir = path.join(tmp, 'lost-answer');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      const collector = await Collector.open({ dir });
      const { port } = await collector.listen({ port: 0 });
      const proxy = await lossyProxy(port, 2);
      const sink = new RemoteSink({
        url: proxy.url,
        token,
        spoolDir: path.join(tmp, 'lost-answer-spool'),
        batchSize: 5,
        minRetryMs: 10,
        maxRetryMs: 50,
      });
      try {
        for (let i = 0; i < 12; i++) sink.emit(event(i) as never);
        await sink.flush();
      } finally {
        await sink.close();
        proxy.close();
      }
      const duplicates = collector.metrics.duplicates;
      await collector.close();
      // The cut answers were for batches the collector had recorded: their repeats were dropped.
      expect(duplicates).toBe(10);
      const entries = await stored(dir);
      expect(entries.map((e) => (e.meta as { n: number }).n)).toEqual(
        Array.from({ length: 12 }, (_, i) => i),
      );
      expect(verifyDir(dir).ok).toBe(true);
    });
  });

  describe('when the same batch is posted twice', () => {
    it('answers the repeat with null ids and records nothing new', async () => {
      const dir = path.join(tmp, 'twice');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      const collector = await Collector.open({ dir });
      const { url } = await collector.listen({ port: 0 });
      const batch = [0, 1, 2].map((i) => event(i, i));
      const first = await post(url, token, batch);
      // The repeat overlaps: 1 and 2 again, then 3 which is new.
      const second = await post(url, token, [event(1, 1), event(2, 2), event(3, 3)]);
      await collector.close();
      expect(first.status).toBe(200);
      expect(first.body.ids.every((id: unknown) => typeof id === 'string')).toBe(true);
      expect(second.status).toBe(200);
      expect(second.body.duplicates).toBe(2);
      expect(second.body.ids.slice(0, 2)).toEqual([null, null]);
      expect(typeof second.body.ids[2]).toBe('string');
      expect((await stored(dir)).map((e) => (e.meta as { n: number }).n)).toEqual([0, 1, 2, 3]);
    });

    it('keeps the sinks of different producers apart', async () => {
      const dir = path.join(tmp, 'two-producers');
      const a = createToken(dir, { name: 'a', scopes: ['ingest'] }).token;
      const b = createToken(dir, { name: 'b', scopes: ['ingest'] }).token;
      const collector = await Collector.open({ dir });
      const { url } = await collector.listen({ port: 0 });
      await post(url, a, [event(0, 0), event(1, 1)]);
      // Same sink id and seqs from another token: another producer's events, not repeats.
      const other = await post(url, b, [event(2, 0), event(3, 1)]);
      await collector.close();
      expect(other.body.duplicates).toBeUndefined();
      expect((await stored(dir)).length).toBe(4);
    });

    it('refuses a sink stamp of the wrong type with 400 naming the field', async () => {
      const dir = path.join(tmp, 'bad-stamp');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      const collector = await Collector.open({ dir });
      const { url } = await collector.listen({ port: 0 });
      const bad = { ...event(1), meta: { sinkId: 'x', sinkSeq: '7' } };
      const res = await post(url, token, [event(0, 0), bad]);
      await collector.close();
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'EVENT_INVALID', index: 1, field: 'meta.sinkSeq' });
      expect(await stored(dir)).toEqual([]);
    });
  });

  describe('while the collector runs', () => {
    it('saves the state on an interval, and a restart from that state drops the repeats', async () => {
      const dir = path.join(tmp, 'running');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      const file = path.join(dir, SINK_STATE_FILE);
      let collector = await Collector.open({ dir, sinkStateIntervalMs: 20 });
      let { url } = await collector.listen({ port: 0 });
      await post(
        url,
        token,
        [0, 1, 2, 3, 4].map((i) => event(i, i)),
      );
      await collector.trail.checkpoint();
      const saved = async () =>
        JSON.parse(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '{}') as {
          treeSize?: number;
          sinks?: Record<string, number>;
        };
      await expect.poll(async () => (await saved()).treeSize ?? 0).toBeGreaterThanOrEqual(5);
      const running = fs.readFileSync(file);
      expect(Object.values((await saved()).sinks ?? {})).toEqual([4]);
      await collector.close();
      // As if that collector had died: the state written while it ran, not the one at close.
      fs.writeFileSync(file, running);
      collector = await Collector.open({ dir, sinkStateIntervalMs: 0 });
      ({ url } = await collector.listen({ port: 0 }));
      const again = await post(url, token, [event(3, 3), event(4, 4), event(5, 5)]);
      await collector.close();
      expect(again.body.duplicates).toBe(2);
      expect((await stored(dir)).map((e) => (e.meta as { n: number }).n)).toEqual([0, 1, 2, 3, 4, 5]);
    });
  });

  describe('when the collector restarts', () => {
    const dir = path.join(tmp, 'restart');
    const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;

    async function session<T>(fn: (url: string) => Promise<T>): Promise<T> {
      const collector = await Collector.open({ dir });
      const { url } = await collector.listen({ port: 0 });
      try {
        return await fn(url);
      } finally {
        await collector.close();
      }
    }

    it('drops a repeat using the state saved at close', async () => {
      await session((url) =>
        post(
          url,
          token,
          [0, 1, 2, 3, 4].map((i) => event(i, i)),
        ),
      );
      expect(fs.statSync(path.join(dir, SINK_STATE_FILE)).mode & 0o777).toBe(0o600);
      const again = await session((url) => post(url, token, [event(3, 3), event(4, 4)]));
      expect(again.body.duplicates).toBe(2);
      expect((await stored(dir)).length).toBe(5);
    });

    it('counts entries written after the saved state (a crash before the next save)', async () => {
      const saved = fs.readFileSync(path.join(dir, SINK_STATE_FILE));
      await session((url) =>
        post(
          url,
          token,
          [5, 6, 7].map((i) => event(i, i)),
        ),
      );
      // As if that collector had died before saving: the file still covers only 0..4.
      fs.writeFileSync(path.join(dir, SINK_STATE_FILE), saved);
      const again = await session((url) => post(url, token, [event(6, 6), event(7, 7), event(8, 8)]));
      expect(again.body.duplicates).toBe(2);
      expect((await stored(dir)).map((e) => (e.meta as { n: number }).n)).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8,
      ]);
    });

    it('rebuilds the state from the whole trail when no state was saved', async () => {
      fs.rmSync(path.join(dir, SINK_STATE_FILE));
      const again = await session((url) => post(url, token, [event(0, 0), event(8, 8), event(9, 9)]));
      expect(again.body.duplicates).toBe(2);
      expect((await stored(dir)).length).toBe(10);
      expect(verifyDir(dir).ok).toBe(true);
    });
  });

  describe('when a stamped line of the trail is damaged', () => {
    it('still opens, and learns the sequences from the lines it can read', async () => {
      const dir = path.join(tmp, 'damaged');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      let collector = await Collector.open({ dir });
      await post(
        (await collector.listen({ port: 0 })).url,
        token,
        [0, 1, 2].map((i) => event(i, i)),
      );
      await collector.close();
      // no saved state: the trail is read; the line of sinkSeq 1 holds `"content":null`
      fs.rmSync(path.join(dir, SINK_STATE_FILE));
      const segment = path.join(dir, 'segments', '00000000000000000000.log');
      const lines = fs.readFileSync(segment, 'utf8').split('\n');
      const at = lines.findIndex((l) => l.includes('"sinkSeq":1'));
      lines[at] = lines[at]!.replace('{"event":', '{"content":null,"event":');
      fs.writeFileSync(segment, lines.join('\n'));
      collector = await Collector.open({ dir });
      try {
        const again = await post((await collector.listen({ port: 0 })).url, token, [
          event(2, 2),
          event(3, 3),
        ]);
        expect(again.body.duplicates).toBe(1);
      } finally {
        await collector.close();
      }
    });
  });

  describe('when the dedup state is bounded', () => {
    const DAY = 24 * 3600_000;

    it('forgets the sink heard from least recently past maxSinks; a recent one still deduplicates', async () => {
      const dir = path.join(tmp, 'bounded-count');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      const collector = await Collector.open({ dir, sinkState: { maxSinks: 2 } });
      const { url } = await collector.listen({ port: 0 });
      try {
        await post(url, token, [fromSink(0, 'sink-a', 0)]);
        await post(url, token, [fromSink(1, 'sink-b', 0)]);
        await post(url, token, [fromSink(2, 'sink-c', 0)]);
        // Three sinks, room for two: sink-a, heard from first, is forgotten.
        const c = await post(url, token, [fromSink(2, 'sink-c', 0)]);
        expect(c.body.duplicates).toBe(1);
        const a = await post(url, token, [fromSink(0, 'sink-a', 0)]);
        expect(a.body.duplicates).toBeUndefined();
        expect(typeof a.body.ids[0]).toBe('string');
      } finally {
        await collector.close();
      }
      // The repeat of the forgotten sink was recorded again; the other repeat was not.
      expect((await stored(dir)).map((e) => (e.meta as { n: number }).n)).toEqual([0, 1, 2, 0]);
      const saved = JSON.parse(fs.readFileSync(path.join(dir, SINK_STATE_FILE), 'utf8')) as {
        sinks: Record<string, number>;
      };
      expect(Object.keys(saved.sinks).map((k) => k.split('\u0000')[1])).toEqual(['sink-c', 'sink-a']);
    });

    it('forgets a sink not heard from for maxAgeMs across a restart; a recent one still deduplicates', async () => {
      const dir = path.join(tmp, 'bounded-age');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      const file = path.join(dir, SINK_STATE_FILE);
      let collector = await Collector.open({ dir });
      let { url } = await collector.listen({ port: 0 });
      await post(url, token, [fromSink(0, 'old-sink', 0), fromSink(1, 'new-sink', 0)]);
      await collector.close();
      // As if old-sink had last been heard from 31 days ago, new-sink 29 days ago.
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { seen: Record<string, number> };
      for (const key of Object.keys(saved.seen))
        saved.seen[key] = Date.now() - (key.endsWith('old-sink') ? 31 : 29) * DAY;
      fs.writeFileSync(file, JSON.stringify(saved));
      collector = await Collector.open({ dir });
      ({ url } = await collector.listen({ port: 0 }));
      const again = await post(url, token, [fromSink(0, 'old-sink', 0), fromSink(1, 'new-sink', 0)]);
      await collector.close();
      expect(again.body.duplicates).toBe(1);
      expect(typeof again.body.ids[0]).toBe('string');
      expect(again.body.ids[1]).toBeNull();
      expect((await stored(dir)).map((e) => (e.meta as { n: number }).n)).toEqual([0, 1, 0]);
    });

    it('forgets by age while running, with its own clock', () => {
      let now = 1_000 * DAY;
      const state = new SinkSequences({ maxAgeMs: 30 * DAY }, () => now);
      const admitted = (sinkId: string, seq: number) => {
        const a = state.admit([fromSink(seq, sinkId, seq)], 'worker');
        if (!('duplicate' in a)) throw new Error(a.message);
        state.commit(a);
        return a.duplicates;
      };
      expect(admitted('old', 0)).toBe(0);
      now += 20 * DAY;
      expect(admitted('recent', 0)).toBe(0);
      now += 11 * DAY; // old: 31 days, recent: 11 days
      expect(admitted('other', 0)).toBe(0); // a commit prunes
      expect(state.size).toBe(2);
      expect(admitted('recent', 0)).toBe(1);
      expect(admitted('old', 0)).toBe(0);
      expect(state.forgotten).toBe(1);
    });

    it('refuses a limit that is not a positive integer with CONFIG_INVALID naming it', () => {
      expect(() => new SinkSequences({ maxSinks: 0 })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', detail: { field: 'sinkState.maxSinks' } }),
      );
    });
  });
});
