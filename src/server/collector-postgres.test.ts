/**
 * Collectors on PostgreSQL: two collectors on one database, each writing its own log, over real
 * HTTP on loopback; a third for a log already held is refused; reads, proofs and verify served
 * from the database. A real server started by the test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoteVerifier, openCheckpoint, verifyInclusion } from '../chain/index.js';
import { isAuditError } from '../errors.js';
import { verifyDir } from '../read/index.js';
import { PgSource } from '../store/postgres/index.js';
import { startPostgres, type TestPostgres } from '../test-support/postgres.js';
import { Collector } from './collector.js';
import { createToken } from './tokens.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-collector-pg-'));
let server: TestPostgres;
let url: string;
const collectors: Collector[] = [];

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('collect');
});

afterAll(async () => {
  for (const c of collectors) await c.close().catch(() => {});
  server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function start(log: string): Promise<{ collector: Collector; base: string; token: string }> {
  const dir = path.join(tmp, log);
  const { token } = createToken(dir, { name: 'all', scopes: ['ingest', 'read', 'read:content'] });
  const collector = await Collector.open({ dir, postgres: { url, log, keysDir: dir } });
  collectors.push(collector);
  return { collector, base: (await collector.listen({ port: 0 })).url, token };
}

describe('collectors on one PostgreSQL database', () => {
  let a: Awaited<ReturnType<typeof start>>;
  let b: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    [a, b] = await Promise.all([start('svc-a'), start('svc-b')]);
  });

  async function ingest(c: typeof a, n: number, tag: string): Promise<number> {
    const body = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ type: 'model.request', actor: { id: tag }, content: { prompt: `${tag} ${i}` } }),
    ).join('\n');
    const r = await fetch(`${c.base}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/x-ndjson' },
      body,
    });
    return r.status;
  }

  it('each writes its own log, and reads, proofs and verify come from the database', async () => {
    expect(await ingest(a, 30, 'a')).toBeLessThan(300);
    expect(await ingest(b, 20, 'b')).toBeLessThan(300);
    await Promise.all([a.collector.trail.checkpoint(), b.collector.trail.checkpoint()]);

    const headers = { authorization: `Bearer ${a.token}` };
    const list = (await (await fetch(`${a.base}/v1/events?actor=a&limit=100`, { headers })).json()) as {
      events: Array<{ id: string; seq: number; actor: { id: string } }>;
    };
    expect(list.events).toHaveLength(30);
    expect(list.events.every((e) => e.actor.id === 'a')).toBe(true);

    const id = list.events[5]!.id;
    const proof = (await (await fetch(`${a.base}/v1/proof/inclusion?id=${id}`, { headers })).json()) as {
      index: number;
      treeSize: number;
      leafHash: string;
      hashes: string[];
      checkpoint: string;
    };
    const cp = openCheckpoint(proof.checkpoint, NoteVerifier.fromVkey(a.collector.trail.verifierKey));
    expect(() =>
      verifyInclusion(
        proof.index,
        proof.treeSize,
        Buffer.from(proof.leafHash, 'base64'),
        proof.hashes.map((h) => Buffer.from(h, 'base64')),
        cp.rootHash,
      ),
    ).not.toThrow();

    // Verified in a thread of its own, on a connection of its own: the report verifyDir gives here.
    const source = new PgSource(url, 'svc-b');
    let expected: ReturnType<typeof verifyDir>;
    try {
      expected = verifyDir(source);
    } finally {
      source.close();
    }
    const verify = (await (
      await fetch(`${b.base}/v1/verify`, { headers: { authorization: `Bearer ${b.token}` } })
    ).json()) as {
      verifiedAt: string;
      ok: boolean;
      entries: number;
    };
    expect(verify.ok).toBe(true);
    expect(verify.entries).toBeGreaterThanOrEqual(20);
    const { verifiedAt: _, ...report } = verify;
    expect(report).toEqual(expected);
  });

  it('a second collector for a log already held fails with TRAIL_LOCKED', async () => {
    const dir = path.join(tmp, 'svc-a-second');
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(path.join(tmp, 'svc-a', 'checkpoint.skey'), path.join(dir, 'checkpoint.skey'));
    fs.cpSync(path.join(tmp, 'svc-a', 'seal.key'), path.join(dir, 'seal.key'));
    const err = await Collector.open({ dir, postgres: { url, log: 'svc-a', keysDir: dir } }).catch(
      (e: unknown) => e,
    );
    expect(isAuditError(err, 'TRAIL_LOCKED')).toBe(true);
  });

  it('after both close, both logs verify on their own', async () => {
    for (const c of collectors.splice(0)) await c.close();
    for (const log of ['svc-a', 'svc-b']) {
      const source = new PgSource(url, log);
      try {
        const report = verifyDir(source);
        expect(report.failure).toBeUndefined();
        expect(report.ok).toBe(true);
      } finally {
        source.close();
      }
    }
  });
});
