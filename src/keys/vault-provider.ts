/**
 * HashiCorp Vault as a key source: the master keys live in a KV version 2 secret, one field per
 * key id (the key as base64 or hex) and a `current` field naming the key for new writes:
 *
 *   vault kv put -mount=secret sealtrail/prod current=k1 k1=$(openssl rand -base64 32)
 *
 * Rotation writes a new version of that secret with one more key (check-and-set on the version
 * read, so two rotations cannot lose each other's key). Per-subject data keys can instead be
 * wrapped by a Transit key, which never leaves Vault ({@link vaultTransitWrapper}).
 * No Vault server runs in the test suite: the tests use a loopback HTTP server that follows
 * Vault's documented API.
 */
import { randomBytes } from 'node:crypto';
import { AuditError } from '../errors.js';
import { checkKeyId, nextKeyId } from './key-id.js';
import { checkKeyBytes, KEY_BYTES, parseKeyText } from './key-material.js';
import type { KeyInput } from './key-ring.js';
import { checkKeysToSave, type KeyProvider, type LoadedKeys } from './provider.js';
import { VaultClient, type VaultConfig } from './vault-client.js';

/** Wraps and unwraps per-subject data keys outside the master key (Vault Transit). */
export interface SubjectKeyWrapper {
  /** Recorded in each subject key file: `vault-transit`. */
  readonly kind: 'vault-transit';
  /** The wrapping key's name, recorded too. */
  readonly keyName: string;
  /** @returns the wrapped key as text. */
  wrap(key: Uint8Array): Promise<string>;
  /** @throws AuditError DECRYPT_FAILED, KEY_PROVIDER_ERROR, KEY_NOT_FOUND. */
  unwrap(wrapped: string): Promise<Buffer>;
}

/**
 * Vault settings from the environment: `VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE`,
 * `SEALTRAIL_VAULT_MOUNT` (KV v2 mount, default `secret`), `SEALTRAIL_VAULT_PATH` (the master
 * key secret), `SEALTRAIL_VAULT_TRANSIT_MOUNT` (default `transit`), `SEALTRAIL_VAULT_TRANSIT_KEY`,
 * `SEALTRAIL_VAULT_INSECURE_HTTP=1`. Undefined unless `VAULT_ADDR` and a path or Transit key are set.
 */
export function vaultConfigFromEnv(env: NodeJS.ProcessEnv = process.env): VaultConfig | undefined {
  const addr = env.VAULT_ADDR;
  const kvPath = env.SEALTRAIL_VAULT_PATH;
  const transitKey = env.SEALTRAIL_VAULT_TRANSIT_KEY;
  if (!addr || (!kvPath && !transitKey)) return undefined;
  const config: VaultConfig = { addr, token: env.VAULT_TOKEN ?? '' };
  if (env.VAULT_NAMESPACE) config.namespace = env.VAULT_NAMESPACE;
  if (env.SEALTRAIL_VAULT_MOUNT) config.kvMount = env.SEALTRAIL_VAULT_MOUNT;
  if (kvPath) config.kvPath = kvPath;
  if (env.SEALTRAIL_VAULT_TRANSIT_MOUNT) config.transitMount = env.SEALTRAIL_VAULT_TRANSIT_MOUNT;
  if (transitKey) config.transitKey = transitKey;
  if (env.SEALTRAIL_VAULT_INSECURE_HTTP === '1') config.allowInsecureHttp = true;
  return config;
}

/**
 * A provider reading the master keys from Vault KV v2 (name `vault`); not configured when
 * `config` is undefined or has no `kvPath`.
 */
export function vaultKeyProvider(config: VaultConfig | undefined): KeyProvider {
  return {
    name: 'vault',
    async load() {
      if (config?.kvPath === undefined) return undefined;
      const client = new VaultClient(config);
      const secret = await client.readKv();
      return keysFromKv(secret.data, `${client.kvMount}/${client.kvPath}`, secret.version);
    },
    async rotate(next?: KeyInput) {
      if (config?.kvPath === undefined)
        throw new AuditError('CONFIG_INVALID', 'vault: no KV path (SEALTRAIL_VAULT_PATH)');
      const client = new VaultClient(config);
      const where = `${client.kvMount}/${client.kvPath}`;
      const secret = await client.readKv();
      const before = keysFromKv(secret.data, where, secret.version);
      const ids = before.keys.map((k) => k.id!);
      const id = next?.id === undefined ? nextKeyId(ids) : checkKeyId(next.id, 'new key');
      if (ids.includes(id) || id === 'current')
        throw new AuditError('KEY_INVALID', `vault ${where}: key id ${id} is taken`);
      const key =
        next === undefined ? randomBytes(KEY_BYTES) : Buffer.from(checkKeyBytes(next.key, 'new key'));
      const data = { ...secret.data, [id]: key.toString('base64'), current: id };
      // Checked as opening will check them: keys that cannot be opened are never written.
      checkKeysToSave('vault', keysFromKv(data, where, secret.version));
      const version = await client.writeKv(data, secret.version);
      key.fill(0);
      return keysFromKv(data, where, version);
    },
  };
}

/**
 * Wraps subject data keys with the Transit key of `config` (name `vault-transit`).
 * @throws AuditError CONFIG_INVALID when `config` has no `transitKey`.
 */
export function vaultTransitWrapper(config: VaultConfig): SubjectKeyWrapper {
  const client = new VaultClient(config);
  if (client.transitKey === undefined) {
    throw new AuditError('CONFIG_INVALID', 'vault: no Transit key (SEALTRAIL_VAULT_TRANSIT_KEY)');
  }
  return {
    kind: 'vault-transit',
    keyName: `${client.transitMount}/${client.transitKey}`,
    wrap: (key) => client.transitEncrypt(checkKeyBytes(key, 'subject key')),
    async unwrap(wrapped) {
      const key = await client.transitDecrypt(wrapped);
      if (key.length !== KEY_BYTES) {
        key.fill(0);
        throw new AuditError(
          'DECRYPT_FAILED',
          `vault ${client.transitMount}/${client.transitKey}: unwrapped key is not ${KEY_BYTES} bytes`,
        );
      }
      return key;
    },
  };
}

/** The KV fields as keys: `current` names the current key, every other field is a key. */
function keysFromKv(data: Record<string, unknown>, where: string, version: number): LoadedKeys {
  const keys: KeyInput[] = [];
  for (const [field, value] of Object.entries(data)) {
    if (field === 'current') continue;
    const id = checkKeyId(field, `vault secret ${where} field`);
    if (typeof value !== 'string')
      throw new AuditError('KEY_INVALID', `vault secret ${where} field ${id}: expected a string`);
    keys.push({ id, key: parseKeyText(value, `vault secret ${where} field ${id}`) });
  }
  if (keys.length === 0) throw new AuditError('KEY_NOT_FOUND', `vault secret ${where}: holds no key`);
  const current = data.current;
  if (current === undefined && keys.length > 1) {
    throw new AuditError('KEY_INVALID', `vault secret ${where}: several keys and no current field`);
  }
  if (current !== undefined && typeof current !== 'string') {
    throw new AuditError('KEY_INVALID', `vault secret ${where}: current expected a key id`);
  }
  const loaded: LoadedKeys = { keys, detail: `${where} v${version}` };
  loaded.current = current ?? keys[0]!.id!;
  return loaded;
}
