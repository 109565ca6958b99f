/**
 * Threads that verify segments of a trail directory in parallel (read/verify-worker.ts), for a
 * caller that stays synchronous: verifyDir, like every reader, returns its report without an event
 * loop turn. Segments are posted a few ahead, round robin, and their parts read back in segment
 * order: the caller blocks on a shared counter (Atomics.wait) until the next part is on the port.
 * Leaves come back as moved buffers, so a part costs no copy. A thread that does not answer within
 * {@link STALL_MS} is given up: the caller verifies the rest itself. Closing asks the threads to
 * stop and waits (briefly) until none is inside a segment, so that each closes the file it reads:
 * a terminated thread would leave its descriptor open in the process.
 */
import os from 'node:os';
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { startModuleWorker } from '../worker-start.js';
import type { SegmentPart, SegmentTask } from './verify-segment.js';

/** Longest wait for the next part of a segment (a run is posted every few thousand entries). */
const STALL_MS = 120_000;
/** Threads at most: verify is bound by hashing, one thread per core. */
const MAX_THREADS = 4;
/** Longest wait on close for a thread to leave its segment (it checks between runs). */
const CLOSE_WAIT_MS = 5000;

/**
 * The shared counters of `threads` threads: parts posted by each thread, then whether each is
 * inside a segment (1) or not (0), then the stop request.
 */
export const poolSlots = {
  posted: (index: number) => index,
  busy: (threads: number, index: number) => threads + index,
  stop: (threads: number) => 2 * threads,
  size: (threads: number) => 2 * threads + 1,
};

/** Threads worth starting for `tasks` segments of `bytes` in total (0: verify in the caller's thread). */
export function verifyThreads(tasks: number, bytes: number): number {
  // Starting a thread costs tens of milliseconds (measured): not worth it below a few segments' bytes.
  if (tasks < 2 || bytes < 32 * 1024 * 1024) return 0;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return cores < 2 ? 0 : Math.min(cores, MAX_THREADS, tasks);
}

/** A set of verifying threads. */
export class VerifyPool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly signal: Int32Array;
  private stalled = false;

  constructor(threads: number) {
    this.signal = new Int32Array(new SharedArrayBuffer(4 * poolSlots.size(threads)));
    try {
      for (let index = 0; index < threads; index++) this.startThread(index);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  private startThread(index: number): void {
    const { port1, port2 } = new MessageChannel();
    const workerData = { port: port2, signal: this.signal, index, threads: this.signal.length >> 1 };
    const worker = startModuleWorker(import.meta.url, 'verify-worker', { workerData, transferList: [port2] });
    worker.unref();
    this.workers.push(worker);
    this.ports.push(port1);
  }

  /**
   * The parts of each task, in task order, each task's ending with its `end` part. `undefined`
   * ends a task whose thread stalled, and every task after it: the caller verifies the rest of
   * those segments itself.
   */
  *parts(tasks: readonly SegmentTask[]): Generator<SegmentPart | undefined> {
    const n = this.workers.length;
    let sent = 0;
    for (let i = 0; i < tasks.length; i++) {
      // Keep each thread one segment ahead of the one being read back (bounded memory).
      for (; sent < tasks.length && sent < i + 2 * n && !this.stalled; sent++)
        this.ports[sent % n]!.postMessage(tasks[sent]);
      if (this.stalled || i >= sent) {
        yield undefined;
        continue;
      }
      for (;;) {
        const part = this.receive(i % n);
        yield part;
        if (part === undefined || part.kind === 'end') break;
      }
    }
  }

  /** The next part from thread `w`, or undefined when it stalled. */
  private receive(w: number): SegmentPart | undefined {
    const deadline = Date.now() + STALL_MS;
    for (;;) {
      const seen = Atomics.load(this.signal, w);
      const got = receiveMessageOnPort(this.ports[w]!);
      if (got !== undefined) return got.message as SegmentPart;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.stalled = true;
        return undefined;
      }
      Atomics.wait(this.signal, w, seen, Math.min(left, 1000));
    }
  }

  /** Stops the threads, once each has closed the segment it was reading. */
  close(): void {
    const n = this.workers.length;
    Atomics.store(this.signal, poolSlots.stop(n), 1);
    const deadline = Date.now() + CLOSE_WAIT_MS;
    for (let w = 0; w < n; w++) {
      const busy = poolSlots.busy(n, w);
      while (Atomics.load(this.signal, busy) === 1 && Date.now() < deadline)
        Atomics.wait(this.signal, busy, 1, Math.max(1, deadline - Date.now()));
    }
    for (const p of this.ports) p.close();
    for (const w of this.workers) void w.terminate();
  }
}
