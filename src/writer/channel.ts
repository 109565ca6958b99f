/**
 * The link between the caller-side trail and its appender: a worker thread (file trails, the
 * default) or the same thread (memory trails, or `worker: false`). Both count durable entries in
 * a SharedArrayBuffer so that the caller can also wait synchronously (process exit, `block` policy).
 */
import type { Worker } from 'node:worker_threads';
import { type Diagnostic, reportDiagnostic } from '../diagnostics.js';
import { AuditError, type AuditErrorCode } from '../errors.js';
import type { RetentionResult } from '../retention/apply.js';
import type { ErasureCount } from '../retention/erase.js';
import type { RetentionPolicy } from '../retention/policy.js';
import type { TrailMeta } from '../store/index.js';
import { startModuleWorker } from '../worker-start.js';
import type { Appender } from './appender.js';
import type { ContentKeyUpdate } from './content-sealing.js';
import type { OpenFileOptions } from './open-file.js';
import type { OpenPgOptions } from './open-postgres.js';

/** Slots of the shared counters. */
export const SHARED = { durable: 0, closed: 1 } as const;

// The worker turns megabyte batches into megabyte writes: a larger young generation lets those
// strings die young instead of being promoted and collected again (measured: GC time halved).
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 64 };

/** What the worker is started with. */
export interface WorkerInit {
  options: OpenFileOptions | OpenPgOptions;
  shared: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'batch'; data: Uint8Array; count: number; keys?: ContentKeyUpdate }
  | { type: 'checkpoint'; id: number }
  | { type: 'erase'; id: number; subject: string; reason?: string }
  | { type: 'retention'; id: number; policy: RetentionPolicy }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; size: number; meta: TrailMeta; sealSeed?: string }
  | { type: 'durable'; total: number }
  | { type: 'recycle'; buffers: ArrayBuffer[] }
  | { type: 'done'; id: number; result?: ErasureCount | RetentionResult }
  | { type: 'closed' }
  /** A diagnostic of the worker's thread (diagnostics.ts), published on the caller's. */
  | { type: 'diagnostic'; diagnostic: Diagnostic }
  | {
      type: 'error';
      code: string;
      message: string;
      detail?: Record<string, unknown>;
      retrying: boolean;
      fatal?: boolean;
      id?: number;
    };

/** What the caller-side trail needs from wherever its appender runs. */
export interface Channel {
  /**
   * Hands a batch of framed events to the appender (which may take ownership of its buffer), with
   * the content keys to add before it and to drop after it.
   */
  send(data: Uint8Array, count: number, keys?: ContentKeyUpdate): void;
  /** Entries made durable so far (this session). */
  durable(): number;
  /** Blocks the calling thread until `target` entries are durable or the timeout passes. */
  waitDurableSync(target: number, timeoutMs: number): boolean;
  /** Asks for a checkpoint of everything sent so far. */
  checkpoint(): Promise<void>;
  /** Erases a subject's content payloads (after everything sent so far). */
  erase(subject: string, reason: string | undefined): Promise<ErasureCount>;
  /** Applies a retention policy (after everything sent so far). */
  retention(policy: RetentionPolicy): Promise<RetentionResult>;
  close(): Promise<void>;
  /** Closes from a synchronous context (process exit). */
  closeSync(timeoutMs: number): void;
  /** Keep the process alive while the caller awaits durability. */
  hold(on: boolean): void;
}

/** Called with the durable total after every batch, and with errors. */
export interface ChannelEvents {
  onDurable(total: number): void;
  /** The buffer of a batch the appender has written, free for another batch. */
  onRecycle(buffer: ArrayBuffer): void;
  onError(code: string, message: string, retrying: boolean): void;
}

function toAuditError(msg: { code: string; message: string; detail?: Record<string, unknown> }): AuditError {
  return new AuditError(msg.code as AuditErrorCode, msg.message, msg.detail);
}

/** The appender in a worker thread. */
export class WorkerChannel implements Channel {
  private readonly shared: BigInt64Array;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closing: Promise<void> | undefined;
  private resolveClosed: (() => void) | undefined;
  private holds = 0;

  private constructor(
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
  ) {
    this.shared = new BigInt64Array(shared);
  }

