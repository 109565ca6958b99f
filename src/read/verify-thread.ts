/**
 * {@link verifyDir} in a worker thread of its own (read/verify-thread-worker.ts), for a server that
 * must keep answering while a trail is verified: verifyDir is synchronous, like every reader, and
 * a trail of a million entries takes seconds of CPU. The thread reads the trail itself, from its
 * directory or from the PostgreSQL log (on a connection of its own), and posts back the report.
 * The segments of a large directory are still verified by the pool's threads (verify-pool.ts),
 * which this thread starts and waits on in place of the caller's.
 */

import type { VerifyReport } from '../chain/index.js';
import { AuditError, type AuditErrorCode } from '../errors.js';
import { startModuleWorker } from '../worker-start.js';
import type { VerifyDirOptions } from './verify-dir.js';

/** The trail a verify thread reads: a directory, or a PostgreSQL log (its connection string and name). */
export type VerifyTarget = { dir: string } | { postgres: { url: string; log: string } };

/** What the thread is started with: options that cross a thread (no progress callback). */
export interface VerifyThreadInit {
  target: VerifyTarget;
  options: Omit<VerifyDirOptions, 'onProgress'>;
}

/** The thread's one message. */
export type FromVerifyThread =
  | { ok: true; report: VerifyReport }
  | { ok: false; audit: boolean; code?: string; message: string; detail?: Record<string, unknown> };

/**
 * Verifies `target` in a new worker thread and resolves with verifyDir's report; the calling
 * thread only waits. The thread is not stopped early: it ends once the report is posted (a thread
 * terminated while reading would leave its segment files open in the process).
 * @throws AuditError what verifyDir throws (TRAIL_NOT_FOUND, STORE_IO, KEY_INVALID, ...; for a
 *   PostgreSQL log also STORE_UNAVAILABLE), rebuilt with its code, message and detail; an Error
 *   when the thread itself fails (it could not start, ran out of memory, exited without a report).
 */
export function verifyInThread(
  target: VerifyTarget,
  options: Omit<VerifyDirOptions, 'onProgress'> = {},
): Promise<VerifyReport> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    const workerData: VerifyThreadInit = { target, options };
    const worker = startModuleWorker(import.meta.url, 'verify-thread-worker', { workerData });
    worker.on('message', (msg: FromVerifyThread) =>
      settle(() => {
        if (msg.ok) resolve(msg.report);
        else if (msg.audit) reject(new AuditError(msg.code as AuditErrorCode, msg.message, msg.detail));
        else reject(new Error(msg.message));
      }),
    );
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) =>
      settle(() => reject(new Error(`verify thread exited with code ${code} before its report`))),
    );
  });
}
