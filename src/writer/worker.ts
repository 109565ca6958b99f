/**
 * The writer's worker thread: hosts the appender of a trail directory or PostgreSQL log so that
 * hashing, Merkle updates, writes and fsyncs (commits) stay off the application's event loop.
 * Protocol in channel.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { forwardDiagnostics } from '../diagnostics.js';
import { AuditError } from '../errors.js';
import { AppendThread } from '../store/append-thread.js';
import { retryDelay } from '../write-all.js';
import type { Appender } from './appender.js';
import { type FromWorker, SHARED, type ToWorker, type WorkerInit } from './channel.js';
import { openFileAppender } from './open-file.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const shared = new BigInt64Array(init.shared);
let appender: Appender | undefined;
let timer: NodeJS.Timeout | undefined;
// Keys are added as their batch arrives; slots are dropped once their batch is written.
const backlog: Array<{ data: Uint8Array; count: number; forget?: number[] }> = [];
let writeRetryDelay = 0;
let release: (() => void) | undefined;
/** PostgreSQL: commits what the appender buffered (checkpoints, seals); absent for files. */
let settle: (() => Promise<void>) | undefined;
/** PostgreSQL: after the appender's close, commits the rest and releases the log. */
let finish: (() => Promise<void>) | undefined;

function post(msg: FromWorker): void {
  port.postMessage(msg);
}
// A diagnostic raised here (a failed copy to stdout) reaches the application's subscribers.
forwardDiagnostics((diagnostic) => post({ type: 'diagnostic', diagnostic }));

/** An error as the caller's thread rebuilds it (the detail is non-secret by contract). */
function errorOf(err: unknown): { code: string; message: string; detail?: Record<string, unknown> } {
  return err instanceof AuditError
    ? { code: err.code, message: err.message, detail: { ...err.detail } }
    : { code: 'STORE_IO', message: (err as Error).message };
}

// Batches that queued up while the last one was written go out together in one write (of at most
// this many events, which fits a slot of the append thread). A trail directory's writes run on
// the append thread and the sync on libuv's thread pool while the next batches are built
// (pipelined group commit: the disk, the page cache and the hashing overlap, measured); entries
// count as durable only once a sync that started after their write was done has finished.
const MAX_EVENTS_PER_WRITE = 2048;
let drainScheduled = false;
/** Entries appended by this session, those of them in the store, and those a finished sync covers. */
let written = 0;
let inStore = 0;
let synced = 0;
/** Per append of this session not yet known to be in the store: its batch number and `written` after it. */
const appends: Array<{ batch: number; total: number }> = [];
let appendThread: AppendThread | undefined;
let syncing = false;
let syncRetryDelay = 0;

function scheduleDrain(): void {
  if (drainScheduled) return;
  drainScheduled = true;
  setImmediate(() => {
    drainScheduled = false;
    drain();
  });
}

/** Writes queued batches; on an I/O error keeps them and retries with backoff (nothing is dropped). */
function drain(): void {
  while (appender !== undefined && backlog.length > 0) {
    let take = 1;
    let count = backlog[0]!.count;
    while (take < backlog.length && count + backlog[take]!.count <= MAX_EVENTS_PER_WRITE)
      count += backlog[take++]!.count;
    try {
      appender.appendBatch(
        backlog.slice(0, take).map((b) => b.data),
        false,
      );
      for (let i = 0; i < take; i++) appender.contentKeys.forget(backlog[i]!.forget);
    } catch (err) {
      writeRetryDelay = retryDelay(writeRetryDelay);
      post({ type: 'error', ...errorOf(err), retrying: true });
      setTimeout(drain, writeRetryDelay).unref();
      return;
    }
    writeRetryDelay = 0;
    recycle(backlog.splice(0, take));
    written += count;
    appends.push({ batch: appender.writes().issued, total: written });
  }
  startSync();
}

/** Entries of this session in the store: those whose append the store has written. */
function storedTotal(): number {
  const done = appender?.writes().written ?? 0;
  while (appends.length > 0 && appends[0]!.batch <= done) inStore = appends.shift()!.total;
  return inStore;
}

/** Gives the caller back the buffers of written batches, for its next batches (framing.ts). */
function recycle(done: ReadonlyArray<{ data: Uint8Array }>): void {
  const buffers = done.map((b) => b.data.buffer as ArrayBuffer).filter((b) => b.byteLength > 0);
  if (buffers.length > 0) port.postMessage({ type: 'recycle', buffers } satisfies FromWorker, buffers);
}

