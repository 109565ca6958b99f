/**
 * A verify that fails leaves no segment file open (a collector answers `GET /v1/verify` for as
 * long as it runs: a descriptor per failed verify would run it out of them).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { segmentFileName, trailLayout } from '../store/index.js';
import { AuditTrail } from '../writer/trail.js';
import { verifyDir } from './verify-dir.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-verify-close-'));

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The files under `dir` this process holds open. */
function openFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // closed while listing
    }
  }
  return out;
}

describe('verifyDir after a failure', () => {
  it.runIf(fs.existsSync('/proc/self/fd'))('closes the segment it was reading', async () => {
    const dir = path.join(tmp, 'audit');
    const trail = await AuditTrail.open({ dir, worker: false, handleExit: false });
    for (let i = 0; i < 50; i++) trail.emit({ type: 'auth.success', actor: { id: `u${i}` } });
    await trail.close();
    const segments = trailLayout(dir).segmentsDir;
    const file = path.join(segments, segmentFileName(0));
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace('"u7"', '"u8"'));
    for (const workers of [0, 2]) {
      const report = verifyDir(dir, { workers });
      expect(report.ok).toBe(false);
      expect({ workers, open: openFilesUnder(fs.realpathSync(dir)) }).toEqual({ workers, open: [] });
    }
  });
});
