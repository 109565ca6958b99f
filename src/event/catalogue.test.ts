import { describe, expect, it } from 'vitest';
import { describeEventType, EVENT_TYPES, type KnownEventType } from './catalogue.js';

const AI_TYPES = [
  'model.request',
  'model.completion',
  'model.embedding',
  'tool.call',
  'tool.result',
  'rag.query',
  'agent.step',
  'guardrail.decision',
  'conversation.start',
  'conversation.end',
] as const;

/**
 * Every variant of llama-orch's `AuditEvent` enum (veighnsche/llama-orch,
 * bin/shared-crates/audit-logging/src/events.rs) and the name it maps to.
 */
const LLAMA_ORCH: Record<string, KnownEventType> = {
  AuthSuccess: 'auth.success',
  AuthFailure: 'auth.failure',
  TokenCreated: 'auth.token_created',
  TokenRevoked: 'auth.token_revoked',
  AuthorizationGranted: 'authz.granted',
  AuthorizationDenied: 'authz.denied',
  PermissionChanged: 'authz.permission_changed',
  PoolCreated: 'resource.pool_created',
  PoolDeleted: 'resource.pool_deleted',
  PoolModified: 'resource.pool_modified',
  NodeRegistered: 'resource.node_registered',
  NodeDeregistered: 'resource.node_deregistered',
  TaskSubmitted: 'task.submitted',
  TaskCompleted: 'task.completed',
  TaskCanceled: 'task.canceled',
  VramSealed: 'resource.vram_sealed',
  SealVerified: 'resource.vram_seal_verified',
  SealVerificationFailed: 'security.vram_seal_failed',
  VramAllocated: 'resource.vram_allocated',
  VramAllocationFailed: 'resource.vram_allocation_failed',
  VramDeallocated: 'resource.vram_deallocated',
  RateLimitExceeded: 'security.rate_limit_exceeded',
  PathTraversalAttempt: 'security.path_traversal',
  InvalidTokenUsed: 'security.invalid_token',
  PolicyViolation: 'security.policy_violation',
  SuspiciousActivity: 'security.suspicious_activity',
  IntegrityViolation: 'security.integrity_violation',
  MalformedModelRejected: 'security.malformed_model_rejected',
  ResourceLimitViolation: 'security.resource_limit_violation',
  InferenceExecuted: 'data.inference_executed',
  ModelAccessed: 'data.model_accessed',
  DataDeleted: 'data.deleted',
  GdprDataAccessRequest: 'compliance.gdpr_access_request',
  GdprDataExport: 'compliance.gdpr_export',
  GdprRightToErasure: 'compliance.gdpr_erasure',
};

const SECURITY_CATEGORIES = new Set([
  'authentication',
  'authorization',
  'resource',
  'task',
  'security',
  'data',
  'compliance',
]);

const CRITICAL: KnownEventType[] = [
  'auth.failure',
  'authz.denied',
  'security.invalid_token',
  'security.path_traversal',
  'security.policy_violation',
  'security.suspicious_activity',
  'security.tamper_detected',
  'security.anomaly',
  'system.overflow',
];

describe('EVENT_TYPES', () => {
  it('holds every AI event type, in category ai', () => {
    for (const t of AI_TYPES) expect(EVENT_TYPES[t].category).toBe('ai');
  });

  it('maps every variant of llama-orch’s AuditEvent to a security or compliance type', () => {
    for (const [variant, name] of Object.entries(LLAMA_ORCH)) {
      expect(Object.hasOwn(EVENT_TYPES, name), variant).toBe(true);
      expect(SECURITY_CATEGORIES.has(EVENT_TYPES[name].category), variant).toBe(true);
    }
    expect(new Set(Object.values(LLAMA_ORCH)).size).toBe(Object.keys(LLAMA_ORCH).length);
  });

  it('holds at least 32 security and compliance types', () => {
    const n = Object.values(EVENT_TYPES).filter((t) => SECURITY_CATEGORIES.has(t.category)).length;
    expect(n).toBeGreaterThanOrEqual(32);
  });

  it('holds the trail’s own events', () => {
    for (const t of [
      'system.recovery',
      'system.overflow',
      'system.startup',
      'system.shutdown',
      'audit.read',
      'audit.export',
      'audit.erasure',
      'data.access',
    ]) {
      expect(Object.hasOwn(EVENT_TYPES, t), t).toBe(true);
    }
    expect(Object.keys(EVENT_TYPES).some((t) => t.startsWith('admin.'))).toBe(true);
  });

  it('marks security incidents critical', () => {
    for (const t of CRITICAL) expect(EVENT_TYPES[t].critical, t).toBe(true);
  });

  it('does not mark routine events critical', () => {
    for (const t of [
      'auth.success',
      'model.completion',
      'tool.call',
      'task.completed',
      'data.access',
    ] as const) {
      expect(EVENT_TYPES[t].critical, t).toBe(false);
    }
  });

  it('names every type in dotted lower case, never in the custom x. space', () => {
    for (const t of Object.keys(EVENT_TYPES)) {
      expect(t).toMatch(/^[a-z]+(\.[a-z0-9_]+)+$/);
      expect(t.startsWith('x.')).toBe(false);
    }
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(EVENT_TYPES)).toBe(true);
  });
});

describe('describeEventType', () => {
  it('returns the catalogue entry of a known type', () => {
    expect(describeEventType('auth.failure')).toMatchObject({
      category: 'authentication',
      severity: 'warning',
      critical: true,
    });
  });

  it('describes a well-formed custom type as custom, info, not critical', () => {
    for (const t of ['x.billing.invoice_sent', 'x.a', 'x.0-9_.x']) {
      expect(describeEventType(t)).toEqual({ category: 'custom', severity: 'info', critical: false });
    }
  });

  it('returns undefined for anything else', () => {
    for (const t of [
      '',
      'x.',
      'x.Upper',
      'x._lead',
      `x.${'a'.repeat(101)}`,
      'x.a b',
      'auth',
      'AUTH.FAILURE',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
    ]) {
      expect(describeEventType(t), t).toBeUndefined();
    }
  });

  it('accepts a custom name of exactly 100 characters', () => {
    expect(describeEventType(`x.${'a'.repeat(100)}`)?.category).toBe('custom');
  });
});
