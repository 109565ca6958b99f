/**
 * An erasure cut short (kill -9): the directory as it is at each pass over the quarantine (the
 * first counts, before the audit.erasure entry; the second erases, after the segments were
 * rewritten) is copied aside, then opened, written to and verified.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyDir } from '../read/index.js';
import { trailDirs } from '../test-support/fixtures.js';
import { AuditTrail } from './index.js';

const crash = { live: '', root: '', copies: [] as string[] };

vi.mock('../store/index.js', async (importOriginal) => {
  const store = await importOriginal<Record<string, (...args: unknown[]) => unknown>>();
  return {
    ...store,
    rewriteQuarantine: (...args: unknown[]) => {
      if (crash.live !== '') {
        // The trail as a kill -9 would leave it now; the writer lock goes with its process.
        const to = path.join(crash.root, `copy-${crash.copies.length}`);
        fs.cpSync(crash.live, to, { recursive: true });
        fs.rmSync(path.join(to, 'writer.lock'), { force: true });
        crash.copies.push(to);
      }
      return store.rewriteQuarantine!(...args);
    },
  };
});

const dirs = trailDirs();
afterEach(() => dirs.cleanup());

describe('eraseSubject', () => {
  describe('when the process dies while erasing', () => {
    it('leaves a trail that opens, goes on and verifies, and that erasing again finishes', async () => {
      const dir = dirs.fresh();
      crash.root = dirs.fresh();
      const trail = await AuditTrail.open({ dir, worker: false, handleExit: false });
      trail.emit({ type: 'model.request', subject: 'alice', content: { prompt: 'alice asks' } });
      trail.emit({ type: 'model.request', subject: 'bob', content: { prompt: 'bob asks' } });
      crash.live = dir;
      await trail.eraseSubject('alice');
      crash.live = '';
      await trail.close();
      expect(crash.copies.length).toBeGreaterThan(0);
      for (const copy of crash.copies) {
        const again = await AuditTrail.open({ dir: copy, worker: false, handleExit: false });
        again.emit({ type: 'x.after' });
        await again.eraseSubject('alice');
        await again.close();
        expect(verifyDir(copy).failure).toBeUndefined();
        const bytes = fs
          .readdirSync(path.join(copy, 'segments'))
          .map((f) => fs.readFileSync(path.join(copy, 'segments', f), 'utf8'));
        expect(bytes.join('')).not.toContain('alice asks');
        expect(bytes.join('')).toContain('bob asks');
      }
    });
  });
});
