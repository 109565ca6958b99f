/**
 * The compliance report over a period: volumes by category, type, severity, model and day;
 * guardrail blocks and their reasons; authentication failures; data access and admin actions;
 * erasures and key rotations; reads of the trail; integrity (a full verify, the latest signed
 * checkpoint, the seals); retention state; gaps (quiet periods, dropped-event and recovery
 * records). One streaming pass over the period; JSON is the source of truth, HTML and Markdown
 * render it (report-html.ts, report-md.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { NoteVerifier, openCheckpoint } from '../chain/index.js';
import { type RetentionState, retentionState } from '../retention/state.js';
import { DirSource } from '../store/index.js';
import type { PgSource } from '../store/postgres/index.js';
import type { AuditEntry } from './entry.js';
import { type ContentReveal, query } from './query.js';
import type { QueryFilter } from './query-filter.js';
import type { ReadIssue } from './query-scan.js';
import { entryTimeMs } from './query-time.js';
import { verifyDir } from './verify-dir.js';

/** A count per key, largest first. */
export interface Ranked {
  key: string;
  count: number;
}

/** What `buildReport` returns (and `sealtrail report --format json` prints). */
export interface ComplianceReport {
  format: 'sealtrail-report/1';
  origin: string;
  generatedAt: string;
  period: { from: string | null; to: string | null };
  filter: Record<string, unknown>;
  totals: {
    entries: number;
    byCategory: Ranked[];
    byType: Ranked[];
    bySeverity: Ranked[];
    byOutcome: Ranked[];
    /**
     * Entries per model, kept apart by provider: provider `openai` with name `gpt-4o` is not the
     * name `openai/gpt-4o` given without a provider (`provider` null).
     */
    byModel: Array<{
      provider: string | null;
      name: string;
      count: number;
      inputTokens: number;
      outputTokens: number;
    }>;
    byDay: Array<{ day: string; count: number }>;
  };
  guardrails: {
    decisions: number;
    blocks: number;
    warnings: number;
    blockedBy: Ranked[];
    blockReasons: Ranked[];
  };
  authFailures: { count: number; byActor: Ranked[]; byIp: Ranked[] };
  dataAccess: { count: number; byType: Ranked[]; byActor: Ranked[]; distinctSubjects: number };
  adminActions: { count: number; byType: Ranked[]; byActor: Ranked[] };
  erasures: { events: number; entriesWithErasedContent: number; erasedFields: number };
  keyRotations: { count: number };
  trailReads: { count: number; byActor: Ranked[] };
  integrity: {
    /** Whole-trail verification (null when skipped). */
    verify: { ok: boolean; entries: number; failure: string | null } | null;
    latestCheckpoint: { size: number; time: string | null; signatureVerified: boolean } | null;
    checkpoints: number;
    seals: {
      count: number;
      lastEpoch: number | null;
      lastEnd: string | null;
      lastSize: number | null;
      verified: boolean | null;
    };
  };
  retention: {
    policy: unknown;
    /** Why retention.json is not a valid policy, or null. */
    policyError: string | null;
    oldestEntry: string | null;
    /** Segment files and bytes on disk: null on a PostgreSQL log, which has neither. */
    segments: number | null;
    sealedSegments: number | null;
    archivedSegments: number | null;
    bytesOnDisk: number | null;
    /** Entries before `firstKept` were pruned behind a signed boundary, or null. */
    pruned: RetentionState['pruned'];
    legalHolds: Array<{ id: string; reason: string; createdAt: string; scope: string }>;
    /** Retention actions recorded in the period, by type. */
    actions: Ranked[];
  };
  gaps: {
    thresholdMinutes: number;
    /** Quiet periods found, all of them: `periods` lists the first QUIET_PERIODS_LISTED. */
    count: number;
    periods: Array<{ from: string; to: string; minutes: number }>;
    droppedEvents: number;
    overflowRecords: number;
    recoveries: number;
  };
  issues: { count: number; list: ReadIssue[] };
}

/** Options of {@link buildReport}. */
export interface ReportOptions {
  /** Run a full verify of the trail (default true). */
  verify?: boolean;
  /** The forward-seal seed: the seals are verified too. */
  sealSeed?: string;
  /** Quiet periods longer than this are listed (default 60 minutes). */
  gapMinutes?: number;
  /** Top-N lists are cut to this length (default 10). */
  top?: number;
  reveal?: ContentReveal;
  now?: number;
}

