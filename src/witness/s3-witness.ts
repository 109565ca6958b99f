/**
 * A witness that is an S3 location, ideally in a bucket with Object Lock (WORM) in another
 * account: one object per checkpoint, `<prefix>checkpoints/<size, 20 digits>.note` (the archive's
 * layout, so an archive is also a witness), uploaded create-only with its SHA-256 checksum and
 * the Object Lock retention and legal hold asked for.
 */
import {
  ARCHIVE_CHECKPOINTS,
  type ArchiveLock,
  checkArchiveLock,
  checkpointObjectName,
  DEFAULT_ARCHIVE_LOCK,
  lockHeaders,
  type PutObjectOptions,
  parseCheckpointObjectName,
  type S3ConnectOptions,
  type S3Location,
  S3Objects,
} from '../archive/index.js';
import { AuditError } from '../errors.js';
import type { CheckpointToStore, Witness, WitnessedCheckpoint } from './witness.js';

/** Checkpoint objects under one S3 location. */
export class S3Witness implements Witness {
  readonly name: string;

  private constructor(
    private readonly s3: S3Objects,
    private readonly lock: ArchiveLock,
    private readonly now: () => number,
  ) {
    this.name = s3.url('');
  }

  /**
   * @throws AuditError USAGE (lock options), CONFIG_INVALID (S3 settings).
   */
  static async open(
    location: S3Location,
    options: { s3?: S3ConnectOptions; lock?: Partial<ArchiveLock>; now?: () => number } = {},
  ): Promise<S3Witness> {
    const lock = { ...DEFAULT_ARCHIVE_LOCK, ...options.lock };
    checkArchiveLock(lock);
    return new S3Witness(await S3Objects.connect(location, options.s3), lock, options.now ?? Date.now);
  }

  async held(): Promise<WitnessedCheckpoint[]> {
    const out: WitnessedCheckpoint[] = [];
    for (const o of await this.s3.list(ARCHIVE_CHECKPOINTS)) {
      const size = parseCheckpointObjectName(o.name);
      if (size === undefined) continue;
      const body = await this.s3.get(o.name);
      if (body !== undefined) out.push({ size, note: body.toString('utf8'), source: this.s3.url(o.name) });
    }
    return out;
  }

  async newest(): Promise<{ checkpoint: WitnessedCheckpoint | undefined; count: number }> {
    // Names carry the size in 20 digits: the last in key order is the largest.
    const names = (await this.s3.list(ARCHIVE_CHECKPOINTS)).filter(
      (o) => parseCheckpointObjectName(o.name) !== undefined,
    );
    const last = names.at(-1);
    if (last === undefined) return { checkpoint: undefined, count: 0 };
    const body = await this.s3.get(last.name);
    const checkpoint =
      body === undefined
        ? undefined
        : {
            size: parseCheckpointObjectName(last.name)!,
            note: body.toString('utf8'),
            source: this.s3.url(last.name),
          };
    return { checkpoint, count: names.length };
  }

  async store(cp: CheckpointToStore): Promise<'stored' | 'present'> {
    const name = checkpointObjectName(cp.size);
    const there = await this.s3.get(name);
    if (there !== undefined) {
      if (there.toString('utf8') === cp.note) return 'present';
      throw new AuditError(
        'WITNESS_CONFLICT',
        `fork: ${this.s3.url(name)} holds another checkpoint of size ${cp.size}`,
        {
          key: this.s3.key(name),
        },
      );
    }
    const put: PutObjectOptions = { contentType: 'text/plain; charset=utf-8' };
    const headers = lockHeaders(this.lock, cp.time, this.now());
    if (headers !== undefined) put.lock = headers;
    if (this.lock.legalHold) put.legalHold = true;
    await this.s3.put(name, Buffer.from(cp.note), put);
    return 'stored';
  }

  close(): void {
    this.s3.close();
  }
}
