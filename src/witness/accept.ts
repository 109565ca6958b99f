/**
 * The rule by which a checking witness (a collector) accepts a checkpoint: signed by the key
 * pinned for its origin at first sight; the same as the one held at that size; never older than
 * the newest one held (a witness only moves forward, so a rollback is refused); and newer ones
 * only with a consistency proof from the newest held, so a fork is refused. Pure logic.
 */
import { type Checkpoint, NoteVerifier, openCheckpoint, verifyConsistency } from '../chain/index.js';
import { AuditError } from '../errors.js';

/** What the witness holds for an origin: its pinned key and newest checkpoint. */
export interface HeldState {
  verifierKey: string;
  size: number;
  /** Root hash, base64. */
  root: string;
}

/** A checkpoint offered to the witness. */
export interface OfferedCheckpoint {
  verifierKey: string;
  note: string;
  /** Consistency proof from the held size to the offered one. */
  proof: Buffer[];
}

/**
 * Opens `offered` and decides against `held`: 'stored' for a new newest checkpoint, 'present' for
 * the one already held.
 * @throws AuditError KEY_INVALID, CHECKPOINT_MALFORMED, CHECKPOINT_SIGNATURE_INVALID (not a
 *   checkpoint signed by that key), WITNESS_CONFLICT (another key for the origin, another root at
 *   the held size, older than held, or not consistent with it; detail `heldSize`).
 */
export function decideOffered(
  held: HeldState | undefined,
  offered: OfferedCheckpoint,
): { checkpoint: Checkpoint; status: 'stored' | 'present' } {
  const checkpoint = openCheckpoint(offered.note, NoteVerifier.fromVkey(offered.verifierKey));
  if (held === undefined) return { checkpoint, status: 'stored' };
  const detail = { heldSize: held.size };
  if (offered.verifierKey !== held.verifierKey)
    throw new AuditError(
      'WITNESS_CONFLICT',
      `origin ${checkpoint.origin} is witnessed under another verifier key`,
      detail,
    );
  const root = checkpoint.rootHash.toString('base64');
  if (checkpoint.size === held.size) {
    if (root === held.root) return { checkpoint, status: 'present' };
    throw new AuditError('WITNESS_CONFLICT', `fork: another root at the held size ${held.size}`, detail);
  }
  if (checkpoint.size < held.size)
    throw new AuditError(
      'WITNESS_CONFLICT',
      `rollback: size ${checkpoint.size} is older than the held checkpoint of size ${held.size}`,
      detail,
    );
  if (held.size > 0) {
    try {
      verifyConsistency(
        held.size,
        checkpoint.size,
        offered.proof,
        Buffer.from(held.root, 'base64'),
        checkpoint.rootHash,
      );
    } catch (err) {
      if (!(err instanceof AuditError)) throw err;
      throw new AuditError(
        'WITNESS_CONFLICT',
        `fork: size ${checkpoint.size} is not proven consistent with the held checkpoint of size ${held.size}`,
        detail,
      );
    }
  }
  return { checkpoint, status: 'stored' };
}