  /**
   * Starts the worker and opens the trail in it.
   * @throws the AuditError the worker met while opening (TRAIL_LOCKED, TRAIL_NOT_FOUND, ...).
   */
  static async start(
    options: OpenFileOptions | OpenPgOptions,
    events: ChannelEvents,
  ): Promise<{ channel: WorkerChannel; meta: TrailMeta; size: number; sealSeed?: string }> {
    const shared = new SharedArrayBuffer(16);
    const init: WorkerInit = { options, shared };
    const worker = startModuleWorker(import.meta.url, 'worker', {
      workerData: init,
      resourceLimits: WORKER_LIMITS,
    });
    const channel = new WorkerChannel(worker, shared);
    return new Promise((resolve, reject) => {
      worker.on('error', (err) => {
        events.onError('STORE_IO', `writer thread failed: ${err.message}`, false);
        reject(err);
      });
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready': {
            worker.unref();
            const out: { channel: WorkerChannel; meta: TrailMeta; size: number; sealSeed?: string } = {
              channel,
              meta: msg.meta,
              size: msg.size,
            };
            if (msg.sealSeed !== undefined) out.sealSeed = msg.sealSeed;
            resolve(out);
            break;
          }
          case 'durable':
            events.onDurable(msg.total);
            break;
          case 'recycle':
            for (const b of msg.buffers) events.onRecycle(b);
            break;
          case 'done':
            channel.settle(msg.id, undefined, msg.result);
            break;
          case 'diagnostic':
            reportDiagnostic(msg.diagnostic);
            break;
          case 'closed':
            channel.resolveClosed?.();
            void worker.terminate();
            break;
          case 'error':
            if (msg.fatal === true) {
              void worker.terminate();
              reject(toAuditError(msg));
            } else if (msg.id !== undefined) {
              channel.settle(msg.id, toAuditError(msg));
            } else {
              events.onError(msg.code, msg.message, msg.retrying);
            }
            break;
        }
      });
    });
  }

  private settle(id: number, err?: Error, result?: unknown): void {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (err === undefined) p?.resolve(result);
    else p?.reject(err);
    this.hold(false);
  }

  /** Sends a request the worker answers with `done` (or `error`) carrying the same id. */
  private request<T>(msg: (id: number) => ToWorker): Promise<T> {
    const id = this.nextId++;
    this.hold(true);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage(msg(id));
    });
  }

  send(data: Uint8Array, count: number, keys?: ContentKeyUpdate): void {
    // Transferred, not copied: the batch's buffer belongs to the worker from here on.
    const msg: ToWorker =
      keys === undefined ? { type: 'batch', data, count } : { type: 'batch', data, count, keys };
    this.worker.postMessage(msg, [data.buffer as ArrayBuffer]);
  }

  durable(): number {
    return Number(Atomics.load(this.shared, SHARED.durable));
  }

  waitDurableSync(target: number, timeoutMs: number): boolean {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = this.durable();
      if (now >= target) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      Atomics.wait(this.shared, SHARED.durable, BigInt(now), Math.min(left, 100));
    }
  }

  checkpoint(): Promise<void> {
    return this.request((id) => ({ type: 'checkpoint', id }));
  }

  erase(subject: string, reason: string | undefined): Promise<ErasureCount> {
    return this.request((id) => ({
      type: 'erase',
      id,
      subject,
      ...(reason === undefined ? {} : { reason }),
    }));
  }

  retention(policy: RetentionPolicy): Promise<RetentionResult> {
    return this.request((id) => ({ type: 'retention', id, policy }));
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
      this.hold(true);
      this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    });
    return this.closing;
  }

  closeSync(timeoutMs: number): void {
    if (Atomics.load(this.shared, SHARED.closed) === 1n) return;
    if (this.closing === undefined) {
      this.closing = Promise.resolve();
      this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    }
    Atomics.wait(this.shared, SHARED.closed, 0n, timeoutMs);
  }

  hold(on: boolean): void {
    this.holds += on ? 1 : -1;
    if (this.holds > 0) this.worker.ref();
    else this.worker.unref();
  }
}

/** The appender on the caller's thread (memory trails, `worker: false`). */
export class InlineChannel implements Channel {
  private total = 0;
  /** Entries written whose sync failed: synced before anything else is written. */
  private unsynced = 0;
  private syncRetry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly appender: Appender,
    private readonly events: ChannelEvents,
    private readonly release: () => void = () => {},
  ) {}

  /**
   * Appends and syncs the batch. Throws only when nothing of it was written (the trail keeps it
   * and sends it again): when the sync fails, the entries are written and are synced again, in
   * the background and before the next batch, until it succeeds.
   */
  send(data: Uint8Array, count: number, keys?: ContentKeyUpdate): void {
    this.syncWritten();
    this.appender.contentKeys.add(keys?.add);
    this.appender.appendBatch([data], false);
    this.appender.contentKeys.forget(keys?.forget);
    this.events.onRecycle(data.buffer as ArrayBuffer);
    this.unsynced += count;
    this.trySync();
  }

  /** Syncs what is written and counts it durable. @throws the store's error when the sync fails. */
  private syncWritten(): void {
    if (this.unsynced === 0) return;
    this.appender.sync();
    this.total += this.unsynced;
    this.unsynced = 0;
    this.events.onDurable(this.total);
  }

  private trySync(): void {
    try {
      this.syncWritten();
    } catch (err) {
      this.events.onError((err as AuditError).code ?? 'STORE_IO', (err as Error).message, true);
      this.syncRetry ??= setTimeout(() => {
        this.syncRetry = undefined;
        if (!this.closed) this.trySync();
      }, 200).unref();
    }
  }

  durable(): number {
    return this.total;
  }

  waitDurableSync(target: number): boolean {
    return this.total >= target;
  }

  async checkpoint(): Promise<void> {
    this.appender.checkpoint('request');
  }

  async erase(subject: string, reason: string | undefined): Promise<ErasureCount> {
    return this.appender.eraseSubject(subject, reason);
  }

  async retention(policy: RetentionPolicy): Promise<RetentionResult> {
    return this.appender.applyRetention(policy);
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.syncRetry);
    try {
      this.appender.close();
    } finally {
      this.release();
    }
  }

  hold(): void {}
}
