/**
 * Flush on the way out: normal exit, `process.exit()`, an uncaught exception, SIGINT and SIGTERM
 * all close every open trail synchronously (the appender thread keeps running while the main
 * thread waits on shared memory), so an application that emits and exits loses nothing. When the
 * application has its own SIGINT or SIGTERM listener, the signal is left to it and the trails
 * close at its exit, so its shutdown can still emit. Node runs 'exit' listeners in the order they
 * were added: one the application adds after opening a trail runs after the trail closed, and an
 * `emit()` there throws TRAIL_CLOSED (emit before, or in a signal listener).
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
  // The application listens too: the shutdown is its own, and it may still record events on the
  // way (a request draining, a "shutting down" entry). The trails close when it exits.
  if (process.listenerCount(signal) > 1) return;
  closeAll();
  // Only we listened: restore the default action so the process still ends by this signal.
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

/** Flushes and closes `trail` when the process exits or is told to stop. */
export function registerForExit(trail: Closable): void {
  open.add(trail);
  if (installed) return;
  installed = true;
  process.on('exit', closeAll);
  // First in line: Node removes a `process.once` listener before calling it, so one that ran
  // before ours would no longer be counted, and its shutdown cut short by the re-sent signal.
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
}

/** Forgets a closed trail. */
export function unregisterForExit(trail: Closable): void {
  open.delete(trail);
}
