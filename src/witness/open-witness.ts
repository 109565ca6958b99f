/**
 * A witness from its text form: `s3://bucket/prefix` (S3, ideally with Object Lock), an
 * `http(s)://` URL (another collector), or a directory path (another volume).
 */
import { type ArchiveLock, isS3Url, parseS3Url, type S3ConnectOptions } from '../archive/index.js';
import { AuditError } from '../errors.js';
import { CollectorWitness } from './collector-witness.js';
import { DirWitness } from './dir-witness.js';
import { S3Witness } from './s3-witness.js';
import type { Witness } from './witness.js';

/** Settings the kinds of witness need. */
export interface WitnessOptions {
  s3?: S3ConnectOptions;
  /** Object Lock of checkpoints stored in S3; default the archive's. */
  lock?: Partial<ArchiveLock>;
  /** Bearer token for a collector witness; default $SEALTRAIL_WITNESS_TOKEN. */
  token?: string;
  now?: () => number;
}

/** True when `spec` names an S3 or HTTP witness rather than a path. */
export function isRemoteWitness(spec: string): boolean {
  return isS3Url(spec) || /^https?:\/\//i.test(spec);
}

/**
 * Opens the witness `spec` names.
 * @throws AuditError USAGE (malformed S3 URL or URL, an unknown address scheme), CONFIG_INVALID (S3
 *   settings).
 */
export async function openWitness(spec: string, options: WitnessOptions = {}): Promise<Witness> {
  if (isS3Url(spec)) {
    const o: Parameters<typeof S3Witness.open>[1] = {};
    if (options.s3 !== undefined) o.s3 = options.s3;
    if (options.lock !== undefined) o.lock = options.lock;
    if (options.now !== undefined) o.now = options.now;
    return S3Witness.open(parseS3Url(spec, 'witness'), o);
  }
  if (/^https?:\/\//i.test(spec))
    return new CollectorWitness(spec, options.token ?? (process.env.SEALTRAIL_WITNESS_TOKEN || undefined));
  // A mistyped address (`htps://`, `S3://`, `s3:/`) would otherwise be taken for a directory here,
  // and checkpoints meant for another host would stay on this one. Only the scheme is echoed: the
  // rest may hold credentials.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(spec)?.[1];
  if (scheme !== undefined)
    throw new AuditError(
      'USAGE',
      `witness: unknown address scheme '${scheme}:': expected s3://bucket/prefix, http(s)://host, or a directory (write ./${scheme}:… for a directory whose name has a colon)`,
      { field: 'witness' },
    );
  return new DirWitness(spec);
}
