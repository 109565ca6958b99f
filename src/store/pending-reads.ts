/**
 * Reads of the trail waiting to be recorded. The CLI records every read as an `audit.read` entry;
 * when another process holds the writer lock it cannot append, so it leaves the event here, one
 * file per read (written whole, then renamed into place, so a file is never seen half-written),
 * and the next process that opens the trail for writing appends them and removes the files.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { AuditEventInput } from '../event/types.js';
import { ensureDir, withFile, writeFileAtomic } from './fs-safe.js';
import type { TrailLayout } from './layout.js';

/**
 * Event types a pending read may hold: the read, and the `security.anomaly` findings an
 * `anomalies` run recorded with it. Nothing else is appended from here (anyone who can write the
 * folder could leave a file).
 */
export const PENDING_READ_TYPES: ReadonlySet<string> = new Set(['audit.read', 'security.anomaly']);

/** The folder of pending reads inside a trail directory. */
export function pendingReadsDir(layout: TrailLayout): string {
  return path.join(layout.dir, 'pending-reads');
}

let written = 0;

/**
 * Leaves one event to be appended by the next writer. Returns the file written.
 * @throws AuditError STORE_IO.
 */
export function writePendingRead(layout: TrailLayout, event: AuditEventInput): string {
  const dir = pendingReadsDir(layout);
  // The counter keeps the order of one process's events written within the same millisecond.
  const n = String(written++).padStart(8, '0');
  const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${n}-${randomBytes(4).toString('hex')}.json`;
  const file = path.join(dir, name);
  withFile(file, 'write', () => {
    ensureDir(dir);
    writeFileAtomic(file, `${JSON.stringify(event)}\n`);
  });
  return file;
}

/** The pending reads, oldest first: each file and its event (files that do not parse are left for a person). */
export function listPendingReads(layout: TrailLayout): Array<{ file: string; event: AuditEventInput }> {
  const dir = pendingReadsDir(layout);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Array<{ file: string; event: AuditEventInput }> = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(dir, name);
    try {
      const event = JSON.parse(fs.readFileSync(file, 'utf8')) as AuditEventInput;
      if (typeof event === 'object' && event !== null && PENDING_READ_TYPES.has(event.type))
        out.push({ file, event });
    } catch {
      // unreadable or damaged: not ours to guess at
    }
  }
  return out;
}

/**
 * Appends every pending read through `trail` (an open writer), waits until they are durable, then
 * removes their files. An event the trail refuses stays in place. Returns how many were appended.
 */
export async function ingestPendingReads(
  trail: { recordOwn(event: AuditEventInput): string; flush(): Promise<void> },
  layout: TrailLayout,
): Promise<number> {
  const pending = listPendingReads(layout);
  const done: string[] = [];
  for (const { file, event } of pending) {
    try {
      trail.recordOwn(event);
      done.push(file);
    } catch {
      // EVENT_INVALID: left for a person to look at
    }
  }
  if (done.length === 0) return 0;
  await trail.flush();
  for (const file of done) fs.rmSync(file, { force: true });
  return done.length;
}
