/**
 * Anomaly rules at and around their thresholds, findings recorded in a real trail, and the
 * webhook handler against a real HTTP server on loopback: HMAC signature, retries on 503 with
 * the same finding id, no retry on 400, a timeout.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import {
  AnomalyDetector,
  type AnomalyFinding,
  type AnomalyRules,
  anomalyEvent,
  DEFAULT_ANOMALY_RULES,
  type RateRule,
} from './anomaly.js';
import { detectAnomalies, signWebhook, webhookAlert } from './anomaly-alerts.js';
import type { AuditEntry } from './entry.js';
import { query } from './query.js';

const MIN = 60_000;
// A Wednesday, 10:00 UTC.
const T = Date.UTC(2026, 2, 4, 10, 0);
let seq = 0;

function entry(type: string, ms: number, fields: Record<string, unknown> = {}): AuditEntry {
  const category =
    type.split('.')[0] === 'auth' ? 'authentication' : type.startsWith('data.') ? 'data' : 'ai';
  return {
    seq: seq++,
    id: `id-${seq}`,
    ts: new Date(ms).toISOString(),
    type,
    category,
    severity: 'info',
    ...fields,
  };
}

function feed(d: AnomalyDetector, entries: AuditEntry[]): AnomalyFinding[] {
  return [...entries.flatMap((e) => d.observe(e)), ...d.finish()];
}

const OFF = {
  authFailureBurst: false,
  requestSpike: false,
  guardrailBlockSpike: false,
  offHours: false,
  manySubjects: false,
} as const;

/** A detector with only `rule` on, at its default thresholds. */
function detector(rule: keyof typeof OFF): AnomalyDetector {
  return new AnomalyDetector({ ...OFF, [rule]: DEFAULT_ANOMALY_RULES[rule] });
}

