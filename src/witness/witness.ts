/**
 * What every witness offers: the checkpoints it holds for a trail, and storing one more. A witness
 * keeps signed checkpoints of a trail off its host, so that a later rollback of the trail (an
 * older state presented as current) or a fork (another history signed with the same key) shows
 * when the trail is verified against it.
 */

/** A checkpoint a witness holds. */
export interface WitnessedCheckpoint {
  size: number;
  note: string;
  /** Where it is kept, for messages (an S3 URL, a file, a collector URL). */
  source: string;
}

/** One checkpoint to store, with what a checking witness needs to accept it. */
export interface CheckpointToStore {
  size: number;
  note: string;
  /** When the trail issued it (ISO): the retention of an S3 witness counts from it. */
  time: string;
  /** The trail's verifier key (C2SP vkey). */
  verifierKey: string;
  /** RFC 9162 consistency proof from the witness's latest size (`fromSize`) to `size`. */
  proof: Buffer[];
  fromSize: number;
}

/** A place checkpoints are pushed to. */
export interface Witness {
  /** Names the witness in messages; never holds a credential. */
  readonly name: string;
  /**
   * Every checkpoint held for the trail `origin`, by size.
   * @throws AuditError STORE_IO when the witness cannot be read.
   */
  held(origin: string): Promise<WitnessedCheckpoint[]>;
  /**
   * The largest checkpoint held for `origin` (what a push checks and continues from), and how many
   * are held, without reading them all.
   * @throws AuditError STORE_IO when the witness cannot be read.
   */
  newest(origin: string): Promise<{ checkpoint: WitnessedCheckpoint | undefined; count: number }>;
  /**
   * Stores one checkpoint; 'present' when the same one was already there.
   * @throws AuditError WITNESS_CONFLICT when another checkpoint of that size is held, or the
   *   witness refuses it as inconsistent; STORE_IO.
   */
  store(cp: CheckpointToStore): Promise<'stored' | 'present'>;
  close(): void;
}
