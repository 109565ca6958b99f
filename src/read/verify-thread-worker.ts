/**
 * The thread of {@link verifyInThread}: verifies the trail it was started for and posts one
 * message, the report or the error, then ends. A PostgreSQL log is read on a connection of this
 * thread's own (PgSource), closed before the message goes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { VerifyReport } from '../chain/index.js';
import { AuditError } from '../errors.js';
import { verifyDir } from './verify-dir.js';
import type { FromVerifyThread, VerifyThreadInit } from './verify-thread.js';

const { target, options } = workerData as VerifyThreadInit;

async function run(): Promise<VerifyReport> {
  if ('dir' in target) return verifyDir(target.dir, options);
  const { PgSource } = await import('../store/postgres/index.js');
  const source = new PgSource(target.postgres.url, target.postgres.log);
  try {
    return verifyDir(source, options);
  } finally {
    source.close();
  }
}

function errorOf(err: unknown): FromVerifyThread {
  if (err instanceof AuditError)
    return { ok: false, audit: true, code: err.code, message: err.message, detail: { ...err.detail } };
  return { ok: false, audit: false, message: err instanceof Error ? err.message : String(err) };
}

let msg: FromVerifyThread;
try {
  msg = { ok: true, report: await run() };
} catch (err) {
  msg = errorOf(err);
}
try {
  parentPort!.postMessage(msg);
} catch {
  // A detail that cannot cross threads: the code and message still do.
  if (msg.ok) throw new Error('verify report could not be posted');
  const { detail: _dropped, ...rest } = msg;
  parentPort!.postMessage(rest);
}
