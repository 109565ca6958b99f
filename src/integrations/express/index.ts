/**
 * `sealtrail/express`: Express middleware that opens the request context (user, session, client
 * IP, user agent, request id, trace id, conversation and turn) for everything the request's
 * handlers emit through `audit` or an AI integration.
 *
 * ```ts
 * import { audit } from 'sealtrail';
 * import { sealtrailExpress } from 'sealtrail/express';
 * audit.enable();
 * app.use(sealtrailExpress({ trustProxy: ['loopback'] }));
 * ```
 *
 * Before or after `express.json()` works alike (the test runs both orders). The request's and
 * response's own events (`close` when the client goes away, `finish`, a parser's `end`) run their
 * listeners in the request context too.
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

/** Options of {@link sealtrailExpress}. */
export interface ExpressAuditOptions<Req extends IncomingMessage = IncomingMessage>
  extends HttpContextOptions {
  /** The user of the request, when an earlier middleware knows it (`req.user`). Later: `audit.setUser()`. */
  getUser?: (req: Req) => UserInfo;
}

/**
 * Creates the middleware.
 * @throws AuditError CONFIG_INVALID naming a bad option.
 */
export function sealtrailExpress<Req extends IncomingMessage = IncomingMessage>(
  options: ExpressAuditOptions<Req> = {},
): (req: Req, res: ServerResponse, next: (err?: unknown) => void) => void {
  const { getUser, ...http } = options;
  const build = createHttpContextBuilder(http);
  return (req, res, next) => {
    let ctx: ReturnType<typeof build>;
    try {
      ctx = build({ remoteAddress: req.socket.remoteAddress, header: (name) => req.headers[name] });
      if (getUser !== undefined) addUser(ctx, getUser(req));
    } catch (err) {
      next(err);
      return;
    }
    runWithRequestContext(ctx, () => {
      bindRequestEvents(req, res);
      next();
    });
  };
}