class Counter {
  private readonly m = new Map<string, number>();
  add(key: string | undefined, n = 1): void {
    if (key === undefined) return;
    this.m.set(key, (this.m.get(key) ?? 0) + n);
  }
  get(key: string): number {
    return this.m.get(key) ?? 0;
  }
  get size(): number {
    return this.m.size;
  }
  ranked(top = Number.POSITIVE_INFINITY): Ranked[] {
    return [...this.m]
      .map(([key, count]) => ({ key, count }))
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
      .slice(0, top);
  }
}

function str(e: AuditEntry, group: string, key: string): string | undefined {
  const g = e[group];
  const v = typeof g === 'object' && g !== null ? (g as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : undefined;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = fs.statSync(p);
    total += st.isDirectory() ? dirBytes(p) : st.size;
  }
  return total;
}

/** A growable list of epoch ms (8 bytes an entry, for the gap search). */
class Times {
  private a = new Float64Array(1024);
  n = 0;
  push(t: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = t;
  }
  sorted(): Float64Array {
    return this.a.subarray(0, this.n).sort();
  }
}

/** A quiet period of the report. */
export interface QuietPeriod {
  from: string;
  to: string;
  minutes: number;
}

/** A report lists at most this many quiet periods (earliest first); it counts them all. */
export const QUIET_PERIODS_LISTED = 1000;

/**
 * The quiet periods longer than `gapMs`: how many (`count`) and the first QUIET_PERIODS_LISTED
 * (`periods`, earliest first). Between consecutive event times, from `fromMs` to the first and
 * from the last to `toMs` (bounds that are not finite are left out). The time span of pruned entries (`pruned`) is not quiet but unknown, since they are
 * gone: no period is claimed in it, only the parts before and after it. Reads `sorted` in place,
 * without a copy (8 bytes an entry of a large trail already).
 */
export function quietPeriods(
  sorted: Float64Array,
  bounds: { fromMs: number; toMs: number; gapMs: number; pruned?: { fromMs: number; toMs: number } },
): { count: number; periods: QuietPeriod[] } {
  const { gapMs, pruned } = bounds;
  const periods: QuietPeriod[] = [];
  let count = 0;
  const quiet = (a: number, b: number) => {
    if (b - a <= gapMs) return;
    // counted past the list's end: a list cut at its length must not read as the whole count
    if (count++ < QUIET_PERIODS_LISTED)
      periods.push({
        from: new Date(a).toISOString(),
        to: new Date(b).toISOString(),
        minutes: Math.round((b - a) / 60_000),
      });
  };
  const between = (a: number, b: number) => {
    if (b - a <= gapMs) return;
    if (pruned === undefined || b <= pruned.fromMs || a >= pruned.toMs) quiet(a, b);
    else {
      // the parts before and after the pruned span
      if (a < pruned.fromMs) quiet(a, pruned.fromMs);
      if (b > pruned.toMs) quiet(pruned.toMs, b);
    }
  };
  let prev = Number.isFinite(bounds.fromMs) ? bounds.fromMs : undefined;
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i]!;
    if (prev !== undefined) between(prev, t);
    prev = t;
  }
  if (prev !== undefined && Number.isFinite(bounds.toMs)) between(prev, bounds.toMs);
  return { count, periods };
}

/**
 * Builds the report for the entries matching `filter` (normally a period: `from`, `to`).
 * @throws AuditError USAGE (bad filter), TRAIL_NOT_FOUND.
 */
