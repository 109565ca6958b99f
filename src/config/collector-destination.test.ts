/**
 * `audit.enable()` with a collector URL: events are redacted in the producer, spooled, sent to a
 * real collector on loopback and sealed there under the producer's token name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { type AuditEntry, query, verifyDir } from '../read/index.js';
import { Collector } from '../server/collector.js';
import { createToken } from '../server/tokens.js';
import { tempDir } from '../test-support/fixtures.js';
import { Audit } from './audit.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('audit.enable() with a collector URL', () => {
  it('redacts in the producer, and every event is sealed by the collector', async () => {
    const dir = path.join(root, 'collector-trail');
    const token = createToken(dir, { name: 'checkout', scopes: ['ingest'] }).token;
    const collector = await Collector.open({ dir });
    const { url } = await collector.listen({ port: 0 });
    const audit = new Audit();
    try {
      await audit.enable({
        env: { NODE_ENV: 'production', SEALTRAIL_QUIET: '1' },
        destination: url,
        collectorToken: token,
        spoolDir: path.join(root, 'spool'),
        content: 'plain',
        allowDisable: true,
      });
      audit.emit({
        type: 'model.request',
        actor: { id: 'u1' },
        content: { prompt: 'write to jane.doe@example.com' },
      });
      audit.emit({ type: 'auth.failure', actor: { id: 'mallory' }, outcome: 'failure' });
      expect(() => audit.emit({ type: 'no.such.type' } as never)).toThrow();
      await audit.flush();
    } finally {
      await audit.disable();
      await collector.close();
    }
    const stored: AuditEntry[] = [];
    for await (const e of query(dir, {}, { order: 'oldest' })) stored.push(e);
    const request = stored.find((e) => e.type === 'model.request')!;
    expect(request.content).toEqual({ prompt: 'write to [EMAIL]' });
    expect((request.meta as Record<string, unknown>).producer).toBe('checkout');
    expect(stored.some((e) => e.type === 'auth.failure')).toBe(true);
    expect(fs.readFileSync(path.join(root, 'spool', 'spool.jsonl'), 'utf8')).not.toContain('jane.doe');
    expect(verifyDir(dir).failure).toBeUndefined();
  });

  it('refuses a collector URL without a token, naming the option', async () => {
    const audit = new Audit();
    await expect(
      (async () =>
        audit.enable({
          env: { NODE_ENV: 'test', SEALTRAIL_QUIET: '1' },
          destination: 'http://127.0.0.1:1',
        }))(),
    ).rejects.toSatisfy(
      (e) => isAuditError(e, 'CONFIG_INVALID') && (e as Error).message.includes('collectorToken'),
    );
  });
});
