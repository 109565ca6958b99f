/**
 * The compliance report's numbers against the fixture's known events, its period honoured, its
 * gaps on a pruned trail and their memory (in a child process on the built dist), and the Markdown
 * rendering kept safe from hostile values.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRetentionPolicy } from '../retention/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { FIXTURE_ENTRIES, fixtureEvent, HOUR, T0, writeReportTrail } from '../test-support/read-fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { buildReport, type ComplianceReport, quietPeriods } from './report.js';
import { renderReportMarkdown } from './report-md.js';

let root: string;
let dir: string;
let report: ComplianceReport;
const at = (h: number) => new Date(T0 + h * HOUR).toISOString();

beforeAll(async () => {
  root = tempDir();
  dir = path.join(root, 'trail');
  await writeReportTrail(dir);
  report = await buildReport(dir, { from: at(0), to: at(72) }, { now: T0 + 80 * HOUR });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const hoursOf = (pred: (h: number) => boolean) =>
  Array.from({ length: FIXTURE_ENTRIES }, (_, h) => h).filter(pred).length;

describe('buildReport', () => {
  it('counts every entry of the period by category and type', () => {
    expect(report.totals.entries).toBe(FIXTURE_ENTRIES + 5);
    const type = (t: string) => report.totals.byType.find((r) => r.key === t)?.count;
    expect(type('tool.call')).toBe(hoursOf((h) => fixtureEvent(h).type === 'tool.call'));
    expect(type('auth.failure')).toBe(hoursOf((h) => fixtureEvent(h).type === 'auth.failure') + 1);
    expect(report.totals.byCategory.reduce((a, r) => a + r.count, 0)).toBe(report.totals.entries);
    expect(report.totals.byDay).toEqual([
      { day: '2026-03-01', count: 24 },
      { day: '2026-03-02', count: 24 },
      { day: '2026-03-03', count: 5 },
    ]);
    expect(report.totals.byModel).toEqual([
      { provider: 'anthropic', name: 'claude', count: 8, inputTokens: 80, outputTokens: 160 },
      { provider: 'openai', name: 'gpt-4o', count: 8, inputTokens: 0, outputTokens: 0 },
    ]);
  });
  it('counts guardrail blocks with their reasons', () => {
    expect(report.guardrails).toEqual({
      decisions: 8,
      blocks: 4,
      warnings: 0,
      blockedBy: [{ key: 'pii', count: 4 }],
      blockReasons: [{ key: 'contains an email', count: 4 }],
    });
  });
  it('counts authentication failures by account and address', () => {
    expect(report.authFailures.count).toBe(9);
    expect(report.authFailures.byActor[0]).toEqual({ key: 'mallory', count: 8 });
    expect(report.authFailures.byIp).toEqual([
      { key: '198.51.100.9', count: 8 },
      { key: '192.0.2.1', count: 1 },
    ]);
  });
  it('counts data access, admin actions, erasures and key rotations', () => {
    expect(report.dataAccess).toMatchObject({ count: 8, distinctSubjects: 7 });
    expect(report.adminActions).toMatchObject({ count: 2, byActor: [{ key: 'admin-1', count: 2 }] });
    expect(report.erasures.events).toBe(1);
    expect(report.keyRotations.count).toBe(1);
  });
  it('lists quiet periods and dropped events', () => {
    expect(report.gaps.droppedEvents).toBe(5);
    expect(report.gaps.overflowRecords).toBe(1);
    expect(report.gaps.count).toBe(2);
    expect(report.gaps.periods).toEqual([
      { from: at(47), to: at(60), minutes: 13 * 60 },
      { from: at(62), to: at(72), minutes: 10 * 60 },
    ]);
  });
  it('ends the period now when it has no end: the quiet time since the last entry is a gap', async () => {
    const r = await buildReport(dir, { from: at(0) }, { verify: false, now: T0 + 80 * HOUR });
    expect(r.period.to).toBeNull();
    expect(r.gaps.periods).toEqual([
      { from: at(47), to: at(60), minutes: 13 * 60 },
      { from: at(62), to: at(80), minutes: 18 * 60 },
    ]);
    const all = await buildReport(dir, {}, { verify: false, now: T0 + 80 * HOUR });
    expect(all.gaps.periods.at(-1)).toEqual({ from: at(62), to: at(80), minutes: 18 * 60 });
  });
  it('verifies the whole trail and states the latest checkpoint and seals', () => {
    expect(report.integrity.verify).toEqual({ ok: true, entries: FIXTURE_ENTRIES + 5, failure: null });
    expect(report.integrity.latestCheckpoint).toMatchObject({
      size: FIXTURE_ENTRIES + 5,
      signatureVerified: true,
    });
    expect(report.integrity.seals.count).toBeGreaterThan(0);
    expect(report.retention).toMatchObject({ policy: null, oldestEntry: at(0) });
    expect(report.retention.sealedSegments).toBeGreaterThan(0);
  });
  it('honours the period', async () => {
    const r = await buildReport(dir, { from: at(3), to: at(5) }, { verify: false });
    expect(r.totals.entries).toBe(2);
    expect(r.integrity.verify).toBeNull();
    expect(r.period).toEqual({ from: at(3), to: at(5) });
  });
  it('reports a failed verification', async () => {
    const d = path.join(root, 'tampered');
    fs.cpSync(dir, d, { recursive: true });
    const seg = path.join(d, 'segments', fs.readdirSync(path.join(d, 'segments')).sort()[0]!);
    fs.writeFileSync(seg, fs.readFileSync(seg, 'utf8').replace('user-1', 'user-9'));
    const r = await buildReport(d, {});
    expect(r.integrity.verify?.ok).toBe(false);
    expect(r.integrity.verify?.failure).toMatch(/^[A-Z_]+: /);
  });
});

describe('buildReport on a pruned trail', () => {
  it('claims no quiet period over the time span of the pruned entries, only before and after it', async () => {
    const d = path.join(root, 'pruned');
    const trail = await AuditTrail.open({ dir: d, worker: false, maxSegmentBytes: 100 });
    const DAY = 86_400_000;
    const now = Date.now();
    const at = (days: number, s = 0) => now - days * DAY + s * 1000;
    // one segment per batch; the second (pruned too) holds entries older than the first's
    for (const days of [400, 450, 100, 10]) {
      for (let i = 0; i < 3; i++) trail.emit({ type: 'x.note', ts: at(days, i) });
      await trail.flush();
    }
    const run = await trail.applyRetention(parseRetentionPolicy({ default: { keep: '1y' } }));
    await trail.close();
    expect(run.prune.entries).toBe(6);
    const iso = (ms: number) => new Date(ms).toISOString();
    const r = await buildReport(d, { from: iso(at(500)), to: iso(at(5)) }, { verify: false, now });
    expect(r.totals.entries).toBe(6);
    expect(r.retention.pruned).toMatchObject({ oldest: iso(at(450)), newest: iso(at(400, 2)) });
    // the 6 pruned entries were written between day -450 and day -400: not a quiet time
    const period = (from: number, to: number) => ({
      from: iso(from),
      to: iso(to),
      minutes: Math.round((to - from) / 60_000),
    });
    expect(r.gaps.periods).toEqual([
      period(at(500), at(450)),
      period(at(400, 2), at(100)),
      period(at(100, 2), at(10)),
      period(at(10, 2), at(5)),
    ]);
  });
});

describe('quietPeriods', () => {
  it('reads the event times in place: 6 million of them fit a 32 MiB heap', () => {
    // The times are a Float64Array outside the heap; they were spread into an array on it, which
    // ended a report over a large trail with V8's fatal "heap out of memory" at the default limit.
    const report = fileURLToPath(new URL('../../dist/read/report.js', import.meta.url));
    const script = `
      const { quietPeriods } = await import(${JSON.stringify(report)});
      const n = 6_000_000;
      const t = new Float64Array(n);
      for (let i = 0; i < n; i++) t[i] = 1.7e12 + i * 1000 + (i >= n / 2 ? 7_200_000 : 0);
      const p = quietPeriods(t, { fromMs: 1.7e12, toMs: 1.7e12 + n * 1000 + 7_200_000 + 3_600_001, gapMs: 3_600_000 });
      process.stdout.write(JSON.stringify(p.periods.map((q) => q.minutes)));`;
    const r = spawnSync(process.execPath, ['--max-old-space-size=32', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('[120,60]');
  });
  it('counts every quiet period and lists the first 1,000', () => {
    // 1,500 events two hours apart: 1,499 quiet periods of an hour or more between them
    const t = Float64Array.from({ length: 1500 }, (_, i) => T0 + i * 2 * HOUR);
    const r = quietPeriods(t, { fromMs: T0, toMs: T0 + 2998 * HOUR, gapMs: HOUR });
    expect(r.count).toBe(1499);
    expect(r.periods).toHaveLength(1000);
    expect(r.periods[999]).toEqual({ from: at(1998), to: at(2000), minutes: 120 });
  });
});

describe('renderReportMarkdown', () => {
  it('shows the numbers and keeps hostile values inside their table cell', () => {
    const md = renderReportMarkdown(report);
    expect(md).toContain(`| entries | ${FIXTURE_ENTRIES + 5} |`);
    expect(md).toContain('| guardrail blocks | 4 |');
    expect(md).not.toMatch(/[\u202e]/);
    expect(md).toContain('\\<img src=x onerror=alert(1)\\>\\\\u{202e}\\|');
  });
});
