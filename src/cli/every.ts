/**
 * `--every DURATION` for the verbs that ship evidence off the host (`archive push`, `witness
 * push`): run once now, then again after each interval until SIGINT or SIGTERM. A round that
 * cannot reach its target (STORE_IO: S3 or a witness down) is reported on stderr and retried at
 * the next round; any other error (a conflict: rollback, fork, changed archive) ends the loop
 * with that error, because it needs a person.
 */
import { AuditError, isAuditError } from '../errors.js';
import { parseDuration } from '../read/index.js';

const MIN_EVERY_MS = 1000;

/** `--every`: undefined when absent. @throws AuditError USAGE for a malformed or too short duration. */
export function everyOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms < MIN_EVERY_MS)
    throw new AuditError('USAGE', '--every: expected a duration of at least 1s (30s, 5m, 1h)', {
      field: 'every',
    });
  return ms;
}

/** Runs `round` once, or every `everyMs` until a signal when given. */
export async function repeatUntilSignal(
  everyMs: number | undefined,
  round: () => Promise<void>,
): Promise<void> {
  if (everyMs === undefined) {
    await round();
    return;
  }
  let stopped = false;
  let wake: () => void = () => {};
  const stop = (): void => {
    stopped = true;
    wake();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    while (!stopped) {
      try {
        await round();
      } catch (err) {
        if (!isAuditError(err, 'STORE_IO')) throw err;
        process.stderr.write(`sealtrail: ${err.message} (retrying in ${everyMs / 1000}s)\n`);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, everyMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
