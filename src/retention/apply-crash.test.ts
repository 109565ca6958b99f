/**
 * A retention run cut short at any step (kill -9): the directory as it is at each step of the run
 * is copied aside, then opened, the run applied again and the trail verified.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyDir } from '../read/index.js';
import { trailDirs } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import type { RetentionPolicy } from './policy.js';

const crash = { live: '', root: '', copies: [] as string[] };

/** The trail as a kill -9 would leave it now; the writer lock goes (its process would be gone). */
function copyNow(step: string): void {
  if (crash.live === '') return;
  const to = path.join(crash.root, `${crash.copies.length}-${step}`);
  fs.cpSync(crash.live, to, { recursive: true });
  fs.rmSync(path.join(to, 'writer.lock'), { force: true });
  crash.copies.push(to);
}

vi.mock('../store/index.js', async (importOriginal) => {
  const store = await importOriginal<Record<string, (...args: unknown[]) => unknown>>();
  const steps = [
    'writeBoundaryFile',
    'removeSegment',
    'rewriteSealedSegments',
    'rewriteQuarantine',
    'archiveSegment',
  ];
  const wrapped = Object.fromEntries(
    steps.map((name) => [
      name,
      (...args: unknown[]) => {
        copyNow(`before-${name}`);
        const result = store[name]!(...args);
        copyNow(`after-${name}`);
        return result;
      },
    ]),
  );
  return { ...store, ...wrapped };
});

const dirs = trailDirs();
afterEach(() => dirs.cleanup());

const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
const POLICY: RetentionPolicy = {
  categories: { authentication: { keep: '7y' }, ai: { keep: '1y', contentDays: 90 } },
  archiveAfter: '30d',
};

describe('applyRetention', () => {
  describe('when the process dies at any step of a run', () => {
    it('leaves a trail that opens, takes the run again and verifies', async () => {
      const dir = dirs.fresh();
      const trail = await AuditTrail.open({ dir, worker: false, maxSegmentBytes: 1024 });
      const batch = async (make: (i: number) => Parameters<AuditTrail['emit']>[0]) => {
        for (let i = 0; i < 8; i++) {
          trail.emit(make(i));
          if (i % 4 === 3) await trail.flush();
        }
      };
      await batch((i) => ({ type: 'model.completion', ts: ago(800 + i), content: { prompt: `old ${i}` } }));
      await batch((i) => ({ type: 'auth.failure', ts: ago(3 * 365 + i), actor: { id: `k${i}` } }));
      await batch((i) => ({ type: 'model.completion', ts: ago(100), content: { prompt: `recent ${i}` } }));
      await batch((i) => ({ type: 'model.completion', content: { prompt: `new ${i}` } }));
      await trail.close();
      const seed = trail.sealSeed!;

      crash.root = dirs.root();
      crash.live = dir;
      const run = await AuditTrail.open({ dir, create: false, worker: false });
      const done = await run.applyRetention(POLICY);
      await run.close();
      crash.live = '';
      expect(done.prune.entries).toBe(8);
      expect(done.expired.fields).toBe(8);
      expect(crash.copies.some((c) => c.endsWith('-after-rewriteSealedSegments'))).toBe(true);

      for (const copy of crash.copies) {
        const again = await AuditTrail.open({ dir: copy, create: false, worker: false });
        await again.applyRetention(POLICY);
        await again.close();
        const report = verifyDir(copy, { sealSeed: seed });
        expect({ copy: path.basename(copy), failure: report.failure?.message }).toEqual({
          copy: path.basename(copy),
          failure: undefined,
        });
      }
    });
  });
});
