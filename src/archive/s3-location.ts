/**
 * `s3://bucket/prefix` locations and the S3 connection settings (endpoint, path style) taken from
 * options and the environment. Pure parsing; credentials and region come from the AWS SDK's own
 * chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION, ...) and are never read or printed here.
 */
import { AuditError } from '../errors.js';

/** A bucket and a key prefix within it ('' or ending in '/'). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

// S3 bucket naming rules (lower-case letters, digits, dots, hyphens; 3 to 63 characters).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** True when `text` names an S3 location (`s3://...`). */
export function isS3Url(text: string): boolean {
  return text.startsWith('s3://');
}

/**
 * Parses `s3://bucket[/prefix]`. The prefix is kept as given, with one trailing `/` added.
 * @throws AuditError USAGE naming `field` when the text is not such a URL (without echoing a
 *   `user:secret@` part).
 */
export function parseS3Url(text: string, field = 's3'): S3Location {
  if (!isS3Url(text)) throw new AuditError('USAGE', `${field}: expected s3://bucket/prefix`, { field });
  const rest = text.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  let prefix = slash < 0 ? '' : rest.slice(slash + 1);
  // `s3://KEY:SECRET@bucket` (a form some tools take): never echo what may be a credential.
  if (bucket.includes('@'))
    throw new AuditError(
      'USAGE',
      `${field}: credentials do not belong in the s3:// URL (the AWS SDK reads them from the environment or a profile)`,
      { field },
    );
  if (!BUCKET_RE.test(bucket))
    throw new AuditError('USAGE', `${field}: ${JSON.stringify(bucket)} is not a valid bucket name`, {
      field,
    });
  if (prefix.split('/').some((part, i, all) => part === '..' || (part === '' && i < all.length - 1)))
    throw new AuditError('USAGE', `${field}: the prefix has an empty or '..' part`, { field });
  if (prefix !== '' && !prefix.endsWith('/')) prefix += '/';
  return { bucket, prefix };
}

/** The text form of a location, for messages. */
export function formatS3Url(location: S3Location): string {
  return `s3://${location.bucket}/${location.prefix}`;
}

/** How to reach the S3 API. */
export interface S3ConnectOptions {
  /** API endpoint (e.g. a local S3-compatible server); default AWS, or $SEALTRAIL_S3_ENDPOINT. */
  endpoint?: string;
  /** Region; default the SDK's chain ($AWS_REGION, profile), else us-east-1. */
  region?: string;
  /** Path-style addressing (bucket in the path); default on when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Explicit credentials; default the SDK's chain (environment, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * A request whose socket stays silent this long fails (STORE_IO) instead of waiting forever;
   * default 60,000 ms. Connecting has 10 s.
   */
  requestTimeoutMs?: number;
}

/**
 * The connection settings: explicit options first, then $SEALTRAIL_S3_ENDPOINT and
 * $SEALTRAIL_S3_FORCE_PATH_STYLE.
 * @throws AuditError CONFIG_INVALID when the endpoint is not an http(s) URL.
 */
export function resolveS3Connect(
  options: S3ConnectOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): S3ConnectOptions {
  const out: S3ConnectOptions = { ...options };
  const endpoint = options.endpoint ?? (env.SEALTRAIL_S3_ENDPOINT || undefined);
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new AuditError('CONFIG_INVALID', 's3-endpoint: expected an http(s) URL', {
        field: 's3-endpoint',
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new AuditError('CONFIG_INVALID', 's3-endpoint: expected an http(s) URL', {
        field: 's3-endpoint',
      });
    if (url.username !== '' || url.password !== '')
      throw new AuditError('CONFIG_INVALID', 's3-endpoint: credentials do not belong in the URL', {
        field: 's3-endpoint',
      });
    out.endpoint = endpoint;
  }
  if (out.forcePathStyle === undefined) {
    const flag = env.SEALTRAIL_S3_FORCE_PATH_STYLE;
    out.forcePathStyle =
      flag === undefined || flag === '' ? out.endpoint !== undefined : flag !== '0' && flag !== 'false';
  }
  return out;
}
