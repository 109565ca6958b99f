/**
 * A thread of {@link VerifyPool}: verifies the segments posted on its port (read/verify-segment.ts)
 * and posts back each part as it is ready, the leaves moved rather than copied, then wakes the
 * waiting caller through the shared counter. Anything unexpected ends the segment with the
 * position where checking stopped; the caller reads those lines again itself.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { type SegmentPart, type SegmentTask, verifySegment } from './verify-segment.js';

const { port, signal, index } = workerData as { port: MessagePort; signal: Int32Array; index: number };

function post(part: SegmentPart): void {
  if (part.kind === 'run') {
    const moved = [part.run.leaves, part.run.nodes]
      .filter((b) => b.byteLength > 0)
      .map((b) => b.buffer as ArrayBuffer);
    port.postMessage(part, moved);
  } else port.postMessage(part);
  Atomics.add(signal, index, 1);
  Atomics.notify(signal, index);
}

port.on('message', (task: SegmentTask) => {
  let pos = task.firstSeq;
  try {
    for (const part of verifySegment(task)) {
      post(part);
      if (part.kind === 'run') pos = part.fromSeq + part.run.lines;
    }
  } catch {
    post({ kind: 'end', stoppedAt: pos });
  }
});
