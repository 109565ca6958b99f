/**
 * The library's own warnings (write failures, overflow, recovery): published on the
 * `sealtrail:diagnostics` diagnostics channel and written to stderr once per kind, so they never
 * mix with the application's logs and never repeat endlessly. Never carries a key or a payload.
 */
import diagnosticsChannel from 'node:diagnostics_channel';

export const DIAGNOSTICS_CHANNEL = 'sealtrail:diagnostics';
const channel = diagnosticsChannel.channel(DIAGNOSTICS_CHANNEL);
const seen = new Set<string>();

/** A warning from the library about itself. */
export interface Diagnostic {
  kind:
    | 'write-failed'
    | 'overflow'
    | 'recovered'
    | 'exit-flush-timeout'
    | 'worker-failed'
    /** A subject's data key could not be fetched: its events were encrypted under the master key. */
    | 'subject-key-failed'
    /** `audit.enable()` settings that were refused or are not yet in effect. */
    | 'config'
    /** An event dropped under `failure: 'continue'`. */
    | 'emit-failed'
    /** An event emitted through `audit` before `audit.enable()`. */
    | 'not-enabled'
    /** An erasure on PostgreSQL destroyed the key but could not count all it reached. */
    | 'erasure-count-incomplete';
  message: string;
  detail?: Record<string, unknown>;
}

/** Where this thread's diagnostics go instead, in a thread of the library's own (see {@link forwardDiagnostics}). */
let forward: ((d: Diagnostic) => void) | undefined;

/**
 * Hands every diagnostic of this thread to `to` instead of publishing it: the writer's worker
 * thread sends them to the application's thread, whose diagnostics channel the application
 * subscribes to (a channel is per thread).
 */
export function forwardDiagnostics(to: (d: Diagnostic) => void): void {
  forward = to;
}

/** Publishes a diagnostic; the first of each kind also goes to stderr unless SEALTRAIL_QUIET=1. */
export function reportDiagnostic(d: Diagnostic): void {
  if (forward !== undefined) {
    forward(d);
    return;
  }
  if (channel.hasSubscribers) channel.publish(d);
  if (!seen.has(d.kind)) {
    seen.add(d.kind);
    if (process.env.SEALTRAIL_QUIET !== '1') process.stderr.write(`sealtrail: ${d.message}\n`);
  }
}
