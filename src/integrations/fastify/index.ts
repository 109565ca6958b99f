/**
 * `sealtrail/fastify`: a Fastify plugin that opens the request context (user, session, client IP,
 * user agent, request id, trace id, conversation and turn) for everything the route emits through
 * `audit` or an AI integration.
 *
 * ```ts
 * import { audit } from 'sealtrail';
 * import { sealtrailFastify } from 'sealtrail/fastify';
 * audit.enable();
 * await app.register(sealtrailFastify, { trustProxy: ['loopback'] });
 * ```
 *
 * The context is opened in `onRequest` and re-entered in `preValidation`, because Fastify parses
 * the body from the request stream's events, which run in the connection's async context. The
 * raw request's and response's own events (`close` when the client goes away, `finish`) run
 * their listeners in the request context too. The plugin is not encapsulated (as `fastify-plugin` would mark it), so it covers every route.
 */
import type { AsyncResource } from 'node:async_hooks';
import type { FastifyPluginCallback, FastifyRequest } from 'fastify';
import {
  addUser,
  bindRequestEvents,
  createHttpContextBuilder,
  type HttpContextOptions,
  runWithRequestContext,
  type UserInfo,
} from '../context/index.js';

/** Options of {@link sealtrailFastify}. */
export interface FastifyAuditOptions extends HttpContextOptions {
  /** The user of the request, when known from the request (`request.user`). Later: `audit.setUser()`. */
  getUser?: (request: FastifyRequest) => UserInfo;
}

const RESOURCE = Symbol('sealtrail.context');
type WithResource = { [RESOURCE]?: AsyncResource };

/**
 * The plugin: `app.register(sealtrailFastify, options)`.
 * @throws AuditError CONFIG_INVALID naming a bad option (when registered).
 */
export const sealtrailFastify: FastifyPluginCallback<FastifyAuditOptions> = (fastify, options, done) => {
  const { getUser, ...http } = options ?? {};
  let build: ReturnType<typeof createHttpContextBuilder>;
  try {
    build = createHttpContextBuilder(http);
  } catch (err) {
    done(err as Error);
    return;
  }
  fastify.addHook('onRequest', (request, reply, next) => {
    let ctx: ReturnType<typeof build>;
    try {
      ctx = build({
        remoteAddress: request.raw.socket.remoteAddress,
        header: (name) => request.headers[name],
      });
      if (getUser !== undefined) addUser(ctx, getUser(request));
    } catch (err) {
      next(err as Error);
      return;
    }
    runWithRequestContext(ctx, () => {
      (request as WithResource)[RESOURCE] = bindRequestEvents(request.raw, reply.raw);
      next();
    });
  });
  fastify.addHook('preValidation', (request, _reply, next) => {
    const resource = (request as WithResource)[RESOURCE];
    if (resource === undefined) next();
    else resource.runInAsyncScope(next, undefined);
  });
  done();
};

// Not encapsulated: the hooks apply to every route (what fastify-plugin's marker does).
Object.assign(sealtrailFastify, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'sealtrail',
});
