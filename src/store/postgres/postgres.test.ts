import diagnosticsChannel from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../chain/checkpoint.js';
import { verifyConsistency, verifyInclusion } from '../../chain/proof-verify.js';
import { hashLeaf } from '../../chain/rfc6962.js';
import { DIAGNOSTICS_CHANNEL, type Diagnostic } from '../../diagnostics.js';
import { isAuditError } from '../../errors.js';
import type { AuditEventInput } from '../../event/types.js';
import { KeyRing, openKeyDirSubjectKeys } from '../../keys/index.js';
import { revealContent } from '../../protect/content-modes.js';
import { proveConsistency, proveInclusion } from '../../read/prove.js';
import { getEntry, query } from '../../read/query.js';
import { verifyDir } from '../../read/verify-dir.js';
import { startPostgres, startSilentRelay, type TestPostgres } from '../../test-support/postgres.js';
import { AuditTrail } from '../../writer/trail.js';
import { logLockKey } from './connect.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';
import { insertPendingReads } from './pg-pending-reads.js';
import { PgSource } from './pg-source.js';
import { PgSyncClient } from './pg-sync.js';

let server: TestPostgres;
let tmp: string;

beforeAll(async () => {
  server = await startPostgres();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-pg-test-'));
});

afterAll(() => {
  server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let dbCount = 0;
async function freshDb(): Promise<{ name: string; url: string }> {
  const name = `t${++dbCount}`;
  return { name, url: await server.createDatabase(name) };
}

function keys(name: string): string {
  return path.join(tmp, name);
}

async function writeEvents(url: string, log: string, n: number, keysDir: string): Promise<string[]> {
  const trail = await AuditTrail.open({ postgres: { url, log, keysDir }, handleExit: false });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      trail.emit({
        type: i % 3 === 0 ? 'auth.failure' : 'x.test',
        actor: { id: `user-${i % 5}` },
        content: { prompt: `prompt ${i}` },
        meta: { i },
      }),
    );
  }
  await trail.close();
  return ids;
}

