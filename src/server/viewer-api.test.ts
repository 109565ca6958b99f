/**
 * The API behind the viewer's charts and live tail, over a real collector on loopback:
 * `GET /v1/stats` counts by category and bucket with guardrail blocks and auth failures, and
 * `GET /v1/tail` streams entries appended after the given seq that match the filter, withholding
 * content from a `read` token; both reads are recorded as `audit.read`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuditEntry, query } from '../read/index.js';
import { Collector } from './collector.js';
import type { TrailStats } from './stats.js';
import { createToken } from './tokens.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-viewer-api-'));
const dir = path.join(tmp, 'audit');
let collector: Collector;
let base: string;
let reader: string;

async function reads(action: string): Promise<AuditEntry[]> {
  await collector.trail.flush();
  const out: AuditEntry[] = [];
  for await (const e of query(dir, { type: 'audit.read', action }, { order: 'oldest' })) out.push(e);
  return out;
}

beforeAll(async () => {
  reader = createToken(dir, { name: 'auditor', scopes: ['read'] }).token;
  collector = await Collector.open({ dir });
  base = (await collector.listen({ port: 0 })).url;
  for (let i = 0; i < 3; i++) collector.trail.emit({ type: 'auth.failure', actor: { id: `m-${i}` } });
  collector.trail.emit({
    type: 'model.request',
    actor: { id: 'bob' },
    guardrails: [{ name: 'pii', decision: 'block' }],
    content: { prompt: 'card 4111 1111 1111 1111' },
  });
  collector.trail.emit({ type: 'guardrail.decision', outcome: 'blocked', actor: { id: 'bob' } });
  collector.trail.emit({ type: 'tool.call', actor: { id: 'agent' } });
  await collector.trail.flush();
});

afterAll(async () => {
  await collector.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('GET /v1/stats', () => {
  it('counts entries by category per bucket, with guardrail blocks and auth failures', async () => {
    const res = await fetch(`${base}/v1/stats?since=1h&buckets=6`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as TrailStats;
    expect(stats.authFailures).toHaveLength(6);
    expect(stats.authFailures.reduce((a, b) => a + b, 0)).toBe(3);
    expect(stats.guardrailBlocks.reduce((a, b) => a + b, 0)).toBe(2);
    expect(stats.categories.authentication?.reduce((a, b) => a + b, 0)).toBe(3);
    // All of it in the last bucket: it happened just now.
    expect(stats.authFailures[5]).toBe(3);
    expect(stats.total).toBe(
      Object.values(stats.categories)
        .flat()
        .reduce((a, b) => a + b, 0),
    );
    const meta = (await reads('api.stats')).at(-1)?.meta as { filter: string; count: number };
    expect(JSON.parse(meta.filter)).toEqual({ since: '1h', buckets: '6' });
    expect(meta.count).toBe(6);
  });

  it('refuses an unknown parameter or a bad bucket count with 400 naming it', async () => {
    const headers = { authorization: `Bearer ${reader}` };
    const bad = await fetch(`${base}/v1/stats?buckets=0`, { headers });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'USAGE', field: 'buckets' });
    const twice = await fetch(`${base}/v1/stats?buckets=6&buckets=7`, { headers });
    expect(await twice.json()).toMatchObject({ error: 'USAGE', field: 'buckets' });
    const unknown = await fetch(`${base}/v1/stats?type=x`, { headers });
    expect(await unknown.json()).toMatchObject({ error: 'USAGE', field: 'type' });
  });

  it('refuses a window longer than 90 days with 400 naming since, and takes 90 days', async () => {
    const headers = { authorization: `Bearer ${reader}` };
    const statsReads = (await reads('api.stats')).length;
    for (const since of ['91d', '2000-01-01T00:00:00Z']) {
      const res = await fetch(`${base}/v1/stats?since=${since}`, { headers });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'USAGE', field: 'since' });
    }
    const ok = await fetch(`${base}/v1/stats?since=90d`, { headers });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as TrailStats).total).toBeGreaterThan(0);
    // Only the answered one is recorded as a read.
    expect((await reads('api.stats')).length).toBe(statsReads + 1);
  });
});

describe('GET /v1/tail', () => {
  it('streams the matching entries appended after the given seq, content withheld', async () => {
    const ctl = new AbortController();
    const res = await fetch(`${base}/v1/tail?type=model.*`, {
      headers: { authorization: `Bearer ${reader}` },
      signal: ctl.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const stream = res.body!.getReader();
    const dec = new TextDecoder();
    // The tail starts at the end: the model.request emitted before is not sent again.
    collector.trail.emit({ type: 'tool.call', actor: { id: 'skip-me' } });
    collector.trail.emit({
      type: 'model.completion',
      actor: { id: 'fresh' },
      content: { response: 'secret' },
    });
    await collector.trail.flush();
    let text = '';
    while (!text.includes('data: ')) {
      const { value, done } = await stream.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
    ctl.abort();
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)) as AuditEntry);
    expect(data.map((e) => (e.actor as { id: string }).id)).toEqual(['fresh']);
    expect(data[0]!.content).toBeUndefined();
    expect(data[0]!.contentWithheld).toEqual(['response']);
    expect(text).not.toContain('secret');
    const opened = await reads('api.tail');
    expect(opened.at(-1)?.actor).toMatchObject({ id: 'auditor' });
    await expect.poll(async () => (await reads('api.tail.end')).length).toBe(1);
  });

  it('refuses a bad filter with 400 before streaming', async () => {
    const res = await fetch(`${base}/v1/tail?after=x`, { headers: { authorization: `Bearer ${reader}` } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'USAGE', field: 'after' });
  });

  it('refuses with 400 a tail after an entry that does not exist yet', async () => {
    const res = await fetch(`${base}/v1/tail?after=999999999`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'USAGE', field: 'after' });
  });
});
