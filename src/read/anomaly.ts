/**
 * Anomaly detection over the stream of entries: authentication-failure bursts per actor and per
 * IP, request-rate spikes against a rolling baseline, guardrail-block spikes, off-hours access,
 * and one actor touching many distinct data subjects. Rules keep small per-key state, so history
 * of any length streams through in one pass; entries are taken in trail order and bucketed by
 * their event time (never later than the time the trail took them). Each finding becomes a `security.anomaly` event (`anomalyEvent`) and goes to
 * the alert handlers. Thresholds are documented in docs/reading.md.
 */
import { createHash } from 'node:crypto';
import { AuditError } from '../errors.js';
import { type AuditEventInput, uuid7Ms } from '../event/index.js';
import type { AuditEntry } from './entry.js';
import { entryTimeMs } from './query-time.js';

/** The rules and their thresholds. */
export interface AnomalyRules {
  /** At least `threshold` auth failures (`auth.failure`, `security.invalid_token`) from one actor or one IP within `windowMs`. */
  authFailureBurst: { threshold: number; windowMs: number } | false;
  /**
   * Events per `bucketMs` above `factor` × the rolling mean of the previous `baselineBuckets`
   * buckets and above mean + `sigmas` standard deviations, with at least `minCount` events; only
   * after `warmupBuckets` buckets of history.
   */
  requestSpike: RateRule | false;
  /** The same test on guardrail blocks (`guardrails[].decision` = block). */
  guardrailBlockSpike: RateRule | false;
  /**
   * Access (categories `data`, `admin`, and `audit.read`) outside working hours: before
   * `startHour` or from `endHour` on, or on a weekend day, in the zone `utcOffsetMinutes` east of
   * UTC. One finding per actor per day.
   */
  offHours: { startHour: number; endHour: number; weekendDays: number[]; utcOffsetMinutes: number } | false;
  /** One actor touching at least `threshold` distinct subjects within `windowMs`. */
  manySubjects: { threshold: number; windowMs: number } | false;
}

/** A rate rule's parameters. */
export interface RateRule {
  bucketMs: number;
  baselineBuckets: number;
  warmupBuckets: number;
  factor: number;
  sigmas: number;
  minCount: number;
}

/** The default rules (see docs/reading.md "Anomalies"). */
export const DEFAULT_ANOMALY_RULES: AnomalyRules = {
  authFailureBurst: { threshold: 5, windowMs: 5 * 60_000 },
  requestSpike: {
    bucketMs: 60_000,
    baselineBuckets: 60,
    warmupBuckets: 10,
    factor: 3,
    sigmas: 4,
    minCount: 30,
  },
  guardrailBlockSpike: {
    bucketMs: 5 * 60_000,
    baselineBuckets: 24,
    warmupBuckets: 6,
    factor: 3,
    sigmas: 3,
    minCount: 5,
  },
  offHours: { startHour: 7, endHour: 20, weekendDays: [0, 6], utcOffsetMinutes: 0 },
  manySubjects: { threshold: 50, windowMs: 60 * 60_000 },
};

/** The name of each rule. */
export type AnomalyRuleName = keyof AnomalyRules;