describe('the PostgreSQL store', () => {
  describe('when a trail appends, reopens and appends again', () => {
    it('stores every entry once in one chain that verifies, with checkpoints and seals', async () => {
      const { url, name } = await freshDb();
      const k = keys('append');
      const first = await AuditTrail.open({ postgres: { url, log: 'app', keysDir: k }, handleExit: false });
      const seed = first.sealSeed!;
      expect(seed).toMatch(/^[A-Za-z0-9_-]{43}$/);
      for (let i = 0; i < 700; i++) first.emit({ type: 'x.test', content: { prompt: `p${i}` } });
      await first.close();
      await writeEvents(url, 'app', 300, k);

      const count = await server.sql(
        name,
        'SELECT count(*)::int AS n, max(seq)::int AS m FROM sealtrail.entries',
      );
      expect(count.rows[0]).toEqual({ n: 1000, m: 999 });
      const nodes = await server.sql(name, 'SELECT level, idx FROM sealtrail.nodes ORDER BY level, idx');
      expect(nodes.rows.map((r) => [r.level, Number(r.idx)])).toEqual([
        [8, 0],
        [8, 1],
        [8, 2],
      ]);

      const source = new PgSource(url, 'app');
      try {
        expect(source.live()).toBe(false);
        const report = verifyDir(source, { sealSeed: seed });
        expect(report.failure).toBeUndefined();
        expect(report.ok).toBe(true);
        expect(report.entries).toBe(1000);
        expect(report.seals?.epochs).toBeGreaterThanOrEqual(2);
        expect(report.contentFields.verified).toBe(1000);
      } finally {
        source.close();
      }
    });
  });

  describe('a reader query past its time limit', () => {
    it('fails with STORE_UNAVAILABLE, and the next query gets its own answer', async () => {
      const { url } = await freshDb();
      // The limit leaves room to start the reader thread and connect (twice: once more after the time-out).
      const client = new PgSyncClient(url, 3000);
      try {
        expect(client.query<{ answer: number }>('SELECT 1 AS answer')).toEqual([{ answer: 1 }]);
        expect(() => client.query("SELECT pg_sleep(5), 'late' AS slow")).toThrow(
          expect.objectContaining({ code: 'STORE_UNAVAILABLE' }),
        );
        // The late answer arrives meanwhile; it must not answer the queries that follow.
        await new Promise((r) => setTimeout(r, 2500));

        expect(client.query<{ answer: number }>('SELECT 42 AS answer')).toEqual([{ answer: 42 }]);
        expect(client.query<{ y: string }>("SELECT 'x' AS y")).toEqual([{ y: 'x' }]);
      } finally {
        client.close();
      }
    });
  });

  describe('reading a log', () => {
    let url: string;
    let ids: string[];
    beforeAll(async () => {
      ({ url } = await freshDb());
      ids = await writeEvents(url, 'reads', 600, keys('reads'));
    });

    it('queries with filters, newest first, and finds an entry by id', async () => {
      const source = new PgSource(url, 'reads');
      try {
        const failures = await query(source, { type: 'auth.failure', actor: 'user-0' }).toArray();
        // i % 3 === 0 and i % 5 === 0: every 15th of 600
        expect(failures).toHaveLength(40);
        expect(failures[0]!.meta).toEqual({ i: 585 });
        expect(
          failures.every(
            (e) => e.type === 'auth.failure' && (e.actor as { id?: string } | undefined)?.id === 'user-0',
          ),
        ).toBe(true);
        const oldest = await query(source, {}, { order: 'oldest', limit: 3 }).toArray();
        expect(oldest.map((e) => e.seq)).toEqual([0, 1, 2]);
        const e = await getEntry(source, ids[123]!);
        expect(e?.seq).toBe(123);
        expect(e?.content).toEqual({ prompt: 'prompt 123' });
        expect(await getEntry(source, '0190a6f2-0000-7000-8000-000000000000')).toBeUndefined();
        for (let i = 0; i < ids.length; i += i < 10 || i > 590 ? 1 : 37)
          expect(source.findSeqById(ids[i]!)).toBe(i);
      } finally {
        source.close();
      }
    });

    it('builds inclusion and consistency proofs that check against the signed checkpoint', () => {
      const source = new PgSource(url, 'reads');
      try {
        for (const seq of [0, 255, 256, 511, 599]) {
          const p = proveInclusion(source, { seq });
          const cp = Checkpoint.parse(p.checkpoint.slice(0, p.checkpoint.indexOf('\n\n') + 1));
          expect(p.treeSize).toBe(600);
          expect(hashLeaf(Buffer.from(p.leaf, 'base64')).toString('base64')).toBe(p.leafHash);
          expect(() =>
            verifyInclusion(
              seq,
              p.treeSize,
              Buffer.from(p.leafHash, 'base64'),
              p.hashes.map((h) => Buffer.from(h, 'base64')),
              cp.rootHash,
            ),
          ).not.toThrow();
        }
        const byId = proveInclusion(source, { id: ids[42]! });
        expect(byId.index).toBe(42);
        const c = proveConsistency(source, 300);
        expect(() =>
          verifyConsistency(
            c.size1,
            c.size2,
            c.hashes.map((h) => Buffer.from(h, 'base64')),
            Buffer.from(c.root1, 'base64'),
            Buffer.from(c.root2, 'base64'),
          ),
        ).not.toThrow();
      } finally {
        source.close();
      }
    });

    it('keeps hostile text byte for byte through COPY (backslashes, tabs, controls, bidi, emoji)', async () => {
      const hostile =
        'back\\slash tab\t nl\n cr\r nul\0 esc\x1b[2J rlo\u202e zw\u200b emoji \u{1f600} quote"';
      const trail = await AuditTrail.open({
        postgres: { url, log: 'hostile', keysDir: keys('hostile') },
        handleExit: false,
      });
      const id = trail.emit({ type: 'x.hostile', actor: { id: hostile }, content: { prompt: hostile } });
      await trail.close();
      const source = new PgSource(url, 'hostile');
      try {
        const e = await getEntry(source, id);
        expect(e?.content).toEqual({ prompt: hostile });
        expect(verifyDir(source).ok).toBe(true);
      } finally {
        source.close();
      }
    });

    it('reads back through the writing AuditTrail', async () => {
      const trail = await AuditTrail.open({
        postgres: { url, log: 'reads', keysDir: keys('reads') },
        handleExit: false,
      });
      try {
        const id = trail.emit({ type: 'x.late', meta: { late: true } });
        const got = await trail.get(id);
        expect(got?.seq).toBe(600);
        const seen: number[] = [];
        for await (const e of trail.query({ type: 'x.late' })) seen.push(e.seq);
        expect(seen).toEqual([600]);
      } finally {
        await trail.close();
      }
    });
  });

  describe('append-only in the database', () => {
    let url: string;
    let name: string;
    beforeAll(async () => {
      ({ url, name } = await freshDb());
      await writeEvents(url, 'locked', 50, keys('locked'));
      await server.sql(name, "CREATE ROLE app LOGIN PASSWORD 'app-secret' IN ROLE sealtrail_writer");
    });

    it('refuses UPDATE, DELETE and TRUNCATE to the application role', async () => {
      const client = new pg.Client({ connectionString: server.urlAs('app', 'app-secret', name) });
      await client.connect();
      try {
        for (const sql of [
          "UPDATE sealtrail.entries SET line = 'x' WHERE seq = 1",
          'DELETE FROM sealtrail.entries WHERE seq = 49',
          'TRUNCATE sealtrail.checkpoints',
          "UPDATE sealtrail.logs SET verifier_key = 'x'",
        ]) {
          await expect(client.query(sql), sql).rejects.toMatchObject({ code: '42501' });
        }
        // The same role appends: INSERT and SELECT are what it has.
        const n = await client.query('SELECT count(*)::int AS n FROM sealtrail.entries');
        expect(n.rows[0].n).toBe(50);
      } finally {
        await client.end();
      }
    });

    it('lets the application role write a log through AuditTrail', async () => {
      const appUrl = server.urlAs('app', 'app-secret', name);
      await writeEvents(appUrl, 'by-app', 20, keys('by-app'));
      const source = new PgSource(appUrl, 'by-app');
      try {
        expect(verifyDir(source).ok).toBe(true);
      } finally {
        source.close();
      }
    });

    it('rejects UPDATE and DELETE by the trigger even for the owner', async () => {
      await expect(server.sql(name, "UPDATE sealtrail.entries SET ts = 'x' WHERE seq = 1")).rejects.toThrow(
        /append-only/,
      );
      await expect(server.sql(name, 'DELETE FROM sealtrail.seals')).rejects.toThrow(/append-only/);
      await expect(server.sql(name, 'TRUNCATE sealtrail.entries CASCADE')).rejects.toThrow(/append-only/);
    });
  });

  describe('reads recorded by a reader role', () => {
    let name: string;
    let appUrl: string;
    let readerUrl: string;
    const read = (n: number): AuditEventInput => ({
      type: 'audit.read',
      actor: { id: 'auditor-person', type: 'user' },
      action: 'query',
      outcome: 'success',
      meta: { verb: 'query', n },
    });
    const logReads = async (url: string) => {
      const source = new PgSource(url, 'audited');
      const out = [];
      try {
        for await (const e of query(source, { type: ['audit.read'] }, { order: 'oldest' })) out.push(e);
      } finally {
        source.close();
      }
      return out;
    };
    beforeAll(async () => {
      let url: string;
      ({ url, name } = await freshDb());
      await writeEvents(url, 'audited', 5, keys('audited'));
      await server.sql(name, "CREATE ROLE app2 LOGIN PASSWORD 'app-secret' IN ROLE sealtrail_writer");
      await server.sql(name, "CREATE ROLE auditor LOGIN PASSWORD 'aud-secret' IN ROLE sealtrail_reader");
      appUrl = server.urlAs('app2', 'app-secret', name);
      readerUrl = server.urlAs('auditor', 'aud-secret', name);
    });

    it('refuses the reader role as a writer before it takes the lock, naming the role', async () => {
      await expect(
        AuditTrail.open({
          postgres: { url: readerUrl, log: 'audited', keysDir: keys('audited') },
          handleExit: false,
        }),
      ).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringContaining(
          'role auditor may not write logs: it needs the sealtrail_writer role',
        ),
      });
    });

    it('lets the reader role insert a pending read and nothing else', async () => {
      await insertPendingReads(readerUrl, 'audited', [read(1)]);
      const client = new pg.Client({ connectionString: readerUrl });
      await client.connect();
      try {
        for (const sql of [
          'SELECT * FROM sealtrail.pending_reads',
          'DELETE FROM sealtrail.pending_reads',
          "UPDATE sealtrail.pending_reads SET event = '{}'",
          "INSERT INTO sealtrail.entries (log_id, seq, ts, line, leaf_hash) VALUES (1, 99, 'x', 'x', '\\x00')",
        ]) {
          await expect(client.query(sql), sql).rejects.toMatchObject({ code: '42501' });
        }
        // A forged role name is overwritten by the database's own.
        await client.query(
          `INSERT INTO sealtrail.pending_reads (log_id, event, db_role)
           SELECT id, $1, 'someone-else' FROM sealtrail.logs WHERE log = 'audited'`,
          // a time of its own choosing: not kept (the database's is)
          [JSON.stringify({ ...read(2), ts: '1999-01-01T00:00:00.000Z' })],
        );
        // Rows the writer must not append: another event type, and text that is not JSON.
        await client.query(
          `INSERT INTO sealtrail.pending_reads (log_id, event)
           SELECT id, e FROM sealtrail.logs, unnest($1::text[]) AS e WHERE log = 'audited'`,
          [[JSON.stringify({ type: 'auth.success', actor: { id: 'forged' } }), 'not json']],
        );
      } finally {
        await client.end();
      }
      await expect(insertPendingReads(readerUrl, 'no-such-log', [read(3)])).rejects.toMatchObject({
        code: 'TRAIL_NOT_FOUND',
      });
      expect(await logReads(appUrl)).toHaveLength(0);
    });

    it('the writer appends the reads when it opens and deletes their rows; the log verifies', async () => {
      await writeEvents(appUrl, 'audited', 1, keys('audited'));
      const reads = await logReads(appUrl);
      expect(reads.map((e) => e.meta)).toEqual([
        { verb: 'query', n: 1, recordedLate: true, dbRole: 'auditor' },
        { verb: 'query', n: 2, recordedLate: true, dbRole: 'auditor' },
      ]);
      for (const e of reads) expect(Date.now() - Date.parse(e.ts)).toBeLessThan(3_600_000);
      const left = await server.sql(name, 'SELECT event FROM sealtrail.pending_reads ORDER BY id');
      expect(left.rows.map((r) => r.event)).toEqual([
        JSON.stringify({ type: 'auth.success', actor: { id: 'forged' } }),
        'not json',
      ]);
      const source = new PgSource(appUrl, 'audited');
      try {
        expect(verifyDir(source)).toMatchObject({ ok: true, entries: 5 + 2 + 1 });
        for await (const e of query(source, { type: ['auth.success'] })) expect(e).toBeUndefined();
      } finally {
        source.close();
      }
      await server.sql(
        name,
        'DELETE FROM sealtrail.pending_reads WHERE event NOT LIKE \'{"type":"audit.read"%\'',
      );
    });

    it('a running writer appends a read at its next tick', async () => {
      const trail = await AuditTrail.open({
        postgres: { url: appUrl, log: 'audited', keysDir: keys('audited') },
        handleExit: false,
      });
      try {
        await insertPendingReads(readerUrl, 'audited', [read(4)]);
        // The tick runs every second: wait for it (no bound on how long it may take here).
        for (;;) {
          const left = await server.sql(
            name,
            `SELECT count(*)::int AS n FROM sealtrail.pending_reads WHERE event LIKE '%"n":4%'`,
          );
          if (left.rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect((await logReads(appUrl)).map((e) => (e.meta as { n: number }).n)).toEqual([1, 2, 4]);
      } finally {
        await trail.close();
      }
      const source = new PgSource(appUrl, 'audited');
      try {
        expect(verifyDir(source).ok).toBe(true);
      } finally {
        source.close();
      }
    });
  });

  describe('when a superuser rewrites an entry behind the application', () => {
    /** A log of `n` entries, changed by `updates` with the append-only trigger off; verify's report after. */
    async function verifyAfter(log: string, n: number, updates: string) {
      const { url, name } = await freshDb();
      await writeEvents(url, log, n, keys(log));
      const report = (): ReturnType<typeof verifyDir> => {
        const source = new PgSource(url, log);
        try {
          return verifyDir(source);
        } finally {
          source.close();
        }
      };
      expect(report().ok).toBe(true);
      await server.sql(
        name,
        `BEGIN;
         ALTER TABLE sealtrail.entries DISABLE TRIGGER append_only;
         ${updates}
         ALTER TABLE sealtrail.entries ENABLE TRIGGER append_only;
         COMMIT;`,
      );
      return report();
    }

    it('verify fails and names the entry', async () => {
      const report = await verifyAfter(
        'tamper',
        100,
        `UPDATE sealtrail.entries SET line = replace(line, '"user-2"', '"user-9"') WHERE seq = 42;`,
      );
      expect(report.ok).toBe(false);
      expect(report.failure?.code).toBe('LEAF_HASH_MISMATCH');
      expect(report.failure?.seq).toBe(42);
    });

    it('verify fails when only the time column is moved (time-window queries would miss the entry)', async () => {
      const report = await verifyAfter(
        'tamper-ts',
        60,
        `UPDATE sealtrail.entries SET ts = '2000-01-01T00:00:00.000Z' WHERE seq = 30;`,
      );
      expect(report.ok).toBe(false);
      expect(report.failure?.code).toBe('ENTRY_MALFORMED');
      expect(report.failure?.seq).toBe(30);
    });

    it('verify fails when a stored node hash (what proofs are built from) is changed or deleted', async () => {
      const { url, name } = await freshDb();
      await writeEvents(url, 'tamper-nodes', 600, keys('tamper-nodes'));
      const report = (): ReturnType<typeof verifyDir> => {
        const source = new PgSource(url, 'tamper-nodes');
        try {
          return verifyDir(source);
        } finally {
          source.close();
        }
      };
      expect(report().ok).toBe(true);
      const tamper = (sql: string) =>
        server.sql(
          name,
          `BEGIN;
           ALTER TABLE sealtrail.nodes DISABLE TRIGGER append_only;
           ${sql}
           ALTER TABLE sealtrail.nodes ENABLE TRIGGER append_only;
           COMMIT;`,
        );
      await tamper('UPDATE sealtrail.nodes SET hash = sha256(hash) WHERE level = 8 AND idx = 1;');
      const changed = report();
      expect(changed.failure).toMatchObject({ code: 'ROOT_MISMATCH', seq: 511 });
      expect(changed.failure?.message).toMatch(/node 1 of level 8 \(table nodes\)/);
      await tamper('DELETE FROM sealtrail.nodes WHERE level = 8 AND idx = 0;');
      expect(report().failure).toMatchObject({ code: 'ROOT_MISMATCH', seq: 255 });
    });

    it('verify fails when the leaf hash is rewritten with the line', async () => {
      const report = await verifyAfter(
        'tamper2',
        100,
        `UPDATE sealtrail.entries SET line = replace(line, '"user-2"', '"user-9"') WHERE seq = 42;
         UPDATE sealtrail.entries SET leaf_hash = sha256('\\x00'::bytea || convert_to(split_part(line, E'\\t', 1), 'UTF8')) WHERE seq = 42;`,
      );
      expect(report.ok).toBe(false);
      expect(report.failure?.code).toBe('CHAIN_LINK_MISMATCH');
      expect(report.failure?.seq).toBe(43);
    });
  });

  describe('when a superuser replaces a log with a history signed under a key of their own', () => {
    it('verify alone trusts the key in the database; given the key kept from init or the seal seed, it fails', async () => {
      const { url, name } = await freshDb();
      const kept = await AuditTrail.open({
        postgres: { url, log: 'victim', keysDir: keys('victim') },
        handleExit: false,
      });
      const seed = kept.sealSeed!;
      for (let i = 0; i < 10; i++) kept.emit({ type: 'auth.failure', actor: { id: `user-${i}` } });
      await kept.close();
      const vkey = (await server.sql(name, "SELECT verifier_key FROM sealtrail.logs WHERE log = 'victim'"))
        .rows[0].verifier_key as string;
      await writeEvents(url, 'forged', 10, keys('forged')); // the rewriter's own keys
      const tables = ['logs', 'entries', 'nodes', 'checkpoints', 'seals'];
      await server.sql(
        name,
        `BEGIN;
         ${tables.map((t) => `ALTER TABLE sealtrail.${t} DISABLE TRIGGER append_only;`).join('\n')}
         ${['entries', 'nodes', 'checkpoints', 'seals']
           .map(
             (
               t,
             ) => `DELETE FROM sealtrail.${t} WHERE log_id = (SELECT id FROM sealtrail.logs WHERE log = 'victim');
              UPDATE sealtrail.${t} SET log_id = (SELECT id FROM sealtrail.logs WHERE log = 'victim')
                WHERE log_id = (SELECT id FROM sealtrail.logs WHERE log = 'forged');`,
           )
           .join('\n')}
         UPDATE sealtrail.logs SET origin = origin || '-gone' WHERE log = 'forged';
         UPDATE sealtrail.logs v SET origin = replace(f.origin, '-gone', ''), verifier_key = f.verifier_key
           FROM sealtrail.logs f WHERE v.log = 'victim' AND f.log = 'forged';
         ${tables.map((t) => `ALTER TABLE sealtrail.${t} ENABLE TRIGGER append_only;`).join('\n')}
         COMMIT;`,
      );
      const source = new PgSource(url, 'victim');
      try {
        expect(verifyDir(source).ok).toBe(true); // the database's own key: nothing to see
        expect(verifyDir(source, { verifierKey: vkey }).ok).toBe(false);
        expect(verifyDir(source, { sealSeed: seed }).failure?.code).toBe('SEAL_INVALID');
      } finally {
        source.close();
      }
    });
  });

  describe('two writers on one log', () => {
    it('the second fails with TRAIL_LOCKED naming the holder, and gets the log once the first closes', async () => {
      const { url } = await freshDb();
      const k = keys('two');
      const a = await AuditTrail.open({ postgres: { url, log: 'shared', keysDir: k }, handleExit: false });
      a.emit({ type: 'x.a' });
      await a.flush();
      const err = await AuditTrail.open({
        postgres: { url, log: 'shared', keysDir: k },
        handleExit: false,
      }).catch((e: unknown) => e);
      expect(isAuditError(err, 'TRAIL_LOCKED')).toBe(true);
      expect((err as Error).message).toMatch(/log shared is being written by sealtrail writer/);
      expect((err as Error).message).not.toContain('postgres:postgres@');
      // Another log in the same database is free.
      await writeEvents(url, 'other', 3, keys('two-other'));
      // A waiting writer gets the log when the first one closes.
      const waiting = AuditTrail.open({
        postgres: { url, log: 'shared', keysDir: k, lockTimeoutMs: 30_000 },
        handleExit: false,
      });
      await new Promise((r) => setTimeout(r, 300));
      await a.close();
      const b = await waiting;
      b.emit({ type: 'x.b' });
      await b.close();
      const source = new PgSource(url, 'shared');
      try {
        const report = verifyDir(source);
        expect(report.ok).toBe(true);
        expect(report.entries).toBe(2);
      } finally {
        source.close();
      }
    });
  });

  describe("when a role that may not write takes a log's lock", () => {
    it('the writer names its role, and the documented REVOKE keeps such roles from the lock', async () => {
      const { url, name } = await freshDb();
      const k = keys('squatted');
      await writeEvents(url, 'squatted', 2, k);
      await server.sql(name, "CREATE ROLE squatter LOGIN PASSWORD 'sq-secret'");
      await server.sql(name, "CREATE ROLE lockapp LOGIN PASSWORD 'app-secret' IN ROLE sealtrail_writer");
      const appUrl = server.urlAs('lockapp', 'app-secret', name);
      // Every way to hold the key: session or transaction level, exclusive or shared.
      const lockFns = [
        'pg_advisory_lock',
        'pg_advisory_xact_lock',
        'pg_advisory_lock_shared',
        'pg_advisory_xact_lock_shared',
      ];
      const squat = async () => {
        const c = new pg.Client({
          connectionString: server.urlAs('squatter', 'sq-secret', name),
          application_name: 'sealtrail writer decoy',
        });
        await c.connect();
        // one at a time: pg deprecates a query sent while the client runs another
        const tries: string[] = [];
        for (const fn of lockFns)
          tries.push(
            await c
              .query(`SELECT pg_try${fn.slice(2)}(0::bigint)`)
              .then(() => 'taken')
              .catch((e: Error) => e.message),
          );
        const taken = await c
          .query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [logLockKey('squatted')])
          .then((r) => r.rows[0].ok as boolean)
          .catch((e: Error) => e.message);
        return { c, taken, tries };
      };
      const first = await squat();
      try {
        expect(first.taken).toBe(true);
        expect(first.tries).toEqual(lockFns.map(() => 'taken'));
        await expect(
          AuditTrail.open({ postgres: { url: appUrl, log: 'squatted', keysDir: k }, handleExit: false }),
        ).rejects.toMatchObject({ code: 'TRAIL_LOCKED', message: expect.stringContaining('role squatter)') });
      } finally {
        await first.c.end();
      }
      // docs/postgres.md, "One writer per log": only writers (and the schema owner) may take it.
      for (const fn of lockFns) {
        for (const variant of [fn, `pg_try${fn.slice(2)}`])
          await server.sql(name, `REVOKE EXECUTE ON FUNCTION ${variant}(bigint) FROM PUBLIC`);
      }
      await server.sql(name, 'GRANT EXECUTE ON FUNCTION pg_try_advisory_lock(bigint) TO sealtrail_writer');
      const second = await squat();
      try {
        expect(second.taken).toMatch(/permission denied for function pg_try_advisory_lock/);
        for (const t of second.tries) expect(t).toMatch(/permission denied for function pg_try_advisory/);
      } finally {
        await second.c.end();
      }
      await writeEvents(appUrl, 'squatted', 3, k);
      const source = new PgSource(url, 'squatted');
      try {
        const report = verifyDir(source);
        expect(report.ok).toBe(true);
        expect(report.entries).toBeGreaterThanOrEqual(5);
      } finally {
        source.close();
      }
    });
  });

  describe('verify at a hot standby while the writer runs on the primary', () => {
    it('reports the newest entries as not yet checkpointed instead of failing (the standby cannot see the lock)', async () => {
      const { url, name } = await freshDb();
      const replica = await startPostgres({}, server.port);
      try {
        const trail = await AuditTrail.open({
          postgres: { url, log: 'replicated', keysDir: keys('replicated') },
          checkpointIntervalMs: 3_600_000,
          handleExit: false,
        });
        for (let i = 0; i < 20; i++) trail.emit({ type: 'x.before', meta: { i } });
        await trail.flush();
        const viaReplica = replica.url(name);
        // Replication is asynchronous: wait until the standby has the entries.
        for (;;) {
          const r = await replica
            .sql(name, 'SELECT count(*)::int AS n FROM sealtrail.entries')
            .catch(() => ({ rows: [{ n: 0 }] }));
          if (r.rows[0].n === 20) break;
          await new Promise((done) => setTimeout(done, 100));
        }
        const source = new PgSource(viaReplica, 'replicated');
        try {
          const report = verifyDir(source);
          expect(report.failure).toBeUndefined();
          expect(report.unsignedTail).toBe(20);
        } finally {
          source.close();
        }
        const primary = new PgSource(url, 'replicated');
        try {
          expect(verifyDir(primary).unsignedTail).toBe(20);
        } finally {
          primary.close();
        }
        await trail.close();
      } finally {
        replica.stop();
      }
    }, 60_000);
  });

  describe('when the writer stopped after committing several seals and before evolving its seal key', () => {
    it('opens again, evolves the key past them and seals on without a duplicate epoch', async () => {
      const { url } = await freshDb();
      const k = keys('seal-crash');
      const first = await AuditTrail.open({
        postgres: { url, log: 'seal-crash', keysDir: k },
        sealEpochMs: 1000,
        handleExit: false,
      });
      const seed = first.sealSeed!;
      first.emit({ type: 'x.first' });
      await first.close();
      // The key as it was before the next writer committed its seals.
      const before = fs.readFileSync(path.join(k, 'seal.key'));
      await new Promise((r) => setTimeout(r, 3_500));
      await writeEvents(url, 'seal-crash', 1, k); // seals the epochs missed, in one commit
      fs.writeFileSync(path.join(k, 'seal.key'), before); // as if it had stopped before evolving
      await writeEvents(url, 'seal-crash', 1, k);
      const source = new PgSource(url, 'seal-crash');
      try {
        const report = verifyDir(source, { sealSeed: seed });
        expect(report.failure).toBeUndefined();
        expect(report.entries).toBe(3);
      } finally {
        source.close();
      }
    }, 30_000);
  });

  describe("when verify is given a key directory without the writer's seal key while a writer runs", () => {
    it('verifies the seals without it (a reader copy of the key directory), not SEAL_MISSING', async () => {
      const { url } = await freshDb();
      const trail = await AuditTrail.open({
        postgres: { url, log: 'reader-keys', keysDir: keys('reader-keys') },
        handleExit: false,
      });
      const seed = trail.sealSeed!;
      try {
        trail.emit({ type: 'x.test' });
        await trail.flush();
        // What an auditor holds: master keys and subjects/, not the writer's evolving seal key.
        const readerCopy = keys('reader-keys-copy');
        fs.mkdirSync(readerCopy);
        const source = new PgSource(url, 'reader-keys');
        try {
          const report = verifyDir(source, {
            sealSeed: seed,
            sealKeyFile: path.join(readerCopy, 'seal.key'),
          });
          expect(report.failure).toBeUndefined();
          expect(report.seals?.writerKeyChecked).toBe(false);
        } finally {
          source.close();
        }
      } finally {
        await trail.close();
      }
    }, 30_000);
  });

  describe('when the writer loses its connection', () => {
    it('connects again, takes the lock again and loses nothing', async () => {
      const { url, name } = await freshDb();
      const trail = await AuditTrail.open({
        postgres: { url, log: 'reconnect', keysDir: keys('reconnect') },
        handleExit: false,
      });
      for (let i = 0; i < 100; i++) trail.emit({ type: 'x.before', meta: { i } });
      await trail.flush();
      const killed = await server.sql(
        name,
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE 'sealtrail writer%'",
      );
      expect(killed.rows).toEqual([{ ok: true }]);
      for (let i = 0; i < 100; i++) trail.emit({ type: 'x.after', meta: { i } });
      await trail.flush();
      await trail.close();
      const source = new PgSource(url, 'reconnect');
      try {
        const report = verifyDir(source);
        expect(report.failure).toBeUndefined();
        expect(report.entries).toBe(200);
      } finally {
        source.close();
      }
    });
  });

  describe('when a member of the writer role appends a chained entry while no writer runs', () => {
    it('is refused by the next writer (TREE_SIZE_MISMATCH) instead of being signed', async () => {
      const { url, name } = await freshDb();
      const k = keys('appended');
      await writeEvents(url, 'appended', 3, k);
      await server.sql(name, "CREATE ROLE intruder LOGIN PASSWORD 'x-secret' IN ROLE sealtrail_writer");
      const last = (
        await server.sql(
          name,
          'SELECT log_id, seq, ts, line FROM sealtrail.entries ORDER BY seq DESC LIMIT 1',
        )
      ).rows[0] as { log_id: number; seq: string; ts: string; line: string };
      const [committed, payloads] = last.line.split('\t') as [string, string];
      // No key needed: the leaf hash is unkeyed, so the intruder chains the entry right.
      const forged = committed
        .replace('"user-2"', '"trusted-admin"')
        .replace(
          /,"prev":"[^"]+","seq":\d+,"v":1\}$/,
          `,"prev":"${hashLeaf(committed).toString('base64')}","seq":3,"v":1}`,
        );
      const intruder = new pg.Client({ connectionString: server.urlAs('intruder', 'x-secret', name) });
      await intruder.connect();
      try {
        await intruder.query(
          'INSERT INTO sealtrail.entries (log_id, seq, ts, line, leaf_hash) VALUES ($1, 3, $2, $3, $4)',
          [last.log_id, last.ts, `${forged}\t${payloads}`, hashLeaf(forged)],
        );
      } finally {
        await intruder.end();
      }
      await expect(
        AuditTrail.open({ postgres: { url, log: 'appended', keysDir: k }, handleExit: false }),
      ).rejects.toMatchObject({
        code: 'TREE_SIZE_MISMATCH',
        message: expect.stringContaining('seq 3..3 follow the checkpoint its writer signed when it closed'),
      });
      const source = new PgSource(url, 'appended');
      try {
        expect(verifyDir(source).failure?.code).toBe('TREE_SIZE_MISMATCH');
      } finally {
        source.close();
      }
    });
  });

  describe('when another writer wrote the log while this one was disconnected', () => {
    it('stops with TRAIL_LOCKED rather than dropping its own entries or forking the chain', async () => {
      const { url, name } = await freshDb();
      await writeEvents(url, 'setup', 1, keys('gap-setup')); // the owner creates the schema
      await server.sql(name, "CREATE ROLE gapapp LOGIN PASSWORD 'app-secret' IN ROLE sealtrail_writer");
      const k = keys('gap');
      const failures: Array<{ message: string; code: unknown }> = [];
      const onDiagnostic = (d: unknown) =>
        failures.push({ message: (d as Diagnostic).message, code: (d as Diagnostic).detail?.code });
      diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNEL, onDiagnostic);
      try {
        const a = await AuditTrail.open({
          postgres: { url: server.urlAs('gapapp', 'app-secret', name), log: 'gap', keysDir: k },
          handleExit: false,
        });
        for (let i = 0; i < 5; i++) a.emit({ type: 'x.a', meta: { i } });
        await a.flush();
        // A's connection is lost and it cannot connect again for a while ...
        await server.sql(name, 'ALTER ROLE gapapp NOLOGIN');
        await server.sql(
          name,
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'gapapp'",
        );
        for (let i = 5; i < 10; i++) a.emit({ type: 'x.a', meta: { i } });
        const flushed = a.flush().then(() => 'flushed');
        // ... meanwhile another writer of the log (a standby) appends and lets go.
        await writeEvents(url, 'gap', 10, k);
        await server.sql(name, 'ALTER ROLE gapapp LOGIN');
        const refused = new Promise<string>((resolve) => {
          const look = () =>
            failures.some((f) => f.code === 'TRAIL_LOCKED') ? resolve('refused') : setTimeout(look, 50);
          look();
        });
        expect(await Promise.race([flushed, refused])).toBe('refused');
        expect(failures.find((f) => f.code === 'TRAIL_LOCKED')?.message).toMatch(
          /log gap was written by another writer while this one was disconnected/,
        );
        // A's five entries stay buffered and reported (close would wait for them): A is left open.
      } finally {
        diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNEL, onDiagnostic);
      }
      const source = new PgSource(url, 'gap');
      try {
        const report = verifyDir(source);
        expect(report.failure).toBeUndefined();
        // A's first five, the standby's system.recovery adopting them (A had not checkpointed
        // them), and its ten
        expect(report.entries).toBe(16);
      } finally {
        source.close();
      }
    }, 30_000);
  });

  describe('when the network path to the server goes silent', () => {
    it('gives up the commit after timeoutMs, ends its lost session, retakes the lock and loses nothing', async () => {
      const { url, name } = await freshDb();
      await writeEvents(url, 'setup', 1, keys('silent-setup')); // the owner creates the schema
      await server.sql(name, "CREATE ROLE silentapp LOGIN PASSWORD 'app-secret' IN ROLE sealtrail_writer");
      const relay = await startSilentRelay(server.port);
      const viaRelay = server
        .urlAs('silentapp', 'app-secret', name)
        .replace(`:${server.port}/`, `:${relay.port}/`);
      const failures: string[] = [];
      const onDiagnostic = (d: unknown) => failures.push((d as Diagnostic).message);
      diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNEL, onDiagnostic);
      try {
        const trail = await AuditTrail.open({
          postgres: { url: viaRelay, log: 'silent', keysDir: keys('silent'), timeoutMs: 1000 },
          handleExit: false,
        });
        for (let i = 0; i < 50; i++) trail.emit({ type: 'x.before', meta: { i } });
        await trail.flush();
        relay.silence();
        for (let i = 0; i < 50; i++) trail.emit({ type: 'x.after', meta: { i } });
        await trail.flush(); // hung for good before: no answer, no error
        await trail.close();
        expect(failures.join('\n')).toMatch(
          /no answer within 1000 ms; the connection was dropped \(retrying\)/,
        );
      } finally {
        diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNEL, onDiagnostic);
        await relay.close();
      }
      const source = new PgSource(url, 'silent');
      try {
        const report = verifyDir(source);
        expect(report.failure).toBeUndefined();
        expect(report.entries).toBe(100);
        expect(await query(source, { type: 'x.after' }).toArray()).toHaveLength(50);
      } finally {
        source.close();
      }
    }, 30_000);
  });

  describe('migrations', () => {
    it('are recorded once, and a role that may not create the schema is told to ask the owner', async () => {
      const { url, name } = await freshDb();
      await server.sql(name, "CREATE ROLE early LOGIN PASSWORD 'early-pw'");
      const err = await AuditTrail.open({
        postgres: { url: server.urlAs('early', 'early-pw', name), keysDir: keys('early') },
        handleExit: false,
      }).catch((e: unknown) => e);
      expect(isAuditError(err, 'STORE_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toMatch(
        new RegExp(`schema at version 0, needs ${SCHEMA_VERSION}.*schema owner`),
      );
      expect(fs.existsSync(keys('early'))).toBe(false);
      await writeEvents(url, 'first', 1, keys('first'));
      await writeEvents(url, 'second', 1, keys('second'));
      const applied = await server.sql(name, 'SELECT version FROM sealtrail.schema_migrations');
      expect(applied.rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    });
  });

  describe('eraseSubject on an encrypt-mode log (crypto-shredding)', () => {
    it('refuses, destroying nothing, while a payload about the subject is in clear; erases a subject whose payloads are all under its key', async () => {
      const { url } = await freshDb();
      const origin = 'example.test/pg-shred';
      const k = keys('shred');
      const keyRing = KeyRing.fromKeys([{ id: 'k1', key: Buffer.alloc(32, 3) }], { context: origin });
      const open = () =>
        AuditTrail.open({
          postgres: { url, log: 'shred', keysDir: k },
          origin,
          content: { default: 'encrypt', fields: { note: 'plain' } },
          keys: keyRing,
          handleExit: false,
        });
      const trail = await open();
      const keyFiles = () => fs.readdirSync(path.join(k, 'subjects')).filter((f) => f.endsWith('.key'));
      try {
        trail.emit({
          type: 'model.request',
          subject: 'carol',
          content: { prompt: 'carol asks', note: 'carol in clear' },
        });
        const daveId = trail.emit({
          type: 'model.request',
          subject: 'dave',
          content: { prompt: 'dave asks' },
        });
        const erinId = trail.emit({
          type: 'model.request',
          subject: 'erin',
          content: { prompt: 'erin asks' },
        });
        await trail.flush();
        const before = keyFiles().length;
        const refused = await trail.eraseSubject('carol').catch((e: unknown) => e);
        expect(isAuditError(refused, 'USAGE')).toBe(true);
        expect((refused as Error).message).toMatch(
          /1 content fields about this subject .* in clear \(1\).*nothing was destroyed/,
        );
        expect((refused as Error).message).not.toContain('carol');
        expect(keyFiles()).toHaveLength(before);
        expect(await trail.eraseSubject('dave', { reason: 'request 7' })).toEqual({ entries: 1, fields: 1 });
        expect(keyFiles()).toHaveLength(before - 1);
        const reveal = { ring: keyRing, subjects: await openKeyDirSubjectKeys(k, keyRing) };
        const source = new PgSource(url, 'shred');
        try {
          const dave = await getEntry(source, daveId);
          const erin = await getEntry(source, erinId);
          await expect(revealContent(dave!, origin, reveal)).rejects.toMatchObject({ code: 'KEY_DESTROYED' });
          expect(await revealContent(erin!, origin, reveal)).toEqual({ prompt: 'erin asks' });
          // the keys loaded at open, three events and the erasure
          expect(verifyDir(source)).toMatchObject({ ok: true, entries: 5 });
        } finally {
          source.close();
        }
      } finally {
        await trail.close();
      }
    });
  });

  describe('when a new log cannot be created (its origin is taken)', () => {
    it('leaves its key directory empty, so that a retry with another origin creates it', async () => {
      const { url } = await freshDb();
      const open = (log: string, keysDir: string, origin: string) =>
        AuditTrail.open({ postgres: { url, log, keysDir }, origin, handleExit: false });
      await (await open('first', keys('taken-1'), 'example.test/taken')).close();
      const dir = keys('taken-2');
      await expect(open('second', dir, 'example.test/taken')).rejects.toMatchObject({ code: 'TRAIL_EXISTS' });
      expect(fs.readdirSync(dir)).toEqual([]);
      await (await open('second', dir, 'example.test/other')).close();
    });
  });

  describe('when the answer to creating a log is lost after the server committed it', () => {
    it('keeps the keys the log was created with, so that the next open writes it', async () => {
      const { url, name } = await freshDb();
      await writeEvents(url, 'setup', 1, keys('lost-answer-setup')); // creates the schema
      // The commit of the new log's row is held up past the writer's time limit, then goes through.
      await server.sql(
        name,
        `CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
         CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON sealtrail.logs
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()`,
      );
      const dir = keys('lost-answer');
      await expect(
        AuditTrail.open({ postgres: { url, log: 'lost', keysDir: dir, timeoutMs: 1000 }, handleExit: false }),
      ).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await server.sql(name, 'DROP TRIGGER slow_commit ON sealtrail.logs');
      const again = await AuditTrail.open({
        postgres: { url, log: 'lost', keysDir: dir, lockTimeoutMs: 10_000 },
        handleExit: false,
      });
      again.emit({ type: 'x.test' });
      await again.close();
      const source = new PgSource(url, 'lost');
      try {
        expect(verifyDir(source)).toMatchObject({ ok: true, entries: 1 });
      } finally {
        source.close();
      }
    }, 30_000);
  });

  describe('bad connections', () => {
    it('fails with STORE_UNAVAILABLE and never shows the password', async () => {
      const bad = server.urlAs('postgres', 'wrong-password-123', 'postgres');
      const err = await AuditTrail.open({
        postgres: { url: bad, keysDir: keys('bad') },
        handleExit: false,
      }).catch((e: unknown) => e);
      expect(isAuditError(err, 'STORE_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toMatch(/authentication failed/);
      expect((err as Error).message).not.toContain('wrong-password-123');
    });

    it('fails with CONFIG_INVALID naming postgres for a connection string the driver cannot parse, never showing it', async () => {
      const bad = 'postgres://app:hunter2-secret@127.0.0.1:99999/db';
      const err = await AuditTrail.open({
        postgres: { url: bad, keysDir: keys('unparsable') },
        handleExit: false,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CONFIG_INVALID', detail: { field: 'postgres' } });
      expect((err as Error).message).toMatch(/^postgres: /);
      let readErr: unknown;
      try {
        new PgSource(bad, 'any').close();
      } catch (e) {
        readErr = e;
      }
      expect(readErr).toMatchObject({ code: 'CONFIG_INVALID' });
      for (const e of [err, readErr])
        expect(JSON.stringify({ ...(e as object), m: (e as Error).message })).not.toContain('hunter2');
    });

    it('refuses a time limit that is not whole milliseconds, naming it, before connecting', async () => {
      for (const [postgres, field] of [
        [{ timeoutMs: 0 }, 'postgres.timeoutMs'],
        [{ timeoutMs: 1.5 }, 'postgres.timeoutMs'],
        [{ lockTimeoutMs: -1 }, 'postgres.lockTimeoutMs'],
      ] as const) {
        const err = await AuditTrail.open({
          postgres: { url: 'postgres://nobody@127.0.0.1:1/none', keysDir: keys('limits'), ...postgres },
          handleExit: false,
        }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'CONFIG_INVALID', detail: { field } });
      }
    });

    it('a reader of a missing log fails with TRAIL_NOT_FOUND', async () => {
      const { url } = await freshDb();
      expect(() => new PgSource(url, 'nope')).toThrow(expect.objectContaining({ code: 'TRAIL_NOT_FOUND' }));
    });
  });
});