export async function buildReport(
  dirOrSource: string | DirSource | PgSource,
  filter: QueryFilter,
  options: ReportOptions = {},
): Promise<ComplianceReport> {
  const source = typeof dirOrSource === 'string' ? new DirSource(dirOrSource) : dirOrSource;
  const top = options.top ?? 10;
  const gapMinutes = options.gapMinutes ?? 60;
  const q = query(source, filter, {
    order: 'oldest',
    ...(options.reveal ? { reveal: options.reveal } : {}),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const byCategory = new Counter();
  const byType = new Counter();
  const bySeverity = new Counter();
  const byOutcome = new Counter();
  const byModel = new Map<
    string,
    { provider: string | null; name: string; count: number; inputTokens: number; outputTokens: number }
  >();
  const byDay = new Counter();
  const blockedBy = new Counter();
  const blockReasons = new Counter();
  const authActors = new Counter();
  const authIps = new Counter();
  const dataTypes = new Counter();
  const dataActors = new Counter();
  const subjects = new Set<string>();
  const adminTypes = new Counter();
  const adminActors = new Counter();
  const readers = new Counter();
  const times = new Times();
  let entries = 0;
  let decisions = 0;
  let blocks = 0;
  let warnings = 0;
  let erasureEvents = 0;
  let erasedEntries = 0;
  let erasedFields = 0;
  let keyRotations = 0;
  let dropped = 0;
  let overflowRecords = 0;
  let recoveries = 0;
  for await (const e of q) {
    entries++;
    byCategory.add(e.category);
    byType.add(e.type);
    bySeverity.add(e.severity);
    byOutcome.add(typeof e.outcome === 'string' ? e.outcome : undefined);
    byDay.add(e.ts.slice(0, 10));
    const t = Date.parse(e.ts);
    if (!Number.isNaN(t)) times.push(t);
    const model = str(e, 'model', 'name');
    if (model !== undefined) {
      const provider = str(e, 'model', 'provider') ?? null;
      // a structured key: a name may hold the '/' a joined key would use
      const key = JSON.stringify([provider, model]);
      const m = byModel.get(key) ?? { provider, name: model, count: 0, inputTokens: 0, outputTokens: 0 };
      const usage = e.usage as { inputTokens?: number; outputTokens?: number } | undefined;
      m.count++;
      m.inputTokens += usage?.inputTokens ?? 0;
      m.outputTokens += usage?.outputTokens ?? 0;
      byModel.set(key, m);
    }
    if (Array.isArray(e.guardrails)) {
      for (const g of e.guardrails as Array<{ name?: string; decision?: string; reason?: string }>) {
        decisions++;
        if (g.decision === 'block') {
          blocks++;
          blockedBy.add(g.name ?? '(unnamed)');
          blockReasons.add(g.reason ?? '(no reason given)');
        } else if (g.decision === 'warn') warnings++;
      }
    }
    const actor = str(e, 'actor', 'id') ?? '(unknown)';
    if (e.type === 'auth.failure') {
      authActors.add(actor);
      authIps.add(str(e, 'actor', 'ip') ?? '(unknown)');
    }
    if (e.category === 'data') {
      dataTypes.add(e.type);
      dataActors.add(actor);
      if (typeof e.subject === 'string') subjects.add(e.subject);
    }
    if (e.category === 'admin') {
      adminTypes.add(e.type);
      adminActors.add(actor);
    }
    if (e.type === 'compliance.gdpr_erasure' || e.type === 'audit.erasure') erasureEvents++;
    if (e.type === 'admin.key_rotated') keyRotations++;
    if (e.type === 'audit.read') readers.add(actor);
    if (e.erased !== undefined && e.erased.length > 0) {
      erasedEntries++;
      erasedFields += e.erased.length;
    }
    if (e.type === 'system.overflow') {
      overflowRecords++;
      const lost = (e.meta as { lost?: unknown } | undefined)?.lost;
      if (typeof lost === 'number') dropped += lost;
    }
    if (e.type === 'system.recovery') recoveries++;
  }

  const dir = source instanceof DirSource ? source : undefined;
  // A PostgreSQL log has no retention files (policy, holds, boundary, archive) of its own.
  const retention: RetentionState =
    dir === undefined
      ? { policy: null, policyError: null, holds: [], holdsError: null, pruned: null, archivedSegments: 0 }
      : retentionState(dir.layout);

  const f = q.filter;
  const now = options.now ?? Date.now();
  const prunedFrom = entryTimeMs(retention.pruned?.oldest);
  const prunedTo = entryTimeMs(retention.pruned?.newest);
  const quiet = quietPeriods(times.sorted(), {
    fromMs: f.fromMs,
    // without `to` the period ends now: a trail that went quiet last week shows it
    toMs: Math.min(f.toMs, now),
    gapMs: gapMinutes * 60_000,
    ...(prunedFrom <= prunedTo ? { pruned: { fromMs: prunedFrom, toMs: prunedTo } } : {}),
  });

  // Integrity of the whole trail.
  let verify: ComplianceReport['integrity']['verify'] = null;
  let sealsVerified: boolean | null = null;
  if (options.verify !== false) {
    const r = verifyDir(
      source instanceof DirSource ? source.layout.dir : source,
      options.sealSeed === undefined ? {} : { sealSeed: options.sealSeed },
    );
    verify = {
      ok: r.ok,
      entries: r.entries,
      failure: r.failure === undefined ? null : `${r.failure.code}: ${r.failure.message}`,
    };
    if (options.sealSeed !== undefined) {
      sealsVerified = r.ok ? true : String(r.failure?.code).startsWith('SEAL_') ? false : null;
    }
  }
  const stored = source.checkpoints();
  const last = stored.at(-1);
  let latestCheckpoint: ComplianceReport['integrity']['latestCheckpoint'] = null;
  const note = source.latestCheckpoint();
  if (note !== undefined) {
    let signatureVerified = true;
    let size = Number(note.split('\n')[1]) || 0;
    try {
      size = openCheckpoint(note, NoteVerifier.fromVkey(source.meta.verifierKey)).size;
    } catch {
      signatureVerified = false;
    }
    latestCheckpoint = { size, time: last?.size === size ? last.time : null, signatureVerified };
  }
  const seals = source.seals();
  const lastSeal = seals.at(-1);
  const segments = dir?.segments();
  const sealedSegments = segments?.filter((s) => s.summary !== undefined).length ?? null;
  let oldest: string | null = null;
  for await (const e of query(source, {}, { order: 'oldest', limit: 1 })) oldest = e.ts;

  return {
    format: 'sealtrail-report/1',
    origin: source.meta.origin,
    generatedAt: new Date(now).toISOString(),
    period: {
      from: Number.isFinite(f.fromMs) ? new Date(f.fromMs).toISOString() : null,
      to: Number.isFinite(f.toMs) ? new Date(f.toMs).toISOString() : null,
    },
    filter: { ...f.normalized },
    totals: {
      entries,
      byCategory: byCategory.ranked(),
      byType: byType.ranked(),
      bySeverity: bySeverity.ranked(),
      byOutcome: byOutcome.ranked(),
      byModel: [...byModel]
        .sort(([ka, a], [kb, b]) => b.count - a.count || (ka < kb ? -1 : 1))
        .map(([, m]) => m),
      byDay: byDay
        .ranked()
        .map((r) => ({ day: r.key, count: r.count }))
        .sort((a, b) => (a.day < b.day ? -1 : 1)),
    },
    guardrails: {
      decisions,
      blocks,
      warnings,
      blockedBy: blockedBy.ranked(top),
      blockReasons: blockReasons.ranked(top),
    },
    authFailures: {
      count: byType.get('auth.failure'),
      byActor: authActors.ranked(top),
      byIp: authIps.ranked(top),
    },
    dataAccess: {
      count: byCategory.get('data'),
      byType: dataTypes.ranked(),
      byActor: dataActors.ranked(top),
      distinctSubjects: subjects.size,
    },
    adminActions: {
      count: byCategory.get('admin'),
      byType: adminTypes.ranked(),
      byActor: adminActors.ranked(top),
    },
    erasures: { events: erasureEvents, entriesWithErasedContent: erasedEntries, erasedFields },
    keyRotations: { count: keyRotations },
    trailReads: { count: byType.get('audit.read'), byActor: readers.ranked(top) },
    integrity: {
      verify,
      latestCheckpoint,
      checkpoints: stored.length,
      seals: {
        count: seals.length,
        lastEpoch: lastSeal?.epoch ?? null,
        lastEnd: lastSeal === undefined ? null : new Date(lastSeal.end).toISOString(),
        lastSize: lastSeal?.size ?? null,
        verified: sealsVerified,
      },
    },
    retention: {
      policy: retention.policy,
      policyError: retention.policyError ?? retention.holdsError,
      oldestEntry: oldest,
      segments: segments?.length ?? null,
      sealedSegments,
      archivedSegments: dir === undefined ? null : retention.archivedSegments,
      bytesOnDisk: dir === undefined ? null : dirBytes(dir.layout.dir),
      pruned: retention.pruned,
      legalHolds: retention.holds.map((h) => ({
        id: h.id,
        reason: h.reason,
        createdAt: h.createdAt,
        scope: h.scope === undefined ? 'whole trail' : JSON.stringify(h.scope),
      })),
      actions: byType
        .ranked()
        .filter((t) => t.key.startsWith('retention.') || t.key === 'admin.retention_applied'),
    },
    gaps: {
      thresholdMinutes: gapMinutes,
      count: quiet.count,
      periods: quiet.periods,
      droppedEvents: dropped,
      overflowRecords,
      recoveries,
    },
    issues: { count: q.stats.issues, list: q.issues },
  };
}
