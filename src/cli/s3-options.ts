/**
 * Options shared by the verbs that reach S3 (`archive push`, `witness push`, `verify --from-s3`,
 * `verify --against s3://...`): `--s3-endpoint` (else $SEALTRAIL_S3_ENDPOINT; path-style
 * addressing then), and the Object Lock flags `--lock-mode`, `--retain-days`, `--legal-hold`.
 * Credentials and region come from the AWS SDK's usual chain and are never options.
 */
import { type ArchiveLock, parseLockMode, type S3ConnectOptions } from '../archive/index.js';
import { intOption } from './common.js';

/** `--s3-endpoint URL`. */
export const S3_OPTION = { 's3-endpoint': { type: 'string' } } as const;

/** `--lock-mode`, `--retain-days`, `--legal-hold`. */
export const LOCK_OPTIONS = {
  'lock-mode': { type: 'string' },
  'retain-days': { type: 'string' },
  'legal-hold': { type: 'boolean' },
} as const;

/** The S3 connection from `--s3-endpoint` (the rest from the environment). */
export function s3Connect(values: { 's3-endpoint'?: string | undefined }): S3ConnectOptions {
  // The SDK warns on stderr about its future Node versions; the CLI keeps stderr to one line per error.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return values['s3-endpoint'] === undefined ? {} : { endpoint: values['s3-endpoint'] };
}

/** The Object Lock asked for on the command line (unset fields keep the defaults). */
export function lockFromArgs(values: {
  'lock-mode'?: string | undefined;
  'retain-days'?: string | undefined;
  'legal-hold'?: boolean | undefined;
}): Partial<ArchiveLock> {
  const lock: Partial<ArchiveLock> = {};
  if (values['lock-mode'] !== undefined) lock.mode = parseLockMode(values['lock-mode']);
  const days = intOption('retain-days', values['retain-days']);
  if (days !== undefined) lock.retainDays = days;
  if (values['legal-hold'] === true) lock.legalHold = true;
  return lock;
}
