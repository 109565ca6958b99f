/**
 * `sealtrail verify`: checks the whole trail; names the first failing seq and the reason; exit 1
 * on any integrity failure. `--against FILE` (repeatable) checks checkpoints kept elsewhere,
 * `--key VKEY` trusts an auditor's verifier key instead of trail.json's, `--seal-seed` checks seals.
 */
import fs from 'node:fs';
import path from 'node:path';
import { verifyDir } from '../read/index.js';
import { DIR_OPTION, out, parseVerbArgs, progress } from './common.js';
import { POSTGRES_OPTIONS, readTarget } from './postgres-options.js';

export async function runVerify(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('verify', args, {
    ...DIR_OPTION,
    ...POSTGRES_OPTIONS,
    against: { type: 'string', multiple: true },
    'seal-seed': { type: 'string' },
    key: { type: 'string' },
    json: { type: 'boolean' },
  });
  const target = await readTarget('verify', values);
  const dir = target.source;
  let total: number | undefined;
  try {
    total =
      typeof dir === 'string' ? fs.statSync(path.join(dir, 'tree', 'level-00.hashes')).size / 32 : dir.size();
  } catch {
    total = undefined;
  }
  const bar = values.json === true ? progress('') : progress('verifying', total);
  const opts: Parameters<typeof verifyDir>[1] = { onProgress: (n) => bar.update(n) };
  if (values.against !== undefined) opts.against = values.against;
  if (values.key !== undefined) opts.verifierKey = values.key;
  const seed = values['seal-seed'] ?? process.env.SEALTRAIL_SEAL_SEED;
  if (seed !== undefined) opts.sealSeed = seed;
  let report: ReturnType<typeof verifyDir>;
  try {
    report = verifyDir(dir, opts);
  } finally {
    target.close();
  }
  bar.done();
  if (values.json === true) {
    out(JSON.stringify(report));
  } else if (report.ok) {
    const parts = [`ok: ${report.entries} entries`, `root ${report.root}`];
    if (report.latestCheckpoint !== undefined)
      parts.push(`latest checkpoint size ${report.latestCheckpoint.size}`);
    if (report.unsignedTail > 0)
      parts.push(`${report.unsignedTail} newest entries not yet checkpointed (writer running)`);
    for (const a of report.against) parts.push(`consistent with ${a.source} (size ${a.size})`);
    if (report.seals !== undefined) parts.push(`${report.seals.epochs} seal epochs verified`);
    else parts.push('seals not checked (no --seal-seed)');
    out(parts.join('; '));
  } else {
    const f = report.failure!;
    const where = f.seq === undefined ? '' : ` at seq ${f.seq}${f.file === undefined ? '' : ` (${f.file})`}`;
    process.stderr.write(`sealtrail: integrity failure${where}: ${f.code}: ${f.message}\n`);
  }
  return report.ok ? 0 : 1;
}
