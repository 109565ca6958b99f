/**
 * A trail kept in memory (tests, short-lived tools): the same lines, checkpoints and seals as a
 * directory, without files. A `MemoryTrailStore` can be reopened by a new `AuditTrail` and read
 * back with the same verifier.
 */
import type { SealRecord } from '../chain/seal.js';
import type { StoredCheckpoint } from './sealed-files.js';

/** The entries of a memory trail, as the appender writes them. */
export class MemoryLog {
  readonly lines: string[] = [];
  lastCommitted: string | undefined;

  get size(): number {
    return this.lines.length;
  }

  append(bytes: Buffer): void {
    const lines = bytes.toString('utf8').split('\n');
    lines.pop(); // text ends with a newline
    for (const line of lines) this.lines.push(line);
  }

  setLast(committed: string): void {
    this.lastCommitted = committed;
  }

  scanLines(visit: (line: string) => void): void {
    for (const line of this.lines) visit(line);
  }

  rewriteLines(transform: (line: string) => string | undefined): number {
    let changed = 0;
    for (let i = 0; i < this.lines.length; i++) {
      const next = transform(this.lines[i]!);
      if (next !== undefined) {
        this.lines[i] = next;
        changed++;
      }
    }
    return changed;
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

/** Checkpoints and seals of a memory trail. */
export class MemorySealedState {
  readonly checkpoints: StoredCheckpoint[] = [];
  readonly seals: SealRecord[] = [];

  appendCheckpoint(cp: StoredCheckpoint): void {
    this.checkpoints.push(cp);
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    return this.checkpoints.at(-1);
  }

  appendSeal(seal: SealRecord): void {
    this.seals.push(seal);
  }

  lastSeal(): SealRecord | undefined {
    return this.seals.at(-1);
  }
}
