/**
 * The counts behind the viewer's charts: entries of a time window in equal buckets, by category,
 * with the guardrail blocks and authentication failures of each bucket. Pure logic over entries
 * (the route reads them with `query`); content payloads are never looked at.
 */
import { AuditError } from '../errors.js';
import type { AuditEntry } from '../read/index.js';

/** Counts per bucket, oldest bucket first. */
export interface TrailStats {
  /** Start of the first bucket and end of the last, ISO 8601. */
  from: string;
  to: string;
  bucketMs: number;
  /** Category → entries per bucket. */
  categories: Record<string, number[]>;
  /** Entries with a guardrail decision `block` (or a `guardrail.*` entry with outcome `blocked`). */
  guardrailBlocks: number[];
  /** `auth.failure` entries. */
  authFailures: number[];
  total: number;
}

/** Most buckets in one answer. */
export const MAX_BUCKETS = 200;

/**
 * The longest window, 90 days: the route reads every entry of the window, so a window reaching
 * back to the trail's start would have one request read the whole trail.
 */
export const MAX_STATS_WINDOW_MS = 90 * 24 * 3600_000;

function blocked(e: AuditEntry): boolean {
  if (Array.isArray(e.guardrails)) {
    for (const g of e.guardrails as unknown[]) {
      if (typeof g === 'object' && g !== null && (g as { decision?: unknown }).decision === 'block')
        return true;
    }
  }
  return e.type.startsWith('guardrail.') && e.outcome === 'blocked';
}

/** Accumulates entries into buckets of [fromMs, toMs). */
export class StatsBuilder {
  private readonly stats: TrailStats;
  private readonly fromMs: number;

  /**
   * @throws AuditError USAGE when `buckets` is not 1 to {@link MAX_BUCKETS} (field `buckets`), or
   * the window is empty or longer than {@link MAX_STATS_WINDOW_MS} (field `since`).
   */
  constructor(fromMs: number, toMs: number, buckets: number) {
    if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS)
      throw new AuditError('USAGE', `buckets: expected 1 to ${MAX_BUCKETS}`, { field: 'buckets' });
    if (!(toMs > fromMs))
      throw new AuditError('USAGE', 'since: expected a window in the past', { field: 'since' });
    if (toMs - fromMs > MAX_STATS_WINDOW_MS)
      throw new AuditError('USAGE', 'since: the window may be at most 90 days', { field: 'since' });
    const bucketMs = Math.ceil((toMs - fromMs) / buckets);
    this.fromMs = fromMs;
    this.stats = {
      from: new Date(fromMs).toISOString(),
      to: new Date(fromMs + bucketMs * buckets).toISOString(),
      bucketMs,
      categories: Object.create(null) as Record<string, number[]>,
      guardrailBlocks: new Array(buckets).fill(0),
      authFailures: new Array(buckets).fill(0),
      total: 0,
    };
  }

  /** Counts one entry (entries outside the window are ignored). */
  add(e: AuditEntry): void {
    const s = this.stats;
    const i = Math.floor((Date.parse(e.ts) - this.fromMs) / s.bucketMs);
    if (!(i >= 0 && i < s.authFailures.length)) return;
    let row = s.categories[e.category];
    if (row === undefined) {
      row = new Array<number>(s.authFailures.length).fill(0);
      s.categories[e.category] = row;
    }
    row[i] = (row[i] ?? 0) + 1;
    if (blocked(e)) s.guardrailBlocks[i]!++;
    if (e.type === 'auth.failure') s.authFailures[i]!++;
    s.total++;
  }

  /** The counts so far. */
  result(): TrailStats {
    return this.stats;
  }
}
