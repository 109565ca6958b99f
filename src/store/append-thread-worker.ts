/**
 * The append thread (append-thread.ts): writes the queued batches of segment lines to their
 * files, in the order they were queued. A write that fails is cut back to where it started and,
 * once the cut-back has worked, tried again, with a growing pause, until it succeeds or the thread
 * is stopped; the writer learns of each failure (a message) and of each completed write (the
 * shared counter, then a message).
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { retryDelay, writeAll } from '../write-all.js';
import {
  type AppendThreadShared,
  CTL,
  type FromAppendThread,
  STOP,
  slotView,
} from './append-thread-shared.js';

const shared = workerData as AppendThreadShared;
const ctl = new Int32Array(shared.control);
const offsets = new Float64Array(shared.offsets);
const port = parentPort!;

function post(msg: FromAppendThread): void {
  port.postMessage(msg);
}

/** Ends the thread, saying so (append-thread.ts `abandon` waits for it). */
function end(): never {
  Atomics.store(ctl, CTL.running, 0);
  Atomics.notify(ctl, CTL.running);
  process.exit(0); // in a worker thread: ends this thread only
}

Atomics.store(ctl, CTL.running, 1);
Atomics.notify(ctl, CTL.running);

for (;;) {
  const wake = Atomics.load(ctl, CTL.wake); // read first: a batch or stop after it changes it
  const done = Atomics.load(ctl, CTL.completed);
  const stop = Atomics.load(ctl, CTL.stop);
  if (stop === STOP.abandon || (stop === STOP.finish && Atomics.load(ctl, CTL.queued) === done)) end();
  if (Atomics.load(ctl, CTL.queued) === done) {
    Atomics.wait(ctl, CTL.wake, wake);
    continue;
  }
  const slot = done % shared.slots.length;
  const fd = Atomics.load(ctl, CTL.slotFd + slot);
  const start = offsets[slot]!;
  for (let pause = 0; ; ) {
    try {
      if (Atomics.load(ctl, CTL.stop) === STOP.abandon) end();
      // After a failed attempt the file must end where this batch starts (the cut below may have
      // failed): a write after part of a batch would leave that part as a torn line amid whole
      // ones, and the next open would set aside everything after it, lines made durable too.
      if (pause > 0) fs.ftruncateSync(fd, start);
      writeAll(fd, slotView(shared, slot, Atomics.load(ctl, CTL.slotLength + slot)));
      break;
    } catch (err) {
      // Cut a partial write back at once, so the file ends on a whole line (the writer may be
      // killed while this waits); the next attempt cuts again first.
      try {
        fs.ftruncateSync(fd, start);
      } catch {
        // cut back before the next attempt
      }
      Atomics.store(ctl, CTL.failing, 1);
      Atomics.notify(ctl, CTL.completed);
      post({ type: 'error', code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
      pause = retryDelay(pause);
      // Woken early by a stop: the writer gave up on this trail, whose next open recovers it.
      if (Atomics.wait(ctl, CTL.stop, 0, pause) !== 'timed-out' && Atomics.load(ctl, CTL.stop) !== 0) end();
    }
  }
  Atomics.store(ctl, CTL.failing, 0);
  Atomics.store(ctl, CTL.completed, done + 1);
  Atomics.notify(ctl, CTL.completed);
  post({ type: 'written', completed: done + 1 });
}
