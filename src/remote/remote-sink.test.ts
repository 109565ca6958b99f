/**
 * The remote sink against a real collector on loopback: the collector is stopped mid-stream while
 * the producer keeps emitting, the producer itself restarts on its spool, the collector comes
 * back on the same port, and every event is found once, in order, with the trail verifying.
 */
import { spawn } from 'node:child_process';
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

/**
 * Runs `run` against a collector of its own on loopback (a trail `name`, an ingest token, a spool
 * beside it), closes the collector, and gives the `meta.n` of the events the trail holds, in order.
 */
async function delivered(
  name: string,
  run: (c: { url: string; token: string; spoolDir: string }) => Promise<void>,
  options: { bodyLimit?: number; maxBatch?: number } = {},
): Promise<number[]> {
  const dir = path.join(tmp, name);
  const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
  const collector = await Collector.open({ dir, ...options });
  const { url } = await collector.listen({ port: 0 });
  try {
    await run({ url, token, spoolDir: path.join(tmp, `${name}-spool`) });
  } finally {
    await collector.close();
  }
  return (await stored(dir)).map((e) => (e.meta as { n: number }).n);
}

/**
 * A producer in a process of its own, loading the built module as an application does: `code`
 * runs with `RemoteSink`, `event(i)` and `url`, `token`, `spoolDir` from `args`. Not spawnSync:
 * the collector answering it runs in this process.
 */
