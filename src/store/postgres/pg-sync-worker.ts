/**
 * The thread behind {@link PgSyncClient}: holds one reader connection and answers queries posted
 * on a message port, then wakes the waiting caller through the shared flag. Rows go back as the
 * driver returns them (bytea as bytes); errors as code and message, never the connection string.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import type pg from 'pg';
import { connectPg, describeTarget, pgError } from './connect.js';

const { url, port, flag } = workerData as { url: string; port: MessagePort; flag: Int32Array };
const target = describeTarget(url);
let client: Promise<pg.Client> | undefined;

function reply(msg: unknown): void {
  port.postMessage(msg);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

port.on('message', async (req: { id: number; text: string; values: unknown[] }) => {
  try {
    client ??= connectPg(url, 'reader').then(async (c) => {
      // Every read is a range of a primary key in its order. Right after a bulk write the
      // statistics are stale and the planner picks a bitmap scan and an on-disk sort of the whole
      // log instead (measured: 40x slower): steer it to the ordered index scan.
      await c.query('SET enable_bitmapscan = off; SET enable_sort = off');
      return c;
    });
    const c = await client;
    const r = await c.query({ text: req.text, values: req.values });
    reply({ id: req.id, rows: r.rows });
  } catch (err) {
    const e = pgError(err, target, 'query failed');
    client = e.code === 'STORE_UNAVAILABLE' ? undefined : client;
    reply({ id: req.id, error: { code: e.code, message: e.message, sqlstate: e.detail?.sqlstate } });
  }
});

process.on('exit', () => {
  void client?.then((c) => c.end()).catch(() => {});
});
