/**
 * The writer lock: one appending process per trail. The lock file holds the owner's pid and,
 * where /proc tells it (Linux), the process's start time; a lock left by a process that no longer
 * runs is taken over (after a crash), a live one is refused. The start time tells a crashed
 * owner from a later process that got the same pid: in a container the application is pid 1 after
 * every restart, and a lock naming pid 1 would otherwise never be taken over.
 * Hosts sharing a directory over a network file system are not covered: use one writer host.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { AuditError } from '../errors.js';
import { FILE_MODE, readIfExists } from './fs-safe.js';

/** True when a process with this pid exists (signal 0 probes without signalling). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** When process `pid` started (clock ticks since boot, /proc/<pid>/stat field 22), where known. */
function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name, which is in parentheses and may hold spaces: state is field 3
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** What a lock file of this process holds. */
function lockText(): string {
  const started = startTime(process.pid);
  return started === undefined ? `${process.pid}\n` : `${process.pid}\n${started}\n`;
}

/** The pid holding the lock when that process is alive (and is the one that took it), else undefined. */
export function lockHolder(lockFile: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(lockFile, 'utf8');
  } catch {
    return undefined;
  }
  const [pidText, started] = text.split('\n');
  const pid = Number.parseInt(pidText ?? '', 10);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  if (started !== undefined && started !== '') {
    const now = startTime(pid);
    if (now !== undefined && now !== started) return undefined; // the pid was reused
  }
  return pid;
}

/**
 * Takes the writer lock (or another lock, `what` naming what its holder does) or fails.
 * @throws AuditError TRAIL_LOCKED when another live process holds it.
 */
export function acquireLock(lockFile: string, what = 'trail is being written'): () => void {
  // The lock file appears with its pid already in it (written aside, then linked into place): a
  // lock created empty and filled after could be read empty by another process, taken for a
  // stale one, removed and taken a second time.
  const mine = `${lockFile}.${process.pid}.${randomBytes(6).toString('hex')}`;
  fs.writeFileSync(mine, lockText(), { mode: FILE_MODE });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      let seen: string | undefined;
      try {
        fs.linkSync(mine, lockFile);
        return () => releaseLock(lockFile);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        seen = readIfExists(lockFile);
      }
      const holder = lockHolder(lockFile);
      if (holder !== undefined && holder !== process.pid) {
        throw new AuditError('TRAIL_LOCKED', `${what} by process ${holder} (lock file ${lockFile})`, {
          file: lockFile,
          pid: holder,
        });
      }
      if (holder === process.pid) {
        throw new AuditError('TRAIL_LOCKED', `${what} in this process already (lock file ${lockFile})`, {
          file: lockFile,
        });
      }
      // Stale (its process is gone): removed only if it is still the lock that was read.
      if (readIfExists(lockFile) === seen) fs.rmSync(lockFile, { force: true });
    }
    throw new AuditError('TRAIL_LOCKED', `cannot take the lock ${lockFile}`, { file: lockFile });
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

function releaseLock(lockFile: string): void {
  try {
    const pid = Number.parseInt(fs.readFileSync(lockFile, 'utf8'), 10);
    if (pid === process.pid) fs.rmSync(lockFile, { force: true });
  } catch {
    // already gone
  }
}
