/**
 * Queries against a real trail directory: every filter checked against a naive reference over
 * the fixture's events, both time bounds with mixed zones, segment skipping, ordering, limits,
 * lookups by id, reveal hooks, erased payloads, and a corrupt line in the middle; the paths
 * exportToFile refuses.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { readSegmentLines, segmentFiles, tempDir, writeSegmentLines } from '../test-support/fixtures.js';
import { FIXTURE_ENTRIES, fixtureEvent, HOUR, T0, writeFixtureTrail } from '../test-support/read-fixtures.js';
import type { AuditEntry } from './entry.js';
import { exportToFile } from './export.js';
import { getEntry, type QueryOptions, query, TrailReader } from './query.js';
import type { QueryFilter } from './query-filter.js';

let root: string;
let dir: string;
let ids: string[];

beforeAll(async () => {
  root = tempDir();
  dir = path.join(root, 'trail');
  ({ ids } = await writeFixtureTrail(dir));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function hours(filter: QueryFilter, options: QueryOptions = {}, d = dir): Promise<number[]> {
  const out: number[] = [];
  for await (const e of query(d, filter, { order: 'oldest', ...options })) out.push(e.seq);
  return out;
}

/** The hours whose fixture event satisfies `pred`: the naive reference. */
function expected(pred: (e: ReturnType<typeof fixtureEvent>, h: number) => boolean): number[] {
  return Array.from({ length: FIXTURE_ENTRIES }, (_, h) => h).filter((h) => pred(fixtureEvent(h), h));
}

function copyTrail(name: string): string {
  const d = path.join(root, name);
  fs.cpSync(dir, d, { recursive: true });
  return d;
}

function treeHash(d: string): string {
  const h = createHash('sha256');
  const walk = (p: string) => {
    for (const name of fs.readdirSync(p).sort()) {
      const f = path.join(p, name);
      if (fs.statSync(f).isDirectory()) walk(f);
      else h.update(name).update(fs.readFileSync(f));
    }
  };
  walk(d);
  return h.digest('hex');
}

