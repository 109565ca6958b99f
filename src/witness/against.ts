/**
 * The checkpoints kept elsewhere that `verify --against` checks a trail with: a file holding one
 * signed note, a witness directory, an S3 witness or archive (`s3://bucket/prefix`), or a
 * collector witness (`http(s)://...`), which answers for the trail's origin.
 */
import fs from 'node:fs';
import type { CheckpointInput } from '../chain/index.js';
import { AuditError } from '../errors.js';
import { isRemoteWitness, openWitness, type WitnessOptions } from './open-witness.js';

/**
 * Every checkpoint `spec` holds for `origin`.
 * @throws AuditError STORE_IO (cannot be read), NOT_FOUND (a witness that holds none for the
 *   origin: checking against it would prove nothing), USAGE (a file that is not a signed note),
 *   CONFIG_INVALID.
 */
export async function readWitnessed(
  spec: string,
  origin: string,
  options: WitnessOptions = {},
): Promise<CheckpointInput[]> {
  if (!isRemoteWitness(spec)) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(spec);
    } catch (err) {
      throw new AuditError(
        'STORE_IO',
        `cannot read ${spec}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`,
        {
          file: spec,
        },
      );
    }
    if (!stat.isDirectory()) {
      const note = fs.readFileSync(spec, 'utf8');
      // A signed note ends in a blank line, then signature lines that start with an em dash (one
      // or more: a witness may have cosigned it).
      if (!/\n\n(?:\u2014 [^\n]*\n)+$/.test(note))
        throw new AuditError('USAGE', `--against ${spec}: not a signed checkpoint note`, { file: spec });
      return [{ note, source: spec }];
    }
  }
  const witness = await openWitness(spec, options);
  try {
    const held = await witness.held(origin);
    if (held.length === 0)
      throw new AuditError('NOT_FOUND', `witness ${witness.name} holds no checkpoint of ${origin}`, {
        field: 'against',
      });
    return held.map((h) => ({ note: h.note, source: h.source }));
  } finally {
    witness.close();
  }
}
