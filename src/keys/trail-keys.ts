/**
 * The keys of a trail: where they live (`keys/master.json`, `keys/subjects/` of a trail
 * directory; `master.json` and `subjects/` of a PostgreSQL log's key directory), the default
 * provider chain — Vault, then `SEALTRAIL_KEY`, then the passphrase key file — and the trail's
 * origin as the context of every purpose key.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AuditError } from '../errors.js';
import { readTrailMeta, trailLayout } from '../store/index.js';
import { envKeyProvider } from './env-provider.js';
import { keyFileProvider } from './key-file.js';
import type { KeyRing } from './key-ring.js';
import { type KeyProvider, openKeyRing } from './provider.js';
import { SubjectKeyStore, type SubjectKeyStoreOptions } from './subject-keys.js';
import { vaultConfigFromEnv, vaultKeyProvider, vaultTransitWrapper } from './vault-provider.js';

/** The variable holding the key file's passphrase. */
export const PASSPHRASE_ENV = 'SEALTRAIL_PASSPHRASE';
/** The variable naming a file whose content (one trailing newline removed) is the passphrase. */
export const PASSPHRASE_FILE_ENV = 'SEALTRAIL_PASSPHRASE_FILE';

/** Where a trail keeps its keys. */
export interface TrailKeyPaths {
  keysDir: string;
  /** The passphrase key file. */
  keyFile: string;
  /** Per-subject data keys. */
  subjectsDir: string;
}

/** The key paths of the trail in `dir`. */
export function trailKeyPaths(dir: string): TrailKeyPaths {
  return keyDirPaths(trailLayout(dir).keysDir);
}

/**
 * The key paths in a key directory: the `keys/` folder of a trail directory, or the key
 * directory of a PostgreSQL log (`--keys DIR`, beside its checkpoint and seal keys).
 */
export function keyDirPaths(keysDir: string): TrailKeyPaths {
  return { keysDir, keyFile: path.join(keysDir, 'master.json'), subjectsDir: path.join(keysDir, 'subjects') };
}

/**
 * The passphrase from `SEALTRAIL_PASSPHRASE`, else from the file `SEALTRAIL_PASSPHRASE_FILE` names.
 * @throws AuditError CONFIG_INVALID when that file cannot be read.
 */
export function passphraseFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const direct = env[PASSPHRASE_ENV];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[PASSPHRASE_FILE_ENV];
  if (file === undefined || file === '') return undefined;
  try {
    return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new AuditError(
      'CONFIG_INVALID',
      `${PASSPHRASE_FILE_ENV} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`,
    );
  }
}

/** The default chain for the trail in `dir`: Vault KV (when configured), `SEALTRAIL_KEY`, the key file. */
export function defaultKeyProviders(dir: string, env: NodeJS.ProcessEnv = process.env): KeyProvider[] {
  return keyDirProviders(trailKeyPaths(dir).keysDir, env);
}

/** The default chain with the key file of a key directory (see {@link keyDirPaths}). */
export function keyDirProviders(keysDir: string, env: NodeJS.ProcessEnv = process.env): KeyProvider[] {
  return [
    vaultKeyProvider(vaultConfigFromEnv(env)),
    envKeyProvider(env),
    keyFileProvider(keyDirPaths(keysDir).keyFile, () => passphraseFromEnv(env)),
  ];
}

/**
 * Opens the key ring of a trail whose keys are in `keysDir` (a PostgreSQL log's key directory),
 * through the default chain, with `origin` as context.
 * @throws AuditError KEY_NOT_FOUND, and the serving provider's errors.
 */
export function openKeyDirRing(
  keysDir: string,
  origin: string,
  options: { env?: NodeJS.ProcessEnv } = {},
): Promise<KeyRing> {
  return openKeyRing({ providers: keyDirProviders(keysDir, options.env), context: origin });
}

/**
 * Opens the key ring of the trail in `dir` through `providers` (default: {@link defaultKeyProviders}),
 * with the trail's origin as context.
 * @throws AuditError TRAIL_NOT_FOUND, KEY_NOT_FOUND, and the serving provider's errors.
 */
export async function openTrailKeyRing(
  dir: string,
  options: { env?: NodeJS.ProcessEnv; providers?: readonly KeyProvider[] } = {},
): Promise<KeyRing> {
  const { origin } = readTrailMeta(dir);
  return openKeyRing({
    providers: options.providers ?? defaultKeyProviders(dir, options.env),
    context: origin,
  });
}

/**
 * Opens the subject key store of the trail in `dir`; subject keys are wrapped by Vault Transit
 * when `SEALTRAIL_VAULT_TRANSIT_KEY` (with `VAULT_ADDR`) is set, else by the master key.
 * @throws AuditError as {@link SubjectKeyStore.open}.
 */
export function openTrailSubjectKeys(
  dir: string,
  ring: KeyRing,
  options: { env?: NodeJS.ProcessEnv } & Omit<SubjectKeyStoreOptions, 'wrapper'> = {},
): Promise<SubjectKeyStore> {
  return openKeyDirSubjectKeys(trailKeyPaths(dir).keysDir, ring, options);
}

/**
 * Opens the subject key store in `keysDir/subjects` (see {@link openTrailSubjectKeys}).
 * @throws AuditError as {@link SubjectKeyStore.open}.
 */
export function openKeyDirSubjectKeys(
  keysDir: string,
  ring: KeyRing,
  options: { env?: NodeJS.ProcessEnv } & Omit<SubjectKeyStoreOptions, 'wrapper'> = {},
): Promise<SubjectKeyStore> {
  const { env, ...rest } = options;
  const vault = vaultConfigFromEnv(env ?? process.env);
  const opts: SubjectKeyStoreOptions = { ...rest };
  if (vault?.transitKey !== undefined) opts.wrapper = vaultTransitWrapper(vault);
  return SubjectKeyStore.open(keyDirPaths(keysDir).subjectsDir, ring, opts);
}
