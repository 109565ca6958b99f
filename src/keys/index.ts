/** Keys: the key ring, its providers, field encryption and keyed hashes, per-subject data keys. */
export { envKeyProvider, KEY_ENV, parseKeyEnv } from './env-provider.js';
export {
  decryptField,
  decryptFieldBytes,
  encryptField,
  FIELD_CIPHER_PREFIX,
  type FieldToEncrypt,
  fieldCipherKeyId,
  sealField,
} from './field-cipher.js';
export {
  FIELD_HMAC_PREFIX,
  type HmacFieldOptions,
  type HmacPurpose,
  hmacField,
  verifyHmacField,
} from './field-hmac.js';
export {
  FINGERPRINT_HEX_DIGITS,
  type FingerprintOptions,
  fingerprint,
  fingerprintCandidates,
  fingerprintMatches,
} from './fingerprint.js';
export { checkKeyIds, KEY_CHECKS_FILE } from './key-checks.js';
export {
  type CreateKeyFileOptions,
  createKeyFile,
  KEY_FILE_FORMAT,
  KeyFile,
  keyFileProvider,
  SCRYPT_DEFAULTS,
  type ScryptParams,
} from './key-file.js';
export { deriveKeyId, KEY_ID_RE, nextKeyId } from './key-id.js';
export { KEY_BYTES, parseKeyText } from './key-material.js';
export {
  KEY_PURPOSES,
  type KeyInfo,
  type KeyInput,
  type KeyPurpose,
  KeyRing,
  type KeyRingExport,
  type KeyRingOptions,
  type KeySource,
} from './key-ring.js';
export {
  type ExplicitKeys,
  explicitKeyProvider,
  type KeyProvider,
  type LoadedKeys,
  type OpenKeyRingOptions,
  openKeyRing,
  rotateKeys,
} from './provider.js';
export {
  SUBJECT_ERASED_FORMAT,
  type SubjectKeyOptions,
  SubjectKeyStore,
  type SubjectKeyStoreOptions,
} from './subject-keys.js';
export { SUBJECT_KEY_FORMAT, SUBJECT_RECORD_BYTES } from './subject-record.js';
export {
  defaultKeyProviders,
  keyDirPaths,
  keyDirProviders,
  openKeyDirRing,
  openKeyDirSubjectKeys,
  openTrailKeyRing,
  openTrailSubjectKeys,
  PASSPHRASE_ENV,
  PASSPHRASE_FILE_ENV,
  passphraseFromEnv,
  type TrailKeyPaths,
  trailKeyPaths,
} from './trail-keys.js';
export { type KvSecret, VaultClient, type VaultConfig } from './vault-client.js';
export {
  type SubjectKeyWrapper,
  vaultConfigFromEnv,
  vaultKeyProvider,
  vaultTransitWrapper,
} from './vault-provider.js';
