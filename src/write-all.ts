/**
 * `fs.writeSync` may write less than it was given (a nearly full disk, a signal): every file
 * Sealtrail writes goes through {@link writeAll}, which writes the rest or throws.
 */
import fs from 'node:fs';

/**
 * Writes all of `data` to `fd`, at `position` onwards when given (else at the file's offset).
 * @throws Error from node:fs (ENOSPC, EIO, ...), or ENOSPC when a write takes no byte.
 */
export function writeAll(fd: number, data: string | Uint8Array, position?: number): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let done = 0;
  while (done < bytes.length) {
    const n = fs.writeSync(
      fd,
      bytes,
      done,
      bytes.length - done,
      position === undefined ? null : position + done,
    );
    if (n <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    done += n;
  }
}

/** The pause before trying a failed write or sync again: 50 ms after the first failure, doubling up to 5 s. */
export function retryDelay(previousMs: number): number {
  return Math.min(Math.max(previousMs * 2, 50), 5000);
}