describe('query', () => {
  describe('with no filter', () => {
    it('returns every entry, newest first by default', async () => {
      const seqs = (await query(dir).toArray()).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: FIXTURE_ENTRIES }, (_, i) => FIXTURE_ENTRIES - 1 - i));
    });
    it('returns them oldest first when asked', async () => {
      expect(await hours({})).toEqual(expected(() => true));
    });
    it('stops at the limit', async () => {
      const seqs = (await query(dir, {}, { limit: 5 }).toArray()).map((e) => e.seq);
      expect(seqs).toEqual([47, 46, 45, 44, 43]);
    });
  });

  describe('each filter field', () => {
    const cases: Array<[string, QueryFilter, (e: ReturnType<typeof fixtureEvent>, h: number) => boolean]> = [
      ['type', { type: 'tool.call' }, (e) => e.type === 'tool.call'],
      [
        'type list',
        { type: ['tool.call', 'auth.failure'] },
        (e) => e.type === 'tool.call' || e.type === 'auth.failure',
      ],
      ['type prefix', { type: 'model.*' }, (e) => e.type.startsWith('model.')],
      ['category', { category: 'authentication' }, (e) => e.type === 'auth.failure'],
      ['severity', { severity: 'warning' }, (e) => e.type === 'auth.failure'],
      ['minSeverity', { minSeverity: 'notice' }, (e) => e.type === 'auth.failure'],
      ['actor', { actor: 'user-1' }, (e) => e.actor?.id === 'user-1'],
      ['actorType', { actorType: 'service' }, (e) => e.actor?.type === 'service'],
      ['subject', { subject: 'subject-3' }, (e) => (e.subject ?? e.actor?.id) === 'subject-3'],
      ['subject defaulting to the actor', { subject: 'mallory' }, (e) => e.actor?.id === 'mallory'],
      ['session', { session: 'sess-2' }, (e) => e.actor?.sessionId === 'sess-2'],
      ['ip', { ip: '198.51.100.9' }, (e) => e.actor?.ip === '198.51.100.9'],
      [
        'conversation',
        { conversation: 'conv-2' },
        (e) => e.type !== 'auth.failure' && e.type !== 'data.access' && e.conversation?.id === 'conv-2',
      ],
      ['requestId', { requestId: 'req-12' }, (e) => e.requestId === 'req-12'],
      ['traceId', { traceId: 'trace-2' }, (e) => e.traceId === 'trace-2'],
      ['resource id', { resource: 'search' }, (e) => e.resource?.id === 'search'],
      ['resource type:id', { resource: 'record:rec-11' }, (e) => e.resource?.id === 'rec-11'],
      ['resource type:*', { resource: 'record:*' }, (e) => e.resource?.type === 'record'],
      ['action', { action: 'read' }, (e) => e.action === 'read'],
      ['outcome', { outcome: 'blocked' }, (e) => e.outcome === 'blocked'],
      [
        'guardrail decision',
        { guardrail: 'block' },
        (e) => e.guardrails?.some((g) => g.decision === 'block') === true,
      ],
      ['model name', { model: 'claude' }, (e) => e.model?.name === 'claude'],
      ['model provider/name', { model: 'openai/gpt-4o' }, (e) => e.model?.name === 'gpt-4o'],
      ['free text in content, any case', { text: 'zEBRA' }, (e) => e.type === 'model.request'],
      ['free text in event fields', { text: 'bad pass' }, (e) => e.type === 'auth.failure'],
      ['free text in a nested content value', { text: 'query 14' }, (_e, h) => h === 14],
      ['seq range', { seqFrom: 10, seqTo: 13 }, (_e, h) => h >= 10 && h < 13],
      [
        'two fields together (AND)',
        { type: 'tool.call', actor: 'user-2' },
        (e) => e.type === 'tool.call' && e.actor?.id === 'user-2',
      ],
    ];
    for (const [name, filter, pred] of cases) {
      it(`${name}: matches exactly the reference`, async () => {
        const want = expected(pred);
        expect(want.length).toBeGreaterThan(0);
        expect(want.length).toBeLessThan(FIXTURE_ENTRIES);
        expect(await hours(filter)).toEqual(want);
      });
    }
    it('id: finds the one entry', async () => {
      expect(await hours({ id: ids[17]! })).toEqual([17]);
    });
  });

  describe('time windows', () => {
    it('honours both bounds given in different time zones: from inclusive, to exclusive', async () => {
      // 05:00+02:00 is 03:00Z; 22:00-08:00 the day before is 06:00Z.
      const got = await hours({ from: '2026-03-01T05:00:00+02:00', to: '2026-02-28T22:00:00-08:00' });
      expect(got).toEqual([3, 4, 5]);
    });
    it('takes Dates, epoch milliseconds and bare dates (UTC midnight)', async () => {
      expect(await hours({ from: new Date(T0 + 40 * HOUR), to: T0 + 42 * HOUR })).toEqual([40, 41]);
      expect(await hours({ from: '2026-03-02' })).toEqual(expected((_e, h) => h >= 24));
    });
    it('takes a duration ago and named windows', async () => {
      const now = T0 + 48 * HOUR;
      expect(await hours({ since: '3h' }, { now })).toEqual([45, 46, 47]);
      expect(await hours({ from: '150m' }, { now })).toEqual([46, 47]);
      expect(await hours({ since: 'lastHour' }, { now: T0 + 47.5 * HOUR })).toEqual([47]);
      expect(await hours({ since: 'today' }, { now: T0 + 25 * HOUR })).toEqual(expected((_e, h) => h >= 24));
    });
    it('skips sealed segments outside the window without reading them', async () => {
      const q = query(dir, { from: new Date(T0 + 20 * HOUR), to: new Date(T0 + 21 * HOUR) });
      expect((await q.toArray()).map((e) => e.seq)).toEqual([20]);
      expect(q.stats.segments).toBeGreaterThan(4);
      expect(q.stats.segmentsRead).toBeLessThanOrEqual(2);
      expect(q.stats.segmentsSkipped).toBe(q.stats.segments - q.stats.segmentsRead);
    });
    it('skips segments by seq range too', async () => {
      const q = query(dir, { seqFrom: 30, seqTo: 31 });
      expect((await q.toArray()).map((e) => e.seq)).toEqual([30]);
      expect(q.stats.segmentsRead).toBe(1);
    });
  });

  describe('given a bad filter', () => {
    const bad: Array<[string, QueryFilter, string]> = [
      ['a date-time without a zone', { from: '2026-03-01T10:00:00' }, 'from'],
      ['an impossible date', { to: '2026-02-30' }, 'to'],
      ['from not before to', { from: '2026-03-02', to: '2026-03-01' }, 'to'],
      ['since with from', { since: '1h', from: '2026-03-01' }, 'since'],
      ['an unknown named window', { since: 'yesterday' }, 'since'],
      ['an unknown outcome', { outcome: 'maybe' }, 'outcome'],
      ['an unknown guardrail decision', { guardrail: 'deny' }, 'guardrail'],
      ['an unknown category', { category: 'fun' }, 'category'],
      ['an unknown type', { type: 'model.dance' }, 'type'],
      ['a non-string actor', { actor: 42 as unknown as string }, 'actor'],
      ['an unknown field', { colour: 'red' } as unknown as QueryFilter, 'colour'],
      ['a negative seq', { seqFrom: -1 }, 'seqFrom'],
      ['a resource with an empty type or id', { resource: ':' }, 'resource'],
      ['a resource with an empty id', { resource: 'record:' }, 'resource'],
    ];
    for (const [name, filter, field] of bad) {
      it(`rejects ${name} with USAGE naming ${field}`, () => {
        let err: unknown;
        try {
          query(dir, filter);
        } catch (e) {
          err = e;
        }
        expect(isAuditError(err, 'USAGE')).toBe(true);
        expect((err as Error).message.startsWith(`${field}:`)).toBe(true);
      });
    }
    it('says a date-time without a zone has none, rather than that it is not a date', () => {
      for (const from of ['2026-03-01T10:00:00', '2026-03-01T10:00', '2026-03-01 10:00:00.250']) {
        expect(() => query(dir, { from })).toThrow(`from: "${from}" has no time zone`);
      }
    });
  });

  describe('get', () => {
    it('finds an entry by id, and nothing for an unknown id', async () => {
      const e = await getEntry(dir, ids[33]!);
      expect(e?.seq).toBe(33);
      expect(e?.type).toBe(fixtureEvent(33).type);
      expect(await new TrailReader(dir).get('0190c7e4-0000-7000-8000-000000000000')).toBeUndefined();
    });
  });

  describe('with a reveal hook', () => {
    it('shows the mapped payloads and searches them', async () => {
      const reveal = (v: unknown) => (typeof v === 'string' ? `revealed:${v}` : v);
      const [e] = await query(dir, { text: 'REVEALED:answer 7' }, { reveal }).toArray();
      expect(e?.seq).toBe(7);
      expect(e?.content?.response).toBe('revealed:Answer 7');
    });
    it('reports a hook that throws as an issue for that entry', async () => {
      const q = query(
        dir,
        { seqTo: 3 },
        {
          reveal: () => {
            throw new Error('no key');
          },
        },
      );
      const got = await q.toArray();
      expect(got.map((e) => e.seq)).toEqual([2, 1, 0].filter((s) => fixtureEvent(s).content === undefined));
      expect(q.issues.map((i) => i.seq).sort()).toEqual([0, 1, 2]);
    });
  });

  describe('when a payload was erased', () => {
    it('lists it in erased, shows no value and does not search it', async () => {
      const d = copyTrail('erased');
      const file = segmentFiles(d)[0]!;
      const lines = readSegmentLines(file);
      const [committed] = lines[0]!.split('\t');
      lines[0] = `${committed}\t{"prompt":{"erased":{"at":"2026-04-01T00:00:00.000Z","by":99,"reason":"gdpr"}}}`;
      writeSegmentLines(file, lines);
      const [e] = await query(d, { seqTo: 1 }).toArray();
      expect(e?.erased).toEqual(['prompt']);
      expect(e?.content).toEqual({});
      expect(await hours({ text: 'question number 0 ' }, {}, d)).toEqual([]);
      expect(await hours({ text: 'question number 6 ' }, {}, d)).toEqual([6]);
    });
  });

  describe('when a line in the middle is corrupt', () => {
    let d: string;
    let file: string;
    beforeAll(() => {
      d = copyTrail('corrupt');
      // The second line of the third segment.
      file = segmentFiles(d)[2]!;
      const lines = readSegmentLines(file);
      lines[1] = `${lines[1]!.slice(0, 40)}\u0000garbage`;
      writeSegmentLines(file, lines);
    });
    function corruptSeq(): number {
      const first = Number(path.basename(file).slice(0, 20));
      return first + 1;
    }
    for (const order of ['oldest', 'newest'] as const) {
      it(`still returns every other entry (${order} first) and reports the line`, async () => {
        const seen: Array<{ seq?: number; file: string; reason: string }> = [];
        const q = query(d, {}, { order, onIssue: (i) => seen.push(i) });
        const got = (await q.toArray()).map((e) => e.seq).sort((a, b) => a - b);
        const bad = corruptSeq();
        expect(got).toEqual(expected((_e, h) => h !== bad));
        expect(seen).toEqual([{ seq: bad, file: path.basename(file), reason: 'record is not valid JSON' }]);
        expect(q.issues).toEqual(seen);
      });
    }
  });

  describe('reading', () => {
    it('changes no file of the trail', async () => {
      const before = treeHash(dir);
      await query(dir, { text: 'zebra' }).toArray();
      await query(dir, { since: '1h' }, { order: 'oldest' }).toArray();
      await getEntry(dir, ids[5]!);
      expect(treeHash(dir)).toBe(before);
    });
  });

  describe('entries', () => {
    it('carry the event fields as recorded', async () => {
      const [e] = (await query(dir, { seqFrom: 5, seqTo: 6 }).toArray()) as [AuditEntry];
      expect(e).toMatchObject({
        seq: 5,
        id: ids[5],
        ts: new Date(T0 + 5 * HOUR).toISOString(),
        type: 'data.access',
        category: 'data',
        subject: 'subject-5',
        resource: { type: 'record', id: 'rec-5' },
      });
    });
  });
});

describe('exportToFile', () => {
  it('refuses a manifest path the export file would take, and writes neither', async () => {
    const file = path.join(root, 'export.jsonl');
    for (const [out, manifestFile] of [
      [file, file],
      [file, path.join(root, 'export.jsonl', '..', 'export.jsonl')],
      // the export, renamed over the manifest's .partial, was then renamed to the manifest's name
      [`${file}.partial`, file],
    ] as const) {
      const err = await exportToFile(dir, {}, out, { format: 'jsonl', manifestFile }).catch(
        (e: unknown) => e,
      );
      expect(isAuditError(err, 'USAGE')).toBe(true);
      expect((err as Error).message).toMatch(/^manifestFile: /);
    }
    expect(fs.readdirSync(root).filter((f) => f.startsWith('export.jsonl'))).toEqual([]);
  });
});
