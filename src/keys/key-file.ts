/**
 * The passphrase key file (`keys/master.json`, 0600, in a 0700 directory; docs/keys.md gives
 * the format byte for byte): the master keys, wrapped with AES-256-GCM under a key-encryption
 * key derived from the passphrase with scrypt ONCE when the file is opened — never per entry.
 * The public header (KDF parameters, ids, creation times, current id) is the GCM associated
 * data, so it cannot be changed without the passphrase either.
 */
import { createCipheriv, createDecipheriv, randomBytes, type ScryptOptions, scrypt } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { AuditError } from '../errors.js';
import {
  acquireLockWaiting,
  ensureDir,
  readIfExists,
  withFile,
  withFileAsync,
  writeFileAtomic,
} from '../store/index.js';
import { createFileExclusive, looseModeBits } from './key-files.js';
import { checkKeyId, nextKeyId } from './key-id.js';
import { checkKeyBytes, KEY_BYTES } from './key-material.js';
import type { KeyInput } from './key-ring.js';
import { checkKeysToSave, type KeyProvider, type LoadedKeys } from './provider.js';

/** Format tag of the key file. */
export const KEY_FILE_FORMAT = 'sealtrail-keyfile/1';

/** scrypt cost parameters (RFC 7914). */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * N = 2^17, r = 8, p = 1: 128 MiB and about half a second once per open on a small server
 * (OWASP's scrypt recommendation). Argon2id would be the first choice but is not in node:crypto.
 */
export const SCRYPT_DEFAULTS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** The file's JSON (docs/keys.md "Key file"). */
interface KeyFileJson {
  format: typeof KEY_FILE_FORMAT;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  current: string;
  keys: Array<{ id: string; createdAt: number }>;
  wrap: { alg: 'A256GCM'; iv: string; ciphertext: string };
}

const SALT_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Options of {@link createKeyFile}. */
export interface CreateKeyFileOptions {
  /** The first key; default 32 random bytes with id `k1`. */
  key?: KeyInput;
  scrypt?: ScryptParams;
  now?: number;
}

/**
 * Creates a key file holding one new master key (id `k1` unless given).
 * @throws AuditError CONFIG_INVALID (empty passphrase, bad scrypt parameters, file exists),
 *   KEY_INVALID (bad key), STORE_IO.
 */
export async function createKeyFile(
  file: string,
  passphrase: string,
  options: CreateKeyFileOptions = {},
): Promise<{ id: string }> {
  const params = checkScrypt(options.scrypt ?? SCRYPT_DEFAULTS, file);
  const salt = randomBytes(SALT_BYTES);
  const kek = await deriveKek(passphrase, salt, params, file);
  const key =
    options.key === undefined ? randomBytes(KEY_BYTES) : Buffer.from(checkKeyBytes(options.key.key, 'key'));
  const id = options.key?.id === undefined ? 'k1' : checkKeyId(options.key.id, 'key');
  const createdAt = options.key?.createdAt ?? options.now ?? Date.now();
  const json = seal(kek, { N: params.N, r: params.r, p: params.p, salt: salt.toString('base64') }, id, [
    { id, createdAt, key },
  ]);
  kek.fill(0);
  key.fill(0);
  await withFileAsync(file, 'create key file', async () => {
    ensureDir(path.dirname(file));
    try {
      await createFileExclusive(file, json);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new AuditError('CONFIG_INVALID', `key file ${file} already exists`, { file });
      }
      throw err;
    }
  });
  return { id };
}

/** An open key file: its keys and the key-encryption key, held for rotation. */
export class KeyFile {
  #kek: Buffer;
  #text: string;
  #keys: Array<{ id: string; createdAt: number; key: Buffer }> = [];
  #current = '';

  private constructor(
    readonly file: string,
    private readonly kdf: KeyFileJson['kdf'],
    kek: Buffer,
    text: string,
  ) {
    this.#kek = kek;
    this.#text = text;
  }

  /**
   * Opens `file` with `passphrase`: one scrypt derivation, one AES-GCM unwrap.
   * @throws AuditError KEY_NOT_FOUND (no file), KEY_INVALID (wrong passphrase, changed or
   *   damaged file, mode open to others), CONFIG_INVALID (empty passphrase), STORE_IO.
   */
  static async open(file: string, passphrase: string): Promise<KeyFile> {
    const text = readKeyFileText(file);
    const json = parseKeyFile(text, file);
    const params = checkScrypt(json.kdf, file);
    const kek = await deriveKek(passphrase, Buffer.from(json.kdf.salt, 'base64'), params, file);
    const kf = new KeyFile(file, json.kdf, kek, text);
    try {
      kf.#unwrap(json);
    } catch (err) {
      kek.fill(0);
      throw err;
    }
    return kf;
  }

  /** Id of the current key. */
  get current(): string {
    return this.#current;
  }

  /** The keys as a provider hands them over (copies). */
  loaded(): LoadedKeys {
    return {
      keys: this.#keys.map((k) => ({ id: k.id, createdAt: k.createdAt, key: Buffer.from(k.key) })),
      current: this.#current,
      detail: this.file,
    };
  }

