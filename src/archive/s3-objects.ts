/**
 * The few S3 operations the archive and the S3 witness use, on objects under one location:
 * put with a SHA-256 checksum (S3 checks it on receipt) and optional Object Lock retention and
 * legal hold, create-only (`If-None-Match: *`); head (size and checksum); get; list. The AWS SDK
 * (`@aws-sdk/client-s3`, an optional peer dependency) is loaded on first use, so trails that never
 * touch S3 do not need it. Errors carry the S3 error name and key, never a credential.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { AuditError } from '../errors.js';
import { FILE_MODE } from '../store/index.js';
import { formatS3Url, resolveS3Connect, type S3ConnectOptions, type S3Location } from './s3-location.js';

type Sdk = typeof import('@aws-sdk/client-s3');

/** Object Lock settings sent with an upload (S3 needs a bucket created with Object Lock enabled). */
export interface ObjectLockHeaders {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  retainUntil: Date;
}

/** Options of {@link S3Objects.put}. */
export interface PutObjectOptions {
  contentType: string;
  lock?: ObjectLockHeaders;
  legalHold?: boolean;
  /** User metadata (x-amz-meta-*); the hex SHA-256 is always added as `sha256`. */
  metadata?: Record<string, string>;
}

/** What a HEAD tells about a stored object. */
export interface ObjectHead {
  size: number;
  /** Hex SHA-256 of the bytes: S3's own checksum when it returns one, else our metadata. */
  sha256: string | undefined;
}

let sdkLoad: Promise<Sdk> | undefined;

