/**
 * Builds the request context of an HTTP request from its socket address and headers; shared by
 * the Express, Fastify and Hono middleware so all three attribute alike.
 *
 * Every header is attacker-controlled. Ids taken from headers are kept as sent (the trail keeps
 * hostile text as evidence and flags control characters); the user id is never taken from a
 * header unless `userHeader` names one that a trusted gateway sets.
 */
import { randomUUID } from 'node:crypto';
import { AuditError } from '../../errors.js';
import { compileTrustProxy, resolveClientIp, type TrustProxy } from './client-ip.js';
import { getRequestContext, type RequestContext, updateRequestContext } from './request-context.js';
import { parseTraceparent } from './traceparent.js';
import { parseClaimedTurn, TurnCounter, type TurnCounterOptions } from './turns.js';

/** Options shared by every HTTP middleware. */
export interface HttpContextOptions {
  /** Which proxies may set `X-Forwarded-For` (default `false`: the socket address is the client). */
  trustProxy?: TrustProxy;
  /** Header carrying the request id (default `x-request-id`); `false` to ignore. A new UUID when absent. */
  requestIdHeader?: string | false;
  /** Header carrying the conversation id (default `x-conversation-id`); `false` to ignore. */
  conversationHeader?: string | false;
  /** Header carrying a turn number the client claims (default `x-conversation-turn`); `false` to ignore. */
  turnHeader?: string | false;
  /** Header carrying the session id (default `x-session-id`); `false` to ignore. */
  sessionHeader?: string | false;
  /** Header carrying the user id, set by a gateway you trust (default none: never read). */
  userHeader?: string | false;
  /** Turn numbering: a shared counter, options for a new one, or `false` for none. Default: one per process. */
  turns?: TurnCounter | TurnCounterOptions | false;
}

/** What a middleware knows of a request before the framework's own parsing. */
export interface HttpRequestInfo {
  remoteAddress: string | undefined;
  /** A header's value by lower-case name. */
  header(name: string): string | readonly string[] | undefined;
}

/** Turn numbers shared by every middleware and {@link startConversationTurn} that name none. */
export const defaultTurnCounter = new TurnCounter();

/** A compiled context builder. */
export type HttpContextBuilder = (request: HttpRequestInfo) => RequestContext;

/**
 * Compiles the options once, at middleware creation.
 * @throws AuditError CONFIG_INVALID naming the option.
 */
export function createHttpContextBuilder(options: HttpContextOptions = {}): HttpContextBuilder {
  const trust = compileTrustProxy(options.trustProxy ?? false);
  const requestIdHeader = headerName(options.requestIdHeader, 'x-request-id', 'requestIdHeader');
  const conversationHeader = headerName(
    options.conversationHeader,
    'x-conversation-id',
    'conversationHeader',
  );
  const turnHeader = headerName(options.turnHeader, 'x-conversation-turn', 'turnHeader');
  const sessionHeader = headerName(options.sessionHeader, 'x-session-id', 'sessionHeader');
  const userHeader = headerName(options.userHeader, false, 'userHeader');
  const turns =
    options.turns === false
      ? undefined
      : options.turns instanceof TurnCounter
        ? options.turns
        : options.turns === undefined
          ? defaultTurnCounter
          : new TurnCounter(options.turns);
  return (request) => {
    const ctx: RequestContext = {};
    const ip = resolveClientIp(request.remoteAddress, request.header('x-forwarded-for'), trust);
    if (ip !== undefined) ctx.ip = ip;
    const ua = first(request.header('user-agent'));
    if (ua !== undefined) ctx.userAgent = ua;
    ctx.requestId = (requestIdHeader && first(request.header(requestIdHeader))) || randomUUID();
    const traceId = parseTraceparent(first(request.header('traceparent')));
    if (traceId !== undefined) ctx.traceId = traceId;
    const session = sessionHeader && first(request.header(sessionHeader));
    if (session) ctx.sessionId = session;
    const user = userHeader && first(request.header(userHeader));
    if (user) ctx.userId = user;
    const conversation = conversationHeader && first(request.header(conversationHeader));
    if (conversation) {
      ctx.conversationId = conversation;
      if (turns !== undefined) {
        const claimed = turnHeader ? parseClaimedTurn(first(request.header(turnHeader))) : undefined;
        ctx.turn = turns.next(conversation, claimed);
      }
    }
    return ctx;
  };
}

/**
 * Sets the conversation of the current request (when it is known only from the body) and gives
 * it its next turn number. Returns the turn.
 * @throws AuditError USAGE outside a request context.
 */
export function startConversationTurn(
  conversationId: string,
  counter: TurnCounter = defaultTurnCounter,
): number {
  if (getRequestContext() === undefined)
    throw new AuditError('USAGE', 'startConversationTurn: no request context (is the middleware installed?)');
  if (typeof conversationId !== 'string' || conversationId === '')
    throw new AuditError('USAGE', 'conversationId: expected a non-empty string', { field: 'conversationId' });
  const turn = counter.next(conversationId);
  updateRequestContext({ conversationId, turn });
  return turn;
}

function first(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

function headerName(
  value: string | false | undefined,
  fallback: string | false,
  field: string,
): string | false {
  if (value === undefined) return fallback;
  if (value === false) return false;
  if (typeof value !== 'string' || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(value))
    throw new AuditError('CONFIG_INVALID', `${field}: expected a header name or false`, { field });
  return value.toLowerCase();
}