/** One finding. */
export interface AnomalyFinding {
  /** Stable id: the same finding found again (a re-run over the same history) has the same id. */
  id: string;
  rule: AnomalyRuleName;
  severity: 'warning' | 'critical';
  /** What the rule counted per: `actor:<id>`, `ip:<addr>`, `trail`. */
  key: string;
  actorId?: string;
  ip?: string;
  /** The event-time span of what was counted. */
  from: string;
  to: string;
  count: number;
  threshold: number;
  /** Baseline mean per bucket, for the spike rules. */
  baseline?: number;
  /** Seqs of the entries that made the finding (at most 20). */
  seqs: number[];
  message: string;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function findingId(rule: string, key: string, from: string): string {
  return createHash('sha256').update(`${rule}\n${key}\n${from}`).digest('hex').slice(0, 24);
}

function str(e: AuditEntry, group: string, k: string): string | undefined {
  const g = e[group];
  const v = typeof g === 'object' && g !== null ? (g as Record<string, unknown>)[k] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** Sliding window of event times per key. */
class Burst {
  private readonly byKey = new Map<string, Array<{ t: number; seq: number }>>();
  constructor(
    private readonly threshold: number,
    private readonly windowMs: number,
  ) {}
  /** Adds an event; returns the window's events when it reaches the threshold (then starts over). */
  add(key: string, t: number, seq: number): Array<{ t: number; seq: number }> | undefined {
    let list = this.byKey.get(key);
    if (list === undefined) {
      list = [];
      this.byKey.set(key, list);
    }
    list.push({ t, seq });
    while (list.length > 0 && list[0]!.t <= t - this.windowMs) list.shift();
    if (list.length < this.threshold) return undefined;
    this.byKey.set(key, []);
    return list;
  }
}

/** Counts per time bucket against a rolling baseline of the previous buckets. */
class RateSpike {
  private bucket = Number.NaN;
  private count = 0;
  private seqs: number[] = [];
  private readonly history: number[] = [];
  constructor(private readonly rule: RateRule) {}
  /** Adds `n` at time t; returns the bucket closed as a spike, if the bucket changed and it was one. */
  add(
    t: number,
    seq: number,
    n = 1,
  ): { start: number; count: number; mean: number; seqs: number[] } | undefined {
    const b = Math.floor(t / this.rule.bucketMs);
    let spike: ReturnType<RateSpike['add']>;
    if (Number.isNaN(this.bucket)) this.bucket = b;
    if (b > this.bucket) {
      spike = this.close();
      // Empty buckets in between count as zeros (at most a baseline's worth).
      for (let i = this.bucket + 1; i < b && i < this.bucket + 1 + this.rule.baselineBuckets; i++)
        this.push(0);
      this.bucket = b;
    }
    if (b === this.bucket) {
      this.count += n;
      if (this.seqs.length < 20) this.seqs.push(seq);
    }
    return spike;
  }
  /** Closes the current bucket (at the end of the stream). */
  close(): ReturnType<RateSpike['add']> {
    if (Number.isNaN(this.bucket)) return undefined;
    const h = this.history;
    let spike: ReturnType<RateSpike['add']>;
    if (h.length >= this.rule.warmupBuckets) {
      const mean = h.reduce((a, x) => a + x, 0) / h.length;
      const sd = Math.sqrt(h.reduce((a, x) => a + (x - mean) ** 2, 0) / h.length);
      const c = this.count;
      if (c >= this.rule.minCount && c > this.rule.factor * mean && c > mean + this.rule.sigmas * sd) {
        spike = { start: this.bucket * this.rule.bucketMs, count: c, mean, seqs: this.seqs };
      }
    }
    this.push(this.count);
    this.count = 0;
    this.seqs = [];
    return spike;
  }
  private push(x: number): void {
    this.history.push(x);
    if (this.history.length > this.rule.baselineBuckets) this.history.shift();
  }
}

function checkRules(rules: AnomalyRules): void {
  const pos = (name: string, v: number) => {
    if (!Number.isFinite(v) || v <= 0) {
      throw new AuditError('USAGE', `rules.${name}: expected a positive number`, { field: `rules.${name}` });
    }
  };
  if (rules.authFailureBurst) {
    pos('authFailureBurst.threshold', rules.authFailureBurst.threshold);
    pos('authFailureBurst.windowMs', rules.authFailureBurst.windowMs);
  }
  for (const name of ['requestSpike', 'guardrailBlockSpike'] as const) {
    const r = rules[name];
    if (r) {
      for (const k of ['bucketMs', 'baselineBuckets', 'factor', 'minCount'] as const)
        pos(`${name}.${k}`, r[k]);
      // left out or NaN, either made every comparison false: the rule never found anything
      for (const k of ['warmupBuckets', 'sigmas'] as const) {
        if (typeof r[k] !== 'number' || !(r[k] >= 0) || !Number.isFinite(r[k]))
          throw new AuditError('USAGE', `rules.${name}.${k}: expected a number >= 0`, {
            field: `rules.${name}.${k}`,
          });
      }
    }
  }
  if (rules.manySubjects) {
    pos('manySubjects.threshold', rules.manySubjects.threshold);
    pos('manySubjects.windowMs', rules.manySubjects.windowMs);
  }
  if (rules.offHours) {
    const { startHour, endHour, weekendDays, utcOffsetMinutes } = rules.offHours;
    if (!(startHour >= 0 && startHour <= 24 && endHour >= startHour && endHour <= 24)) {
      throw new AuditError('USAGE', 'rules.offHours: expected 0 <= startHour <= endHour <= 24', {
        field: 'rules.offHours',
      });
    }
    // NaN made the first entry's local time an invalid Date, whose toISOString threw a RangeError
    if (typeof utcOffsetMinutes !== 'number' || !(Math.abs(utcOffsetMinutes) <= 24 * 60)) {
      throw new AuditError('USAGE', 'rules.offHours.utcOffsetMinutes: expected minutes from -1440 to 1440', {
        field: 'rules.offHours.utcOffsetMinutes',
      });
    }
    if (!Array.isArray(weekendDays) || !weekendDays.every((d) => Number.isInteger(d) && d >= 0 && d <= 6)) {
      throw new AuditError('USAGE', 'rules.offHours.weekendDays: expected days 0 (Sunday) to 6', {
        field: 'rules.offHours.weekendDays',
      });
    }
  }
}

/**
 * Runs the rules over entries given one at a time (in trail order). `observe` returns the
 * findings an entry completed; `finish` those still open at the end of the stream.
 */
export class AnomalyDetector {
  readonly rules: AnomalyRules;
  private readonly authByActor: Burst | undefined;
  private readonly authByIp: Burst | undefined;
  private readonly requests: RateSpike | undefined;
  private readonly blocks: RateSpike | undefined;
  private readonly offHoursSeen = new Set<string>();
  private readonly subjects = new Map<string, Map<string, { t: number; seq: number }>>();

  /** @throws AuditError USAGE naming a bad threshold. */
  constructor(rules: Partial<AnomalyRules> = {}) {
    this.rules = { ...DEFAULT_ANOMALY_RULES, ...rules };
    checkRules(this.rules);
    const a = this.rules.authFailureBurst;
    if (a) {
      this.authByActor = new Burst(a.threshold, a.windowMs);
      this.authByIp = new Burst(a.threshold, a.windowMs);
    }
    if (this.rules.requestSpike) this.requests = new RateSpike(this.rules.requestSpike);
    if (this.rules.guardrailBlockSpike) this.blocks = new RateSpike(this.rules.guardrailBlockSpike);
  }

  observe(e: AuditEntry): AnomalyFinding[] {
    if (e.type === 'security.anomaly') return []; // findings never feed the rules
    const ts = entryTimeMs(e.ts);
    if (Number.isNaN(ts)) return [];
    // An entry cannot have happened after the trail took it: its id (UUIDv7, made by the trail,
    // not the producer) holds that time. A producer's `ts` ahead of it (one event dated 2099) would
    // move the rate rules' buckets past every entry after it, which then went uncounted.
    const recorded = uuid7Ms(e.id);
    const t = recorded !== undefined && recorded < ts ? recorded : ts;
    const out: AnomalyFinding[] = [];
    const actor = str(e, 'actor', 'id');
    const ip = str(e, 'actor', 'ip');

    const a = this.rules.authFailureBurst;
    if (a && (e.type === 'auth.failure' || e.type === 'security.invalid_token')) {
      for (const [burst, key, label] of [
        [this.authByActor, actor === undefined ? undefined : `actor:${actor}`, `actor ${actor}`],
        [this.authByIp, ip === undefined ? undefined : `ip:${ip}`, `address ${ip}`],
      ] as const) {
        if (burst === undefined || key === undefined) continue;
        const hit = burst.add(key, t, e.seq);
        if (hit !== undefined) {
          out.push(
            this.finding('authFailureBurst', 'critical', key, hit, a.threshold, {
              ...(actor === undefined ? {} : { actorId: actor }),
              ...(ip === undefined ? {} : { ip }),
              message: `${hit.length} authentication failures from ${label} within ${a.windowMs / 60_000} min`,
            }),
          );
        }
      }
    }

    const spike = this.requests?.add(t, e.seq);
    if (spike !== undefined) out.push(this.spikeFinding('requestSpike', spike, 'events'));
    const blocks = Array.isArray(e.guardrails)
      ? (e.guardrails as Array<{ decision?: unknown }>).filter((g) => g?.decision === 'block').length
      : 0;
    const bspike = this.blocks?.add(t, e.seq, blocks);
    if (bspike !== undefined) out.push(this.spikeFinding('guardrailBlockSpike', bspike, 'guardrail blocks'));

    const o = this.rules.offHours;
    if (
      o &&
      actor !== undefined &&
      (e.category === 'data' || e.category === 'admin' || e.type === 'audit.read')
    ) {
      const local = new Date(t + o.utcOffsetMinutes * 60_000);
      const hour = local.getUTCHours();
      const off = hour < o.startHour || hour >= o.endHour || o.weekendDays.includes(local.getUTCDay());
      const day = local.toISOString().slice(0, 10);
      if (off && !this.offHoursSeen.has(`${actor}\n${day}`)) {
        this.offHoursSeen.add(`${actor}\n${day}`);
        out.push(
          this.finding('offHours', 'warning', `actor:${actor}`, [{ t, seq: e.seq }], 1, {
            actorId: actor,
            ...(ip === undefined ? {} : { ip }),
            message: `${e.type} by ${actor} at ${local.toISOString().slice(11, 16)} (UTC${o.utcOffsetMinutes >= 0 ? '+' : '-'}${Math.abs(o.utcOffsetMinutes / 60)}) on ${day}, outside working hours`,
          }),
        );
      }
    }

    const m = this.rules.manySubjects;
    if (m && actor !== undefined && typeof e.subject === 'string' && e.subject !== actor) {
      let seen = this.subjects.get(actor);
      if (seen === undefined) {
        seen = new Map();
        this.subjects.set(actor, seen);
      }
      seen.delete(e.subject);
      seen.set(e.subject, { t, seq: e.seq });
      for (const [s, v] of seen) {
        if (v.t > t - m.windowMs) break; // insertion order is time order for one actor's stream
        seen.delete(s);
      }
      if (seen.size >= m.threshold) {
        const hit = [...seen.values()];
        this.subjects.set(actor, new Map());
        out.push(
          this.finding('manySubjects', 'warning', `actor:${actor}`, hit, m.threshold, {
            actorId: actor,
            message: `${actor} touched ${hit.length} distinct data subjects within ${m.windowMs / 60_000} min`,
          }),
        );
      }
    }
    return out;
  }

  /** Findings still open at the end of the stream (the last rate buckets). */
  finish(): AnomalyFinding[] {
    const out: AnomalyFinding[] = [];
    const s = this.requests?.close();
    if (s !== undefined) out.push(this.spikeFinding('requestSpike', s, 'events'));
    const b = this.blocks?.close();
    if (b !== undefined) out.push(this.spikeFinding('guardrailBlockSpike', b, 'guardrail blocks'));
    return out;
  }

  private spikeFinding(
    rule: 'requestSpike' | 'guardrailBlockSpike',
    s: { start: number; count: number; mean: number; seqs: number[] },
    what: string,
  ): AnomalyFinding {
    const r = this.rules[rule] as RateRule;
    const from = iso(s.start);
    return {
      id: findingId(rule, 'trail', from),
      rule,
      severity: 'warning',
      key: 'trail',
      from,
      to: iso(s.start + r.bucketMs),
      count: s.count,
      threshold: Math.max(r.minCount, Math.ceil(r.factor * s.mean)),
      baseline: Math.round(s.mean * 100) / 100,
      seqs: s.seqs,
      message: `${s.count} ${what} in ${r.bucketMs / 60_000} min from ${from}, against a baseline of ${s.mean.toFixed(1)}`,
    };
  }

  private finding(
    rule: AnomalyRuleName,
    severity: 'warning' | 'critical',
    key: string,
    hit: Array<{ t: number; seq: number }>,
    threshold: number,
    extra: { actorId?: string; ip?: string; message: string },
  ): AnomalyFinding {
    const from = iso(Math.min(...hit.map((h) => h.t)));
    return {
      id: findingId(rule, key, from),
      rule,
      severity,
      key,
      ...(extra.actorId === undefined ? {} : { actorId: extra.actorId }),
      ...(extra.ip === undefined ? {} : { ip: extra.ip }),
      from,
      to: iso(Math.max(...hit.map((h) => h.t))),
      count: hit.length,
      threshold,
      seqs: hit.slice(0, 20).map((h) => h.seq),
      message: extra.message,
    };
  }
}

/** The `security.anomaly` event that records a finding in the trail. */
export function anomalyEvent(f: AnomalyFinding): AuditEventInput {
  const meta: Record<string, string | number> = {
    findingId: f.id,
    rule: f.rule,
    key: f.key,
    from: f.from,
    to: f.to,
    count: f.count,
    threshold: f.threshold,
    seqs: f.seqs.join(','),
    message: f.message,
  };
  if (f.baseline !== undefined) meta.baseline = f.baseline;
  if (f.actorId !== undefined) meta.actorId = f.actorId;
  if (f.ip !== undefined) meta.ip = f.ip;
  return {
    type: 'security.anomaly',
    actor: { id: 'sealtrail-anomaly', type: 'service' },
    severity: f.severity,
    outcome: 'warned',
    action: f.rule,
    meta,
  };
}
