/**
 * The catalogue of event types: every name Sealtrail knows, with its category, default severity
 * and whether it is critical (critical events are flushed at once instead of waiting for a batch).
 *
 * Names are dotted and lower-case, `<area>.<what>`. The security and compliance set covers every
 * variant of llama-orch's `AuditEvent` enum (veighnsche/llama-orch,
 * `bin/shared-crates/audit-logging/src/events.rs`: the 32 original variants and the 3 security
 * incidents added later); the variant each name maps to is noted beside it. Applications add
 * their own types as `x.<name>`. This list is a public contract: add names, never rename them.
 */

/** The category an event type belongs to; `custom` for every `x.*` type. */
import { AuditError } from '../errors.js';
import type { Severity } from './types.js';

export type EventCategory =
  | 'ai'
  | 'authentication'
  | 'authorization'
  | 'resource'
  | 'task'
  | 'security'
  | 'data'
  | 'admin'
  | 'system'
  | 'compliance'
  | 'custom';

/** What the catalogue records about one event type. */
export interface EventTypeInfo {
  readonly category: EventCategory;
  /** Severity when the event does not set one. */
  readonly severity: Severity;
  /** Critical events are flushed at once, whatever their severity. */
  readonly critical: boolean;
  readonly description: string;
}

/** Every known event type. Custom types are `x.<name>` and are not listed here. */
export const EVENT_TYPES = Object.freeze({
  // ---- AI activity ----
  'model.request': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'a request sent to a model',
  },
  'model.completion': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'a model completion received',
  },
  'model.embedding': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'an embedding computed',
  },
  'tool.call': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'a model asked for a tool call',
  },
  'tool.result': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'a tool returned its result',
  },
  'rag.query': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'a retrieval query and its documents',
  },
  'agent.step': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'one step of an agent loop',
  },
  'guardrail.decision': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'guardrails checked an input or output',
  },
  'conversation.start': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'a conversation began',
  },
  'conversation.end': {
    category: 'ai',
    severity: 'info',
    critical: false,
    description: 'a conversation ended',
  },

  // ---- Authentication ----
  // AuthSuccess
  'auth.success': {
    category: 'authentication',
    severity: 'info',
    critical: false,
    description: 'authentication succeeded',
  },
  // AuthFailure
  'auth.failure': {
    category: 'authentication',
    severity: 'warning',
    critical: true,
    description: 'authentication failed',
  },
  // TokenCreated
  'auth.token_created': {
    category: 'authentication',
    severity: 'notice',
    critical: false,
    description: 'an api token was created',
  },
  // TokenRevoked (critical in llama-orch too: a revocation must not be lost in a crash)
  'auth.token_revoked': {
    category: 'authentication',
    severity: 'notice',
    critical: true,
    description: 'an api token was revoked',
  },
  'auth.logout': {
    category: 'authentication',
    severity: 'info',
    critical: false,
    description: 'a session ended',
  },

  // ---- Authorization ----
  // AuthorizationGranted
  'authz.granted': {
    category: 'authorization',
    severity: 'info',
    critical: false,
    description: 'access was granted',
  },
  // AuthorizationDenied
  'authz.denied': {
    category: 'authorization',
    severity: 'warning',
    critical: true,
    description: 'access was denied',
  },
  // PermissionChanged
  'authz.permission_changed': {
    category: 'authorization',
    severity: 'notice',
    critical: false,
    description: 'permissions of a subject changed',
  },

  // ---- Resources (llama-orch pools, nodes and VRAM) ----
  // PoolCreated
  'resource.pool_created': {
    category: 'resource',
    severity: 'notice',
    critical: false,
    description: 'a pool was created',
  },
  // PoolDeleted
  'resource.pool_deleted': {
    category: 'resource',
    severity: 'notice',
    critical: false,
    description: 'a pool was deleted',
  },
  // PoolModified
  'resource.pool_modified': {
    category: 'resource',
    severity: 'notice',
    critical: false,
    description: 'a pool was modified',
  },
  // NodeRegistered
  'resource.node_registered': {
    category: 'resource',
    severity: 'notice',
    critical: false,
    description: 'a node was registered',
  },
  // NodeDeregistered
  'resource.node_deregistered': {
    category: 'resource',
    severity: 'notice',
    critical: false,
    description: 'a node was deregistered',
  },
  // VramSealed
  'resource.vram_sealed': {
    category: 'resource',
    severity: 'info',
    critical: false,
    description: 'a model shard was sealed in gpu memory',
  },
  // SealVerified
  'resource.vram_seal_verified': {
    category: 'resource',
    severity: 'info',
    critical: false,
    description: 'a sealed shard was verified',
  },
  // VramAllocated
  'resource.vram_allocated': {
    category: 'resource',
    severity: 'info',
    critical: false,
    description: 'gpu memory allocated',
  },
  // VramAllocationFailed
  'resource.vram_allocation_failed': {
    category: 'resource',
    severity: 'warning',
    critical: false,
    description: 'a gpu memory allocation failed',
  },
  // VramDeallocated
  'resource.vram_deallocated': {
    category: 'resource',
    severity: 'info',
    critical: false,
    description: 'gpu memory freed',
  },
  'resource.created': {
    category: 'resource',
    severity: 'notice',
    critical: false,
    description: 'a resource was created',
  },
  'resource.modified': {
    category: 'resource',
    severity: 'notice',
    critical: false,
    description: 'a resource was modified',
  },
  'resource.deleted': {
    category: 'resource',
    severity: 'notice',
    critical: false,
    description: 'a resource was deleted',
  },

  // ---- Tasks ----
  // TaskSubmitted
  'task.submitted': {
    category: 'task',
    severity: 'info',
    critical: false,
    description: 'a task was submitted',
  },
  // TaskCompleted
  'task.completed': { category: 'task', severity: 'info', critical: false, description: 'a task completed' },
  // TaskCanceled
  'task.canceled': {
    category: 'task',
    severity: 'info',
    critical: false,
    description: 'a task was canceled',
  },

  // ---- Security incidents ----
  // RateLimitExceeded
  'security.rate_limit_exceeded': {
    category: 'security',
    severity: 'warning',
    critical: false,
    description: 'a client exceeded a rate limit',
  },
  // PathTraversalAttempt
  'security.path_traversal': {
    category: 'security',
    severity: 'critical',
    critical: true,
    description: 'a path traversal was attempted',
  },
  // InvalidTokenUsed
  'security.invalid_token': {
    category: 'security',
    severity: 'warning',
    critical: true,
    description: 'an invalid token was presented',
  },
  // PolicyViolation
  'security.policy_violation': {
    category: 'security',
    severity: 'critical',
    critical: true,
    description: 'a security policy was violated',
  },
  // SuspiciousActivity
  'security.suspicious_activity': {
    category: 'security',
    severity: 'warning',
    critical: true,
    description: 'suspicious activity was detected',
  },
  // IntegrityViolation
  'security.integrity_violation': {
    category: 'security',
    severity: 'critical',
    critical: true,
    description: 'a hash did not match (possible supply-chain attack)',
  },
  // MalformedModelRejected
  'security.malformed_model_rejected': {
    category: 'security',
    severity: 'warning',
    critical: true,
    description: 'a malformed model was rejected',
  },
  // ResourceLimitViolation
  'security.resource_limit_violation': {
    category: 'security',
    severity: 'warning',
    critical: true,
    description: 'a resource limit was exceeded (possible denial of service)',
  },
  // SealVerificationFailed (a VRAM operation in llama-orch; an integrity failure here)
  'security.vram_seal_failed': {
    category: 'security',
    severity: 'critical',
    critical: true,
    description: 'a sealed gpu shard failed verification',
  },
  'security.anomaly': {
    category: 'security',
    severity: 'warning',
    critical: true,
    description: 'anomaly detection found unusual activity',
  },
  'security.tamper_detected': {
    category: 'security',
    severity: 'critical',
    critical: true,
    description: 'tampering with the audit trail was detected',
  },

  // ---- Data access ----
  // InferenceExecuted
  'data.inference_executed': {
    category: 'data',
    severity: 'info',
    critical: false,
    description: 'an inference ran on personal data',
  },
  // ModelAccessed
  'data.model_accessed': {
    category: 'data',
    severity: 'info',
    critical: false,
    description: 'a model was accessed',
  },
  // DataDeleted
  'data.deleted': { category: 'data', severity: 'notice', critical: false, description: 'data was deleted' },
  'data.access': { category: 'data', severity: 'info', critical: false, description: 'data was read' },
  'data.modified': { category: 'data', severity: 'info', critical: false, description: 'data was changed' },
  'data.export': { category: 'data', severity: 'notice', critical: false, description: 'data was exported' },

  // ---- Compliance ----
  // GdprDataAccessRequest
  'compliance.gdpr_access_request': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'a data subject asked for access (gdpr art. 15)',
  },
  // GdprDataExport
  'compliance.gdpr_export': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'the data of a data subject was exported (gdpr art. 20)',
  },
  // GdprRightToErasure
  'compliance.gdpr_erasure': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'the data of a data subject was erased (gdpr art. 17)',
  },
  // Reading, exporting and erasing the audit trail are themselves recorded.
  'audit.read': {
    category: 'compliance',
    severity: 'info',
    critical: false,
    description: 'the audit trail was read',
  },
  'audit.export': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'the audit trail was exported',
  },
  'audit.erasure': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'content payloads in the audit trail were erased',
  },

  // Retention (docs/retention.md): every action is recorded; the run itself as admin.retention_applied.
  'retention.pruned': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'old segments were pruned after their retention period, keeping a signed boundary',
  },
  'retention.content_expired': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'content payloads were erased after their retention period, keeping commitments',
  },
  'retention.archived': {
    category: 'compliance',
    severity: 'info',
    critical: false,
    description: 'sealed segments were archived (gzip)',
  },
  'retention.hold_added': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'a legal hold was placed: covered entries are not deleted',
  },
  'retention.hold_removed': {
    category: 'compliance',
    severity: 'notice',
    critical: false,
    description: 'a legal hold was removed',
  },

  // ---- Administration ----
  'admin.config_changed': {
    category: 'admin',
    severity: 'notice',
    critical: false,
    description: 'configuration changed',
  },
  'admin.user_created': {
    category: 'admin',
    severity: 'notice',
    critical: false,
    description: 'a user was created',
  },
  'admin.user_modified': {
    category: 'admin',
    severity: 'notice',
    critical: false,
    description: 'a user was modified',
  },
  'admin.user_deleted': {
    category: 'admin',
    severity: 'notice',
    critical: false,
    description: 'a user was deleted',
  },
  'admin.role_changed': {
    category: 'admin',
    severity: 'notice',
    critical: false,
    description: 'a role or its grants changed',
  },
  'admin.key_rotated': {
    category: 'admin',
    severity: 'notice',
    critical: false,
    description: 'a key was rotated',
  },
  'admin.retention_applied': {
    category: 'admin',
    severity: 'notice',
    critical: false,
    description: 'a retention policy was applied',
  },

  // ---- The trail itself ----
  'system.startup': {
    category: 'system',
    severity: 'info',
    critical: false,
    description: 'the service started',
  },
  'system.shutdown': {
    category: 'system',
    severity: 'info',
    critical: false,
    description: 'the service stopped',
  },
  'system.recovery': {
    category: 'system',
    severity: 'warning',
    critical: false,
    description: 'a torn tail was quarantined after a crash',
  },
  'system.keys_loaded': {
    category: 'system',
    severity: 'info',
    critical: false,
    description: 'the trail opened with master keys (meta: the provider that served them, key ids)',
  },
  'system.overflow': {
    category: 'system',
    severity: 'warning',
    critical: true,
    description: 'events were dropped because the queue was full',
  },
} as const satisfies Record<string, EventTypeInfo>);

