/**
 * Reading back through the writer's own handle: `trail.query()` and `trail.get()` see every event
 * emitted before the call, and a trail without a directory says it cannot be read back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('AuditTrail.query and get', () => {
  it('read back what was emitted before the call, without closing the trail', async () => {
    const trail = await AuditTrail.open({ dir: path.join(root, 't'), handleExit: false });
    try {
      const ids = [0, 1, 2].map((i) => trail.emit({ type: 'tool.call', actor: { id: `u${i}` } }));
      trail.emit({ type: 'auth.failure', actor: { id: 'mallory' } });
      const seen: string[] = [];
      for await (const e of trail.query({ type: 'tool.call' })) seen.push(e.id);
      expect(seen).toEqual([...ids].reverse());
      expect((await trail.get(ids[1]!))?.actor).toEqual({ id: 'u1' });
      expect(await trail.get('not-an-id')).toBeUndefined();
    } finally {
      await trail.close();
    }
  });
  it('refuses a memory trail with USAGE', async () => {
    const trail = await AuditTrail.open({ store: 'memory', handleExit: false });
    try {
      const err = await trail.get('x').catch((e: unknown) => e);
      expect(isAuditError(err, 'USAGE')).toBe(true);
    } finally {
      await trail.close();
    }
  });
});
