/**
 * Segment writes off the writer's thread. Writing a batch into the page cache is not free: on the
 * benchmark's virtual machine it took 38% of the writer thread at a million events, where the host
 * backs fresh memory on first touch (docs/benchmarks.md). The append thread does those writes while
 * the writer hashes and builds the next batch.
 *
 * The writer copies each batch into one of a few shared slots and goes on; the thread writes the
 * slots in order. Everything that needs the file whole first waits, blocking, until the thread has
 * written all that is queued ({@link AppendThread.waitIdle}): syncs, rotation, closing, and so
 * every checkpoint and seal, which sync first. An entry counts as durable only once a sync that
 * began after its write completed has finished (writer/worker.ts). A failed write is cut back and
 * retried by the thread until it succeeds, like a failed batch before; meanwhile a wait fails
 * with STORE_IO, so the writer reports it and keeps its batches.
 */
import type { Worker } from 'node:worker_threads';
import { AuditError } from '../errors.js';
import { startModuleWorker } from '../worker-start.js';
import {
  type AppendThreadShared,
  allocateShared,
  CTL,
  type FromAppendThread,
  SLOTS,
  STOP,
  slotView,
} from './append-thread-shared.js';

/** Room for a batch of 2,048 entries of ~1.7 KB; a larger batch is written on the writer's thread. */
const SLOT_BYTES = 4 * 1024 * 1024;
/** The longest wait for the thread to start (it loads one small module; ≈ 30 ms here). */
const START_MS = 10_000;

/** The append thread of one writer. */
export class AppendThread {
  private readonly ctl: Int32Array;
  private readonly offsets: Float64Array;
  private queued = 0;
  private stopped = false;

  private constructor(
    private readonly shared: AppendThreadShared,
    private readonly worker: Worker,
  ) {
    this.ctl = new Int32Array(shared.control);
    this.offsets = new Float64Array(shared.offsets);
  }

  /**
   * Starts the thread and waits (blocking, at most `startMs`) until it runs. `onWritten` gets the
   * number of batches written so far after each write; `onError` the error code of each failed
   * attempt (the thread retries it).
   * @returns undefined when the thread did not start in time (it is ended): the caller writes on
   *   its own thread then, for a wait on a thread that never runs would never end.
   */
  static start(
    events: { onWritten(completed: number): void; onError(code: string): void },
    startMs = START_MS,
  ): AppendThread | undefined {
    const shared = allocateShared(SLOT_BYTES);
    const worker = startModuleWorker(import.meta.url, 'append-thread-worker', { workerData: shared });
    worker.unref();
    const ctl = new Int32Array(shared.control);
    if (Atomics.wait(ctl, CTL.running, 0, startMs) === 'timed-out') {
      void worker.terminate();
      return undefined;
    }
    worker.on('message', (msg: FromAppendThread) => {
      if (msg.type === 'written') events.onWritten(msg.completed);
      else events.onError(msg.code);
    });
    worker.on('error', (err) => events.onError(err.message));
    return new AppendThread(shared, worker);
  }

  /** Whether a batch of `bytes` goes through the thread ({@link write}). */
  fits(bytes: number): boolean {
    return bytes <= SLOT_BYTES && !this.stopped;
  }

  /** Batches queued so far; {@link completed} catches up with it. */
  get issued(): number {
    return this.queued;
  }

  /** Batches written so far. */
  get completed(): number {
    return Atomics.load(this.ctl, CTL.completed);
  }

  /**
   * Queues `data` (copied) to be appended to `fd`, a file `offset` bytes long before it. Waits
   * for a free slot when all are taken.
   * @throws AuditError STORE_IO when it would wait on a write that is failing (`file` named).
   */
  write(fd: number, data: Uint8Array, offset: number, file: string): void {
    while (this.queued - this.completed >= SLOTS) this.waitForWrite(file);
    const slot = this.queued % SLOTS;
    slotView(this.shared, slot, data.length).set(data);
    Atomics.store(this.ctl, CTL.slotFd + slot, fd);
    Atomics.store(this.ctl, CTL.slotLength + slot, data.length);
    this.offsets[slot] = offset;
    this.queued++;
    Atomics.store(this.ctl, CTL.queued, this.queued);
    this.wake();
  }

  /**
   * Blocks until every queued batch is written.
   * @throws AuditError STORE_IO while a write is failing (the thread goes on retrying it).
   */
  waitIdle(file: string): void {
    while (this.completed < this.queued) this.waitForWrite(file);
  }

  /**
   * Ends the thread before its next attempt to write, and waits (blocking, at most `waitMs`) until
   * it has ended: called before the writer's lock is released when opening failed, so that no
   * write it was retrying lands after another writer has opened the trail.
   */
  abandon(waitMs = START_MS): void {
    this.signal(STOP.abandon);
    const deadline = Date.now() + waitMs;
    while (Atomics.load(this.ctl, CTL.running) === 1 && Date.now() < deadline)
      Atomics.wait(this.ctl, CTL.running, 1, Math.max(1, deadline - Date.now()));
  }

  private signal(stop: number): void {
    this.stopped = true;
    Atomics.store(this.ctl, CTL.stop, Math.max(stop, Atomics.load(this.ctl, CTL.stop)));
    this.wake();
    Atomics.notify(this.ctl, CTL.stop); // a thread pausing between attempts waits on `stop`
  }

  /** Wakes an idle thread: it waits on `wake`, which this changes, so no call of this is missed. */
  private wake(): void {
    Atomics.add(this.ctl, CTL.wake, 1);
    Atomics.notify(this.ctl, CTL.wake);
  }

  /** Ends the thread at once (a write being retried is given up: the next open recovers the tail). */
  terminate(): Promise<number> {
    this.signal(STOP.finish);
    return this.worker.terminate();
  }

  private waitForWrite(file: string): void {
    const done = this.completed;
    if (done < this.queued && Atomics.load(this.ctl, CTL.failing) === 1) {
      throw new AuditError('STORE_IO', `cannot write ${file}: a write is failing and being retried`, {
        file,
      });
    }
    Atomics.wait(this.ctl, CTL.completed, done, 1000);
  }
}
