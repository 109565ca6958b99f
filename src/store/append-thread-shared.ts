/** What the append thread and the writer share (append-thread.ts): the queue's slots and counters. */

/** Batches that can wait to be written at once. */
export const SLOTS = 4;

/** Indexes into the control array (Int32). */
export const CTL = {
  /** Batches queued so far (the next one goes to slot `queued % SLOTS`). */
  queued: 0,
  /** Batches written so far. */
  completed: 1,
  /** 1 while the oldest queued batch failed at its last attempt (it is being retried). */
  failing: 2,
  /** A {@link STOP} value: 0 while the thread runs on. */
  stop: 3,
  /** 1 while the thread runs (append-thread.ts waits for it before it queues anything). */
  running: 4,
  /**
   * Counts every batch queued and every stop: the idle thread waits on it, so that neither is
   * missed between its last look at `queued` and `stop` and its wait.
   */
  wake: 5,
  /** SLOTS entries: the descriptor each slot's batch goes to. */
  slotFd: 6,
  /** SLOTS entries: the length of each slot's batch. */
  slotLength: 6 + SLOTS,
} as const;

/** Values of `CTL.stop`. */
export const STOP = {
  /** Write what is queued, then end (unless a write is failing: then end now). */
  finish: 1,
  /** End before the next attempt to write, written or not (the trail was not opened). */
  abandon: 2,
} as const;

const CONTROL_LENGTH = 6 + 2 * SLOTS;

/** The shared memory, as the thread gets it (workerData). */
export interface AppendThreadShared {
  control: SharedArrayBuffer;
  /** Per slot: the file's length before the batch (where a failed write is cut back to). */
  offsets: SharedArrayBuffer;
  slots: SharedArrayBuffer[];
}

export type FromAppendThread = { type: 'written'; completed: number } | { type: 'error'; code: string };

export function allocateShared(slotBytes: number): AppendThreadShared {
  return {
    control: new SharedArrayBuffer(CONTROL_LENGTH * 4),
    offsets: new SharedArrayBuffer(SLOTS * 8),
    slots: Array.from({ length: SLOTS }, () => new SharedArrayBuffer(slotBytes)),
  };
}

/** The first `length` bytes of slot `slot`. */
export function slotView(shared: AppendThreadShared, slot: number, length: number): Uint8Array {
  return new Uint8Array(shared.slots[slot]!, 0, length);
}
