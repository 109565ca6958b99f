/**
 * GET /v1/verify on a real collector on loopback, over a trail large enough that a verification
 * takes a noticeable time (100,000 entries: about half a second of CPU). It runs in a worker
 * thread: ingest and health checks issued after it are answered before it; requests that arrive
 * during a run share it, each recorded as its own read; errors keep their HTTP answers.
 */
import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { type AuditEntry, query, verifyDir } from '../read/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { Collector } from './collector.js';
import { createToken } from './tokens.js';

const ENTRIES = 100_000;
let root: string;
let dir: string;
let collector: Collector;
let base: string;
let reader: string;
let producer: string;
let closed = false;

beforeAll(async () => {
  root = tempDir();
  dir = path.join(root, 'audit');
  const trail = await AuditTrail.open({ dir, handleExit: false });
  for (let i = 0; i < ENTRIES; i++) {
    trail.emit({
      type: 'model.request',
      actor: { id: `u${i % 50}`, type: 'user' },
      content: { prompt: `q ${i}` },
    });
    if (i % 5000 === 4999) await trail.flush();
  }
  await trail.close();
  reader = createToken(dir, { name: 'auditor', scopes: ['read'] }).token;
  producer = createToken(dir, { name: 'svc', scopes: ['ingest'] }).token;
  collector = await Collector.open({ dir, trail: { checkpointIntervalMs: 3_600_000 } });
  base = (await collector.listen({ port: 0 })).url;
}, 120_000);

afterAll(async () => {
  if (!closed) await collector?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function verify(): Promise<Response> {
  return fetch(`${base}/v1/verify`, { headers: { authorization: `Bearer ${reader}` } });
}

/** Resolves once the server has `count` requests for `url` in hand. */
function received(url: string, count = 1): Promise<void> {
  const server = collector.app.server;
  return new Promise((resolve) => {
    let seen = 0;
    const onRequest = (req: IncomingMessage): void => {
      if (req.url !== url || ++seen < count) return;
      server.off('request', onRequest);
      resolve();
    };
    server.on('request', onRequest);
  });
}

async function verifyReads(): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for await (const e of query(dir, { type: 'audit.read', action: 'api.verify' }, { order: 'oldest' }))
    out.push(e);
  return out;
}

describe('GET /v1/verify of a large trail', () => {
  it('answers ingest and /healthz issued after it before its own answer, which is the full report', async () => {
    const order: string[] = [];
    const inHand = received('/v1/verify');
    const verifying = verify().then((r) => {
      order.push('verify');
      return r;
    });
    await inHand;
    // Each request is issued once the one before it is answered.
    for (let i = 0; i < 3; i++) {
      const ingest = await fetch(`${base}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${producer}`, 'content-type': 'application/json' },
        body: JSON.stringify([
          { type: 'model.request', actor: { id: 'late' }, content: { prompt: `late ${i}` } },
        ]),
      });
      expect(ingest.status).toBe(200);
      order.push(`ingest ${i}`);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      order.push(`healthz ${i}`);
    }
    const r = await verifying;
    expect(order).toEqual([
      'ingest 0',
      'healthz 0',
      'ingest 1',
      'healthz 1',
      'ingest 2',
      'healthz 2',
      'verify',
    ]);
    expect(r.status).toBe(200);
    const body = (await r.json()) as Record<string, unknown> & { verifiedAt: string; entries: number };
    expect(Object.keys(body)[0]).toBe('verifiedAt');
    expect(Number.isNaN(Date.parse(body.verifiedAt))).toBe(false);
    expect(body.ok).toBe(true);
    expect(body.entries).toBeGreaterThanOrEqual(ENTRIES);
    // verifiedAt, then verifyDir's report as it is (only entries written since may differ).
    const { verifiedAt: _, ...report } = body;
    const now = verifyDir(dir);
    expect(Object.keys(report)).toEqual(Object.keys(now));
    expect(report.origin).toBe(now.origin);
  });

  it('shares one run among the requests that arrive while it runs, and records each as its own read', async () => {
    const readsBefore = (await verifyReads()).length;
    const runsBefore = collector.metrics.verifications;
    const inHand = received('/v1/verify', 3);
    const answers = Promise.all([verify(), verify(), verify()]);
    await inHand;
    const bodies = await Promise.all((await answers).map((r) => r.json()));
    expect(collector.metrics.verifications).toBe(runsBefore + 1);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect((bodies[0] as { ok: boolean }).ok).toBe(true);
    const reads = await verifyReads();
    expect(reads).toHaveLength(readsBefore + 3);
    for (const e of reads.slice(readsBefore)) {
      expect(e).toMatchObject({
        actor: { id: 'auditor' },
        meta: { verb: 'api.verify', count: (bodies[0] as { entries: number }).entries },
      });
    }
    // A request after the run ends starts a new one.
    expect((await verify()).status).toBe(200);
    expect(collector.metrics.verifications).toBe(runsBefore + 2);
  });

  it("answers an error as before: verifyDir's code and message, with its status", async () => {
    const meta = path.join(dir, 'trail.json');
    const aside = path.join(root, 'trail.json.aside');
    fs.renameSync(meta, aside);
    try {
      let expected: AuditError | undefined;
      try {
        verifyDir(dir);
      } catch (err) {
        expected = err as AuditError;
      }
      expect(expected).toBeInstanceOf(AuditError);
      const r = await verify();
      expect(r.status).toBe(expected!.httpStatus);
      expect(await r.json()).toEqual({ error: expected!.code, message: expected!.message });
    } finally {
      fs.renameSync(aside, meta);
    }
  });

  it('is finished, and its read recorded, when the collector closes during it', async () => {
    const readsBefore = (await verifyReads()).length;
    const inHand = received('/v1/verify');
    const answer = verify();
    await inHand;
    closed = true;
    await collector.close();
    const r = await answer;
    expect(r.status).toBe(200);
    expect(((await r.json()) as { ok: boolean }).ok).toBe(true);
    expect(await verifyReads()).toHaveLength(readsBefore + 1);
    expect(verifyDir(dir).ok).toBe(true);
  });
});
