/**
 * Flush on the way out: normal exit, `process.exit()`, an uncaught exception, SIGINT and SIGTERM
 * all close every open trail synchronously (the appender thread keeps running while the main
 * thread waits on shared memory), so an application that emits and exits loses nothing.
 */

interface Closable {
  closeSync(): void;
}

const open = new Set<Closable>();
let installed = false;

function closeAll(): void {
  for (const trail of [...open]) {
    try {
      trail.closeSync();
    } catch {
      // exit continues for the others
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  closeAll();
  // Only we listened: restore the default action so the process still ends by this signal.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

/** Flushes and closes `trail` when the process exits or is told to stop. */
export function registerForExit(trail: Closable): void {
  open.add(trail);
  if (installed) return;
  installed = true;
  process.on('exit', closeAll);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Forgets a closed trail. */
export function unregisterForExit(trail: Closable): void {
  open.delete(trail);
}
