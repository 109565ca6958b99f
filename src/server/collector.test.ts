/**
 * The collector over a real Fastify server on loopback, with real HTTP requests (fetch) and a real
 * trail directory: authentication and scopes, producer stamping, all-or-nothing batches, limits,
 * reads recorded as audit.read, metrics, and proofs checked with the library's own verifiers.
 */

import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hashLeaf,
  NoteVerifier,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '../chain/index.js';
import { type AuditEntry, query, verifyDir } from '../read/index.js';
import { selfSignedCert } from '../test-support/fixtures.js';
import { Collector } from './collector.js';
import { demoEvents, seedDemo } from './demo-seed.js';
import { createToken, TokenSet, tokenFile } from './tokens.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-collector-'));
const dir = path.join(tmp, 'audit');
let collector: Collector;
let base: string;
const tok: Record<string, string> = {};

function event(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'model.request',
    actor: { id: `user-${i}`, type: 'user' },
    conversation: { id: 'conv-1', turn: i },
    content: { prompt: `question number ${i}` },
    ...extra,
  };
}

async function post(token: string | undefined, body: string, type = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': type };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(`${base}/v1/events`, { method: 'POST', headers, body });
}

async function get(token: string | undefined, url: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(`${base}${url}`, { headers });
}

async function entries(filter: Parameters<typeof query>[1] = {}): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of query(dir, filter, { order: 'oldest' })) out.push(e);
  return out;
}

async function producedCount(): Promise<number> {
  return (await entries({ type: 'model.*' })).length;
}

beforeAll(async () => {
  for (const [name, scopes] of [
    ['producer-a', ['ingest']],
    ['producer-b', ['ingest']],
    ['reader', ['read']],
    ['content-reader', ['read:content']],
    ['ops', ['admin']],
  ] as const) {
    tok[name] = createToken(dir, { name, scopes }).token;
  }
  collector = await Collector.open({
    dir,
    bodyLimit: 64 * 1024,
    maxBatch: 50,
    trail: { checkpointIntervalMs: 3_600_000 },
  });
  base = (await collector.listen({ port: 0 })).url;
});

