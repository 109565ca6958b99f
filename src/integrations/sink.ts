/**
 * Where an integration's events go: the `audit` singleton by default (which fills them from the
 * request context and redacts them in its trails), or any trail-like object you pass — then the
 * request context is merged here, and the trail's own `redact` option applies.
 */
import { Audit, audit } from '../config/index.js';
import { reportDiagnostic } from '../diagnostics.js';
import type { AuditEventInput, Meta } from '../event/index.js';
import { applyRequestContext } from './context/index.js';

/** Anything with `emit(event): string`: the `audit` singleton, an `AuditTrail`, ... */
export interface AuditSink {
  emit(event: AuditEventInput): string;
}

/** Options every AI integration takes. */
export interface IntegrationOptions {
  /** Where events go (default the `audit` singleton). */
  audit?: AuditSink;
  /** Record prompts, responses, tool arguments and results (default true); false keeps only the metadata. */
  recordContent?: boolean;
  /**
   * Record a `model.request` entry when each model call starts, before the request goes to the
   * provider (default true): the prompt sent is on record even when no answer comes back (the
   * process dies, the provider never answers, a stream is abandoned). Its `model.completion`
   * carries `meta.requestEntry`, the request's entry id. Model calls only: embeddings, tool runs,
   * retrievals and steps have no request entry.
   */
  recordRequests?: boolean;
}

/**
 * Emits `event` to `sink`. An integration never breaks the call it observes: a failure to record
 * is a diagnostic (under the default `failure: 'block'` of `audit`, invalid events would throw
 * in the application's own code path, which an SDK callback must not do).
 */
export function emitTo(sink: AuditSink | undefined, event: AuditEventInput): string {
  const target = sink ?? audit;
  try {
    return target.emit(target instanceof Audit ? event : applyRequestContext(event));
  } catch (err) {
    reportDiagnostic({
      kind: 'emit-failed',
      message: `an integration event (${event.type}) was not recorded: ${(err as Error).message}`,
    });
    return '';
  }
}

/**
 * Emits the `model.request` entry of a model call about to be sent, unless `recordRequests` is
 * false, and returns what the call's `model.completion` adds to its `meta` to point at it:
 * `{requestEntry: id}`, or nothing when no request was recorded or its id is not known yet
 * (`audit` still opening returns ''). `build` makes the event only when it is recorded.
 */
export function emitRequest(options: IntegrationOptions, build: () => AuditEventInput): Meta {
  if (options.recordRequests === false) return {};
  let id: string;
  try {
    id = emitTo(options.audit, build());
  } catch (err) {
    // building the event read the caller's parameters (a getter may throw): never break the call
    reportDiagnostic({
      kind: 'emit-failed',
      message: `an integration event (model.request) was not recorded: ${(err as Error).message}`,
    });
    return {};
  }
  return id === '' ? {} : { requestEntry: id };
}
