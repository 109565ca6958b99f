/**
 * The request context: who is asking, from where, in which conversation, under which request and
 * trace id. Middleware opens one per HTTP request in `AsyncLocalStorage`; every event emitted
 * through `audit` (and every AI integration) during that request is filled from it, so handlers
 * never pass the user around and one request's attribution never lands on another's events.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { AuditError } from '../../errors.js';
import type { AuditEventInput } from '../../event/index.js';

/** What is known about the request being served. Every field is optional. */
export interface RequestContext {
  userId?: string;
  /** For example `user`, `service`, `agent`. */
  userType?: string;
  sessionId?: string;
  /** The client's address, after the trusted-proxy rules (see `resolveClientIp`). */
  ip?: string;
  userAgent?: string;
  /** For example `bearer_token`, `api_key`, `oidc`. */
  authMethod?: string;
  requestId?: string;
  /** W3C trace id (32 lower-case hex digits) from `traceparent`. */
  traceId?: string;
  conversationId?: string;
  /** Turn number in the conversation, assigned per request by the middleware (see `TurnCounter`). */
  turn?: number;
}

const FIELDS: ReadonlySet<string> = new Set([
  'userId',
  'userType',
  'sessionId',
  'ip',
  'userAgent',
  'authMethod',
  'requestId',
  'traceId',
  'conversationId',
  'turn',
]);

const storage = new AsyncLocalStorage<RequestContext>();

/**
 * Runs `fn` with `context` as the current request context (a copy: later changes to the object
 * passed in do not leak in).
 * @throws AuditError CONFIG_INVALID naming the field of a bad context.
 */
export function runWithRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(checkContext(context, 'context'), fn);
}

/** The current request context, or undefined outside a request. */
export function getRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Adds to the current request context, for what is known only later in the request (the user id
 * after authentication, the conversation once the body is parsed). Fields not given are kept.
 * @throws AuditError USAGE outside a request context; CONFIG_INVALID naming a bad field.
 */
export function updateRequestContext(patch: RequestContext): void {
  const store = storage.getStore();
  if (store === undefined)
    throw new AuditError('USAGE', 'updateRequestContext: no request context (is the middleware installed?)');
  Object.assign(store, checkContext(patch, 'patch'));
}

/**
 * Fills an event from a request context: `actor` (id, type, session, IP, user agent, auth
 * method), `requestId`, `traceId` and `conversation` ({id, turn}). What the event already says is
 * never overwritten; the turn is only filled when the conversation is the context's.
 */
export function applyRequestContext(
  event: AuditEventInput,
  context: RequestContext | undefined = storage.getStore(),
): AuditEventInput {
  if (context === undefined) return event;
  const out: AuditEventInput = { ...event };
  const actor = { ...event.actor };
  let actorChanged = false;
  const fill = (key: keyof NonNullable<AuditEventInput['actor']>, value: string | undefined): void => {
    if (value !== undefined && actor[key] === undefined) {
      actor[key] = value;
      actorChanged = true;
    }
  };
  fill('id', context.userId);
  fill('type', context.userType);
  fill('sessionId', context.sessionId);
  fill('ip', context.ip);
  fill('userAgent', context.userAgent);
  fill('authMethod', context.authMethod);
  if (actorChanged) out.actor = actor;
  if (out.requestId === undefined && context.requestId !== undefined) out.requestId = context.requestId;
  if (out.traceId === undefined && context.traceId !== undefined) out.traceId = context.traceId;
  if (context.conversationId !== undefined) {
    if (event.conversation === undefined) {
      out.conversation =
        context.turn === undefined
          ? { id: context.conversationId }
          : { id: context.conversationId, turn: context.turn };
    } else if (
      event.conversation.turn === undefined &&
      event.conversation.id === context.conversationId &&
      context.turn !== undefined
    ) {
      out.conversation = { ...event.conversation, turn: context.turn };
    }
  }
  return out;
}

function checkContext(value: RequestContext, what: string): RequestContext {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new AuditError('CONFIG_INVALID', `${what}: expected an object`, { field: what });
  const out: RequestContext = {};
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (!FIELDS.has(key))
      throw new AuditError('CONFIG_INVALID', `${what}.${key}: unknown request context field`, { field: key });
    if (key === 'turn') {
      if (!Number.isSafeInteger(v) || (v as number) < 0)
        throw new AuditError('CONFIG_INVALID', `${what}.turn: expected a non-negative integer`, {
          field: 'turn',
        });
    } else if (typeof v !== 'string') {
      throw new AuditError('CONFIG_INVALID', `${what}.${key}: expected a string`, { field: key });
    }
    (out as Record<string, unknown>)[key] = v;
  }
  return out;
}
