/**
 * Migrations run by an owner that is not a superuser, on a cluster of its own: the group roles
 * are cluster-wide, so they must not exist yet (postgres.test.ts creates them as the superuser).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../../errors.js';
import { startPostgres, type TestPostgres } from '../../test-support/postgres.js';
import { AuditTrail } from '../../writer/trail.js';

let server: TestPostgres;
let tmp: string;

beforeAll(async () => {
  server = await startPostgres();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-pg-migrate-'));
});

afterAll(() => {
  server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('migrate', () => {
  describe('when the database owner may not create roles and the group roles are missing', () => {
    it('fails with STORE_UNAVAILABLE naming the roles and CREATEROLE, and migrates once they exist', async () => {
      await server.sql('postgres', "CREATE ROLE dbowner LOGIN PASSWORD 'owner-pw'");
      await server.sql('postgres', 'CREATE DATABASE owned OWNER dbowner');
      const url = server.urlAs('dbowner', 'owner-pw', 'owned');
      const open = () =>
        AuditTrail.open({
          postgres: { url, log: 'billing', keysDir: path.join(tmp, 'billing') },
          handleExit: false,
        });
      const err = await open().catch((e: unknown) => e);
      expect(isAuditError(err, 'STORE_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toMatch(
        /may not create the group roles sealtrail_writer and sealtrail_reader/,
      );
      expect((err as Error).message).toMatch(/CREATEROLE/);

      await server.sql('postgres', 'CREATE ROLE sealtrail_writer NOLOGIN');
      await server.sql('postgres', 'CREATE ROLE sealtrail_reader NOLOGIN');
      const trail = await open();
      trail.emit({ type: 'x.test' });
      await trail.close();
      const n = await server.sql('owned', 'SELECT count(*)::int AS n FROM sealtrail.entries');
      expect(n.rows[0].n).toBe(1);
    }, 30_000);
  });
});