/** Starts a sync of everything written so far, unless one is running (it starts the next one). */
function startSync(): void {
  if (syncing || appender === undefined) return;
  const target = storedTotal();
  if (target === synced) return;
  syncing = true;
  appender.syncAsync((err) => {
    syncing = false;
    if (err !== undefined) {
      syncRetryDelay = retryDelay(syncRetryDelay);
      post({ type: 'error', ...errorOf(err), retrying: true });
      setTimeout(startSync, syncRetryDelay).unref();
      return;
    }
    syncRetryDelay = 0;
    markDurable(target);
    startSync();
  });
}

function markDurable(target: number): void {
  if (target <= synced) return;
  Atomics.add(shared, SHARED.durable, BigInt(target - synced));
  synced = target;
  Atomics.notify(shared, SHARED.durable);
  post({ type: 'durable', total: Number(Atomics.load(shared, SHARED.durable)) });
}

async function close(): Promise<void> {
  if (timer !== undefined) clearInterval(timer);
  try {
    drain();
    appender?.close(); // syncs before its final checkpoint
    await finish?.();
    markDurable(written);
  } finally {
    appender = undefined;
    await appendThread?.terminate();
    release?.();
    release = undefined;
    Atomics.store(shared, SHARED.closed, 1n);
    Atomics.notify(shared, SHARED.closed);
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'batch':
      appender?.contentKeys.add(msg.keys?.add);
      backlog.push(
        msg.keys?.forget === undefined
          ? { data: msg.data, count: msg.count }
          : { data: msg.data, count: msg.count, forget: msg.keys.forget },
      );
      if (backlog.length === 1) scheduleDrain();
      break;
    case 'checkpoint':
      try {
        drain();
        appender?.checkpoint('request');
        if (settle === undefined) post({ type: 'done', id: msg.id });
        else
          settle().then(
            () => post({ type: 'done', id: msg.id }),
            (err: unknown) => post({ type: 'error', ...errorOf(err), retrying: false, id: msg.id }),
          );
      } catch (err) {
        post({ type: 'error', ...errorOf(err), retrying: false, id: msg.id });
      }
      break;
    case 'erase':
      try {
        drain();
        const result = appender!.eraseSubject(msg.subject, msg.reason);
        post({ type: 'done', id: msg.id, result });
      } catch (err) {
        post({ type: 'error', ...errorOf(err), retrying: false, id: msg.id });
      }
      break;
    case 'retention':
      try {
        drain();
        const result = appender!.applyRetention(msg.policy);
        post({ type: 'done', id: msg.id, result });
      } catch (err) {
        post({ type: 'error', ...errorOf(err), retrying: false, id: msg.id });
      }
      break;
    case 'close':
      close().then(
        () => post({ type: 'closed' }),
        (err: unknown) => {
          post({ type: 'error', ...errorOf(err), retrying: false });
          post({ type: 'closed' });
        },
      );
      break;
  }
});

try {
  const options = init.options;
  // The PostgreSQL driver is loaded only for PostgreSQL trails.
  if (!('postgres' in options)) {
    appendThread = AppendThread.start({
      onWritten: () => startSync(),
      onError: (code) =>
        post({ type: 'error', code: 'STORE_IO', message: `cannot write a segment: ${code}`, retrying: true }),
    });
    if (appendThread === undefined)
      post({
        type: 'error',
        code: 'STORE_IO',
        message: 'the append thread did not start: segments are written on the writer thread',
        retrying: false,
      });
  }
  const opened =
    'postgres' in options
      ? await (await import('./open-postgres.js')).openPgAppender(options)
      : openFileAppender(options, appendThread);
  appender = opened.appender;
  if ('release' in opened) release = opened.release;
  else ({ settle, finish } = opened);
  timer = setInterval(() => {
    try {
      appender?.tick();
      settle?.().catch((err: unknown) => post({ type: 'error', ...errorOf(err), retrying: true }));
    } catch (err) {
      post({ type: 'error', ...errorOf(err), retrying: true });
    }
  }, 1000);
  timer.unref();
  const ready: FromWorker = { type: 'ready', size: appender.size, meta: opened.meta };
  if (opened.sealSeed !== undefined) ready.sealSeed = opened.sealSeed;
  post(ready);
} catch (err) {
  await appendThread?.terminate();
  post({ type: 'error', ...errorOf(err), retrying: false, fatal: true });
}
