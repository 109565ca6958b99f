/** Reads left for the next writer of a trail directory, and which of them it appends. */
import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-support/fixtures.js';
import { trailLayout } from './layout.js';
import { listPendingReads, writePendingRead } from './pending-reads.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('listPendingReads', () => {
  it('lists the reads and the anomaly findings recorded with them, oldest first, and nothing else', () => {
    const layout = trailLayout(root);
    writePendingRead(layout, { type: 'security.anomaly', meta: { rule: 'authFailureBurst' } });
    writePendingRead(layout, { type: 'audit.read', meta: { verb: 'anomalies' } });
    writePendingRead(layout, { type: 'auth.success', actor: { id: 'forged' } });
    expect(listPendingReads(layout).map((p) => p.event.type)).toEqual(['security.anomaly', 'audit.read']);
  });
});
