/**
 * Checkpoints and seals of a trail directory: `checkpoints.jsonl` (every signed checkpoint, with
 * why it was issued), `checkpoint` (the latest signed note, C2SP text) and `seals.jsonl`.
 */
import type { SealRecord } from '../chain/seal.js';
import { isRecord } from '../is-record.js';
import { readIfExists, withFile, writeFileAtomic } from './fs-safe.js';
import { appendJsonLine, readJsonLines, readLastJsonLine, repairJsonLines } from './json-lines.js';
import type { TrailLayout } from './layout.js';

/** Why a checkpoint was issued. */
export type CheckpointReason = 'interval' | 'rotation' | 'close' | 'open' | 'request';

/** A stored checkpoint: the signed note and why it was issued. */
export interface StoredCheckpoint {
  size: number;
  time: string;
  reason: CheckpointReason;
  note: string;
}

/** Checkpoints and seals kept as files. */
export class SealedFiles {
  private latest: StoredCheckpoint | undefined;
  private last: SealRecord | undefined;

  constructor(private readonly layout: TrailLayout) {
    repairJsonLines(layout.checkpoints);
    repairJsonLines(layout.seals);
    this.latest = readLastJsonLine(layout.checkpoints, isStoredCheckpoint);
    this.last = readLastJsonLine(layout.seals, isSealRecord);
    // A crash between the line and the file leaves the file one checkpoint behind: finish it.
    const latest = this.latest;
    if (latest !== undefined && readIfExists(layout.latestCheckpoint) !== latest.note)
      withFile(layout.latestCheckpoint, 'write', () => writeFileAtomic(layout.latestCheckpoint, latest.note));
  }

  appendCheckpoint(cp: StoredCheckpoint): void {
    appendJsonLine(this.layout.checkpoints, cp);
    withFile(this.layout.latestCheckpoint, 'write', () =>
      writeFileAtomic(this.layout.latestCheckpoint, cp.note),
    );
    this.latest = cp;
  }

  latestCheckpoint(): StoredCheckpoint | undefined {
    return this.latest;
  }

  appendSeal(seal: SealRecord): void {
    appendJsonLine(this.layout.seals, seal);
    this.last = seal;
  }

  lastSeal(): SealRecord | undefined {
    return this.last;
  }
}

/**
 * Every stored checkpoint of a trail directory, oldest first; a line that is not one is left out
 * and its number (1-based) given to `onBad`.
 */
export function readCheckpoints(layout: TrailLayout, onBad?: (lineNo: number) => void): StoredCheckpoint[] {
  return readJsonLines(layout.checkpoints, isStoredCheckpoint, onBad);
}

/** Every stored seal of a trail directory, in epoch order as written; `onBad` as above. */
export function readSeals(layout: TrailLayout, onBad?: (lineNo: number) => void): SealRecord[] {
  return readJsonLines(layout.seals, isSealRecord, onBad);
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function isStoredCheckpoint(value: unknown): value is StoredCheckpoint {
  return (
    isRecord(value) && typeof value.note === 'string' && isCount(value.size) && typeof value.time === 'string'
  );
}

function isSealRecord(value: unknown): value is SealRecord {
  return (
    isRecord(value) &&
    isCount(value.epoch) &&
    isCount(value.size) &&
    isCount(value.start) &&
    isCount(value.end) &&
    typeof value.root === 'string' &&
    typeof value.tag === 'string'
  );
}
