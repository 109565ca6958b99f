/**
 * C2SP tlog-checkpoint bodies (https://c2sp.org/tlog-checkpoint): origin, tree size and root hash,
 * one per line, optional extension lines; signed and opened as C2SP signed notes.
 */
import { AuditError } from '../errors.js';
import { type NoteSigner, type NoteVerifier, openNote, signNote } from './note.js';

const SIZE_RE = /^(0|[1-9][0-9]{0,15})$/;
const ROOT_RE = /^[A-Za-z0-9+/]{43}=$/;

/** A checkpoint: the state of a log at one tree size. */
export class Checkpoint {
  /**
   * Requires a non-empty origin without newlines, 0 <= size <= 2^53 - 1, and a 32-byte root.
   * @throws AuditError CHECKPOINT_MALFORMED otherwise.
   */
  constructor(
    readonly origin: string,
    readonly size: number,
    readonly rootHash: Buffer,
    readonly extensions: readonly string[] = [],
  ) {
    if (origin === '' || origin.includes('\n'))
      throw new AuditError('CHECKPOINT_MALFORMED', 'checkpoint: empty origin');
    if (!Number.isSafeInteger(size) || size < 0)
      throw new AuditError('CHECKPOINT_MALFORMED', 'checkpoint: bad tree size');
    if (rootHash.length !== 32)
      throw new AuditError('CHECKPOINT_MALFORMED', 'checkpoint: root hash is not 32 bytes');
    if (extensions.some((e) => e === '' || e.includes('\n'))) {
      throw new AuditError('CHECKPOINT_MALFORMED', 'checkpoint: empty extension line');
    }
  }

  /**
   * Parses a checkpoint body (the note text).
   * @throws AuditError CHECKPOINT_MALFORMED when it is not a tlog-checkpoint.
   */
  static parse(text: string): Checkpoint {
    if (!text.endsWith('\n'))
      throw new AuditError('CHECKPOINT_MALFORMED', 'checkpoint: does not end with a newline');
    const lines = text.slice(0, -1).split('\n');
    if (lines.length < 3) throw new AuditError('CHECKPOINT_MALFORMED', 'checkpoint: fewer than three lines');
    const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
    if (!SIZE_RE.test(size) || !Number.isSafeInteger(Number(size))) {
      throw new AuditError('CHECKPOINT_MALFORMED', 'checkpoint: tree size is not a decimal number');
    }
    const rootHash = Buffer.from(root, 'base64');
    if (!ROOT_RE.test(root) || rootHash.toString('base64') !== root) {
      throw new AuditError('CHECKPOINT_MALFORMED', 'checkpoint: root hash is not base64 of 32 bytes');
    }
    return new Checkpoint(origin, Number(size), rootHash, extensions);
  }

  /** The checkpoint body, each line ending in a newline. */
  toString(): string {
    const ext = this.extensions.map((e) => `${e}\n`).join('');
    return `${this.origin}\n${this.size}\n${this.rootHash.toString('base64')}\n${ext}`;
  }
}

/** Signs a checkpoint with the log's key; returns the C2SP signed note. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  return signNote(checkpoint.toString(), signer);
}

/**
 * Opens a signed checkpoint: verifies the signature by `verifier` and that the origin is the key name.
 * @throws AuditError CHECKPOINT_MALFORMED, CHECKPOINT_SIGNATURE_INVALID.
 */
export function openCheckpoint(note: string, verifier: NoteVerifier): Checkpoint {
  const checkpoint = Checkpoint.parse(openNote(note, verifier));
  if (checkpoint.origin !== verifier.name) {
    throw new AuditError(
      'CHECKPOINT_SIGNATURE_INVALID',
      `checkpoint origin is not the key name ${verifier.name}`,
    );
  }
  return checkpoint;
}
