/** `sealtrail init`: creates a trail and shows its verifier key and, once, the seal seed. */

import { AuditError } from '../errors.js';
import { createTrail } from '../store/index.js';
import { DIR_OPTION, out, parseVerbArgs, trailDir } from './common.js';

export async function runInit(args: string[]): Promise<number> {
  const { values } = parseVerbArgs('init', args, {
    ...DIR_OPTION,
    origin: { type: 'string' },
    content: { type: 'string' },
    json: { type: 'boolean' },
  });
  const content = values.content ?? process.env.SEALTRAIL_CONTENT ?? 'plain';
  if (content !== 'plain' && content !== 'hash' && content !== 'encrypt') {
    throw new AuditError('USAGE', '--content: expected hash, encrypt or plain');
  }
  const dir = trailDir(values.dir);
  const opts: Parameters<typeof createTrail>[1] = { content };
  const origin = values.origin ?? process.env.SEALTRAIL_ORIGIN;
  if (origin !== undefined) opts.origin = origin;
  const created = createTrail(dir, opts);
  if (values.json === true) {
    out(JSON.stringify(created));
  } else {
    out(`created trail ${created.origin} in ${dir}`);
    out(`verifier key (publish it; verify with --key): ${created.verifierKey}`);
    out(`seal seed (shown once; keep it offline; verify with --seal-seed): ${created.sealSeed}`);
  }
  return 0;
}
