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
  } finally {
    target.close();
  }
  if (note === undefined) throw new AuditError('CHECKPOINT_MISSING', `no checkpoint in ${where} yet`);
  // Only a note the trail's key signed is shown (CHECKPOINT_MALFORMED or _SIGNATURE_INVALID, exit 1).
  openCheckpoint(note, NoteVerifier.fromVkey(verifierKey));
  process.stdout.write(note);
  return 0;
}
