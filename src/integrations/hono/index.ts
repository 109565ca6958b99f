/**
 * `sealtrail/hono`: Hono middleware that opens the request context (user, session, client IP,
 * user agent, request id, trace id, conversation and turn) for everything the handler emits
 * through `audit` or an AI integration.
 *
 * ```ts
 * import { audit } from 'sealtrail';
 * import { sealtrailHono } from 'sealtrail/hono';
 * audit.enable();
 * app.use(sealtrailHono({ trustProxy: ['loopback'] }));
 * ```
 *
 * The client address comes from `@hono/node-server` (`c.env.incoming`); on another adapter, pass
 * `getRemoteAddress`. On `@hono/node-server` an abort (`c.req.raw.signal`, `stream.onAbort`) runs
 * its listeners in the request context too.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  addUser,
  bindRequestEvents,
  createHttpContextBuilder,
  type HttpContextOptions,
  runWithRequestContext,
  type UserInfo,
} from '../context/index.js';

/** The part of a Hono context the middleware reads. */
export interface HonoContextLike {
  req: { header(name: string): string | undefined };
  env?: unknown;
}

/** Options of {@link sealtrailHono}. */
export interface HonoAuditOptions<C extends HonoContextLike = HonoContextLike> extends HttpContextOptions {
  /** The user, when known from the request. Later: `audit.setUser()`. */
  getUser?: (c: C) => UserInfo;
  /** The client's socket address; default `c.env.incoming.socket.remoteAddress` (`@hono/node-server`). */
  getRemoteAddress?: (c: C) => string | undefined;
}

/**
 * Creates the middleware.
 * @throws AuditError CONFIG_INVALID naming a bad option.
 */
export function sealtrailHono<C extends HonoContextLike = HonoContextLike>(
  options: HonoAuditOptions<C> = {},
): (c: C, next: () => Promise<void>) => Promise<void> {
  const { getUser, getRemoteAddress = nodeServerAddress, ...http } = options;
  const build = createHttpContextBuilder(http);
  return async (c, next) => {
    const ctx = build({ remoteAddress: getRemoteAddress(c), header: (name) => c.req.header(name) });
    if (getUser !== undefined) addUser(ctx, getUser(c));
    const node = c.env as { incoming?: IncomingMessage; outgoing?: ServerResponse } | undefined;
    await runWithRequestContext(ctx, () => {
      // @hono/node-server aborts the request's signal from the response's `close`
      bindRequestEvents(node?.incoming, node?.outgoing);
      return next();
    });
  };
}

function nodeServerAddress(c: HonoContextLike): string | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress;
}