afterAll(async () => {
  await collector.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('tokens', () => {
  it('are stored only as hashes in a 0600 file', () => {
    const file = tokenFile(dir);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    for (const t of Object.values(tok)) expect(text).not.toContain(t);
    expect(TokenSet.load(dir).find(tok.reader!)?.name).toBe('reader');
    expect(TokenSet.load(dir).find(`${tok.reader!}x`)).toBeUndefined();
  });
});

describe('authentication', () => {
  it('answers 401 with no token, with a wrong one and with a malformed header, saying nothing more', async () => {
    for (const r of [
      await post(undefined, '[]'),
      await post('stk_not-a-real-token', '[]'),
      await fetch(`${base}/v1/events`, { headers: { authorization: `Basic ${tok.reader!}` } }),
    ]) {
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="sealtrail"');
      expect(await r.json()).toEqual({ error: 'unauthorized', message: 'a valid bearer token is required' });
    }
  });

  it('answers 403 when the token lacks the scope', async () => {
    const asReader = await post(tok.reader, JSON.stringify([event(1)]));
    expect(asReader.status).toBe(403);
    expect(await asReader.json()).toEqual({ error: 'forbidden', message: 'this token may not do that' });
    expect((await get(tok['producer-a'], '/v1/events')).status).toBe(403);
    expect((await get(tok.reader, '/metrics')).status).toBe(403);
    expect((await get(tok.ops, '/v1/events')).status).toBe(403);
  });

  it('leaves /healthz open', async () => {
    const r = await get(undefined, '/healthz');
    expect(r.status).toBe(200);
    expect(((await r.json()) as { ok: boolean }).ok).toBe(true);
  });
});

describe('POST /v1/events', () => {
  it('writes a JSON array, answers the ids, and stamps the producer from the token', async () => {
    const r = await post(
      tok['producer-a'],
      JSON.stringify([event(1), event(2, { meta: { producer: 'producer-b', build: 7 } })]),
    );
    expect(r.status).toBe(200);
    const { ids } = (await r.json()) as { ids: string[] };
    expect(ids).toHaveLength(2);
    const stored = await entries({ id: ids[1]! });
    // The body claimed producer-b: the stamp comes from the token, and other meta is kept.
    expect(stored[0]?.meta).toEqual({ producer: 'producer-a', build: 7 });
    expect((await entries({ id: ids[0]! }))[0]?.meta).toEqual({ producer: 'producer-a' });
  });

  it('takes JSON lines', async () => {
    const body = `${JSON.stringify(event(3))}\n\n${JSON.stringify(event(4))}\n`;
    const r = await post(tok['producer-b'], body, 'application/x-ndjson');
    expect(r.status).toBe(200);
    const { ids } = (await r.json()) as { ids: string[] };
    expect(ids).toHaveLength(2);
    expect((await entries({ id: ids[1]! }))[0]?.meta).toEqual({ producer: 'producer-b' });
  });

  describe('when one event of the batch is invalid', () => {
    it('answers 400 naming its index and field, and writes nothing of the batch', async () => {
      const before = await producedCount();
      const bad = event(6, { actor: { id: 42 } });
      const r = await post(tok['producer-a'], JSON.stringify([event(5), bad, event(7)]));
      expect(r.status).toBe(400);
      const body = (await r.json()) as { error: string; index: number; field: string; message: string };
      expect(body).toMatchObject({ error: 'EVENT_INVALID', index: 1, field: 'actor.id' });
      expect(body.message).toMatch(/^events\[1\]: actor\.id: /);
      await collector.trail.flush();
      expect(await producedCount()).toBe(before);
    });

    it('names the line of a JSON lines body that is not JSON, without quoting it', async () => {
      const before = await producedCount();
      const r = await post(
        tok['producer-a'],
        `${JSON.stringify(event(8))}\n{"secret-value`,
        'application/x-ndjson',
      );
      expect(r.status).toBe(400);
      const text = await r.text();
      expect(JSON.parse(text)).toMatchObject({ error: 'EVENT_INVALID', index: 1 });
      expect(text).not.toContain('secret-value');
      expect(await producedCount()).toBe(before);
    });
  });

  it('refuses a number JSON.parse would round, naming event and field, in either body format', async () => {
    const before = await producedCount();
    const big = (i: number) =>
      JSON.stringify(event(i, { meta: { orderId: 0 } })).replace(
        '"orderId":0',
        '"orderId":12345678901234567890',
      );
    const asArray = await post(tok['producer-a'], `[${JSON.stringify(event(9))},${big(10)}]`);
    const asLines = await post(
      tok['producer-a'],
      `${JSON.stringify(event(11))}\n${big(12)}\n`,
      'application/x-ndjson',
    );
    for (const r of [asArray, asLines]) {
      expect(r.status).toBe(400);
      const body = (await r.json()) as { message: string };
      expect(body).toMatchObject({ error: 'EVENT_INVALID', index: 1, field: 'meta.orderId' });
      expect(body.message).toMatch(/^events\[1\]: meta\.orderId: an integer beyond/);
    }
    await collector.trail.flush();
    expect(await producedCount()).toBe(before);
  });

  describe('when a producer sends a record the trail writes about itself', () => {
    // `sealtrail status` took this as the trail's last verification ("ok ... by chief-auditor"), and
    // a planted security.anomaly with a finding's id kept that finding from being alerted.
    it.each([
      ['audit.read', { actor: { id: 'chief-auditor' }, meta: { verb: 'report', verified: 'ok: 1 entries' } }],
      ['audit.erasure', {}],
      ['retention.content_expired', {}],
      ['system.overflow', { meta: { lost: 0 } }],
      ['system.recovery', {}],
      ['admin.retention_applied', {}],
      ['security.anomaly', { meta: { findingId: '0123456789abcdef01234567' } }],
    ])(
      'refuses a %s event with 400 naming its type, and writes nothing of the batch',
      async (type, extra) => {
        const before = (await entries()).length;
        const r = await post(tok['producer-a'], JSON.stringify([event(60), { type, ...extra }]));
        expect(r.status).toBe(400);
        expect(await r.json()).toMatchObject({ error: 'EVENT_INVALID', index: 1, field: 'type' });
        await collector.trail.flush();
        expect(await entries()).toHaveLength(before);
      },
    );

    it('takes the events a service writes about itself (system.startup) and x.* types', async () => {
      const r = await post(
        tok['producer-a'],
        JSON.stringify([{ type: 'system.startup' }, { type: 'x.audit.read' }]),
      );
      expect(r.status).toBe(200);
    });
  });

  it('answers 400 for a JSON syntax error without quoting the body', async () => {
    const r = await post(tok['producer-a'], '[{"type": "model.request", "x": secret-value]');
    expect(r.status).toBe(400);
    expect(await r.text()).not.toContain('secret-value');
  });

  it('answers 400 to a body that is not UTF-8, in either format, and records nothing of it', async () => {
    const before = await producedCount();
    const bad = Buffer.concat([
      Buffer.from('[{"type":"model.request","content":{"prompt":"a'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}}]'),
    ]);
    for (const type of ['application/json', 'application/x-ndjson']) {
      const body = type === 'application/json' ? bad : bad.subarray(1, bad.length - 1);
      const r = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': type, authorization: `Bearer ${tok['producer-a']}` },
        body,
      });
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ message: 'body: not valid UTF-8', field: 'body' });
    }
    expect(await producedCount()).toBe(before);
  });

  it('answers 415 to a body in a content coding (gzip, or a plain body labelled br) and records nothing of it', async () => {
    const before = await producedCount();
    const plain = JSON.stringify([event(1)]);
    for (const [coding, body] of [
      ['gzip', zlib.gzipSync(plain)],
      ['br', Buffer.from(plain)],
    ] as const) {
      const r = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': coding,
          authorization: `Bearer ${tok['producer-a']}`,
        },
        body,
      });
      expect(r.status).toBe(415);
      expect(await r.json()).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE', field: 'content-encoding' });
    }
    expect(await producedCount()).toBe(before);
  });

  it('answers a path it cannot decode (%ZZ) in its own error shape, naming the url', async () => {
    const r = await get(tok.reader, '/v1/events/%ZZ');
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      error: 'USAGE',
      message: 'url: not a valid percent-encoded path',
      field: 'url',
    });
  });

  it('answers 400 for more events than the batch limit', async () => {
    const r = await post(tok['producer-a'], JSON.stringify(Array.from({ length: 51 }, (_, i) => event(i))));
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: 'USAGE', field: 'events' });
  });

  it('answers 413 for a body over the limit', async () => {
    const before = await producedCount();
    const big = JSON.stringify([event(9, { content: { prompt: 'x'.repeat(70 * 1024) } })]);
    const r = await post(tok['producer-a'], big);
    expect(r.status).toBe(413);
    expect(await r.json()).toMatchObject({ error: 'BODY_TOO_LARGE' });
    expect(await producedCount()).toBe(before);
  });
});