describe('AnomalyDetector', () => {
  describe('authentication-failure bursts', () => {
    const fail = (i: number, gap: number, actor = 'mallory') =>
      entry('auth.failure', T + i * gap, { actor: { id: actor, ip: '198.51.100.9' } });
    it('finds 5 failures within 5 minutes, per actor and per address', () => {
      const f = feed(
        detector('authFailureBurst'),
        [0, 1, 2, 3, 4].map((i) => fail(i, 30_000)),
      );
      expect(f.map((x) => [x.rule, x.key, x.count, x.severity])).toEqual([
        ['authFailureBurst', 'actor:mallory', 5, 'critical'],
        ['authFailureBurst', 'ip:198.51.100.9', 5, 'critical'],
      ]);
      expect(f[0]!.from).toBe(new Date(T).toISOString());
    });
    it('finds nothing for 4 failures, or 5 spread over more than 5 minutes', () => {
      expect(
        feed(
          detector('authFailureBurst'),
          [0, 1, 2, 3].map((i) => fail(i, 30_000)),
        ),
      ).toEqual([]);
      expect(
        feed(
          detector('authFailureBurst'),
          [0, 1, 2, 3, 4].map((i) => fail(i, 80_000)),
        ),
      ).toEqual([]);
    });
  });

  describe('request-rate spikes', () => {
    function minutes(
      counts: number[],
      extra: (m: number) => Record<string, unknown> = () => ({}),
    ): AuditEntry[] {
      return counts.flatMap((c, m) =>
        Array.from({ length: c }, (_, i) => entry('model.completion', T + m * MIN + i * 100, extra(m))),
      );
    }
    it('finds a minute far above the rolling baseline', () => {
      const f = feed(detector('requestSpike'), minutes([...Array(20).fill(10), 100, 10]));
      expect(f).toHaveLength(1);
      expect(f[0]).toMatchObject({
        rule: 'requestSpike',
        count: 100,
        baseline: 10,
        from: new Date(T + 20 * MIN).toISOString(),
      });
    });
    it('finds nothing in a steady stream, a small bump, or before the warm-up', () => {
      expect(feed(detector('requestSpike'), minutes(Array(30).fill(10)))).toEqual([]);
      expect(feed(detector('requestSpike'), minutes([...Array(20).fill(10), 25]))).toEqual([]);
      expect(feed(detector('requestSpike'), minutes([10, 10, 10, 200]))).toEqual([]);
    });
    it('still finds the spike after an entry a producer dated far ahead of when the trail took it', () => {
      // ids as the trail makes them: UUIDv7 holding the time the event was taken (here 50 ms after it happened)
      const taken = (e: AuditEntry, ms: number): AuditEntry => {
        const h = ms.toString(16).padStart(12, '0');
        return { ...e, id: `${h.slice(0, 8)}-${h.slice(8)}-7000-8000-${String(e.seq).padStart(12, '0')}` };
      };
      const live = minutes([...Array(20).fill(10), 100, 10]).map((e) => taken(e, Date.parse(e.ts) + 50));
      // one event sent at minute 15 with ts in 2099: it moved the buckets to 2099, and every entry
      // after it, the spike's included, fell behind them and was not counted
      const forged = taken(entry('x.heartbeat', Date.UTC(2099, 0, 1)), T + 15 * MIN + 500);
      const at = live.findIndex((e) => Date.parse(e.ts) >= T + 15 * MIN + 500);
      const f = feed(detector('requestSpike'), [...live.slice(0, at), forged, ...live.slice(at)]);
      expect(f.map((x) => [x.rule, x.count, x.from])).toEqual([
        ['requestSpike', 100, new Date(T + 20 * MIN).toISOString()],
      ]);
    });
    it('finds a spike of guardrail blocks', () => {
      const blocks = (n: number) => Array.from({ length: n }, () => ({ name: 'pii', decision: 'block' }));
      const d = detector('guardrailBlockSpike');
      const es: AuditEntry[] = [];
      for (let b = 0; b < 10; b++)
        es.push(entry('guardrail.decision', T + b * 5 * MIN, { guardrails: blocks(1) }));
      for (let i = 0; i < 12; i++)
        es.push(entry('guardrail.decision', T + 50 * MIN + i * 1000, { guardrails: blocks(1) }));
      const f = feed(d, es);
      expect(f.map((x) => [x.rule, x.count])).toEqual([['guardrailBlockSpike', 12]]);
    });
  });

  describe('off-hours access', () => {
    const access = (ms: number, actor = 'eve') => entry('data.access', ms, { actor: { id: actor } });
    it('finds data access at night and on a weekend, once per actor and day', () => {
      const night = Date.UTC(2026, 2, 4, 2, 0);
      const saturday = Date.UTC(2026, 2, 7, 11, 0);
      const f = feed(detector('offHours'), [access(night), access(night + MIN), access(saturday), access(T)]);
      expect(f.map((x) => [x.rule, x.actorId, x.from])).toEqual([
        ['offHours', 'eve', new Date(night).toISOString()],
        ['offHours', 'eve', new Date(saturday).toISOString()],
      ]);
    });
    it('reads working hours in the configured zone', () => {
      const d = new AnomalyDetector({
        ...OFF,
        offHours: { startHour: 7, endHour: 20, weekendDays: [0, 6], utcOffsetMinutes: 120 },
      });
      // 06:30 UTC is 08:30 at +02:00: working hours. 19:30 UTC is 21:30 there: not.
      expect(feed(d, [access(Date.UTC(2026, 2, 4, 6, 30))])).toEqual([]);
      expect(feed(d, [access(Date.UTC(2026, 2, 4, 19, 30))])).toHaveLength(1);
    });
  });

  describe('many distinct subjects', () => {
    const touch = (n: number, gap: number) =>
      Array.from({ length: n }, (_, i) =>
        entry('data.access', T + i * gap, { actor: { id: 'bob' }, subject: `s-${i}` }),
      );
    it('finds one actor touching 50 distinct subjects within an hour', () => {
      const f = feed(detector('manySubjects'), touch(50, 30_000));
      expect(f.map((x) => [x.rule, x.actorId, x.count])).toEqual([['manySubjects', 'bob', 50]]);
    });
    it('finds nothing for 49, or for 50 spread over more than an hour', () => {
      expect(feed(detector('manySubjects'), touch(49, 30_000))).toEqual([]);
      expect(feed(detector('manySubjects'), touch(50, 2 * MIN))).toEqual([]);
    });
  });

  it('rejects a bad threshold naming the rule', () => {
    let err: unknown;
    try {
      new AnomalyDetector({ authFailureBurst: { threshold: 0, windowMs: MIN } });
    } catch (e) {
      err = e;
    }
    expect(isAuditError(err, 'USAGE')).toBe(true);
    expect((err as Error).message).toMatch(/^rules\.authFailureBurst\.threshold: /);
  });
  it('rejects a rule setting left out or not a number, which turned the rule off or threw on the first entry', () => {
    const { sigmas: _sigmas, ...noSigmas } = DEFAULT_ANOMALY_RULES.requestSpike as RateRule;
    const off = DEFAULT_ANOMALY_RULES.offHours as Exclude<AnomalyRules['offHours'], false>;
    const cases: Array<[Partial<AnomalyRules>, string]> = [
      [{ requestSpike: noSigmas as RateRule }, 'rules.requestSpike.sigmas'],
      [
        {
          guardrailBlockSpike: {
            ...(DEFAULT_ANOMALY_RULES.guardrailBlockSpike as RateRule),
            warmupBuckets: Number.NaN,
          },
        },
        'rules.guardrailBlockSpike.warmupBuckets',
      ],
      [{ offHours: { ...off, utcOffsetMinutes: Number.NaN } }, 'rules.offHours.utcOffsetMinutes'],
      [{ offHours: { ...off, weekendDays: [7] } }, 'rules.offHours.weekendDays'],
    ];
    for (const [rules, field] of cases) {
      let err: unknown;
      try {
        new AnomalyDetector(rules);
      } catch (e) {
        err = e;
      }
      expect(isAuditError(err, 'USAGE')).toBe(true);
      expect((err as Error).message).toMatch(new RegExp(`^${field.replace(/\./g, '\\.')}: `));
    }
  });
});

