/** Connection errors name what went wrong and never the connection string or its password. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../../errors.js';
import { startPostgres, type TestPostgres } from '../../test-support/postgres.js';
import { connectPg } from './connect.js';

let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(() => {
  server?.stop();
});

/** The error of connecting to `url` with PGPASSWORD unset. */
async function connectError(url: string): Promise<unknown> {
  const saved = process.env.PGPASSWORD;
  delete process.env.PGPASSWORD;
  try {
    const client = await connectPg(url, 'reader');
    await client.end();
    return undefined;
  } catch (err) {
    return err;
  } finally {
    if (saved !== undefined) process.env.PGPASSWORD = saved;
  }
}

describe('connectPg', () => {
  describe('when the server asks for a password and none is given', () => {
    it('fails with STORE_UNAVAILABLE saying so and naming PGPASSWORD', async () => {
      const err = await connectError(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
      expect(isAuditError(err, 'STORE_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toBe(
        `postgres postgres@127.0.0.1:${server.port}/postgres: cannot connect: the server asks for a password and none was given (set PGPASSWORD or use ~/.pgpass)`,
      );
    });
  });

  describe('when the connection string asks for SSL and the server has none', () => {
    it('fails with STORE_UNAVAILABLE naming SSL, without the password', async () => {
      const err = await connectError(
        `postgres://postgres:secret-pw@127.0.0.1:${server.port}/postgres?ssl=true`,
      );
      expect(isAuditError(err, 'STORE_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toMatch(/cannot connect: the server does not support SSL/);
      expect((err as Error).message).not.toContain('secret-pw');
    });
  });
});
