/**
 * The append thread (append-thread.ts): writes the queued batches of segment lines to their
 * files, in the order they were queued. A write that fails is cut back to where it started and,
 * once the cut-back has worked, tried again, with a growing pause, until it succeeds or the thread
 * is stopped; the writer learns of each failure (a message) and of each completed write (the
 * shared counter, then a message).
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { writeAll } from '../write-all.js';
import { type AppendThreadShared, CTL, type FromAppendThread, slotView } from './append-thread-shared.js';

const shared = workerData as AppendThreadShared;
const ctl = new Int32Array(shared.control);
const offsets = new Float64Array(shared.offsets);
const port = parentPort!;

function post(msg: FromAppendThread): void {
  port.postMessage(msg);
}

Atomics.store(ctl, CTL.running, 1);
Atomics.notify(ctl, CTL.running);

for (;;) {
  const done = Atomics.load(ctl, CTL.completed);
  if (Atomics.load(ctl, CTL.stop) === 1 && Atomics.load(ctl, CTL.queued) === done) break;
  if (Atomics.load(ctl, CTL.queued) === done) {
    Atomics.wait(ctl, CTL.queued, done);
    continue;
  }
  const slot = done % shared.slots.length;
  const fd = Atomics.load(ctl, CTL.slotFd + slot);
  const start = offsets[slot]!;
  // Whether the file ends where this batch starts: after a failed attempt only once it was cut
  // back, for a write after part of a batch would leave that part as a torn line amid whole ones
  // (the next open would set aside everything after it, lines made durable too).
  let whole = true;
  for (let pause = 0; ; ) {
    try {
      if (!whole) {
        fs.ftruncateSync(fd, start);
        whole = true;
      }
      writeAll(fd, slotView(shared, slot, Atomics.load(ctl, CTL.slotLength + slot)));
      break;
    } catch (err) {
      whole = false;
      // Cut a partial write back at once, so the file ends on a whole line (the writer may be
      // killed while this waits); the next attempt appends again.
      try {
        fs.ftruncateSync(fd, start);
        whole = true;
      } catch {
        // cut back before the next attempt
      }
      Atomics.store(ctl, CTL.failing, 1);
      Atomics.notify(ctl, CTL.completed);
      post({ type: 'error', code: (err as NodeJS.ErrnoException).code ?? 'EIO' });
      pause = Math.min(Math.max(pause * 2, 50), 5000);
      // Woken early by stop(): the writer gave up on this trail, whose next open recovers it.
      if (Atomics.wait(ctl, CTL.stop, 0, pause) !== 'timed-out' && Atomics.load(ctl, CTL.stop) === 1)
        process.exit(0);
    }
  }
  Atomics.store(ctl, CTL.failing, 0);
  Atomics.store(ctl, CTL.completed, done + 1);
  Atomics.notify(ctl, CTL.completed);
  post({ type: 'written', completed: done + 1 });
}
