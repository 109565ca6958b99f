/**
 * Per-subject data keys, for crypto-shredding (GDPR Art. 17): content about a data subject is
 * encrypted under that subject's own random 32-byte key, wrapped by the master key (or Vault
 * Transit) and kept in `keys/subjects/<name>.key`; destroying that one file makes the content
 * unreadable everywhere it was copied. Subject ids may be hostile or personal: they appear
 * nowhere on disk or in errors, only as `name`, a keyed hash (HMAC-SHA256 under a random
 * naming key kept wrapped in `index.key`, first 32 hex digits).
 *
 * A subject key is handed out as a one-key {@link KeyRing} whose key id is the key's generation
 * (`s-` and 16 hex digits), so `encryptField(subjectRing, ...)` names it on every ciphertext
 * and a ciphertext of a destroyed generation is told apart from a missing key.
 */
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { AuditError, isAuditError } from '../errors.js';
import {
  acquireLockWaiting,
  ensureDir,
  readIfExists,
  withFile,
  withFileAsync,
  writeFileAtomic,
} from '../store/index.js';
import { createFileExclusive, overwriteInPlace, shredFile } from './key-files.js';
import { KEY_BYTES } from './key-material.js';
import { KeyRing } from './key-ring.js';
import {
  decodeSubjectRecord,
  encodeSubjectRecord,
  newGeneration,
  type SubjectKeyRecord,
  unwrapSubjectKey,
  wrapSubjectKey,
} from './subject-record.js';
import type { SubjectKeyWrapper } from './vault-provider.js';

/** Format tag of an erasure record (`<name>.erased`). */
export const SUBJECT_ERASED_FORMAT = 'sealtrail-subject-erased/1';

const NAME_DOMAIN = 'sealtrail subject name v1\n';
const INDEX_FILE = 'index.key';
const DEFAULT_CACHE = 10_000;
const MAX_SUBJECT_ID = 65_536;

/** Options of {@link SubjectKeyStore.open}. */
export interface SubjectKeyStoreOptions {
  /** Wrap new subject keys with Vault Transit instead of the master key. */
  wrapper?: SubjectKeyWrapper;
  /** Unwrapped subject keys kept in memory; default 10 000. */
  cacheSize?: number;
  now?: () => number;
  /**
   * Reads the master key ring again, for a key wrapped under a master key this store's ring lacks:
   * `sealtrail keys rotate` rewraps every subject key under the new master key while a writer
   * runs with the ring it opened with.
   */
  reloadRing?: () => Promise<KeyRing>;
}

/** Options of {@link SubjectKeyStore.subjectKey}. */
export interface SubjectKeyOptions {
  /**
   * `write` (default): the live key, created when there is none — also after a destruction,
   * which then starts a new generation. `read`: the live key, or an error.
   */
  mode?: 'write' | 'read';
  /** `read`: the generation a ciphertext names; another live generation is an error. */
  generation?: string;
}

/** An erasure record: every generation destroyed for one subject, oldest first. */
interface ErasedRecord {
  format: typeof SUBJECT_ERASED_FORMAT;
  name: string;
  erased: Array<{ generation: string | null; erasedAt: number }>;
}

/** The per-subject data keys of one trail, in `dir` (`<trail>/keys/subjects`). */
export class SubjectKeyStore {
  #ring: KeyRing;
  readonly #reloadRing: (() => Promise<KeyRing>) | undefined;
  /** Master key ids a reload of the ring did not find: not asked for again. */
  readonly #missing = new Set<string>();
  readonly #wrapper: SubjectKeyWrapper | undefined;
  readonly #namingKey: Buffer;
  readonly #cache = new Map<string, KeyRing>();
  readonly #cacheSize: number;
  readonly #now: () => number;
  // One operation at a time per subject name, so a destroy and a create cannot interleave.
  readonly #queues = new Map<string, Promise<unknown>>();

  private constructor(
    readonly dir: string,
    ring: KeyRing,
    namingKey: Buffer,
    options: SubjectKeyStoreOptions,
  ) {
    this.#ring = ring;
    this.#wrapper = options.wrapper;
    this.#namingKey = namingKey;
    this.#cacheSize = options.cacheSize ?? DEFAULT_CACHE;
    this.#now = options.now ?? Date.now;
    this.#reloadRing = options.reloadRing;
  }