/** A name from the catalogue. */
export type KnownEventType = keyof typeof EVENT_TYPES;

/** Every category, `custom` included. */
export const EVENT_CATEGORIES: ReadonlySet<string> = new Set<string>([
  ...Object.values(EVENT_TYPES).map((t) => t.category),
  'custom',
]);

/** What `describeEventType` returns. */
export type EventTypeTraits = Pick<EventTypeInfo, 'category' | 'severity' | 'critical'>;

/** Name part of a custom type `x.<name>`. */
export const CUSTOM_TYPE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,99}$/;

const CUSTOM_TRAITS: EventTypeTraits = Object.freeze({
  category: 'custom',
  severity: 'info',
  critical: false,
});

/**
 * The category, default severity and criticality of an event type: from the catalogue, or
 * `custom` / `info` / not critical for a well-formed `x.<name>`; `undefined` for anything else.
 */
export function describeEventType(type: string): EventTypeTraits | undefined {
  // Object.hasOwn: `type` is attacker-controlled, and `constructor` or `__proto__` are not types.
  if (Object.hasOwn(EVENT_TYPES, type)) return EVENT_TYPES[type as KnownEventType];
  if (type.startsWith('x.') && CUSTOM_TYPE_NAME_RE.test(type.slice(2))) return CUSTOM_TRAITS;
  return undefined;
}

