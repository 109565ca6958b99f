/**
 * A thread of {@link VerifyPool}: verifies the segments posted on its port (read/verify-segment.ts)
 * and posts back each part as it is ready, the leaves moved rather than copied, then wakes the
 * waiting caller through the shared counter. Anything unexpected ends the segment with the
 * position where checking stopped; the caller reads those lines again itself. When the caller
 * asks the pool to stop, the thread leaves its segment at the next run, closing the file.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { poolSlots } from './verify-pool.js';
import { type SegmentPart, type SegmentTask, verifySegment } from './verify-segment.js';

const { port, signal, index, threads } = workerData as {
  port: MessagePort;
  signal: Int32Array;
  index: number;
  threads: number;
};
const busy = poolSlots.busy(threads, index);
const stop = poolSlots.stop(threads);

function setBusy(value: 0 | 1): void {
  Atomics.store(signal, busy, value);
  Atomics.notify(signal, busy);
}

function post(part: SegmentPart): void {
  if (part.kind === 'run') {
    const moved = [part.run.leaves, part.run.nodes]
      .filter((b) => b.byteLength > 0)
      .map((b) => b.buffer as ArrayBuffer);
    port.postMessage(part, moved);
  } else port.postMessage(part);
  Atomics.add(signal, poolSlots.posted(index), 1);
  Atomics.notify(signal, poolSlots.posted(index));
}

port.on('message', (task: SegmentTask) => {
  setBusy(1);
  let pos = task.firstSeq;
  try {
    if (Atomics.load(signal, stop) === 1) return;
    for (const part of verifySegment(task)) {
      post(part);
      if (part.kind === 'run') pos = part.fromSeq + part.run.lines;
      if (Atomics.load(signal, stop) === 1) return; // leaving the loop closes the segment file
    }
  } catch {
    post({ kind: 'end', stoppedAt: pos });
  } finally {
    setBusy(0);
  }
});
