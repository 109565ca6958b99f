/**
 * The event model: input types, the catalogue of event types, validation and preparation, ids,
 * and the canonical JSON form. Other folders import from here.
 */
export { canonicalJson, escapeHostile, HOSTILE_RE, hasHostile, renderVisible } from './canonical.js';
export {
  CUSTOM_TYPE_NAME_RE,
  describeEventType,
  EVENT_CATEGORIES,
  EVENT_TYPES,
  type EventCategory,
  type EventTypeInfo,
  type EventTypeTraits,
  isTrailOwnType,
  type KnownEventType,
  refuseTrailOwnType,
} from './catalogue.js';
export { newEventId, uuid7Ms } from './id.js';
export {
  CONTENT_NAME_RE,
  DEFAULT_MAX_STRING_BYTES,
  MAX_CONTENT_DEPTH,
  type PreparedEvent,
  type PrepareOptions,
  prepareEvent,
  REDACT_READ_ONCE,
  type RedactedInput,
  readInputOnce,
  redactReadOnce,
  TRUNCATION_MARKER,
  type TruncationRecord,
  unreadableInput,
} from './prepare.js';
export type {
  Actor,
  AuditEventInput,
  Content,
  Conversation,
  EventType,
  GuardrailDecision,
  GuardrailResult,
  JsonValue,
  Meta,
  Model,
  Outcome,
  Resource,
  ScalarValue,
  Severity,
  Usage,
} from './types.js';
