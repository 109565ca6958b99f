/** Request context for automatic attribution: storage, HTTP header parsing, turn numbers. */
export { bindRequestEvents } from './bind-events.js';
export { compileTrustProxy, type ProxyTrust, resolveClientIp, type TrustProxy } from './client-ip.js';
export {
  createHttpContextBuilder,
  defaultTurnCounter,
  type HttpContextBuilder,
  type HttpContextOptions,
  type HttpRequestInfo,
  startConversationTurn,
} from './http-context.js';
export {
  applyRequestContext,
  getRequestContext,
  type RequestContext,
  runWithRequestContext,
  updateRequestContext,
} from './request-context.js';
export { parseTraceparent } from './traceparent.js';
export { TurnCounter, type TurnCounterOptions } from './turns.js';
export { addUser, type UserInfo } from './user.js';
