/**
 * Where anomaly findings go: alert handlers (any function) and a webhook handler that POSTs the
 * finding as JSON, signed with HMAC-SHA256 over the timestamp and the body (header
 * `X-Sealtrail-Signature: t=<unix seconds>,v1=<hex>`), retried with exponential backoff on network
 * errors, timeouts, 429 and 5xx. `detectAnomalies` runs the rules over a trail's history, records
 * each new finding as a `security.anomaly` event through the caller's `record` and calls the
 * handlers; a handler that fails is reported, never fatal to the others.
 */
import { createHmac } from 'node:crypto';
import { AuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import { DirSource } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';
import { AnomalyDetector, type AnomalyFinding, type AnomalyRules, anomalyEvent } from './anomaly.js';
import { query } from './query.js';
import type { QueryFilter } from './query-filter.js';
import type { ReadIssue } from './query-scan.js';

/** Receives each finding. May return a promise; what it throws is reported per handler. */
export type AlertHandler = (finding: AnomalyFinding, context: { origin: string }) => void | Promise<void>;

/** Options of {@link webhookAlert}. */
export interface WebhookOptions {
  url: string;
  /** The HMAC key shared with the receiver (at least 16 characters). */
  secret: string;
  /** Retries after the first attempt (default 3). */
  retries?: number;
  /** First backoff; doubled at each retry (default 500 ms). */
  backoffMs?: number;
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number;
}

/** The signature header value for `body` sent at `t` (unix seconds). */
export function signWebhook(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * A handler that POSTs `{"type":"sealtrail.anomaly","origin":..,"finding":..}` to `url`.
 * Headers: `Content-Type: application/json`, `X-Sealtrail-Signature` (see {@link signWebhook}),
 * `X-Sealtrail-Finding` (the finding id, the same on every retry, for the receiver to drop repeats).
 * Credentials in the url (`https://user:pass@host/...`) are sent as HTTP Basic authorization.
 * Errors name the receiver by its origin only: a webhook's path or query often is its secret.
 * @throws AuditError USAGE for a bad url or a short secret (at creation); the handler rejects with
 * AuditError ALERT_DELIVERY_FAILED after the last attempt.
 */
export function webhookAlert(options: WebhookOptions): AlertHandler {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new AuditError('USAGE', 'url: expected an http or https url', { field: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AuditError('USAGE', 'url: expected an http or https url', { field: 'url' });
  }
  if (typeof options.secret !== 'string' || options.secret.length < 16) {
    throw new AuditError('USAGE', 'secret: expected at least 16 characters', { field: 'secret' });
  }
  // fetch() refuses a url with credentials, quoting the whole url (password included) in its error.
  const basic =
    url.username === '' && url.password === ''
      ? undefined
      : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  url.username = '';
  url.password = '';
  const retries = options.retries ?? 3;
  const backoffMs = options.backoffMs ?? 500;
  const timeoutMs = options.timeoutMs ?? 5000;
  return async (finding, context) => {
    const body = JSON.stringify({ type: 'sealtrail.anomaly', origin: context.origin, finding });
    let last = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
      const t = Math.floor(Date.now() / 1000);
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-sealtrail-signature': signWebhook(options.secret, t, body),
            'x-sealtrail-finding': finding.id,
            ...(basic === undefined ? {} : { authorization: basic }),
          },
          body,
          signal: AbortSignal.timeout(timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        last = `HTTP ${res.status}`;
        if (res.status !== 429 && res.status < 500) break; // the receiver refused: retrying will not help
      } catch (err) {
        // Not the error's message, which can quote the url.
        const code = (err as { cause?: { code?: unknown } }).cause?.code;
        last =
          (err as Error).name === 'TimeoutError'
            ? `no answer in ${timeoutMs} ms`
            : `not delivered (${typeof code === 'string' ? code : 'network error'})`;
      }
    }
    throw new AuditError('ALERT_DELIVERY_FAILED', `webhook ${url.origin}: ${last}`, {
      finding: finding.id,
    });
  };
}

/** What {@link detectAnomalies} found and did. */
export interface AnomalyRun {
  findings: AnomalyFinding[];
  /** Findings already recorded by an earlier run (same id), not recorded or alerted again. */
  alreadyRecorded: number;
  /** Handler failures: which finding, which handler (index), why. */
  alertFailures: Array<{ finding: string; handler: number; reason: string }>;
  issues: ReadIssue[];
  entries: number;
}

/** Options of {@link detectAnomalies}. */
export interface DetectOptions {
  rules?: Partial<AnomalyRules>;
  handlers?: AlertHandler[];
  /** Records a finding's `security.anomaly` event (for example `trail.emit`); called before the handlers. */
  record?: (event: AuditEventInput) => void | Promise<void>;
  now?: number;
}

/**
 * Runs the anomaly rules over the entries matching `filter`, oldest first. Findings whose id is
 * already in the trail as a `security.anomaly` event are counted, not recorded or alerted again.
 * @throws AuditError USAGE (bad filter or rule), TRAIL_NOT_FOUND.
 */
export async function detectAnomalies(
  dirOrSource: string | DirSource | PgSource,
  filter: QueryFilter,
  options: DetectOptions = {},
): Promise<AnomalyRun> {
  const source = typeof dirOrSource === 'string' ? new DirSource(dirOrSource) : dirOrSource;
  const detector = new AnomalyDetector(options.rules);
  const q = query(source, filter, {
    order: 'oldest',
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const findings: AnomalyFinding[] = [];
  let entries = 0;
  for await (const e of q) {
    entries++;
    findings.push(...detector.observe(e));
  }
  findings.push(...detector.finish());
  const recorded = new Set<string>();
  if (findings.length > 0) {
    for await (const e of query(source, { type: 'security.anomaly' }, { order: 'oldest' })) {
      const id = (e.meta as { findingId?: unknown } | undefined)?.findingId;
      if (typeof id === 'string') recorded.add(id);
    }
  }
  const run: AnomalyRun = { findings, alreadyRecorded: 0, alertFailures: [], issues: q.issues, entries };
  const context = { origin: source.meta.origin };
  for (const f of findings) {
    if (recorded.has(f.id)) {
      run.alreadyRecorded++;
      continue;
    }
    await options.record?.(anomalyEvent(f));
    const handlers = options.handlers ?? [];
    for (let i = 0; i < handlers.length; i++) {
      try {
        await handlers[i]!(f, context);
      } catch (err) {
        run.alertFailures.push({ finding: f.id, handler: i, reason: (err as Error).message });
      }
    }
  }
  return run;
}
