/** The user a middleware's `getUser` option returns, folded into a request context. */
import { AuditError } from '../../errors.js';
import type { RequestContext } from './request-context.js';

/** What `getUser` may return: an id, or the user with type, session and auth method. */
export type UserInfo =
  | string
  | { id: string; type?: string; sessionId?: string; authMethod?: string }
  | undefined;

/**
 * Adds `user` to `ctx`.
 * @throws AuditError CONFIG_INVALID when `getUser` returned something else.
 */
export function addUser(ctx: RequestContext, user: UserInfo): RequestContext {
  if (user === undefined) return ctx;
  if (typeof user === 'string') {
    if (user !== '') ctx.userId = user;
    return ctx;
  }
  if (typeof user !== 'object' || user === null || typeof user.id !== 'string')
    throw new AuditError('CONFIG_INVALID', 'getUser: expected a user id, {id, ...} or undefined', {
      field: 'getUser',
    });
  ctx.userId = user.id;
  if (typeof user.type === 'string') ctx.userType = user.type;
  if (typeof user.sessionId === 'string') ctx.sessionId = user.sessionId;
  if (typeof user.authMethod === 'string') ctx.authMethod = user.authMethod;
  return ctx;
}