  /**
   * Opens (creating when needed, 0700) the store in `dir`, unwrapping its naming key.
   * @throws AuditError KEY_NOT_FOUND, DECRYPT_FAILED, KEY_INVALID, KEY_PROVIDER_ERROR, STORE_IO.
   */
  static async open(
    dir: string,
    ring: KeyRing,
    options: SubjectKeyStoreOptions = {},
  ): Promise<SubjectKeyStore> {
    withFile(dir, 'create', () => ensureDir(dir));
    const file = path.join(dir, INDEX_FILE);
    let record = readRecord(file);
    if (record === undefined) {
      const key = randomBytes(KEY_BYTES);
      const fresh = await wrapSubjectKey(
        key,
        { name: 'index', generation: newGeneration(), createdAt: (options.now ?? Date.now)() },
        ring,
        options.wrapper,
      );
      key.fill(0);
      if (!(await createRecord(file, fresh))) record = readRecord(file);
      else record = fresh;
    }
    if (record === undefined || record.name !== 'index') {
      throw new AuditError('KEY_INVALID', `subject key file ${file}: not the naming key`, { file });
    }
    const namingKey = await unwrapSubjectKey(record, ring, options.wrapper);
    return new SubjectKeyStore(dir, ring, namingKey, options);
  }

  /** The keyed hash of `subjectId` under which its key is stored (32 hex digits). */
  subjectName(subjectId: string): string {
    if (typeof subjectId !== 'string' || subjectId.length === 0 || subjectId.length > MAX_SUBJECT_ID) {
      throw new AuditError(
        'USAGE',
        `subject id: expected a non-empty string of at most ${MAX_SUBJECT_ID} characters`,
      );
    }
    return createHmac('sha256', this.#namingKey)
      .update(NAME_DOMAIN)
      .update(subjectId)
      .digest('hex')
      .slice(0, 32);
  }

  /**
   * The data key of `subjectId` as a one-key ring (key id = generation), for
   * `encryptField(subjectRing, ...)` and `decryptField`.
   * @throws AuditError KEY_DESTROYED (`read`: the key, or the named generation, was destroyed),
   *   KEY_NOT_FOUND (`read`: there never was one; or the master key that wrapped it is missing),
   *   DECRYPT_FAILED, KEY_INVALID, STORE_IO.
   */
  subjectKey(subjectId: string, options: SubjectKeyOptions = {}): Promise<KeyRing> {
    const name = this.subjectName(subjectId);
    const cached = this.#cache.get(name);
    // Not while an operation on the subject waits its turn: a destruction queued behind a
    // creation would otherwise hand out, from the cache, the key it is about to destroy.
    if (
      cached !== undefined &&
      !this.#queues.has(name) &&
      (options.generation === undefined || cached.current === options.generation)
    ) {
      return Promise.resolve(cached);
    }
    return this.#serial(name, () => this.#subjectKey(name, options));
  }

  /**
   * Destroys the data key of `subjectId`: an erasure record is written first (so an interrupted
   * destruction is finished on the next access), then the key file is overwritten with zeros,
   * synced and unlinked, and the copy in memory is wiped. Reading afterwards fails with
   * KEY_DESTROYED; writing creates a new generation. A {@link subjectKey} called after this one,
   * even before it resolves, gets a key of after the destruction.
   * @returns the generation of the live key destroyed (the key id its ciphertexts name), or
   *   undefined when there was none.
   * @throws AuditError STORE_IO.
   */
  destroySubjectKey(subjectId: string): Promise<string | undefined> {
    const name = this.subjectName(subjectId);
    return this.#serial(name, () =>
      this.#exclusive(name, () => {
        const file = this.#file(name);
        const record = readRecord(file);
        const erased = readErased(this.#erasedFile(name)) ?? {
          format: SUBJECT_ERASED_FORMAT,
          name,
          erased: [],
        };
        erased.erased.push({ generation: record?.generation ?? null, erasedAt: this.#now() });
        withFile(this.#erasedFile(name), 'write', () =>
          writeFileAtomic(this.#erasedFile(name), `${JSON.stringify(erased)}\n`),
        );
        // The copy in memory goes first: once the erasure record names the generation, nothing
        // more may be encrypted under it, even when the shredding below fails and is retried later.
        const ring = this.#cache.get(name);
        this.#cache.delete(name);
        ring?.wipe();
        const shredded = withFile(file, 'destroy', () => shredFile(file));
        return shredded ? record?.generation : undefined;
      }),
    );
  }

  /**
   * Rewraps every locally wrapped subject key (and the naming key) under `ring`'s current key,
   * in place, and uses `ring` from now on. `ring` must still hold the old keys. Keys wrapped by
   * Vault Transit are left as they are (Vault rotates its own keys; its rewrap endpoint keeps
   * them current).
   * A key file that cannot be read or unwrapped is left as it is and reported in `failed`; the
   * others are still rewrapped.
   * @returns the number of subject keys rewritten (the naming key not counted), and the files left.
   * @throws AuditError STORE_IO when the directory cannot be listed.
   */
  async rewrap(
    ring: KeyRing,
  ): Promise<{ rewrapped: number; failed: Array<{ file: string; reason: string }> }> {
    let rewrapped = 0;
    const failed: Array<{ file: string; reason: string }> = [];
    const names = withFile(this.dir, 'list', () => fs.readdirSync(this.dir)).filter((f) =>
      f.endsWith('.key'),
    );
    for (const f of names.sort()) {
      const file = path.join(this.dir, f);
      try {
        const name = f.slice(0, -'.key'.length);
        await this.#serial(name, () =>
          this.#exclusive(name, async () => {
            // read under the lock: a destruction finished meanwhile left no file, or an erased one
            const record = readRecord(file);
            if (record === undefined || record.wrap !== 'local' || record.keyId === ring.current) return;
            if (namesGeneration(readErased(this.#erasedFile(name)), record.generation)) {
              withFile(file, 'destroy', () => shredFile(file));
              return;
            }
            const key = await unwrapSubjectKey(record, ring, this.#wrapper);
            const next = await wrapSubjectKey(key, record, ring, undefined);
            key.fill(0);
            withFile(file, 'rewrap', () => overwriteInPlace(file, encodeSubjectRecord(next)));
            if (record.name !== 'index') rewrapped++;
          }),
        );
      } catch (err) {
        if (!isAuditError(err)) throw err;
        failed.push({ file, reason: err.message });
      }
    }
    this.#ring = ring;
    return { rewrapped, failed };
  }

  toString(): string {
    return `[SubjectKeyStore ${this.dir}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }

  async #subjectKey(name: string, options: SubjectKeyOptions): Promise<KeyRing> {
    const cached = this.#cache.get(name);
    if (cached !== undefined && (options.generation === undefined || cached.current === options.generation)) {
      return cached;
    }
    const file = this.#file(name);
    let record = readRecord(file);
    const erased = readErased(this.#erasedFile(name));
    if (record !== undefined && namesGeneration(erased, record.generation)) {
      // A destruction was interrupted after its erasure record: finish it.
      await this.#exclusive(name, () => withFile(file, 'destroy', () => shredFile(file)));
      record = undefined;
    }
    if (record !== undefined && record.name !== name) {
      throw new AuditError('KEY_INVALID', `subject key file ${file}: holds another subject's key`, { file });
    }
    const live =
      record !== undefined && (options.generation === undefined || record.generation === options.generation);
    if (!live && options.mode === 'read') {
      const wanted = options.generation;
      const destroyed =
        erased !== undefined &&
        (wanted === undefined ? record === undefined : namesGeneration(erased, wanted));
      if (destroyed) {
        throw new AuditError(
          'KEY_DESTROYED',
          `subject key ${name}${wanted === undefined ? '' : ` ${wanted}`}: destroyed`,
          {
            subject: name,
          },
        );
      }
      throw new AuditError(
        'KEY_NOT_FOUND',
        `subject key ${name}${wanted === undefined ? '' : ` ${wanted}`}: not found`,
        {
          subject: name,
        },
      );
    }
    if (record === undefined) {
      const key = randomBytes(KEY_BYTES);
      const fresh = await wrapSubjectKey(
        key,
        { name, generation: newGeneration(), createdAt: this.#now() },
        this.#ring,
        this.#wrapper,
      );
      key.fill(0);
      withFile(this.dir, 'create', () => ensureDir(this.dir));
      record = (await createRecord(file, fresh)) ? fresh : readRecord(file);
      if (record === undefined)
        throw new AuditError('STORE_IO', `subject key file ${file}: vanished while created`);
    }
    const key = await this.#unwrap(record);
    const ring = KeyRing.fromKeys([{ id: record.generation, key, createdAt: record.createdAt }], {
      context: this.#ring.context,
      source: { provider: 'subject', detail: `${name} (${record.wrap})` },
    });
    key.fill(0);
    if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(name, ring);
    return ring;
  }

  /**
   * Unwraps `record`, reading the master key ring again when its wrapping key is not in it: once
   * per key id, since a reload costs a provider round trip (a key file's scrypt derivation, a Vault
   * request), and a key id still missing after one stays missing (rotation only adds new ids).
   */
  async #unwrap(record: SubjectKeyRecord): Promise<Buffer> {
    try {
      return await unwrapSubjectKey(record, this.#ring, this.#wrapper);
    } catch (err) {
      const keyId = record.keyId;
      if (
        this.#reloadRing === undefined ||
        !isAuditError(err, 'KEY_NOT_FOUND') ||
        record.wrap !== 'local' ||
        keyId === undefined ||
        this.#ring.has(keyId) ||
        this.#missing.has(keyId)
      )
        throw err;
      this.#ring = await this.#reloadRing();
      if (!this.#ring.has(keyId)) this.#missing.add(keyId);
      return unwrapSubjectKey(record, this.#ring, this.#wrapper);
    }
  }

  #file(name: string): string {
    return path.join(this.dir, `${name}.key`);
  }

  #erasedFile(name: string): string {
    return path.join(this.dir, `${name}.erased`);
  }

  /**
   * Runs `fn` holding `<name>.lock`: a rewrap (`keys rotate`, often in another process than the
   * writer) and a destruction of one subject's key never interleave, so a rewrap cannot write
   * the key back into the blocks of a file just zeroed and unlinked. Waits up to 10 s.
   * @throws AuditError TRAIL_LOCKED when another process keeps the lock longer.
   */
  async #exclusive<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const release = await withFileAsync(this.dir, 'lock', () =>
      acquireLockWaiting(path.join(this.dir, `${name}.lock`), 'subject key is being rewrapped or destroyed'),
    );
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(name) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const tail = run.catch(() => {});
    this.#queues.set(name, tail);
    void tail.then(() => {
      if (this.#queues.get(name) === tail) this.#queues.delete(name);
    });
    return run;
  }
}

