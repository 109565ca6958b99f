/**
 * Sealtrail: a tamper-evident, encrypted audit trail for AI systems.
 * The public API: `AuditTrail`, the event types, errors, reading, verification and proofs.
 */

export {
  Checkpoint,
  NoteVerifier,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from './chain/index.js';
export { DIAGNOSTICS_CHANNEL, type Diagnostic } from './diagnostics.js';
export { AuditError, type AuditErrorCode, ERROR_CODES, isAuditError } from './errors.js';
export type { AuditEventInput, EventType } from './event/index.js';
export { EVENT_TYPES } from './event/index.js';
export { type AuditEntry, decodeLine, proveConsistency, proveInclusion, verifyDir } from './read/index.js';
export { createTrail } from './store/index.js';
export { AuditTrail, type AuditTrailOptions, type OverflowPolicy } from './writer/index.js';