  /**
   * Adds `next` (default: 32 random bytes, id `k<n+1>`) as the current key, re-wraps all keys
   * under the same key-encryption key with a fresh IV, and replaces the file atomically.
   * @throws AuditError KEY_INVALID (id taken, bad key), STORE_IO.
   */
  async rotate(next?: KeyInput, now = Date.now()): Promise<LoadedKeys> {
    // Read, add and write under a lock: two rotations at once would each add a key, and the
    // second write would drop the first one's, which its process goes on encrypting with.
    const release = await acquireLockWaiting(`${this.file}.lock`, 'key file is being rotated');
    try {
      this.#reload();
      const id =
        next?.id === undefined ? nextKeyId(this.#keys.map((k) => k.id)) : checkKeyId(next.id, 'new key');
      if (this.#keys.some((k) => k.id === id))
        throw new AuditError('KEY_INVALID', `key file: key id ${id} is taken`);
      const key =
        next === undefined ? randomBytes(KEY_BYTES) : Buffer.from(checkKeyBytes(next.key, 'new key'));
      const keys = [...this.#keys, { id, createdAt: next?.createdAt ?? now, key }];
      // Checked as opening will check them: a key file that cannot be opened is never written.
      checkKeysToSave('key-file', { keys, current: id });
      const json = seal(this.#kek, this.kdf, id, keys);
      withFile(this.file, 'write key file', () => writeFileAtomic(this.file, json));
      this.#text = json;
      this.#keys = keys;
      this.#current = id;
      return this.loaded();
    } finally {
      release();
    }
  }

  /** Overwrites the key-encryption key and the keys held in memory. */
  close(): void {
    this.#kek.fill(0);
    for (const k of this.#keys) k.key.fill(0);
    this.#keys = [];
  }

  /** Rereads the file when it changed since it was read (another rotation), so no key is lost. */
  #reload(): void {
    const text = readKeyFileText(this.file);
    if (text === this.#text) return;
    const json = parseKeyFile(text, this.file);
    const { N, r, p, salt } = json.kdf;
    if (N !== this.kdf.N || r !== this.kdf.r || p !== this.kdf.p || salt !== this.kdf.salt) {
      throw new AuditError(
        'KEY_INVALID',
        `key file ${this.file}: its passphrase changed since it was opened`,
        {
          file: this.file,
        },
      );
    }
    this.#unwrap(json);
    this.#text = text;
  }

  #unwrap(json: KeyFileJson): void {
    const file = this.file;
    const iv = Buffer.from(json.wrap.iv, 'base64');
    const sealed = Buffer.from(json.wrap.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.#kek, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(json.kdf, json.current, json.keys));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new AuditError('KEY_INVALID', `key file ${file}: wrong passphrase, or the file was changed`, {
        file,
      });
    }
    if (plain.length !== json.keys.length * KEY_BYTES) {
      plain.fill(0);
      throw new AuditError('KEY_INVALID', `key file ${file}: damaged (key count)`, { file });
    }
    for (const k of this.#keys) k.key.fill(0);
    this.#keys = json.keys.map((k, i) => ({
      id: k.id,
      createdAt: k.createdAt,
      key: Buffer.from(plain.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES)),
    }));
    this.#current = json.current;
    plain.fill(0);
  }

  toString(): string {
    return `[KeyFile ${this.file}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A provider serving the key file `file`, configured when the file exists. The passphrase is
 * asked for only then (a function, so it can come from the environment or a prompt).
 * @throws AuditError CONFIG_INVALID from load when the file exists and no passphrase is given.
 */
export function keyFileProvider(file: string, passphrase: string | (() => string | undefined)): KeyProvider {
  // The file opened by load is kept for rotate, so one run derives the scrypt key once. It holds
  // nothing the ring it served does not hold already, save the key-encryption key.
  let opened: KeyFile | undefined;
  const open = async (): Promise<KeyFile> => {
    if (opened !== undefined) return opened;
    const pass = typeof passphrase === 'function' ? passphrase() : passphrase;
    if (pass === undefined) {
      throw new AuditError(
        'CONFIG_INVALID',
        `key file ${file} needs its passphrase: set SEALTRAIL_PASSPHRASE`,
        {
          file,
        },
      );
    }
    opened = await KeyFile.open(file, pass);
    return opened;
  };
  return {
    name: 'file',
    async load() {
      if (!fs.existsSync(file)) return undefined;
      return (await open()).loaded();
    },
    async rotate(next?: KeyInput) {
      return (await open()).rotate(next);
    },
  };
}

/**
 * The key file's text.
 * @throws AuditError KEY_NOT_FOUND (no file), KEY_INVALID (mode open to others), STORE_IO.
 */
function readKeyFileText(file: string): string {
  const text = withFile(file, 'read key file', () => readIfExists(file));
  if (text === undefined) throw new AuditError('KEY_NOT_FOUND', `key file ${file}: not found`, { file });
  if (withFile(file, 'stat key file', () => looseModeBits(file)) !== 0) {
    throw new AuditError(
      'KEY_INVALID',
      `key file ${file}: readable or writable by group or others; run chmod 600 on it`,
      {
        file,
      },
    );
  }
  return text;
}

function seal(
  kek: Buffer,
  kdf: Omit<KeyFileJson['kdf'], 'name'>,
  current: string,
  keys: ReadonlyArray<{ id: string; createdAt: number; key: Buffer }>,
): string {
  const header = keys.map((k) => ({ id: k.id, createdAt: k.createdAt }));
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(kdf, current, header));
  const plain = Buffer.concat(keys.map((k) => k.key));
  const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  plain.fill(0);
  const json: KeyFileJson = {
    format: KEY_FILE_FORMAT,
    kdf: { name: 'scrypt', N: kdf.N, r: kdf.r, p: kdf.p, salt: kdf.salt },
    current,
    keys: header,
    wrap: { alg: 'A256GCM', iv: iv.toString('base64'), ciphertext: sealed.toString('base64') },
  };
  return `${JSON.stringify(json, null, 2)}\n`;
}

/**
 * The associated data of the wrap (docs/keys.md): the format, the KDF line, the current id,
 * then one line per key, each ending in "\n".
 */
function associatedData(
  kdf: Omit<KeyFileJson['kdf'], 'name'>,
  current: string,
  keys: ReadonlyArray<{ id: string; createdAt: number }>,
): Buffer {
  let text = `${KEY_FILE_FORMAT}\nscrypt ${kdf.N} ${kdf.r} ${kdf.p} ${kdf.salt}\ncurrent ${current}\n`;
  for (const k of keys) text += `key ${k.id} ${k.createdAt}\n`;
  return Buffer.from(text);
}

async function deriveKek(
  passphrase: string,
  salt: Buffer,
  params: ScryptParams,
  file: string,
): Promise<Buffer> {
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new AuditError('CONFIG_INVALID', `key file ${file}: the passphrase is empty`, { file });
  }
  const options: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 128 * params.N * params.r + 2 ** 20,
  };
  // NFC, so the same passphrase typed on two systems (composed or decomposed accents) matches.
  const secret = Buffer.from(passphrase.normalize('NFC'));
  try {
    return await new Promise<Buffer>((resolve, reject) =>
      scrypt(secret, salt, KEY_BYTES, options, (err, key) => (err === null ? resolve(key) : reject(err))),
    );
  } finally {
    secret.fill(0);
  }
}

/** Bounds on scrypt parameters: strong enough, and no file can ask for gigabytes of memory. */
function checkScrypt(params: ScryptParams, file: string): ScryptParams {
  const { N, r, p } = params;
  const ok =
    Number.isSafeInteger(N) &&
    N >= 2 ** 14 &&
    N <= 2 ** 20 &&
    (N & (N - 1)) === 0 &&
    Number.isSafeInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isSafeInteger(p) &&
    p >= 1 &&
    p <= 16 &&
    128 * N * r <= 2 ** 30;
  if (!ok) {
    throw new AuditError(
      'CONFIG_INVALID',
      `key file ${file}: scrypt parameters out of bounds (N a power of 2 in 2^14..2^20, r 1..32, p 1..16, 128·N·r at most 1 GiB)`,
      { file },
    );
  }
  return { N, r, p };
}

function parseKeyFile(text: string, file: string): KeyFileJson {
  const damaged = (what: string) =>
    new AuditError('KEY_INVALID', `key file ${file}: damaged (${what})`, { file });
  let json: KeyFileJson;
  try {
    json = JSON.parse(text) as KeyFileJson;
  } catch {
    throw damaged('not JSON');
  }
  if (json === null || typeof json !== 'object' || json.format !== KEY_FILE_FORMAT) {
    throw damaged(`format is not ${KEY_FILE_FORMAT}`);
  }
  const { kdf, wrap, keys, current } = json;
  if (
    kdf?.name !== 'scrypt' ||
    typeof kdf.salt !== 'string' ||
    Buffer.from(kdf.salt, 'base64').length !== SALT_BYTES
  ) {
    throw damaged('kdf');
  }
  if (
    wrap?.alg !== 'A256GCM' ||
    typeof wrap.iv !== 'string' ||
    typeof wrap.ciphertext !== 'string' ||
    Buffer.from(wrap.iv, 'base64').length !== IV_BYTES ||
    Buffer.from(wrap.ciphertext, 'base64').length < TAG_BYTES
  ) {
    throw damaged('wrap');
  }
  if (!Array.isArray(keys) || keys.length === 0) throw damaged('keys');
  const ids = new Set<string>();
  for (const k of keys) {
    if (k === null || typeof k !== 'object' || !Number.isSafeInteger(k.createdAt)) throw damaged('keys');
    checkKeyId(k.id, `key file ${file}`);
    if (ids.has(k.id)) throw damaged(`duplicate key id ${k.id}`);
    ids.add(k.id);
  }
  if (typeof current !== 'string' || !ids.has(current)) throw damaged('current');
  return json;
}
