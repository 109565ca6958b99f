/**
 * What a collector holds as a witness: per origin, one JSON-lines file of the checkpoints it
 * accepted, `<trail dir>/witness/<SHA-256 of the origin, hex>.jsonl`, each line
 * `{origin, verifierKey, size, root, note, receivedAt, by}` (`by` is the pushing token's name).
 * The first line pins the origin's verifier key. Appends are durable (fsync).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { appendJsonLine, ensureDir, readJsonLines } from '../store/index.js';
import type { HeldState } from './accept.js';

/** One accepted checkpoint. */
export interface WitnessRecord {
  origin: string;
  verifierKey: string;
  size: number;
  root: string;
  note: string;
  receivedAt: string;
  by: string;
}

/** The witness records of one collector. */
export class WitnessLog {
  private readonly dir: string;

  constructor(trailDir: string) {
    this.dir = path.join(trailDir, 'witness');
  }

  private file(origin: string): string {
    return path.join(this.dir, `${createHash('sha256').update(origin).digest('hex')}.jsonl`);
  }

  /** Every checkpoint held for `origin`, in the order accepted (sizes increase). */
  records(origin: string): WitnessRecord[] {
    return readJsonLines<WitnessRecord>(this.file(origin)).filter((r) => r.origin === origin);
  }

  /** The pinned key and newest checkpoint held for `origin`, or undefined. */
  held(origin: string): HeldState | undefined {
    const all = this.records(origin);
    const last = all.at(-1);
    return last === undefined
      ? undefined
      : { verifierKey: all[0]!.verifierKey, size: last.size, root: last.root };
  }

  /** Appends an accepted checkpoint durably. @throws AuditError STORE_IO. */
  append(record: WitnessRecord): void {
    ensureDir(this.dir);
    appendJsonLine(this.file(record.origin), record);
  }
}
