/**
 * The queue and timing options of a trail, checked before anything is opened: a bad value is a
 * `CONFIG_INVALID` naming the option, never a trail that opens and then drops, blocks without
 * bound or fails every `emit()`.
 */
import { AuditError } from '../errors.js';

/** What to do when the queue is full. */
export type OverflowPolicy = 'block' | 'reject' | 'count';

const POLICIES: readonly OverflowPolicy[] = ['block', 'reject', 'count'];
/** The default queue under `block`: this many batches, and no fewer than MIN_QUEUE events. */
const QUEUE_BATCHES = 8;
const MIN_QUEUE = 8192;
/** The default queue under `reject` and `count`, where a full queue loses events. */
const LOSSY_QUEUE = 100_000;

/** The options this module checks, as given. */
export interface QueueOptionsInput {
  batchSize?: number | undefined;
  maxQueue?: number | undefined;
  overflow?: OverflowPolicy | undefined;
  flushIntervalMs?: number | undefined;
  checkpointIntervalMs?: number | undefined;
  maxSegmentBytes?: number | undefined;
  maxStringBytes?: number | undefined;
}

/** The queue settings of an open trail, defaults applied. */
export interface QueueSettings {
  batchSize: number;
  maxQueue: number;
  overflow: OverflowPolicy;
  flushIntervalMs: number;
}

function invalid(field: string, expected: string, value: unknown): AuditError {
  const shown = typeof value === 'number' ? String(value) : typeof value;
  return new AuditError('CONFIG_INVALID', `${field}: expected ${expected}, got ${shown}`, { field });
}

function positiveInteger(options: QueueOptionsInput, field: keyof QueueOptionsInput): void {
  const v = options[field];
  if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1))
    throw invalid(field, 'a positive integer', v);
}

function nonNegative(options: QueueOptionsInput, field: keyof QueueOptionsInput): void {
  const v = options[field];
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0))
    throw invalid(field, 'a number of milliseconds, 0 or more', v);
}

/**
 * Checks the queue, timing and size options and applies the defaults.
 * @throws AuditError CONFIG_INVALID naming the option.
 */
export function queueSettings(options: QueueOptionsInput): QueueSettings {
  for (const field of ['batchSize', 'maxQueue', 'maxSegmentBytes', 'maxStringBytes'] as const)
    positiveInteger(options, field);
  for (const field of ['flushIntervalMs', 'checkpointIntervalMs'] as const) nonNegative(options, field);
  const overflow = options.overflow ?? 'block';
  if (!POLICIES.includes(overflow)) {
    throw new AuditError(
      'CONFIG_INVALID',
      `overflow: expected block, reject or count, got ${JSON.stringify(String(overflow)).slice(0, 40)}`,
      { field: 'overflow' },
    );
  }
  const batchSize = options.batchSize ?? 1000;
  const maxQueue =
    options.maxQueue ?? (overflow === 'block' ? Math.max(QUEUE_BATCHES * batchSize, MIN_QUEUE) : LOSSY_QUEUE);
  if (maxQueue < batchSize) {
    throw new AuditError('CONFIG_INVALID', 'maxQueue: must be at least batchSize', { field: 'maxQueue' });
  }
  return { batchSize, maxQueue, overflow, flushIntervalMs: options.flushIntervalMs ?? 0 };
}
