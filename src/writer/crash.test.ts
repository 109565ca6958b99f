/**
 * Crash safety: a writer process killed with SIGKILL at random moments, many times. After each
 * kill the trail opens (recovering a torn tail if any), verifies, and holds every event whose
 * emitDurable had resolved.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from './trail.js';

const script = fileURLToPath(new URL('../test-support/crash-writer.mjs', import.meta.url));
const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function runAndKill(dir: string, start: number, afterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, String(start)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    let started = false;
    child.stdout.once('data', () => {
      started = true;
      setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL' || !started) reject(new Error(`writer ended without being killed: ${err}`));
      else
        resolve(
          out
            .split('\n')
            .filter((l) => /^\d+$/.test(l))
            .map(Number),
        );
    });
  });
}

describe('a writer killed with SIGKILL', () => {
  it('loses no event whose emitDurable resolved, and the trail verifies after every kill', async () => {
    const dir = path.join(root, 'audit');
    const created = await AuditTrail.open({ dir });
    const seed = created.sealSeed!;
    await created.close();
    const confirmed = new Set<number>();
    let next = 0;
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      const acked = await runAndKill(dir, next, 20 + Math.floor(Math.random() * 300));
      for (const i of acked) confirmed.add(i);
      next += 100_000;
      // Reopen as the next writer would: recovery happens here.
      const trail = await AuditTrail.open({ dir });
      await trail.close();
      const report = verifyDir(dir, { sealSeed: seed });
      expect(report.failure, `round ${round}`).toBeUndefined();
      // The killed writer's synced entries had no checkpoint yet: adopted, and said so.
      if (acked.length > 0) {
        const recovery = [...new DirSource(dir).lines()]
          .map((l) => decodeLine(l.text))
          .findLast((e) => e.type === 'system.recovery');
        expect(
          (recovery?.meta as { adoptedEntries?: number })?.adoptedEntries,
          `round ${round}`,
        ).toBeGreaterThanOrEqual(acked.length);
      }
    }
    const recorded = new Set<number>();
    for (const line of new DirSource(dir).lines()) {
      const e = decodeLine(line.text);
      if (e.type === 'x.crash.durable') recorded.add((e.meta as { i: number }).i);
    }
    const missing = [...confirmed].filter((i) => !recorded.has(i));
    expect(confirmed.size).toBeGreaterThanOrEqual(rounds); // each round printed at least one
    expect(missing).toEqual([]);
  });
});