describe('reading', () => {
  it('pages through GET /v1/events with a cursor, newest first, every entry once', async () => {
    const all = (await entries({ type: 'model.request' })).map((e) => e.id).reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const url: string = `/v1/events?type=model.request&limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
      const r = await get(tok.reader, url);
      expect(r.status).toBe(200);
      const body = (await r.json()) as { events: AuditEntry[]; nextCursor: string | null };
      expect(body.events.length).toBeLessThanOrEqual(2);
      seen.push(...body.events.map((e) => e.id));
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    expect(all.length).toBe(4);
    expect(seen).toEqual(all);
  });

  it('withholds content payloads without read:content and shows them with it', async () => {
    const [first] = await entries({ type: 'model.request' });
    const plain = (await (await get(tok.reader, `/v1/events/${first!.id}`)).json()) as { event: AuditEntry };
    expect(plain.event.content).toBeUndefined();
    expect(plain.event.contentWithheld).toEqual(['prompt']);
    const full = (await (await get(tok['content-reader'], `/v1/events/${first!.id}`)).json()) as {
      event: AuditEntry;
    };
    expect(full.event.content).toEqual({ prompt: 'question number 1' });
    expect((await get(tok.reader, '/v1/events?text=question')).status).toBe(400);
  });

  it('answers 404 for an unknown id and 400 naming an unknown filter field', async () => {
    expect((await get(tok.reader, '/v1/events/0190a000-0000-7000-8000-000000000000')).status).toBe(404);
    const r = await get(tok.reader, '/v1/events?colour=red');
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ error: 'USAGE', field: 'colour' });
  });

  it('answers 400 to a page of no entries, which a client would follow forever', async () => {
    const r = await get(tok.reader, '/v1/events?limit=0');
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({
      error: 'USAGE',
      field: 'limit',
      message: 'limit: expected an integer of at least 1',
    });
  });

  it('shows a conversation in turns', async () => {
    const r = await get(tok.reader, '/v1/conversations/conv-1');
    expect(r.status).toBe(200);
    const view = (await r.json()) as {
      entries: number;
      turns: Array<{ entries: Array<{ entry: AuditEntry }> }>;
    };
    expect(view.entries).toBe(4);
    expect(view.turns.flatMap((t) => t.entries).every((e) => e.entry.content === undefined)).toBe(true);
  });

  it('opens a conversation whose id is longer than 100 characters (as the writer takes it)', async () => {
    // Fastify's default limit on a path parameter (100) answered such ids 400, and the viewer could not open them.
    const id = `tenant-7/${'c'.repeat(300)}/é`;
    const w = await post(
      tok['producer-a'],
      JSON.stringify([{ type: 'model.request', conversation: { id } }]),
    );
    expect(w.status).toBe(200);
    const r = await get(tok.reader, `/v1/conversations/${encodeURIComponent(id)}`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ id, entries: 1 });
  });

  it('records every read as audit.read with the reader identity', async () => {
    await collector.trail.flush();
    const before = (await entries({ type: 'audit.read', actor: 'reader' })).length;
    expect(before).toBeGreaterThan(0);
    await get(tok.reader, '/v1/events?limit=1');
    await collector.trail.flush();
    const after = await entries({ type: 'audit.read', actor: 'reader' });
    expect(after.length).toBe(before + 1);
    expect(after.at(-1)).toMatchObject({
      action: 'api.query',
      actor: { id: 'reader', authMethod: 'bearer_token' },
    });
  });
});

describe('reads and unknown routes', () => {
  it('has the audit.read of a read on disk before the reader gets the data', async () => {
    await collector.trail.flush();
    const before = (await entries({ type: 'audit.read', actor: 'reader' })).length;
    expect((await get(tok.reader, '/v1/events?limit=1')).status).toBe(200);
    expect((await entries({ type: 'audit.read', actor: 'reader' })).length).toBe(before + 1);
  });

  it('answers 404 to an unknown route before reading its body, and closes: no parse, no count', async () => {
    const rejected = collector.metrics.rejected;
    const body = `${'{"type":"x.a"}\n'.repeat(1000)}not json\n`;
    for (const method of ['POST', 'DELETE']) {
      const r = await fetch(`${base}/no-such-route`, {
        method,
        headers: { 'content-type': 'application/x-ndjson' },
        body,
      });
      expect(r.status).toBe(404);
      expect(r.headers.get('connection')).toBe('close');
      expect(await r.json()).toEqual({ error: 'NOT_FOUND', message: 'no such route' });
    }
    expect(collector.metrics.rejected).toBe(rejected);
  });
});

describe('proofs and verification', () => {
  it('returns an inclusion proof that verifies with verifyInclusion, and a consistency proof', async () => {
    const r0 = await post(tok['producer-a'], JSON.stringify([event(10)]));
    const [id] = ((await r0.json()) as { ids: string[] }).ids;
    await collector.trail.checkpoint();
    const cpText = await (await get(tok.reader, '/checkpoint')).text();
    const verifier = NoteVerifier.fromVkey(collector.trail.verifierKey);
    const size1 = openCheckpoint(cpText, verifier).size;

    const r = await get(tok.reader, `/v1/proof/inclusion?id=${id!}`);
    expect(r.status).toBe(200);
    const proof = (await r.json()) as {
      index: number;
      treeSize: number;
      leaf: string;
      leafHash: string;
      hashes: string[];
      checkpoint: string;
    };
    const cp = openCheckpoint(proof.checkpoint, verifier);
    const leafHash = hashLeaf(Buffer.from(proof.leaf, 'base64'));
    const hashes = proof.hashes.map((h) => Buffer.from(h, 'base64'));
    expect(() => verifyInclusion(proof.index, proof.treeSize, leafHash, hashes, cp.rootHash)).not.toThrow();
    const flipped = Buffer.from(leafHash);
    flipped[0]! ^= 1;
    expect(() => verifyInclusion(proof.index, proof.treeSize, flipped, hashes, cp.rootHash)).toThrow();

    await post(tok['producer-a'], JSON.stringify([event(11)]));
    await collector.trail.checkpoint();
    const c = await get(tok.reader, `/v1/proof/consistency?from=${size1}`);
    expect(c.status).toBe(200);
    const doc = (await c.json()) as {
      size1: number;
      size2: number;
      root1: string;
      root2: string;
      hashes: string[];
    };
    expect(doc.size2).toBeGreaterThan(size1);
    expect(() =>
      verifyConsistency(
        doc.size1,
        doc.size2,
        doc.hashes.map((h) => Buffer.from(h, 'base64')),
        Buffer.from(doc.root1, 'base64'),
        Buffer.from(doc.root2, 'base64'),
      ),
    ).not.toThrow();
    expect(doc.root1).toBe(openCheckpoint(cpText, verifier).rootHash.toString('base64'));
    for (const [query, field] of [
      ['from=0', 'from'],
      [`from=1&to=${size1 + 1000}`, 'to'],
      ['from=3&to=2', 'from'],
    ] as const) {
      const bad = await get(tok.reader, `/v1/proof/consistency?${query}`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: 'USAGE', field });
    }
  });

  it('verifies the trail through GET /v1/verify', async () => {
    const r = await get(tok.reader, '/v1/verify');
    expect(r.status).toBe(200);
    const report = (await r.json()) as { ok: boolean; entries: number };
    expect(report.ok).toBe(true);
    expect(report.entries).toBeGreaterThan(6);
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with ingested, rejected and queue depth', async () => {
    const r = await get(tok.ops, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toContain(`sealtrail_events_ingested_total ${collector.metrics.ingested}\n`);
    expect(collector.metrics.ingested).toBe(9);
    // 3 (bad event) + 2 (bad line) + 14 (seven batches of 2 with a type of the trail's own) + 4 (two
    // batches of 2 with a rounded number) + 1 (syntax: not counted, never parsed) + 51 (batch limit)
    // + 0 (413: never parsed)
    expect(text).toMatch(/^sealtrail_events_rejected_total 74$/m);
    expect(text).toMatch(/^sealtrail_queue_depth \d+$/m);
    expect(text).toContain('# TYPE sealtrail_flush_seconds summary');
  });
});

describe('when the writer queue cannot take the batch', () => {
  it('answers 503 with Retry-After and writes nothing', async () => {
    const dir2 = path.join(tmp, 'small');
    const t = createToken(dir2, { name: 'p', scopes: ['ingest'] }).token;
    const small = await Collector.open({ dir: dir2, trail: { batchSize: 1, maxQueue: 2 } });
    try {
      const url = (await small.listen({ port: 0 })).url;
      const r = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: JSON.stringify([event(1), event(2), event(3)]),
      });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(await r.json()).toMatchObject({ error: 'BUFFER_FULL' });
      expect(small.trail.queueDepth).toBe(0);
    } finally {
      await small.close();
    }
    let n = 0;
    for await (const _ of query(dir2, { type: 'model.*' })) n++;
    expect(n).toBe(0);
  });
});

describe('when a token goes over its rate limit', () => {
  it('answers 429 with Retry-After to that token only', async () => {
    const dir3 = path.join(tmp, 'limited');
    const a = createToken(dir3, { name: 'a', scopes: ['read'] }).token;
    const b = createToken(dir3, { name: 'b', scopes: ['read'] }).token;
    const limited = await Collector.open({ dir: dir3, rateLimit: { max: 3, windowMs: 60_000 } });
    try {
      const url = (await limited.listen({ port: 0 })).url;
      const ask = (t: string): Promise<Response> =>
        fetch(`${url}/v1/events?limit=1`, { headers: { authorization: `Bearer ${t}` } });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await ask(a)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const over = await ask(a);
      expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await over.json()).toEqual({ error: 'RATE_LIMITED', message: 'too many requests; retry later' });
      expect((await ask(b)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('counts requests that authentication refuses against their client address', async () => {
    const dir3 = path.join(tmp, 'limited-refused');
    const reader = createToken(dir3, { name: 'reader', scopes: ['read'] }).token;
    const limited = await Collector.open({ dir: dir3, rateLimit: { max: 3, windowMs: 60_000 } });
    try {
      const url = (await limited.listen({ port: 0 })).url;
      const statuses: number[] = [];
      for (const t of ['stk_guess1', 'stk_guess2', reader, 'stk_guess3']) {
        // The reader token may read but not ingest: 403, refused like a wrong token.
        const res = await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
          body: '[]',
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 403, 429]);
      const over = await fetch(`${url}/v1/events?limit=1`, {
        headers: { authorization: 'Bearer stk_guess4' },
      });
      expect(over.status).toBe(429);
      expect(over.headers.get('retry-after')).toMatch(/^\d+$/);
      // A valid token is counted apart from its address.
      expect(
        (await fetch(`${url}/v1/events?limit=1`, { headers: { authorization: `Bearer ${reader}` } })).status,
      ).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('with a TLS certificate', () => {
  it('serves HTTPS only', async () => {
    const dir4 = path.join(tmp, 'tls');
    fs.mkdirSync(dir4, { recursive: true });
    const key = path.join(tmp, 'tls.key');
    const cert = path.join(tmp, 'tls.crt');
    expect(selfSignedCert(key, cert)).toBe(true);
    const secure = await Collector.open({
      dir: dir4,
      tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) },
    });
    try {
      const { url, port } = await secure.listen({ port: 0 });
      expect(url).toBe(`https://127.0.0.1:${port}`);
      const status = await new Promise<number>((resolve, reject) => {
        https
          .get(`${url}/healthz`, { ca: fs.readFileSync(cert) }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject);
      });
      expect(status).toBe(200);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await secure.close();
    }
  });
});

