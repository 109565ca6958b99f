/**
 * Keeps the request context in the listeners of a request's own events. Node emits them (`close`
 * when the client goes away, `finish`, `data`, `end`) from the connection's socket, whose async
 * context is the connection's, not the request's: a listener a handler added (`req.on('close')`,
 * Hono's `stream.onAbort`, a body parser calling `next()` from `end`) would record with no
 * attribution.
 */
import { AsyncResource } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';

/**
 * Makes every event of `emitters` run its listeners in the current async context (the request
 * context the middleware opened), and returns the resource holding that context.
 * Requires: called inside `runWithRequestContext`, with the request's own objects, never shared ones.
 */
export function bindRequestEvents(...emitters: ReadonlyArray<EventEmitter | undefined>): AsyncResource {
  const resource = new AsyncResource('sealtrail.request');
  for (const emitter of emitters)
    if (emitter !== undefined) emitter.emit = resource.bind(emitter.emit.bind(emitter));
  return resource;
}