/**
 * The records the trail writes about itself: reads and exports of it, erasures, retention, its
 * own state (recovery, keys loaded, events dropped) and anomaly findings. Readers and `verify` take
 * them as the trail's own: an `audit.erasure` or `retention.content_expired` entry explains the
 * erased payloads that name it (docs/format.md §2), `sealtrail status` shows an `audit.read` of a
 * report as the last verification, and anomaly detection skips a finding a `security.anomaly`
 * already holds. So `emit()`, `sealtrail append` and the collector refuse them from applications
 * and producers (EVENT_INVALID, field `type`); the trail records them on its own path.
 */
const TRAIL_OWN_TYPES: ReadonlySet<string> = new Set<KnownEventType>([
  'audit.read',
  'audit.export',
  'audit.erasure',
  'retention.pruned',
  'retention.content_expired',
  'retention.archived',
  'retention.hold_added',
  'retention.hold_removed',
  'admin.retention_applied',
  'system.recovery',
  'system.keys_loaded',
  'system.overflow',
  'security.anomaly',
]);

/** True for an event type only the trail itself records (see TRAIL_OWN_TYPES). */
export function isTrailOwnType(type: string): boolean {
  return TRAIL_OWN_TYPES.has(type);
}

/**
 * Refuses a type only the trail itself records, for an event an application or producer sends.
 * Given the prepared event's type: the one written, read once from the input.
 * @throws AuditError EVENT_INVALID naming the field `type`.
 */
export function refuseTrailOwnType(type: string): void {
  if (TRAIL_OWN_TYPES.has(type))
    throw new AuditError(
      'EVENT_INVALID',
      `type: ${type} is recorded by the trail itself, not taken from applications (docs/events.md)`,
      { field: 'type' },
    );
}
