/**
 * Sealtrail: a tamper-evident, encrypted audit trail for AI systems.
 * The public API: `AuditTrail`, the zero-config `audit` singleton and request context, the event
 * types, errors, reading, verification and proofs.
 */

export {
  Checkpoint,
  NoteVerifier,
  openCheckpoint,
  type VerifyReport,
  verifyConsistency,
  verifyInclusion,
  verifyTrail,
} from './chain/index.js';
export {
  type AdminInput,
  Audit,
  type AuditStatus,
  type AuthInput,
  audit,
  type DataAccessInput,
  type DestinationInput,
  type EnableOptions,
  type Environment,
  type GuardrailInput,
  type ModelCallHandle,
  type ModelCallInput,
  type ModelRequestInput,
  type ModelResponseInput,
  type ToolCallInput,
} from './config/index.js';
export { DIAGNOSTICS_CHANNEL, type Diagnostic } from './diagnostics.js';
export { AuditError, type AuditErrorCode, ERROR_CODES, isAuditError } from './errors.js';
export type {
  Actor,
  AuditEventInput,
  EventCategory,
  EventType,
  GuardrailResult,
  Outcome,
  Severity,
} from './event/index.js';
export { describeEventType, EVENT_TYPES, renderVisible } from './event/index.js';
export {
  createKeyFile,
  decryptField,
  decryptFieldBytes,
  defaultKeyProviders,
  type ExplicitKeys,
  encryptField,
  envKeyProvider,
  explicitKeyProvider,
  type FieldToEncrypt,
  fingerprint,
  fingerprintCandidates,
  fingerprintMatches,
  type HmacPurpose,
  hmacField,
  type KeyInfo,
  type KeyInput,
  type KeyProvider,
  type KeyPurpose,
  KeyRing,
  type KeyRingExport,
  type KeySource,
  keyFileProvider,
  type LoadedKeys,
  openKeyRing,
  openTrailKeyRing,
  openTrailSubjectKeys,
  rotateKeys,
  SubjectKeyStore,
  type SubjectKeyWrapper,
  type VaultConfig,
  vaultConfigFromEnv,
  vaultKeyProvider,
  vaultTransitWrapper,
  verifyHmacField,
} from './keys/index.js';
export {
  getRequestContext,
  type RequestContext,
  runWithRequestContext,
  startConversationTurn,
  type TrustProxy,
  TurnCounter,
  updateRequestContext,
} from './integrations/context/index.js';
export {
  BUILTIN_DETECTORS,
  type ClassPolicy,
  type CustomDetector,
  createRedactor,
  type DetectorName,
  type FieldClass,
  type Finding,
  REDACTION_FAILED,
  REDACTION_FAILED_MARKER,
  type RedactHook,
  type RedactHookContext,
  type Redactor,
  type RedactorOptions,
  type RedactResult,
} from './protect/index.js';
export { type AuditEntry, decodeLine, proveConsistency, proveInclusion, verifyDir } from './read/index.js';
export { RemoteSink, type RemoteSinkOptions } from './remote/index.js';
export { createTrail } from './store/index.js';
export { AuditTrail, type AuditTrailOptions, MemoryTrailStore, type OverflowPolicy } from './writer/index.js';
