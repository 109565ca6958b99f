/** `sealtrail checkpoint`: prints the latest signed checkpoint (C2SP signed note). */
import { AuditError } from '../errors.js';
import { DirSource } from '../store/index.js';
import { DIR_OPTION, parseVerbArgs, trailDir } from './common.js';

export async function runCheckpoint(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('checkpoint', args, { ...DIR_OPTION });
  const source = new DirSource(trailDir(values.dir));
  const note = source.latestCheckpoint();
  if (note === undefined)
    throw new AuditError('CHECKPOINT_MISSING', `no checkpoint in ${source.layout.dir} yet`);
  process.stdout.write(note);
  return 0;
}
