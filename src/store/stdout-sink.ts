/**
 * The stdout sink, for containers: every entry, checkpoint and seal as one JSON line on a file
 * descriptor (stdout by default), for the platform's log collector to ship. Entry lines embed the
 * committed record unchanged, so a verifier can check the chain from the collected stream:
 *   {"sealtrail":1,"record":<committed>}                     (no content)
 *   {"sealtrail":1,"record":<committed>,"content":<payloads>}
 *   {"sealtrail":1,"checkpoint":"<signed note>","size":<n>}
 *   {"sealtrail":1,"seal":<seal record>}
 * Nothing else is kept: memory does not grow with the trail.
 */
import fs from 'node:fs';
import type { SealRecord } from '../chain/seal.js';
import { AuditError } from '../errors.js';
import type { StoredCheckpoint } from './sealed-files.js';

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `text` to `fd`, waiting out a full non-blocking pipe (EAGAIN). */
export function writeAllSync(fd: number, text: string): void {
  let buf = Buffer.from(text);
  while (buf.length > 0) {
    try {
      buf = buf.subarray(fs.writeSync(fd, buf));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN')
        throw new AuditError('STORE_IO', `cannot write to fd ${fd}: ${code ?? 'EIO'}`, { fd });
      Atomics.wait(PAUSE, 0, 0, 5);
    }
  }
}

/** Converts stored lines (`committed[\tpayloads]\n`...) to stdout JSON lines. */
export function toJsonLines(lines: string): string {
  let out = '';
  let start = 0;
  while (start < lines.length) {
    const end = lines.indexOf('\n', start);
    const line = lines.slice(start, end);
    const tab = line.indexOf('\t');
    out +=
      tab < 0
        ? `{"sealtrail":1,"record":${line}}\n`
        : `{"sealtrail":1,"record":${line.slice(0, tab)},"content":${line.slice(tab + 1)}}\n`;
    start = end + 1;
  }
  return out;
}

/** The entry log of a stdout trail: writes, keeps only what the chain needs. */
export class StdoutLog {
  size = 0;
  lastCommitted: string | undefined;

  constructor(private readonly fd = 1) {}

  append(lines: Buffer, count: number): void {
    writeAllSync(this.fd, toJsonLines(lines.toString('utf8')));
    this.size += count;
  }

  setLast(committed: string): void {
    this.lastCommitted = committed;
  }

  sync(): void {}

  needsRotation(): boolean {
    return false;
  }

  rotate(): undefined {
    return undefined;
  }

  close(): void {}
}

/** Checkpoints and seals of a stdout trail: written as lines, the latest kept. */
export class StdoutSealedState {
  private latest: StoredCheckpoint | undefined;
  private last: SealRecord | undefined;

  constructor(private readonly fd = 1) {}

  appendCheckpoint(cp: StoredCheckpoint): void {
    writeAllSync(this.fd, `{"sealtrail":1,"checkpoint":${JSON.stringify(cp.note)},"size":${cp.size}}\n`);
    this.latest = cp;
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    return this.latest;
  }

  appendSeal(seal: SealRecord): void {
    writeAllSync(this.fd, `{"sealtrail":1,"seal":${JSON.stringify(seal)}}\n`);
    this.last = seal;
  }

  lastSeal(): SealRecord | undefined {
    return this.last;
  }
}
