/**
 * `trailStatus` on a real trail: counts, times, checkpoint, seals, dropped-event records, pending
 * reads and the writer lock.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trailLayout, writePendingRead } from '../store/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { FIXTURE_ENTRIES, HOUR, T0, writeReportTrail } from '../test-support/read-fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { trailStatus } from './status.js';

let root: string;
let dir: string;
beforeAll(async () => {
  root = tempDir();
  dir = path.join(root, 'trail');
  await writeReportTrail(dir);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('trailStatus', () => {
  it('describes a closed trail', () => {
    const s = trailStatus(dir);
    expect(s.entries).toBe(FIXTURE_ENTRIES + 5);
    expect(s.oldestEntry).toBe(new Date(T0).toISOString());
    expect(s.newestEntry).toBe(new Date(T0 + 62 * HOUR).toISOString());
    expect(s.writer).toEqual({ running: false, pid: null });
    expect(s.segments?.count).toBeGreaterThan(1);
    expect(s.segments?.sealed).toBe(s.segments!.count - 1);
    expect(s.lastCheckpoint).toMatchObject({
      size: FIXTURE_ENTRIES + 5,
      reason: 'close',
      signatureVerified: true,
    });
    expect(s.unsignedEntries).toBe(0);
    expect(s.lastSeal?.size).toBe(FIXTURE_ENTRIES + 5);
    expect(s.queue).toEqual({ depth: null, droppedEvents: 5, overflowRecords: 1 });
    expect(s.keys.files).toEqual(['checkpoint.skey', 'seal.key']);
    expect(s.keys.checkpointKeyId).toMatch(/^[0-9a-f]{8}$/);
    expect(s.lastVerification).toBeNull();
  });
  it('finds the newest entry before an empty newest segment (a writer stopped after it rotated)', () => {
    const copy = path.join(root, 'empty-newest');
    fs.cpSync(dir, copy, { recursive: true });
    const before = trailStatus(copy);
    const empty = path.join(
      trailLayout(copy).segmentsDir,
      `${String(before.treeSize).padStart(20, '0')}.log`,
    );
    fs.writeFileSync(empty, '', { mode: 0o600 });
    const s = trailStatus(copy);
    expect(s.segments?.count).toBe(before.segments!.count + 1);
    expect(s.newestEntry).toBe(before.newestEntry);
    expect(s.entries).toBe(before.entries);
  });

  it('shows the size the checkpoint note signs, not the unsigned size field beside it', () => {
    const copy = path.join(root, 'unsigned-size');
    fs.cpSync(dir, copy, { recursive: true });
    const file = path.join(copy, 'checkpoints.jsonl');
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    const last = JSON.parse(lines.at(-1)!) as { size: number };
    last.size += 1000;
    lines[lines.length - 1] = JSON.stringify(last);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const s = trailStatus(copy);
    expect(s.lastCheckpoint).toMatchObject({ size: FIXTURE_ENTRIES + 5, signatureVerified: true });
    expect(s.unsignedEntries).toBe(0);
  });
  it('shows a running writer and reads waiting to be recorded', async () => {
    const trail = await AuditTrail.open({ dir, worker: false, handleExit: false });
    writePendingRead(trailLayout(dir), { type: 'audit.read', actor: { id: 'x' } });
    try {
      const s = trailStatus(dir);
      expect(s.writer).toEqual({ running: true, pid: process.pid });
      expect(s.pendingReads).toBe(1);
    } finally {
      await trail.close();
    }
    // The next writer to open the trail appends it.
    expect(trailStatus(dir).pendingReads).toBe(1);
    await (await AuditTrail.open({ dir, worker: false, handleExit: false })).close();
    expect(trailStatus(dir).pendingReads).toBe(0);
  });
});
