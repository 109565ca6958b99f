/**
 * Listing witnessed checkpoints over a real collector on loopback: a `read` token lists any origin
 * and a `witness` token only the origins it pushed; the list comes in pages (`limit`, `after`,
 * `nextAfter`) no larger than the collector's page size; every listing is recorded as an
 * `audit.read`; and a collector witness read by `verify --against` follows the pages.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, query } from '../read/index.js';
import { recordEvents } from '../test-support/witness-fixtures.js';
import { CollectorWitness, pushToWitnesses, readWitnessed } from '../witness/index.js';
import { Collector } from './collector.js';
import { createToken } from './tokens.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-witness-routes-'));
const dir = path.join(tmp, 'collector');
const origin = 'example.test/listed';
let collector: Collector;
let url: string;
const tok: Record<string, string> = {};

interface Listing {
  origin: string;
  count: number;
  checkpoints: Array<{ size: number; note: string }>;
  nextAfter: number | null;
}

async function list(token: string | undefined, q: string): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  const res = await fetch(`${url}/v1/witness/checkpoints?origin=${encodeURIComponent(origin)}${q}`, {
    headers,
  });
  return { status: res.status, body: await res.json() };
}

async function reads(): Promise<AuditEntry[]> {
  await collector.trail.flush();
  const out: AuditEntry[] = [];
  for await (const e of query(dir, { type: 'audit.read', action: 'api.witness' }, { order: 'oldest' }))
    out.push(e);
  return out;
}

beforeAll(async () => {
  for (const [name, scopes] of [
    ['pusher', ['witness']],
    ['other-pusher', ['witness']],
    ['auditor', ['read']],
    ['producer', ['ingest']],
  ] as const) {
    tok[name] = createToken(dir, { name, scopes }).token;
  }
  collector = await Collector.open({ dir, maxPage: 3, trail: { checkpointIntervalMs: 3_600_000 } });
  url = (await collector.listen({ port: 0 })).url;
  const trail = path.join(tmp, 'trail');
  await recordEvents(trail, 5, 'a', origin);
  await pushToWitnesses(trail, [url], { token: tok.pusher! });
});

afterAll(async () => {
  await collector.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('GET /v1/witness/checkpoints', () => {
  it('pages through what is held with limit and after, oldest first, recording each page as a read', async () => {
    const before = (await reads()).length;
    const sizes: number[][] = [];
    let after = '';
    for (;;) {
      const { status, body } = await list(tok.auditor, `&limit=2${after}`);
      expect(status).toBe(200);
      const page = body as Listing;
      expect(page.count).toBe(5);
      sizes.push(page.checkpoints.map((c) => c.size));
      if (page.nextAfter === null) break;
      after = `&after=${page.nextAfter}`;
    }
    expect(sizes).toEqual([[1, 2], [3, 4], [5]]);
    const recorded = (await reads()).slice(before);
    expect(recorded).toHaveLength(3);
    expect(recorded[0]!.actor).toMatchObject({ id: 'auditor', authMethod: 'bearer_token' });
    expect(recorded.map((e) => (e.meta as { count: number }).count)).toEqual([2, 2, 1]);
    expect(JSON.parse((recorded[1]!.meta as { filter: string }).filter)).toEqual({
      origin,
      limit: 2,
      after: '2',
    });
  });

  it('gives no page larger than the collector page size', async () => {
    const { body } = await list(tok.auditor, '&limit=1000');
    expect((body as Listing).checkpoints.map((c) => c.size)).toEqual([1, 2, 3]);
    expect((body as Listing).nextAfter).toBe(3);
    const latest = (await list(tok.auditor, '&latest=1')).body as Listing;
    expect(latest.checkpoints.map((c) => c.size)).toEqual([5]);
    expect(latest.nextAfter).toBeNull();
  });

  it('lets a witness token list the origins it pushed only, and refuses other tokens', async () => {
    expect((await list(tok.pusher, '')).status).toBe(200);
    const other = await list(tok['other-pusher'], '');
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ error: 'NOT_FOUND', field: 'origin' });
    expect((await list(tok.producer, '')).status).toBe(403);
    expect((await list(undefined, '')).status).toBe(401);
  });

  it('answers 400 naming the parameter for a bad limit, after, latest or an unknown one', async () => {
    for (const [q, field] of [
      ['&limit=x', 'limit'],
      ['&limit=0', 'limit'],
      ['&after=-1', 'after'],
      ['&latest=yes', 'latest'],
      ['&latest=1&after=2', 'after'],
      ['&size=2', 'size'],
      ['&after=1&after=2', 'after'],
    ] as const) {
      const { status, body } = await list(tok.auditor, q);
      expect(status, q).toBe(400);
      expect(body, q).toMatchObject({ error: 'USAGE', field });
    }
  });

  it('is read page by page by a collector witness (verify --against)', async () => {
    const held = await new CollectorWitness(url, tok.pusher).held(origin);
    expect(held.map((c) => c.size)).toEqual([1, 2, 3, 4, 5]);
    expect(await readWitnessed(url, origin, { token: tok.pusher! })).toHaveLength(5);
  });
});
