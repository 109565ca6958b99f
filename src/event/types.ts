/**
 * The event input shape: what applications pass to `emit` and what `sealtrail append` reads.
 * A public contract (DESIGN.md "Contracts"): fields are added, never renamed. Names follow the
 * OpenTelemetry GenAI conventions where one exists, so an OpenTelemetry exporter is a mapping.
 */
import type { KnownEventType } from './catalogue.js';

/** A catalogue name, or an application's own type `x.<name>` (name: `[a-z0-9][a-z0-9._-]{0,99}`). */
export type EventType = KnownEventType | `x.${string}`;

/** How the action ended. */
export type Outcome = 'success' | 'failure' | 'blocked' | 'allowed' | 'warned' | 'error';

/** How much the event matters; `critical` events are also flushed at once. */
export type Severity = 'info' | 'notice' | 'warning' | 'critical';

/** What a guardrail decided. */
export type GuardrailDecision = 'block' | 'allow' | 'warn' | 'redact';

/** A flat value allowed in `meta` and in the extra fields of `resource`. */
export type ScalarValue = string | number | boolean | null;

/** Any plain JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Who acted: a user, a service or an agent. */
export interface Actor {
  id?: string;
  /** For example `user`, `service`, `agent`. */
  type?: string;
  sessionId?: string;
  ip?: string;
  userAgent?: string;
  /** For example `bearer_token`, `api_key`, `mtls`, `password`, `oidc`. */
  authMethod?: string;
}

/** The conversation an AI event belongs to. */
export interface Conversation {
  id: string;
  /** Turn number, a non-negative integer. */
  turn?: number;
}

/** What was acted on; extra flat fields (for example `parentId`) are kept. */
export interface Resource {
  type: string;
  id: string;
  [key: string]: ScalarValue;
}

/** The model used (OpenTelemetry `gen_ai.provider.name`, `gen_ai.request.model`). */
export interface Model {
  provider?: string;
  name?: string;
}

/** Token counts (OpenTelemetry `gen_ai.usage.*`): non-negative integers. */
export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
}

/**
 * Content payloads. Each is committed by a salted digest in the entry and stored beside it, so it
 * can be hashed, encrypted or erased on its own. Values are any plain JSON value. Extra names
 * match `[A-Za-z][A-Za-z0-9_]{0,63}`.
 */
export interface Content {
  prompt?: unknown;
  response?: unknown;
  toolArgs?: unknown;
  toolResult?: unknown;
  documents?: unknown;
  error?: unknown;
  [name: string]: unknown;
}

/** The verdict of one guardrail. */
export interface GuardrailResult {
  name: string;
  decision: GuardrailDecision;
  reason?: string;
  /** From 0 to 1. */
  confidence?: number;
  rule?: string;
}

/** Flat, application-defined fields. */
export interface Meta {
  [key: string]: ScalarValue;
}

/** One audit event as the application describes it. Every field but `type` is optional. */
export interface AuditEventInput {
  type: EventType;
  /** When it happened: a Date, an ISO-8601 string with a zone (or a date alone), or epoch ms. Default: now. */
  ts?: Date | string | number;
  actor?: Actor;
  /** The data subject whose personal data the event holds; defaults to `actor.id`. */
  subject?: string;
  conversation?: Conversation;
  requestId?: string;
  traceId?: string;
  resource?: Resource;
  action?: string;
  outcome?: Outcome;
  model?: Model;
  usage?: Usage;
  latencyMs?: number;
  content?: Content;
  guardrails?: GuardrailResult[];
  /** Overrides the catalogue's default severity for the type. */
  severity?: Severity;
  meta?: Meta;
}