/** A webhook receiver on loopback that answers with the given statuses in turn (then 200). */
async function receiver(statuses: number[], delayMs = 0) {
  const got: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      const status = statuses.shift() ?? 200;
      setTimeout(() => res.writeHead(status).end(), delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    got,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const SECRET = 'a-webhook-secret-of-some-length';

describe('webhookAlert', () => {
  const finding: AnomalyFinding = {
    id: 'f1',
    rule: 'authFailureBurst',
    severity: 'critical',
    key: 'actor:mallory',
    from: 'a',
    to: 'b',
    count: 5,
    threshold: 5,
    seqs: [1],
    message: 'm',
  };
  it('retries on 503 with the same finding id, and signs every attempt', async () => {
    const r = await receiver([503, 503]);
    try {
      await webhookAlert({ url: r.url, secret: SECRET, backoffMs: 10 })(finding, { origin: 'o' });
      expect(r.got).toHaveLength(3);
      for (const g of r.got) {
        expect(g.headers['x-sealtrail-finding']).toBe('f1');
        const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(g.headers['x-sealtrail-signature']))!;
        expect(createHmac('sha256', SECRET).update(`${t}.${g.body}`).digest('hex')).toBe(v1);
        expect(JSON.parse(g.body)).toEqual({ type: 'sealtrail.anomaly', origin: 'o', finding });
      }
      // A signature made with another secret does not match.
      const g = r.got[0]!;
      const t = Number(/t=(\d+)/.exec(String(g.headers['x-sealtrail-signature']))![1]);
      expect(signWebhook('another-secret-entirely', t, g.body)).not.toBe(g.headers['x-sealtrail-signature']);
    } finally {
      await r.close();
    }
  });
  it('does not retry a 400, and fails with ALERT_DELIVERY_FAILED', async () => {
    const r = await receiver([400]);
    try {
      const err = await Promise.resolve(
        webhookAlert({ url: r.url, secret: SECRET, backoffMs: 10 })(finding, {
          origin: 'o',
        }),
      ).catch((e: unknown) => e);
      expect(isAuditError(err, 'ALERT_DELIVERY_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/HTTP 400$/);
      expect(r.got).toHaveLength(1);
    } finally {
      await r.close();
    }
  });
  it('gives up after the retries when the receiver does not answer in time', async () => {
    const r = await receiver([], 300);
    try {
      const err = await Promise.resolve(
        webhookAlert({
          url: r.url,
          secret: SECRET,
          retries: 1,
          backoffMs: 10,
          timeoutMs: 50,
        })(finding, {
          origin: 'o',
        }),
      ).catch((e: unknown) => e);
      expect(isAuditError(err, 'ALERT_DELIVERY_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/no answer in 50 ms/);
    } finally {
      await r.close();
    }
  });
  it('sends credentials in the url as Basic authorization, and names only the origin when it fails', async () => {
    const r = await receiver([]);
    try {
      const u = new URL(r.url);
      u.username = 'alerts';
      u.password = 'p@ss word';
      await webhookAlert({ url: u.href, secret: SECRET })(finding, { origin: 'o' });
      expect(r.got[0]!.headers.authorization).toBe(
        `Basic ${Buffer.from('alerts:p@ss word').toString('base64')}`,
      );
    } finally {
      await r.close();
    }
    // A closed port, a secret in the path and the query, credentials: none of them in the error.
    const closed = new URL(r.url);
    closed.pathname = '/services/T000/B000/pathsecret';
    closed.search = '?token=querysecret';
    closed.username = 'alerts';
    closed.password = 'hunter2';
    const err = await Promise.resolve(
      webhookAlert({ url: closed.href, secret: SECRET, retries: 0 })(finding, { origin: 'o' }),
    ).catch((e: unknown) => e);
    expect(isAuditError(err, 'ALERT_DELIVERY_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(
      /^webhook http:\/\/127\.0\.0\.1:\d+: not delivered \(ECONNREFUSED\)$/,
    );
    expect(JSON.stringify((err as { detail?: unknown }).detail)).not.toMatch(/secret|hunter2/);
  });

  it('refuses a short secret and a non-http url, naming the field', () => {
    expect(() => webhookAlert({ url: 'http://127.0.0.1/x', secret: 'short' })).toThrow(/^secret: /);
    expect(() => webhookAlert({ url: 'file:///etc/passwd', secret: SECRET })).toThrow(/^url: /);
  });
});

describe('detectAnomalies over a trail', () => {
  let root: string;
  let dir: string;
  beforeAll(async () => {
    root = tempDir();
    dir = path.join(root, 'trail');
    const trail = await AuditTrail.open({ dir, worker: false, handleExit: false });
    for (let i = 0; i < 6; i++) {
      trail.emit({ type: 'auth.failure', ts: T + i * 20_000, actor: { id: 'mallory', ip: '198.51.100.9' } });
    }
    trail.emit({ type: 'data.access', ts: Date.UTC(2026, 2, 4, 3, 0), actor: { id: 'eve' }, subject: 's1' });
    await trail.close();
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('records each finding as security.anomaly, alerts the webhook, and does neither twice', async () => {
    const r = await receiver([503]);
    try {
      const trail = await AuditTrail.open({ dir, worker: false, handleExit: false });
      const recorded: AuditEventInput[] = [];
      const run = await detectAnomalies(
        dir,
        { from: '2026-03-04' },
        {
          handlers: [webhookAlert({ url: r.url, secret: SECRET, backoffMs: 10 })],
          record: (e) => {
            recorded.push(e);
            trail.recordOwn(e);
          },
        },
      );
      await trail.close();
      expect(run.findings.map((f) => f.rule).sort()).toEqual([
        'authFailureBurst',
        'authFailureBurst',
        'offHours',
      ]);
      expect(run.alertFailures).toEqual([]);
      expect(r.got).toHaveLength(4); // one retried
      const stored = await query(dir, { type: 'security.anomaly' }, { order: 'oldest' }).toArray();
      expect(stored.map((e) => (e.meta as { rule: string }).rule)).toEqual(run.findings.map((f) => f.rule));
      expect(stored[0]).toMatchObject({
        severity: 'critical',
        category: 'security',
        action: 'authFailureBurst',
      });
      expect(recorded[0]).toEqual(anomalyEvent(run.findings[0]!));

      const again = await detectAnomalies(
        dir,
        { from: '2026-03-04' },
        {
          handlers: [webhookAlert({ url: r.url, secret: SECRET })],
          record: () => {
            throw new Error('must not record again');
          },
        },
      );
      expect(again.findings).toHaveLength(3);
      expect(again.alreadyRecorded).toBe(3);
      expect(r.got).toHaveLength(4);
    } finally {
      await r.close();
    }
  });
});
