/**
 * The key ring: the master keys of one trail, by id, with the current one for new writes and
 * every older one for reading, and the purpose keys derived from them (HKDF-SHA256, RFC 5869),
 * each derived once and cached. Key material never appears in `toString`, `toJSON` or
 * `util.inspect` output: a key prints as `[key k1]`, a ring as `[KeyRing current=k2 keys=k1,k2]`.
 *
 *   purposeKey(id, purpose) = HKDF-SHA256(ikm = master key `id`, salt = empty,
 *                                         info = "sealtrail purpose v1\n" || purpose || "\n" || context, L = 32)
 *
 * `context` is the trail's origin, so the same master key used by two trails yields unrelated
 * purpose keys: their fingerprints differ and their ciphertexts cannot be moved across.
 */
import { createSecretKey, hkdfSync, type KeyObject, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { AuditError } from '../errors.js';
import { checkKeyId, deriveKeyId, nextKeyId } from './key-id.js';
import { checkKeyBytes, KEY_BYTES } from './key-material.js';

/**
 * What a purpose key is for; each purpose has its own HKDF `info`, so keys of two purposes are
 * unrelated. `encryption`: AES-256-GCM of content fields; `hash`: HMAC of content in hash mode;
 * `fingerprint`: credential fingerprints; `subject`: wrapping per-subject data keys; `seal`:
 * reserved for keyed seals (the forward-secure seal chain keeps its own seed, docs/format.md §7).
 */
export type KeyPurpose = 'encryption' | 'hash' | 'fingerprint' | 'subject' | 'seal';

/** Every purpose, in a fixed order. */
export const KEY_PURPOSES: readonly KeyPurpose[] = ['encryption', 'hash', 'fingerprint', 'subject', 'seal'];

/** A master key handed to a ring: id optional (derived from the key when absent). */
export interface KeyInput {
  id?: string;
  key: Uint8Array;
  /** Creation time (ms), when the provider knows it. */
  createdAt?: number;
}

/** What a ring says about one of its keys: never the material. */
export interface KeyInfo {
  id: string;
  createdAt?: number;
  current: boolean;
}

/** Where a ring's keys came from. */
export interface KeySource {
  /** The provider that served: `vault`, `env`, `file`, `explicit`, `subject`, ... */
  provider: string;
  /** A non-secret detail: the key file, the Vault path and version. */
  detail?: string;
}

/** Options of {@link KeyRing.fromKeys}. */
export interface KeyRingOptions {
  /** Id of the key for new writes; default the first key. */
  current?: string;
  /** Bound into every purpose key: the trail's origin. Default empty. */
  context?: string;
  source?: KeySource;
}

/**
 * A ring as plain data, to hand to a worker thread with `postMessage` (structured clone).
 * It holds raw key material: pass it, never log or store it. It prints as `[KeyRingExport ...]`
 * (a non-enumerable `toJSON` and inspect hook, which the structured clone leaves behind).
 */
export interface KeyRingExport {
  format: 'sealtrail-keyring/1';
  context: string;
  provider: string;
  detail?: string;
  current: string;
  keys: Array<{ id: string; key: Uint8Array; createdAt?: number }>;
}

const INFO_PREFIX = 'sealtrail purpose v1\n';
/** The HKDF `info` of a key's check value, before the context. */
const CHECK_INFO = 'sealtrail key check v1\n';
const EMPTY = Buffer.alloc(0);
/** HKDF's info (prefix, purpose, newline, context) may hold at most 1024 bytes. */
const MAX_CONTEXT_BYTES =
  1024 - Buffer.byteLength(INFO_PREFIX) - Math.max(...KEY_PURPOSES.map((p) => p.length)) - 1;

/** One master key. Its material lives in a private field and never prints. */
class MasterKey {
  readonly #material: Buffer;

  constructor(
    readonly id: string,
    material: Uint8Array,
    readonly createdAt: number | undefined,
  ) {
    // Our own copy, so the caller may wipe theirs; never a slice of a shared pool.
    this.#material = Buffer.alloc(KEY_BYTES);
    this.#material.set(material);
  }

  get material(): Buffer {
    return this.#material;
  }

  toString(): string {
    return `[key ${this.id}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

interface CachedPurposeKey {
  bytes: Buffer;
  object?: KeyObject;
}

let readPurposeBytes: (ring: KeyRing, keyId: string | undefined, purpose: KeyPurpose) => PurposeBytes;

/** A purpose key's raw bytes and the id of the master key it came from (internal). */
export interface PurposeBytes {
  id: string;
  key: Buffer;
}

/** The master keys of one trail and their purpose keys. Immutable: rotation makes a new ring. */
export class KeyRing {
  readonly #keys: Map<string, MasterKey>;
  readonly #cache = new Map<string, CachedPurposeKey>();
  #wiped = false;
  /** Id of the key new writes use. */
  readonly current: string;
  /** The context bound into every purpose key (the trail's origin). */
  readonly context: string;
  /** The provider that served these keys. */
  readonly source: Readonly<KeySource>;

  static {
    readPurposeBytes = (ring, keyId, purpose) => ring.#purposeBytes(keyId, purpose);
  }

  private constructor(keys: Map<string, MasterKey>, current: string, context: string, source: KeySource) {
    this.#keys = keys;
    this.current = current;
    this.context = context;
    this.source = Object.freeze({ ...source });
  }

  /**
   * A ring of `keys` (at least one). Keys without an id get one derived from the key.
   * @throws AuditError KEY_INVALID (bad or duplicate id, key not 32 bytes, same key twice),
   *   KEY_NOT_FOUND (`current` is not among the keys), CONFIG_INVALID (context too long).
   */
  static fromKeys(keys: readonly KeyInput[], options: KeyRingOptions = {}): KeyRing {
    const context = options.context ?? '';
    if (typeof context !== 'string' || Buffer.byteLength(context) > MAX_CONTEXT_BYTES) {
      throw new AuditError(
        'CONFIG_INVALID',
        `key ring context: expected a string of at most ${MAX_CONTEXT_BYTES} bytes (UTF-8)`,
      );
    }
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new AuditError('KEY_NOT_FOUND', 'key ring: no master key given');
    }
    const map = new Map<string, MasterKey>();
    keys.forEach((k, i) => {
      const where = `key ${i + 1}`;
      const bytes = checkKeyBytes(k?.key, where);
      const id = k.id === undefined ? deriveKeyId(bytes) : checkKeyId(k.id, where);
      if (map.has(id)) throw new AuditError('KEY_INVALID', `key ring: duplicate key id ${id}`);
      for (const other of map.values()) {
        if (timingSafeEqual(other.material, bytes)) {
          throw new AuditError('KEY_INVALID', `key ring: key ${id} is the same key as ${other.id}`);
        }
      }
      const createdAt = k.createdAt;
      if (createdAt !== undefined && !Number.isSafeInteger(createdAt)) {
        throw new AuditError('KEY_INVALID', `key ${id}: createdAt expected an integer (ms)`);
      }
      map.set(id, new MasterKey(id, bytes, createdAt));
    });
    const current = options.current ?? map.keys().next().value!;
    if (!map.has(current)) {
      throw new AuditError('KEY_NOT_FOUND', `key ring: current key ${current} is not among the keys`, {
        keyId: current,
      });
    }
    return new KeyRing(map, current, context, options.source ?? { provider: 'explicit' });
  }

  /**
   * Rebuilds a ring from {@link KeyRing.exportForWorker} output (in a worker thread).
   * @throws AuditError KEY_INVALID when `data` is not such an export.
   */
  static fromExport(data: KeyRingExport): KeyRing {
    if (data === null || typeof data !== 'object' || data.format !== 'sealtrail-keyring/1') {
      throw new AuditError('KEY_INVALID', 'key ring export: expected format sealtrail-keyring/1');
    }
    if (typeof data.provider !== 'string' || !Array.isArray(data.keys) || typeof data.current !== 'string') {
      throw new AuditError('KEY_INVALID', 'key ring export: provider, current and keys expected');
    }
    const source: KeySource = { provider: data.provider };
    if (typeof data.detail === 'string') source.detail = data.detail;
    return KeyRing.fromKeys(
      data.keys.map((k) => {
        const input: KeyInput = { id: k?.id, key: k?.key };
        if (k?.createdAt !== undefined) input.createdAt = k.createdAt;
        return input;
      }),
      { current: data.current, context: data.context, source },
    );
  }

  /** The key ids, in the order the provider gave them. */
  get ids(): string[] {
    return [...this.#keys.keys()];
  }

  /** True when the ring holds key `id`. */
  has(id: string): boolean {
    return this.#keys.has(id);
  }

  /** Ids, creation times and which is current; never material. */
  list(): KeyInfo[] {
    return [...this.#keys.values()].map((k) => {
      const info: KeyInfo = { id: k.id, current: k.id === this.current };
      if (k.createdAt !== undefined) info.createdAt = k.createdAt;
      return info;
    });
  }

  /**
   * The `purpose` key of master key `keyId` (default: the current key), as a node:crypto secret
   * KeyObject (usable with createHmac and createCipheriv, and it never prints its material).
   * Derived once per key and purpose, then cached.
   * @throws AuditError KEY_NOT_FOUND naming the key id when the ring does not hold it.
   */
  purposeKey(keyId: string | undefined, purpose: KeyPurpose): KeyObject {
    const id = keyId ?? this.current;
    this.#purposeBytes(id, purpose);
    const cached = this.#cache.get(cacheKey(id, purpose))!;
    cached.object ??= createSecretKey(cached.bytes);
    return cached.object;
  }

  /**
   * A check value of master key `keyId` (16 hex digits): HKDF-SHA256 of it with its own `info`,
   * so it tells whether two keys under one id are the same key and reveals nothing of either
   * (key-checks.ts).
   * @throws AuditError KEY_NOT_FOUND naming the key id when the ring does not hold it.
   */
  checkValue(keyId: string): string {
    const master = this.#master(keyId);
    return Buffer.from(
      hkdfSync('sha256', master.material, EMPTY, `${CHECK_INFO}${this.context}`, 8),
    ).toString('hex');
  }

  /**
   * A new ring with `next` added as the current key; every key of this ring stays for reading.
   * This is rotation for keys the caller supplies (environment, explicit); providers that
   * store keys rotate through {@link rotateKeys}.
   * @throws AuditError KEY_INVALID when the id is taken or the key is already in the ring.
   */
  rotate(next: KeyInput, source: KeySource = this.source): KeyRing {
    this.#checkLive();
    const bytes = checkKeyBytes(next.key, 'new key');
    const input: KeyInput = { id: next.id ?? nextKeyId(this.#keys.keys()), key: bytes };
    if (next.createdAt !== undefined) input.createdAt = next.createdAt;
    const keys: KeyInput[] = [...this.#keyInputs(), input];
    return KeyRing.fromKeys(keys, { current: input.id!, context: this.context, source });
  }

  /**
   * The ring as plain data for a worker thread (see {@link KeyRingExport}); the worker calls
   * {@link KeyRing.fromExport}. The key bytes are fresh copies the caller may transfer.
   */
  exportForWorker(): KeyRingExport {
    this.#checkLive();
    const data: KeyRingExport = {
      format: 'sealtrail-keyring/1',
      context: this.context,
      provider: this.source.provider,
      current: this.current,
      keys: this.#keyInputs().map((k) => {
        const out: { id: string; key: Uint8Array; createdAt?: number } = {
          id: k.id!,
          key: Uint8Array.from(k.key),
        };
        if (k.createdAt !== undefined) out.createdAt = k.createdAt;
        return out;
      }),
    };
    if (this.source.detail !== undefined) data.detail = this.source.detail;
    const label = `[KeyRingExport current=${this.current} keys=${this.ids.join(',')}]`;
    // Non-enumerable: structuredClone and postMessage skip them, JSON and inspect use them.
    Object.defineProperty(data, 'toJSON', { value: () => label, enumerable: false });
    Object.defineProperty(data, inspect.custom, { value: () => label, enumerable: false });
    return data;
  }

  /**
   * Overwrites every master and purpose key this ring holds with zeros; the ring is unusable
   * afterwards. KeyObjects already handed out by {@link purposeKey} are left to the collector.
   */
  wipe(): void {
    for (const k of this.#keys.values()) k.material.fill(0);
    for (const c of this.#cache.values()) c.bytes.fill(0);
    this.#cache.clear();
    this.#wiped = true;
  }

  toString(): string {
    return `[KeyRing current=${this.current} keys=${this.ids.join(',')} provider=${this.source.provider}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #keyInputs(): KeyInput[] {
    return [...this.#keys.values()].map((k) => {
      const input: KeyInput = { id: k.id, key: k.material };
      if (k.createdAt !== undefined) input.createdAt = k.createdAt;
      return input;
    });
  }

  #checkLive(): void {
    if (this.#wiped) throw new AuditError('KEY_NOT_FOUND', 'key ring: its keys were wiped');
  }

  /** Master key `id`. @throws AuditError KEY_NOT_FOUND naming it, or when the ring was wiped. */
  #master(id: string): MasterKey {
    this.#checkLive();
    const master = this.#keys.get(id);
    if (master === undefined)
      throw new AuditError('KEY_NOT_FOUND', `master key ${id} is not in the key ring`, { keyId: id });
    return master;
  }

  #purposeBytes(keyId: string | undefined, purpose: KeyPurpose): PurposeBytes {
    const id = keyId ?? this.current;
    const ck = cacheKey(id, purpose);
    const cached = this.#cache.get(ck);
    if (cached !== undefined) return { id, key: cached.bytes };
    const master = this.#master(id);
    if (!KEY_PURPOSES.includes(purpose)) {
      throw new AuditError('USAGE', `key purpose: expected one of ${KEY_PURPOSES.join(', ')}`);
    }
    const info = `${INFO_PREFIX}${purpose}\n${this.context}`;
    const bytes = Buffer.from(hkdfSync('sha256', master.material, EMPTY, info, KEY_BYTES));
    this.#cache.set(ck, { bytes });
    return { id, key: bytes };
  }
}

/**
 * The raw bytes of a purpose key, for the field helpers of this folder (not exported from the
 * package: callers get KeyObjects from {@link KeyRing.purposeKey}).
 * @throws AuditError KEY_NOT_FOUND naming the key id.
 */
export function purposeKeyBytes(ring: KeyRing, keyId: string | undefined, purpose: KeyPurpose): PurposeBytes {
  return readPurposeBytes(ring, keyId, purpose);
}

function cacheKey(id: string, purpose: KeyPurpose): string {
  return `${id}\n${purpose}`;
}
