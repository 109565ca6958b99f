/**
 * Where an integration's events go: the `audit` singleton by default (which fills them from the
 * request context and redacts them in its trails), or any trail-like object you pass — then the
 * request context is merged here, and the trail's own `redact` option applies.
 */
import { Audit, audit } from '../config/index.js';
import { reportDiagnostic } from '../diagnostics.js';
import type { AuditEventInput } from '../event/index.js';
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
