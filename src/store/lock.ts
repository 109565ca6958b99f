/**
 * The writer lock: one appending process per trail. The lock file holds the owner's pid and,
 * where /proc tells it (Linux), the process's start time; a lock left by a process that no longer
 * runs is taken over (after a crash), a live one is refused. The start time tells a crashed
 * owner from a later process that got the same pid: in a container the application is pid 1 after
 * every restart, and a lock naming pid 1 would otherwise never be taken over. A holder also
 * refreshes the file's time every 5 s: a lock whose process this host cannot see (another
 * container on the same volume) is live while that goes on.
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

/** This process's pid namespace (`pid:[4026531836]`), where /proc tells it. */
function pidNamespace(): string {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

/** What a lock file of this process holds: pid, start time and pid namespace, one per line. */
function lockText(): string {
  const started = startTime(process.pid);
  return started === undefined ? `${process.pid}\n` : `${process.pid}\n${started}\n${pidNamespace()}\n`;
}

/**
 * How often a holder refreshes its lock file's modification time, and how long a lock whose
 * process this host cannot see (another container or pid namespace sharing the directory) stays
 * live without a refresh.
 */
const HEARTBEAT_MS = 5_000;
const HEARTBEAT_GRACE_MS = 2 * HEARTBEAT_MS + 1_000;

interface LockState {
  pid: number;
  /** The holder's start time, '' when the lock does not say (written before it did, or no /proc). */
  started: string;
  /** The holder's pid namespace, '' when the lock does not say. */
  ns: string;
  mtimeMs: number;
}

function readLock(lockFile: string): LockState | undefined {
  try {
    const [pidText, started, ns] = fs.readFileSync(lockFile, 'utf8').split('\n');
    const pid = Number.parseInt(pidText ?? '', 10);
    return Number.isSafeInteger(pid) && pid > 0
      ? { pid, started: started ?? '', ns: ns ?? '', mtimeMs: fs.statSync(lockFile).mtimeMs }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What this host's process table says of a lock: held by this very process, by another live
 * process (same pid and start time), by none (`dead`: taken in this pid namespace, so the table
 * is the whole truth), or by none it can see (`unseen`: taken in another pid namespace, or the
 * lock does not say which; only the lock's refreshes tell then).
 */
function judge(l: LockState): 'self' | 'live' | 'dead' | 'unseen' {
  const sameStart = (pid: number) => {
    if (l.started === '') return true;
    const now = startTime(pid);
    return now === undefined || now === l.started;
  };
  const here = l.ns !== '' && l.ns === pidNamespace();
  if (l.pid === process.pid && sameStart(process.pid)) return 'self';
  if (l.pid !== process.pid && isAlive(l.pid) && sameStart(l.pid)) return 'live';
  return here ? 'dead' : 'unseen';
}

/**
 * The pid holding the lock when its holder is alive (or, out of this host's sight, its lock was
 * refreshed lately), else undefined.
 */
export function lockHolder(lockFile: string): number | undefined {
  const l = readLock(lockFile);
  if (l === undefined) return undefined;
  const j = judge(l);
  if (j === 'self' || j === 'live') return l.pid;
  if (j === 'dead') return undefined;
  return Date.now() - l.mtimeMs < HEARTBEAT_GRACE_MS ? l.pid : undefined;
}

/**
 * Whether the holder of a lock this host cannot see still refreshes it: true as soon as its
 * modification time moves; false once it is older than the grace period (waited for, in steps).
 */
function refreshedMeanwhile(lockFile: string, l: LockState): boolean {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    if (Date.now() - l.mtimeMs >= HEARTBEAT_GRACE_MS) return false;
    Atomics.wait(pause, 0, 0, 250);
    const now = readLock(lockFile);
    if (now === undefined) return false; // released meanwhile: try again
    if (now.mtimeMs !== l.mtimeMs || now.pid !== l.pid || now.started !== l.started) return true;
  }
}

/**
 * Takes the writer lock (or another lock, `what` naming what its holder does) or fails. The
 * holder refreshes the lock file's time every few seconds until it releases it, so that a holder
 * in another pid namespace (a second container on the same volume, each process pid 1) is told
 * from a crashed one: a lock taken in this pid namespace by a process that is gone is taken over
 * at once; one from another namespace once it has gone unrefreshed for the grace period (up to
 * ~11 s of waiting after a container's crash, blocking this thread; at once when it is older).
 * With `wait` false it does not wait: such a lock counts as live while refreshed within the grace
 * period (see {@link acquireLockWaiting}).
 * @throws AuditError TRAIL_LOCKED when another live process holds it.
 */
export function acquireLock(lockFile: string, what = 'trail is being written', wait = true): () => void {
  // The lock file appears with its pid already in it (written aside, then linked into place): a
  // lock created empty and filled after could be read empty by another process, taken for a
  // stale one, removed and taken a second time.
  const mine = `${lockFile}.${process.pid}.${randomBytes(6).toString('hex')}`;
  const text = lockText();
  fs.writeFileSync(mine, text, { mode: FILE_MODE });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      let seen: string | undefined;
      try {
        fs.linkSync(mine, lockFile);
        return holdLock(lockFile, text);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        seen = readIfExists(lockFile);
      }
      const l = readLock(lockFile);
      if (l !== undefined) {
        const j = judge(l);
        if (j === 'self') {
          throw new AuditError('TRAIL_LOCKED', `${what} in this process already (lock file ${lockFile})`, {
            file: lockFile,
          });
        }
        // Without `wait`, an unseen holder's lock is live until it goes unrefreshed for the grace
        // period, and the caller tries again later instead of this thread blocking meanwhile.
        const unseenLive =
          j === 'unseen' &&
          (wait ? refreshedMeanwhile(lockFile, l) : Date.now() - l.mtimeMs < HEARTBEAT_GRACE_MS);
        if (j === 'live' || unseenLive) {
          throw new AuditError('TRAIL_LOCKED', `${what} by process ${l.pid} (lock file ${lockFile})`, {
            file: lockFile,
            pid: l.pid,
          });
        }
      }
      // Stale (its process is gone): removed only if it is still the lock that was read.
      if (readIfExists(lockFile) === seen) fs.rmSync(lockFile, { force: true });
    }
    throw new AuditError('TRAIL_LOCKED', `cannot take the lock ${lockFile}`, { file: lockFile });
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

/**
 * {@link acquireLock}, waiting up to `timeoutMs` (without blocking the event loop, also for a
 * holder in another pid namespace) while another holder, in this process or another, keeps it.
 * @throws AuditError TRAIL_LOCKED when it is still held after that.
 */
export async function acquireLockWaiting(
  lockFile: string,
  what: string,
  timeoutMs = 10_000,
): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return acquireLock(lockFile, what, false);
    } catch (err) {
      if (!(err instanceof AuditError && err.code === 'TRAIL_LOCKED') || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** Refreshes the held lock's time until released; the release removes it if it is still ours. */
function holdLock(lockFile: string, text: string): () => void {
  const beat = setInterval(() => {
    try {
      const now = new Date();
      fs.utimesSync(lockFile, now, now);
    } catch {
      // gone: nothing to refresh
    }
  }, HEARTBEAT_MS);
  beat.unref();
  return () => {
    clearInterval(beat);
    releaseLock(lockFile, text);
  };
}

function releaseLock(lockFile: string, text: string): void {
  // only the lock this process wrote: not one another holder took over meanwhile
  if (readIfExists(lockFile) === text) fs.rmSync(lockFile, { force: true });
}
