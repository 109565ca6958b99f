/**
 * `witness push`: hands every checkpoint of a trail that a witness does not hold yet to it, in
 * order of size, after checking that the newest checkpoint the witness holds is consistent with
 * the trail (one larger than the trail means the trail was rolled back; another root at its size
 * means a fork): then nothing is pushed and the push fails.
 */
import {
  buildConsistencyProof,
  NoteVerifier,
  openCheckpoint,
  rootAt,
  TileTree,
  type TreeReader,
} from '../chain/index.js';
import { AuditError } from '../errors.js';
import { DirSource, type StoredCheckpoint } from '../store/index.js';
import { openWitness, type WitnessOptions } from './open-witness.js';
import type { Witness, WitnessedCheckpoint } from './witness.js';

/** What was pushed to one witness. */
export interface WitnessPushReport {
  witness: string;
  /** Checkpoints the witness held before. */
  held: number;
  pushed: number;
  /** Newest size the witness holds now. */
  latest: number;
}

/**
 * Checks what a witness holds against the trail's tree.
 * @throws AuditError WITNESS_CONFLICT (rollback or fork), CHECKPOINT_SIGNATURE_INVALID (a held
 *   checkpoint not signed by the trail's key).
 */
function checkHeld(held: WitnessedCheckpoint[], tree: TreeReader, verifier: NoteVerifier): number {
  let latest = 0;
  for (const h of held) {
    let cp: ReturnType<typeof openCheckpoint>;
    try {
      cp = openCheckpoint(h.note, verifier);
    } catch (err) {
      if (err instanceof AuditError)
        throw new AuditError(err.code, `${h.source}: ${err.message}`, { source: h.source });
      throw err;
    }
    if (cp.size > tree.size)
      throw new AuditError(
        'WITNESS_CONFLICT',
        `rollback: ${h.source} covers ${cp.size} entries but the trail has ${tree.size}`,
        { source: h.source },
      );
    if (!rootAt(tree, cp.size).equals(cp.rootHash))
      throw new AuditError(
        'WITNESS_CONFLICT',
        `fork: ${h.source}: root at size ${cp.size} differs from the trail (another history under the same key)`,
        { source: h.source },
      );
    latest = Math.max(latest, cp.size);
  }
  return latest;
}

async function pushOne(
  witness: Witness,
  source: DirSource,
  tree: TreeReader,
  checkpoints: StoredCheckpoint[],
): Promise<WitnessPushReport> {
  const { origin, verifierKey } = source.meta;
  // The newest held checkpoint is enough: its root at its size covers every entry before it, so
  // if it matches the trail, no older one can differ unless the witness itself holds a fork, which
  // `verify --against` (reading them all) reports.
  const { checkpoint, count } = await witness.newest(origin);
  let latest = checkHeld(
    checkpoint === undefined ? [] : [checkpoint],
    tree,
    NoteVerifier.fromVkey(verifierKey),
  );
  const report: WitnessPushReport = { witness: witness.name, held: count, pushed: 0, latest };
  for (const c of checkpoints) {
    if (c.size <= latest || c.size > tree.size) continue;
    const proof = latest > 0 ? buildConsistencyProof(tree, latest, c.size) : [];
    const status = await witness.store({
      size: c.size,
      note: c.note,
      time: c.time,
      verifierKey,
      proof,
      fromSize: latest,
    });
    if (status === 'stored') report.pushed++;
    latest = c.size;
  }
  report.latest = latest;
  return report;
}

/**
 * Pushes the checkpoints of the trail in `dir` to each witness in `specs` (see openWitness).
 * @throws AuditError WITNESS_CONFLICT (a witness holds a checkpoint the trail contradicts, or
 *   refused one), STORE_IO, USAGE, CONFIG_INVALID, TRAIL_NOT_FOUND, CHECKPOINT_MISSING (the trail
 *   has no checkpoint yet).
 */
export async function pushToWitnesses(
  dir: string,
  specs: string[],
  options: WitnessOptions = {},
): Promise<WitnessPushReport[]> {
  const source = new DirSource(dir);
  const bySize = new Map<number, StoredCheckpoint>();
  for (const c of source.checkpoints()) if (c.size > 0) bySize.set(c.size, c);
  const checkpoints = [...bySize.values()].sort((a, b) => a.size - b.size);
  if (checkpoints.length === 0)
    throw new AuditError(
      'CHECKPOINT_MISSING',
      `no checkpoint of a non-empty tree in ${source.layout.dir} yet`,
    );
  const tree = TileTree.open(source.layout.treeDir, { readOnly: true });
  const reports: WitnessPushReport[] = [];
  try {
    for (const spec of specs) {
      const witness = await openWitness(spec, options);
      try {
        reports.push(await pushOne(witness, source, tree, checkpoints));
      } finally {
        witness.close();
      }
    }
  } finally {
    tree.close();
  }
  return reports;
}
