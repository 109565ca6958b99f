/** `sealtrail prove` and `sealtrail consistency`: proofs against the latest signed checkpoint. */
import { AuditError } from '../errors.js';
import { proveConsistency, proveInclusion } from '../read/index.js';
import { DIR_OPTION, intOption, out, outJson, parseVerbArgs } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';
import { withOptionNames } from './read-options.js';

export async function runProve(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('prove', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    seq: { type: 'string' },
    id: { type: 'string' },
    json: { type: 'boolean' },
  });
  const seq = intOption('seq', values.seq);
  if ((seq === undefined) === (values.id === undefined))
    throw new AuditError('USAGE', `prove: give --seq N or --id ID${seq === undefined ? '' : ', not both'}`);
  const target = await readTarget('prove', values);
  let doc: ReturnType<typeof proveInclusion>;
  try {
    doc = proveInclusion(target.source, seq !== undefined ? { seq } : { id: values.id! });
  } finally {
    target.close();
  }
  if (values.json === true) outJson(doc);
  else {
    out(`entry ${doc.index} of ${doc.treeSize} in ${doc.origin}`);
    out(`leaf hash ${doc.leafHash}`);
    for (const [i, h] of doc.hashes.entries()) out(`  ${i}: ${h}`);
    out('checkpoint:');
    process.stdout.write(doc.checkpoint);
  }
  return 0;
}

export async function runConsistency(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('consistency', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean' },
  });
  const from = intOption('from', values.from);
  if (from === undefined) throw new AuditError('USAGE', 'consistency: --from N is required');
  const target = await readTarget('consistency', values);
  let doc: ReturnType<typeof proveConsistency>;
  try {
    doc = withOptionNames(() => proveConsistency(target.source, from, intOption('to', values.to)));
  } finally {
    target.close();
  }
  if (values.json === true) outJson(doc);
  else {
    out(`tree ${doc.size1} (${doc.root1}) is a prefix of tree ${doc.size2} (${doc.root2}) in ${doc.origin}`);
    for (const [i, h] of doc.hashes.entries()) out(`  ${i}: ${h}`);
  }
  return 0;
}