describe('the demo events', () => {
  it('are accepted by the writer, hold a guardrail block and failed sign-ins, and verify', async () => {
    const dir5 = path.join(tmp, 'demo');
    const demo = await Collector.open({ dir: dir5 });
    try {
      expect(await seedDemo(demo.trail)).toBe(demoEvents().length);
    } finally {
      await demo.close();
    }
    const all: AuditEntry[] = [];
    for await (const e of query(dir5, {}, { order: 'oldest' })) all.push(e);
    expect(all.length).toBe(demoEvents().length);
    expect(all.filter((e) => e.type === 'auth.failure')).toHaveLength(3);
    expect(all.some((e) => e.type === 'guardrail.decision' && e.outcome === 'blocked')).toBe(true);
    expect(all.every((e) => (e.meta as { producer?: string }).producer === 'demo')).toBe(true);
    expect(verifyDir(dir5).ok).toBe(true);
  });
});

describe('a request whose body is held back', () => {
  it('is answered 408 and its connection closed once the request time limit passes', async () => {
    const slowDir = path.join(tmp, 'slow');
    const producer = createToken(slowDir, { name: 'slow-producer', scopes: ['ingest'] }).token;
    const slow = await Collector.open({ dir: slowDir, requestTimeoutMs: 300 });
    try {
      const { url } = await slow.listen({ port: 0 });
      const { port } = new URL(url);
      const socket = net.connect(Number(port), '127.0.0.1');
      let answer = '';
      socket.on('data', (d) => {
        answer += d;
      });
      const closed = new Promise<void>((r) => socket.on('close', () => r()));
      socket.write(
        `POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${producer}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n[`,
      );
      await closed; // within the test's timeout: the server hangs up
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await slow.close();
    }
  });
});

