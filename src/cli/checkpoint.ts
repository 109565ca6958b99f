/** `sealtrail checkpoint`: prints the latest signed checkpoint (C2SP signed note). */
import { NoteVerifier, openCheckpoint } from '../chain/index.js';
import { AuditError } from '../errors.js';
import { DirSource } from '../store/index.js';
import { DIR_OPTION, parseVerbArgs } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';

export async function runCheckpoint(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('checkpoint', args, { ...DIR_OPTION, ...POSTGRES_OPTIONS });
  const target = await readTarget('checkpoint', values);
  let note: string | undefined;
  let where: string;
  let verifierKey: string;
  try {
    const source = typeof target.source === 'string' ? new DirSource(target.source) : target.source;
    note = source.latestCheckpoint();
    where = source instanceof DirSource ? source.layout.dir : source.name;
    verifierKey = source.meta.verifierKey;
    if (source instanceof DirSource) note = latestOfDir(source, note, verifierKey);
  } finally {
    target.close();
  }
  if (note === undefined) throw new AuditError('CHECKPOINT_MISSING', `no checkpoint in ${where} yet`);
  // Only a note the trail's key signed is shown (CHECKPOINT_MALFORMED or _SIGNATURE_INVALID, exit 1).
  openCheckpoint(note, NoteVerifier.fromVkey(verifierKey));
  process.stdout.write(note);
  return 0;
}

/**
 * The latest of a directory trail: the largest checkpoint of checkpoints.jsonl that the trail's key
 * signed, which the `checkpoint` file must be or precede (a writer stopped between the two leaves
 * it one behind). A file that is none of them was changed or replaced: an older note copied there
 * would let a witness keep a checkpoint of a log cut back to it.
 * @throws AuditError CHECKPOINT_MALFORMED when the file holds a note checkpoints.jsonl does not.
 */
function latestOfDir(source: DirSource, file: string | undefined, verifierKey: string): string | undefined {
  const verifier = NoteVerifier.fromVkey(verifierKey);
  let latest: { size: number; note: string } | undefined;
  let listed = false;
  for (const c of source.checkpoints()) {
    if (c.note === file) listed = true;
    let size: number;
    try {
      size = openCheckpoint(c.note, verifier).size;
    } catch {
      continue; // verify names it; the largest verified one is the latest
    }
    if (latest === undefined || size >= latest.size) latest = { size, note: c.note };
  }
  if (file !== undefined && latest !== undefined && !listed)
    throw new AuditError(
      'CHECKPOINT_MALFORMED',
      `${source.layout.latestCheckpoint}: not a checkpoint of checkpoints.jsonl (changed or replaced); run sealtrail verify`,
    );
  return latest?.note ?? file;
}
