/**
 * Key providers and their fallback chain. A provider either is not configured (it answers
 * undefined and the next one is asked) or serves the keys; a provider that is configured but
 * fails (wrong passphrase, Vault refuses the token) stops the chain with its error by default,
 * so a trail never silently switches to keys from somewhere else. The ring records which
 * provider served.
 */
import { AuditError, isAuditError } from '../errors.js';
import { type KeyInput, KeyRing, type KeySource } from './key-ring.js';

/** What a provider hands over. */
export interface LoadedKeys {
  keys: KeyInput[];
  /** Id of the key for new writes; default the first. */
  current?: string;
  /** Non-secret detail for the ring's source (file path, Vault path and version). */
  detail?: string;
}

/** A source of master keys. */
export interface KeyProvider {
  /** `vault`, `env`, `file`, `explicit`, or a name of your own. */
  readonly name: string;
  /**
   * The keys, or undefined when this provider is not configured (the chain moves on).
   * @throws AuditError when it is configured but cannot serve.
   */
  load(): Promise<LoadedKeys | undefined>;
  /**
   * Stores a new current key (generated when `next` is absent) next to the old ones and answers
   * the new key set. Absent for providers whose keys the caller owns (environment, explicit).
   */
  rotate?(next?: KeyInput): Promise<LoadedKeys>;
}

/** Options of {@link openKeyRing}. */
export interface OpenKeyRingOptions {
  /** Tried in order; the first configured one serves. */
  providers: readonly KeyProvider[];
  /** Bound into every purpose key: the trail's origin. */
  context?: string;
  /**
   * `stop` (default): a configured provider that fails ends the chain with its error.
   * `next`: it is skipped, and if no provider serves, the error names each failure.
   */
  onError?: 'stop' | 'next';
}

/**
 * Opens the key ring from the first provider that is configured.
 * @throws AuditError KEY_NOT_FOUND when no provider is configured; the serving provider's error
 *   (KEY_INVALID, KEY_PROVIDER_ERROR, CONFIG_INVALID, ...) when it fails.
 */
export async function openKeyRing(options: OpenKeyRingOptions): Promise<KeyRing> {
  return (await openWithProvider(options)).ring;
}

/**
 * Adds a new master key where the serving provider stores keys (key file: generated and
 * re-wrapped; Vault KV: a new version of the secret, check-and-set) and opens the new ring.
 * Old keys stay for reading. Keys from the environment or an explicit object are the caller's:
 * rotate those with {@link KeyRing.rotate} and put the new key in front yourself.
 * @throws AuditError USAGE when the serving provider cannot store keys; as {@link openKeyRing}.
 */
export async function rotateKeys(
  options: OpenKeyRingOptions & { next?: KeyInput },
): Promise<{ ring: KeyRing; previous: KeyRing }> {
  const { ring: previous, provider } = await openWithProvider(options);
  if (provider.rotate === undefined) {
    throw new AuditError(
      'USAGE',
      `keys from ${provider.name} are not stored by sealtrail: add the new key yourself` +
        (provider.name === 'env' ? ' (SEALTRAIL_KEY=k2:<new base64>,k1:<old>; the first is current)' : ''),
    );
  }
  const loaded = await provider.rotate(options.next);
  return { ring: ringFrom(loaded, provider, options.context), previous };
}

async function openWithProvider(
  options: OpenKeyRingOptions,
): Promise<{ ring: KeyRing; provider: KeyProvider }> {
  const failures: string[] = [];
  for (const provider of options.providers) {
    try {
      // A key set the ring refuses (a duplicate key, an s- id) is this provider's failure too.
      const loaded = await provider.load();
      if (loaded !== undefined) return { ring: ringFrom(loaded, provider, options.context), provider };
    } catch (err) {
      if (options.onError !== 'next' || !isAuditError(err)) throw err;
      failures.push(`${provider.name}: ${err.code}`);
    }
  }
  const tried = options.providers.map((p) => p.name).join(', ') || 'none';
  throw new AuditError(
    'KEY_NOT_FOUND',
    failures.length > 0
      ? `no key provider could serve (${failures.join('; ')})`
      : `no master key: no key provider is configured (tried ${tried}); see docs/keys.md`,
  );
}

/**
 * Checks keys a rotation is about to save as opening them will, so that nothing is saved that
 * could not be opened again (a duplicate key, a bad createdAt, an s- id).
 * @throws AuditError KEY_INVALID.
 */
export function checkKeysToSave(providerName: string, loaded: LoadedKeys): void {
  ringFrom(loaded, { name: providerName }, undefined).wipe();
}

function ringFrom(loaded: LoadedKeys, provider: { name: string }, context: string | undefined): KeyRing {
  const source: KeySource = { provider: provider.name };
  if (loaded.detail !== undefined) source.detail = loaded.detail;
  for (const k of loaded.keys) {
    if (k.id?.startsWith('s-')) {
      throw new AuditError(
        'KEY_INVALID',
        `${provider.name}: key id ${k.id}: ids beginning s- name subject keys`,
      );
    }
  }
  const opts: { current?: string; context?: string; source: KeySource } = { source };
  if (loaded.current !== undefined) opts.current = loaded.current;
  if (context !== undefined) opts.context = context;
  return KeyRing.fromKeys(loaded.keys, opts);
}

/** The keys of an explicit object, for tests and libraries that manage keys themselves. */
export interface ExplicitKeys {
  keys: Array<{ id: string; key: Uint8Array; createdAt?: number }>;
  /** Default the first key. */
  current?: string;
}

/** A provider serving `keys` as given (name `explicit`). */
export function explicitKeyProvider(keys: ExplicitKeys): KeyProvider {
  return {
    name: 'explicit',
    async load() {
      const loaded: LoadedKeys = { keys: keys.keys.map((k) => ({ ...k })) };
      if (keys.current !== undefined) loaded.current = keys.current;
      return loaded;
    },
  };
}