async function runProducer(
  code: string,
  args: string[],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  const mod = new URL('../../dist/remote/remote-sink.js', import.meta.url).href;
  const script = `const { RemoteSink } = await import(${JSON.stringify(mod)});
    const [url, token, spoolDir] = process.argv.slice(1);
    const event = (i) => ({ type: 'tool.call', actor: { id: 'agent-1' }, action: 'a', meta: { n: i } });
    ${code}`;
  const c = spawn(process.execPath, ['--input-type=module', '-e', script, ...args]);
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => c.on('exit', (exit, signal) => resolve({ code: exit, signal, out })));
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

  describe('when the producer dies while it compacts its spool', () => {
    it('numbers on where it stopped, so the collector takes the events that follow', async () => {
      const ns = await delivered('compact-crash', async ({ url, token, spoolDir }) => {
        // Killed right after the compacted spool replaces the old one: the crash window.
        const { signal } = await runProducer(
          `import fs from 'node:fs';
          const rename = fs.renameSync;
          fs.renameSync = (from, to) => {
            rename(from, to);
            if (String(to).endsWith('spool.jsonl')) process.kill(process.pid, 'SIGKILL');
          };
          const sink = new RemoteSink({ url, token, spoolDir, minRetryMs: 10 });
          for (let i = 0; i < 20; i++) sink.emit(event(i));
          await sink.flush();`,
          [url, token, spoolDir],
        );
        expect(signal).toBe('SIGKILL');
        const sink = new RemoteSink({ url, token, spoolDir, minRetryMs: 10 });
        for (let i = 20; i < 25; i++) sink.emit(event(i));
        await sink.flush();
        await sink.close();
      });
      expect(ns).toEqual(Array.from({ length: 25 }, (_, i) => i));
    });
  });

  describe('in a short script that emits, flushes and ends', () => {
    it('stays alive until the collector has the events', async () => {
      const ns = await delivered('short-script', async ({ url, token, spoolDir }) => {
        const run = await runProducer(
          `const sink = new RemoteSink({ url, token, spoolDir });
          for (let i = 0; i < 3; i++) sink.emit(event(i));
          await sink.flush();
          await sink.close();
          process.stdout.write('flushed');`,
          [url, token, spoolDir],
        );
        expect(run).toEqual({ code: 0, signal: null, out: 'flushed' });
      });
      expect(ns).toEqual([0, 1, 2]);
    });
  });

  describe('when its last spooled event is larger than 64 KiB', () => {
    it('numbers on after a restart from that event, not from an older saved number', async () => {
      const ns = await delivered('big-last', async ({ url, token, spoolDir }) => {
        const opts = { url, token, spoolDir, minRetryMs: 10 };
        let sink = new RemoteSink(opts);
        for (let i = 0; i < 3; i++) sink.emit(event(i));
        await sink.flush();
        // Its meta (and sinkSeq) before 100 KB of content: the last 64 KiB of the spool hold no number.
        sink.emit({ ...event(3), content: { prompt: 'x'.repeat(100_000) } });
        await sink.close();
        sink = new RemoteSink(opts);
        for (let i = 4; i < 7; i++) sink.emit(event(i));
        await sink.flush();
        await sink.close();
      });
      expect(ns).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });
  });

  describe('when a batch is larger than the collector accepts (413)', () => {
    it('sends it in smaller batches, and sets aside one event too large on its own', async () => {
      let rejected: string[] = [];
      const ns = await delivered(
        'too-large',
        async ({ url, token, spoolDir }) => {
          const sink = new RemoteSink({ url, token, spoolDir, minRetryMs: 10 });
          const note = 'y'.repeat(10_000);
          for (let i = 0; i < 10; i++) sink.emit({ ...event(i), content: { prompt: note } });
          sink.emit({ ...event(10), content: { prompt: 'z'.repeat(100_000) } });
          for (let i = 11; i < 14; i++) sink.emit(event(i));
          await sink.flush();
          await sink.close();
          rejected = fs.readFileSync(path.join(spoolDir, 'rejected.jsonl'), 'utf8').trim().split('\n');
        },
        { bodyLimit: 64 * 1024 },
      );
      expect(ns).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13]);
      expect(rejected.map((l) => JSON.parse(l).meta.n)).toEqual([10]);
    });
  });

  describe('when a batch holds more events than the collector takes (400 naming events)', () => {
    it('sends it in smaller batches instead of retrying it for ever', async () => {
      const ns = await delivered(
        'max-batch',
        async ({ url, token, spoolDir }) => {
          const sink = new RemoteSink({ url, token, spoolDir, minRetryMs: 10 });
          for (let i = 0; i < 10; i++) sink.emit(event(i));
          await sink.flush();
          await sink.close();
        },
        { maxBatch: 4 },
      );
      expect(ns).toEqual(Array.from({ length: 10 }, (_, i) => i));
    });
  });

  describe('when a crash tore the last line of the spool', () => {
    it('sets the torn line aside and numbers on from the last whole event, losing none after it', async () => {
      let rejected: string[] = [];
      const ns = await delivered('torn', async ({ url, token, spoolDir }) => {
        const down = new RemoteSink({ url: 'http://127.0.0.1:9', token, spoolDir, minRetryMs: 60_000 });
        for (let i = 0; i < 5; i++) down.emit(event(i));
        await down.close();
        // Power lost as event 4 was written: its line ends early, with no newline.
        const spool = path.join(spoolDir, 'spool.jsonl');
        fs.truncateSync(spool, fs.statSync(spool).size - 20);
        const sink = new RemoteSink({ url, token, spoolDir, minRetryMs: 10 });
        // Before, the torn line never ended a batch: flush() waited for ever.
        await sink.flush();
        // Before, event 5 ran into the torn line, and 6 to 8 took seqs 1 to 3 again and were dropped as repeats.
        for (let i = 5; i < 10; i++) sink.emit(event(i));
        await sink.flush();
        await sink.close();
        rejected = fs.readFileSync(path.join(spoolDir, 'rejected.jsonl'), 'utf8').trim().split('\n');
      });
      expect(ns).toEqual([0, 1, 2, 3, 5, 6, 7, 8, 9]);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toContain('"action":"step-4"');
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

  describe('when the collector is down as the event happens', () => {
    it('records the time the event was emitted, not the time the collector received it', async () => {
      const spoolDir = path.join(tmp, 'late-spool');
      const down = new RemoteSink({
        url: 'http://127.0.0.1:9',
        token: 'stk_x',
        spoolDir,
        minRetryMs: 60_000,
      });
      const before = Date.now();
      down.emit(event(1));
      const after = Date.now();
      await down.close();
      await new Promise((r) => setTimeout(r, 300));
      const dir = path.join(tmp, 'late');
      const token = createToken(dir, { name: 'worker', scopes: ['ingest'] }).token;
      const collector = await Collector.open({ dir });
      const { url } = await collector.listen({ port: 0 });
      try {
        const sink = new RemoteSink({ url, token, spoolDir, minRetryMs: 10 });
        await sink.flush();
        await sink.close();
      } finally {
        await collector.close();
      }
      const [entry] = await stored(dir);
      const ts = Date.parse(entry!.ts);
      expect(ts).toBeGreaterThanOrEqual(before);
      expect(ts).toBeLessThanOrEqual(after);
    });
  });

  describe('when a second sink opens the same spool', () => {
    it('refuses it (TRAIL_LOCKED naming the lock) until the first is closed', async () => {
      const spoolDir = path.join(tmp, 'shared-spool');
      const options = { url: 'http://127.0.0.1:9', token: 'stk_x', spoolDir, minRetryMs: 60_000 };
      const first = new RemoteSink(options);
      expect(() => new RemoteSink(options)).toThrow(
        expect.objectContaining({
          code: 'TRAIL_LOCKED',
          message: expect.stringContaining(
            `spool is being sent in this process already (lock file ${spoolDir}`,
          ),
        }),
      );
      await first.close();
      await new RemoteSink(options).close();
    });
  });

  describe('when its spool directory was made beforehand', () => {
    it('makes a new spool private (0700), and leaves the mode of one in use as it is', async () => {
      const spoolDir = path.join(tmp, 'made-spool');
      fs.mkdirSync(spoolDir, { mode: 0o755 });
      fs.chmodSync(spoolDir, 0o755); // whatever the umask
      const options = { url: 'http://127.0.0.1:9', token: 'stk_x', spoolDir, minRetryMs: 60_000 };
      await new RemoteSink(options).close();
      expect(fs.statSync(spoolDir).mode & 0o777).toBe(0o700);
      fs.chmodSync(spoolDir, 0o750); // set on purpose, for a group that backs it up
      await new RemoteSink(options).close();
      expect(fs.statSync(spoolDir).mode & 0o777).toBe(0o750);
    });
  });

  describe('with credentials in its url', () => {
    it('refuses them at construction (CONFIG_INVALID naming url), never printing them', () => {
      let err: unknown;
      try {
        new RemoteSink({
          url: 'http://user:hunter2@127.0.0.1:9',
          token: 't',
          spoolDir: path.join(tmp, 'creds'),
        });
      } catch (e) {
        err = e;
      }
      expect(isAuditError(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as { detail: { field: string } }).detail.field).toBe('url');
      expect((err as Error).message).not.toContain('hunter2');
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
