/**
 * Synchronous queries for the readers: every reader of a trail (verify, proofs, query, export,
 * status) reads a directory through synchronous calls, and the PostgreSQL source keeps that shape
 * rather than a second, asynchronous copy of each reader. A worker thread holds the connection;
 * the caller posts a query and blocks on a shared flag (Atomics.wait) until the answer is on the
 * port. Lines are fetched in chunks of thousands of rows, so the wait is paid per chunk, not per
 * line. A server holding a source blocks its event loop for the duration of each query, as file
 * reads do for directory trails.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, type Worker } from 'node:worker_threads';
import { AuditError, type AuditErrorCode } from '../../errors.js';
import { startModuleWorker } from '../../worker-start.js';

/** Longest wait for one query. */
const QUERY_TIMEOUT_MS = 120_000;

/** A blocking query client (one connection, in its own thread). */
export class PgSyncClient {
  private worker!: Worker;
  private port!: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private closed = false;
  private nextId = 0;

  constructor(
    private readonly url: string,
    private readonly timeoutMs = QUERY_TIMEOUT_MS,
  ) {
    this.start();
  }

  private start(): void {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const workerData = { url: this.url, port: port2, flag: this.flag };
    this.worker = startModuleWorker(import.meta.url, 'pg-sync-worker', { workerData, transferList: [port2] });
    this.worker.unref();
  }

  /**
   * Runs one query and returns its rows. Each answer carries its query's id: one that comes too
   * late for its query is never taken as the answer to a later one.
   * @throws AuditError STORE_UNAVAILABLE (also after the time limit, when the connection is
   *   replaced: a query still running there would hold up every later one), STORE_IO (as the
   *   worker mapped the driver's error).
   */
  query<R>(text: string, values: unknown[] = []): R[] {
    if (this.closed) throw new AuditError('USAGE', 'postgres reader is closed');
    const id = ++this.nextId;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ id, text, values });
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const got = receiveMessageOnPort(this.port);
      if (got !== undefined) {
        const msg = got.message as {
          id: number;
          rows?: R[];
          error?: { code: string; message: string; sqlstate?: unknown };
        };
        if (msg.id !== id) {
          Atomics.store(this.flag, 0, 0); // a stale answer woke us: wait again, after a last look
          continue;
        }
        if (msg.error !== undefined) {
          const { code, message, sqlstate } = msg.error;
          throw new AuditError(code as AuditErrorCode, message, sqlstate === undefined ? {} : { sqlstate });
        }
        return msg.rows!;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.port.close();
        void this.worker.terminate();
        this.start();
        throw new AuditError('STORE_UNAVAILABLE', 'postgres: query timed out');
      }
      Atomics.wait(this.flag, 0, 0, Math.min(left, 1000));
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }
}
