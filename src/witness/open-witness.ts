/**
 * A witness from its text form: `s3://bucket/prefix` (S3, ideally with Object Lock), an
 * `http(s)://` URL (another collector), or a directory path (another volume).
 */
import { type ArchiveLock, isS3Url, parseS3Url, type S3ConnectOptions } from '../archive/index.js';
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
 * @throws AuditError USAGE (malformed S3 URL or URL), CONFIG_INVALID (S3 settings).
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
  return new DirWitness(spec);
}
