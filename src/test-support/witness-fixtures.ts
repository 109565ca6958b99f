/**
 * Test helpers for witnesses: small trails with several checkpoints, a fork (a copy of a trail
 * that then records other events under the same origin and key), and a real collector on
 * loopback with a `witness` token.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Collector, createToken } from '../server/index.js';
import { AuditTrail } from '../writer/index.js';
import { tempDir } from './fixtures.js';

/** Appends `n` events to the trail in `dir` (created when missing), one checkpoint after each. */
export async function recordEvents(
  dir: string,
  n: number,
  tag = 'a',
  origin = 'example.test/witnessed',
): Promise<void> {
  const trail = await AuditTrail.open({ dir, worker: false, handleExit: false, origin });
  for (let i = 0; i < n; i++) {
    trail.emit({
      type: 'data.access',
      actor: { id: `user-${tag}` },
      resource: { type: 'record', id: `${tag}-${i}` },
    });
    await trail.flush();
    await trail.checkpoint();
  }
  await trail.close();
}

/** A copy of the whole trail directory (keys included): the same origin and signing key. */
export function copyTrail(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

/** Replaces the trail in `dir` with the copy in `backup` (an older state restored). */
export function restoreTrail(backup: string, dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(backup, dir, { recursive: true });
}

/** A real collector on 127.0.0.1 with a witness token, in its own trail directory. */
export async function startWitnessCollector(): Promise<{
  url: string;
  token: string;
  dir: string;
  close(): Promise<void>;
}> {
  const root = tempDir('sealtrail-witness-');
  const dir = path.join(root, 'collector');
  // Before the collector opens: it reloads its token file at most once a second.
  const { token } = createToken(dir, { name: 'witness-pusher', scopes: ['witness'] });
  const collector = await Collector.open({ dir, trail: { checkpointIntervalMs: 3_600_000 } });
  const { url } = await collector.listen({ port: 0 });
  return {
    url,
    token,
    dir,
    async close() {
      await collector.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
