/**
 * The appender when a write of a batch fails: a batch the writer sends again must not be in the
 * segment already, or its entries would be stored twice and the chain broken.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIAGNOSTICS_CHANNEL, type Diagnostic } from '../diagnostics.js';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { trailDirs } from '../test-support/fixtures.js';
import { AuditTrail } from './trail.js';

const dirs = trailDirs();
afterAll(() => dirs.cleanup());

describe('Appender.appendBatch', () => {
  describe('when the tree file of a batch cannot be written', () => {
    it('stores the batch once, after the tree can be written again, and the trail verifies', async () => {
      const dir = dirs.fresh();
      const trail = await AuditTrail.open({ dir });
      for (let i = 0; i < 200; i++) trail.emit({ type: 'x.tree', meta: { i } });
      await trail.flush();
      // The 256th leaf completes the first node of level 8, whose file is then created: a
      // directory in its place makes that write fail (as a full disk would), after every earlier one.
      const blocker = path.join(dir, 'tree', 'level-08.hashes');
      fs.mkdirSync(blocker);
      let failures = 0;
      let failed: () => void = () => undefined;
      const twice = new Promise<void>((resolve) => {
        failed = resolve;
      });
      const onDiagnostic = (d: unknown) => {
        if ((d as Diagnostic).kind === 'write-failed' && ++failures === 2) failed();
      };
      diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNEL, onDiagnostic);
      try {
        for (let i = 200; i < 300; i++) trail.emit({ type: 'x.tree', meta: { i } });
        await twice; // the batch was tried, and tried again
        fs.rmdirSync(blocker);
        await trail.close();
      } finally {
        diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNEL, onDiagnostic);
      }
      const stored = [...new DirSource(dir).lines()]
        .map((l) => decodeLine(l.text))
        .filter((e) => e.type === 'x.tree')
        .map((e) => (e.meta as { i: number }).i);
      expect(stored).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(verifyDir(dir, { sealSeed: trail.sealSeed! }).failure).toBeUndefined();
    });
  });
});