async function loadSdk(): Promise<Sdk> {
  sdkLoad ??= import('@aws-sdk/client-s3').catch(() => {
    sdkLoad = undefined;
    throw new AuditError(
      'CONFIG_INVALID',
      's3: the package @aws-sdk/client-s3 is not installed (npm install @aws-sdk/client-s3)',
      { field: 's3' },
    );
  });
  return sdkLoad;
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** Objects under one S3 location, named relative to its prefix. */
export class S3Objects {
  private constructor(
    private readonly sdk: Sdk,
    private readonly client: S3Client,
    readonly location: S3Location,
  ) {}

  /**
   * A client for `location` (nothing is sent yet).
   * @throws AuditError CONFIG_INVALID when the SDK is missing or the endpoint is malformed.
   */
  static async connect(location: S3Location, options: S3ConnectOptions = {}): Promise<S3Objects> {
    const sdk = await loadSdk();
    const c = resolveS3Connect(options);
    const client = new sdk.S3Client({
      ...(c.endpoint === undefined ? {} : { endpoint: c.endpoint }),
      ...(c.credentials === undefined ? {} : { credentials: c.credentials }),
      region: c.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1'),
      forcePathStyle: c.forcePathStyle === true,
      // We send our own SHA-256 checksum; no extra CRC trailers (aws-chunked) on top of it.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // An endpoint that takes the connection and never answers must not hold a push or a
      // verification forever.
      requestHandler: { connectionTimeout: 10_000, socketTimeout: c.requestTimeoutMs ?? 60_000 },
    });
    return new S3Objects(sdk, client, location);
  }

  /** The full key of `name`. */
  key(name: string): string {
    return this.location.prefix + name;
  }

  /** `s3://bucket/key` of `name`, for messages. */
  url(name: string): string {
    return formatS3Url(this.location) + name;
  }

  private fail(op: string, name: string, err: unknown): never {
    if (err instanceof AuditError) throw err;
    const status = statusOf(err);
    const what = (err as Error).name || 'error';
    throw new AuditError(
      'STORE_IO',
      `s3 ${op} ${this.url(name)}: ${what}${status === undefined ? '' : ` (HTTP ${status})`}`,
      { key: this.key(name), status },
    );
  }

  /**
   * Size and checksum of `name`, or undefined when there is no such object.
   * @throws AuditError STORE_IO on any other S3 error.
   */
  async head(name: string): Promise<ObjectHead | undefined> {
    try {
      const r = await this.client.send(
        new this.sdk.HeadObjectCommand({
          Bucket: this.location.bucket,
          Key: this.key(name),
          ChecksumMode: 'ENABLED',
        }),
      );
      const s3sum =
        r.ChecksumSHA256 !== undefined && r.ChecksumType !== 'COMPOSITE' ? r.ChecksumSHA256 : undefined;
      const sha256 =
        s3sum !== undefined
          ? Buffer.from(s3sum, 'base64').toString('hex')
          : r.Metadata?.sha256?.toLowerCase();
      return { size: r.ContentLength ?? 0, sha256 };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      this.fail('head', name, err);
    }
  }

  /**
   * The bytes of `name`, or undefined when there is no such object.
   * @throws AuditError STORE_IO on any other S3 error.
   */
  async get(name: string): Promise<Buffer | undefined> {
    try {
      const r = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.location.bucket, Key: this.key(name) }),
      );
      if (r.Body === undefined) return Buffer.alloc(0);
      return Buffer.from(await r.Body.transformToByteArray());
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      this.fail('get', name, err);
    }
  }

  /**
   * Streams `name` into `file` (created with mode 0600), hashing it on the way; resolves with the
   * hex SHA-256 and size of what was received, or undefined when there is no such object.
   * @throws AuditError STORE_IO on an S3 or file error.
   */
  async download(name: string, file: string): Promise<{ sha256: string; size: number } | undefined> {
    try {
      const r = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.location.bucket, Key: this.key(name) }),
      );
      const hash = createHash('sha256');
      let size = 0;
      const body = (r.Body ?? Readable.from([])) as Readable;
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(body, count, fs.createWriteStream(file, { mode: FILE_MODE, flags: 'wx' }));
      return { sha256: hash.digest('hex'), size };
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      if ((err as NodeJS.ErrnoException).syscall !== undefined)
        throw new AuditError(
          'STORE_IO',
          `cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? 'EIO'}`,
          {
            file,
          },
        );
      this.fail('get', name, err);
    }
  }

  /**
   * Uploads `body` as `name`, only if no object is there yet, with its SHA-256 checksum (S3
   * rejects the upload when the bytes it received differ) and the Object Lock headers asked for.
   * @throws AuditError STORE_IO on an S3 error (412 when an object appeared at the key meanwhile).
   */
  async put(name: string, body: Buffer, options: PutObjectOptions): Promise<void> {
    const digest = createHash('sha256').update(body).digest();
    try {
      await this.client.send(
        new this.sdk.PutObjectCommand({
          Bucket: this.location.bucket,
          Key: this.key(name),
          Body: body,
          ContentLength: body.length,
          ContentType: options.contentType,
          // Named and given: S3 wants the algorithm header on uploads with Object Lock retention.
          ChecksumAlgorithm: 'SHA256',
          ChecksumSHA256: digest.toString('base64'),
          Metadata: { ...options.metadata, sha256: digest.toString('hex') },
          IfNoneMatch: '*',
          ...(options.lock === undefined
            ? {}
            : { ObjectLockMode: options.lock.mode, ObjectLockRetainUntilDate: options.lock.retainUntil }),
          ...(options.legalHold === true ? { ObjectLockLegalHoldStatus: 'ON' as const } : {}),
        }),
      );
    } catch (err) {
      this.fail('put', name, err);
    }
  }

  /**
   * Names (relative to the prefix) and sizes of every object whose name starts with `under`, in
   * key order.
   * @throws AuditError STORE_IO on an S3 error.
   */
  async list(under = ''): Promise<Array<{ name: string; size: number }>> {
    const out: Array<{ name: string; size: number }> = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.location.bucket,
            Prefix: this.key(under),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        for (const o of r.Contents ?? []) {
          if (o.Key !== undefined)
            out.push({ name: o.Key.slice(this.location.prefix.length), size: o.Size ?? 0 });
        }
        token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (err) {
      this.fail('list', under, err);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Releases the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}