describe('the headers of every answer', () => {
  // Answers carry decrypted payloads and the trail's records: a browser must not keep them in its
  // cache (a shared machine, a later user), sniff them into HTML, or show them in another site's frame.
  it('forbid caching, sniffing and framing, on data, errors, the viewer and the tail', async () => {
    const tail = new AbortController();
    const answers: Array<[string, Response]> = [
      ['viewer page', await get(undefined, '/')],
      ['viewer script', await get(undefined, '/viewer.js')],
      ['health', await get(undefined, '/healthz')],
      ['events', await get(tok['content-reader'], '/v1/events?limit=2')],
      ['401', await get(undefined, '/v1/events')],
      ['403', await get(tok['producer-a'], '/v1/events')],
      ['404', await get(tok.reader, '/v1/nothing')],
      ['bad url', await get(tok.reader, '/v1/events/%ZZ')],
      ['ingest', await post(tok['producer-a'], JSON.stringify([event(70)]))],
      [
        'tail',
        await fetch(`${base}/v1/tail`, {
          headers: { authorization: `Bearer ${tok.reader}` },
          signal: tail.signal,
        }),
      ],
    ];
    tail.abort();
    for (const [name, r] of answers) {
      const h = Object.fromEntries(r.headers);
      expect({ name, nosniff: h['x-content-type-options'], frame: h['x-frame-options'] }).toEqual({
        name,
        nosniff: 'nosniff',
        frame: 'DENY',
      });
      expect(h['cache-control'], name).toContain('no-store');
      expect(h['content-security-policy'], name).toContain("frame-ancestors 'none'");
      expect(h['referrer-policy'], name).toBe('no-referrer');
    }
    // The page keeps its own policy (its script and the API); everything else may load nothing.
    expect(answers[0]![1].headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(answers[3]![1].headers.get('content-security-policy')).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });
});

describe('when the token file is changed into something that is not a token file', () => {
  // Before, the first request after the change got 400 CONFIG_INVALID with the file's path, and
  // every later one was served with the tokens of before: a token the edit meant to revoke stayed good.
  it('refuses every token with a plain 401 until the file is fixed, and names no path', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-collector-tokens-'));
    const ownDir = path.join(own, 'audit');
    const { token } = createToken(ownDir, { name: 'auditor', scopes: ['read'] });
    const good = fs.readFileSync(tokenFile(ownDir), 'utf8');
    const c = await Collector.open({ dir: ownDir, rateLimit: false });
    const url = (await c.listen({ port: 0 })).url;
    const read = () => fetch(`${url}/v1/events?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    const reloaded = () => new Promise((resolve) => setTimeout(resolve, 1100)); // the file is checked once a second
    try {
      expect((await read()).status).toBe(200);
      fs.writeFileSync(tokenFile(ownDir), '{"tokens": [ {"name": "auditor"');
      await reloaded();
      for (let i = 0; i < 2; i++) {
        const r = await read();
        expect(r.status).toBe(401);
        expect(await r.text()).not.toContain(own);
      }
      fs.writeFileSync(tokenFile(ownDir), good);
      await reloaded();
      expect((await read()).status).toBe(200);
    } finally {
      await c.close();
      fs.rmSync(own, { recursive: true, force: true });
    }
  });

  // A fix need not change the file's mtime: chmod or chown of a file that could not be read
  // changes only its ctime. The collector tried the file again only on a new mtime, so it refused
  // every token until it was restarted.
  it('reads the file again at the next check after a failure, also when its mtime is the same', async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-collector-tokens-'));
    const ownDir = path.join(own, 'audit');
    const { token } = createToken(ownDir, { name: 'auditor', scopes: ['read'] });
    const file = tokenFile(ownDir);
    const good = fs.readFileSync(file, 'utf8');
    const c = await Collector.open({ dir: ownDir, rateLimit: false });
    const url = (await c.listen({ port: 0 })).url;
    const read = () => fetch(`${url}/v1/events?limit=1`, { headers: { authorization: `Bearer ${token}` } });
    const reloaded = () => new Promise((resolve) => setTimeout(resolve, 1100)); // the file is checked once a second
    try {
      const when = new Date(Math.floor(Date.now() / 1000) * 1000 + 5000); // whole ms: utimes keeps it exactly
      fs.writeFileSync(file, '{"tokens": [ {"name": "auditor"');
      fs.utimesSync(file, when, when);
      await reloaded();
      expect((await read()).status).toBe(401);
      fs.writeFileSync(file, good);
      fs.utimesSync(file, when, when); // the fixed file keeps the mtime the collector saw
      await reloaded();
      expect((await read()).status).toBe(200);
    } finally {
      await c.close();
      fs.rmSync(own, { recursive: true, force: true });
    }
  });
});