function readRecord(file: string): SubjectKeyRecord | undefined {
  const data = withFile(file, 'read', () => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  });
  return data === undefined ? undefined : decodeSubjectRecord(data, file);
}

/** Creates the record file; false when another creator won (the caller reads theirs). */
function createRecord(file: string, record: SubjectKeyRecord): Promise<boolean> {
  return withFileAsync(file, 'create', async () => {
    try {
      await createFileExclusive(file, encodeSubjectRecord(record));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  });
}

/** True when erasure record `erased` lists `generation` as destroyed. */
function namesGeneration(erased: ErasedRecord | undefined, generation: string): boolean {
  return erased?.erased.some((e) => e.generation === generation) === true;
}

function readErased(file: string): ErasedRecord | undefined {
  const text = withFile(file, 'read', () => readIfExists(file));
  if (text === undefined) return undefined;
  let r: ErasedRecord;
  try {
    r = JSON.parse(text) as ErasedRecord;
  } catch {
    throw new AuditError('KEY_INVALID', `erasure record ${file}: damaged (not JSON)`, { file });
  }
  if (r?.format !== SUBJECT_ERASED_FORMAT || !Array.isArray(r.erased)) {
    throw new AuditError('KEY_INVALID', `erasure record ${file}: damaged`, { file });
  }
  return r;
}
