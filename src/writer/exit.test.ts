/**
 * A process that emits and ends without calling close() loses nothing: on a normal end, on
 * process.exit() and on SIGTERM the trail is flushed, checkpointed and sealed. And a torn tail
 * left by a crash is quarantined, recorded and the same chain continues.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { sampleEvent, segmentFiles, tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from './trail.js';

const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function entries(dir: string) {
  return [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
}

/** The child ended cleanly, and its trail holds its event and the one its own shutdown recorded. */
function expectShutdownRecorded(dir: string, r: { stderr: string; status: number | null }): void {
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(entries(dir).map((e) => e.type)).toEqual(['x.before', 'x.shutdown']);
  expect(verifyDir(dir).failure).toBeUndefined();
}

describe('a process that never calls close()', () => {
  it.each([
    ['ends normally', ''],
    ['calls process.exit()', 'process.exit(0);'],
    ['receives SIGTERM', "setTimeout(() => {}, 60_000); process.kill(process.pid, 'SIGTERM');"],
  ])('keeps every emitted event when it %s', (name, ending) => {
    const dir = path.join(root, name.replace(/\W+/g, '-'));
    const program = `
      import { AuditTrail } from ${JSON.stringify(dist)};
      const trail = await AuditTrail.open({ dir: ${JSON.stringify(dir)} });
      for (let i = 0; i < 3000; i++) trail.emit({ type: 'x.exit.test', meta: { i } });
      ${ending}
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const got = entries(dir).filter((e) => e.type === 'x.exit.test');
    expect(got.map((e) => (e.meta as { i: number }).i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    expect(verifyDir(dir).failure).toBeUndefined();
  });
});

describe('a process whose trail waits flushIntervalMs before sending a batch', () => {
  it('ends when its own work is done, and keeps the waiting events', () => {
    const dir = path.join(root, 'long-interval');
    const program = `
      import { AuditTrail } from ${JSON.stringify(dist)};
      const trail = await AuditTrail.open({ dir: ${JSON.stringify(dir)}, flushIntervalMs: 120_000 });
      trail.emit({ type: 'x.interval.test' });
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.signal).toBeNull();
    expect(r.stderr).toBe('');
    expect(entries(dir).map((e) => e.type)).toEqual(['x.interval.test']);
    expect(verifyDir(dir).failure).toBeUndefined();
  });
});

describe('the way out, as applications take it', () => {
  function run(name: string, body: string) {
    const dir = path.join(root, name);
    const program = `
      import { AuditTrail } from ${JSON.stringify(dist)};
      const dir = ${JSON.stringify(dir)};
      ${body}
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { dir, r };
  }

  it('lets an application with its own SIGTERM listener record its shutdown', () => {
    const { dir, r } = run(
      'own-sigterm',
      `const trail = await AuditTrail.open({ dir });
      process.on('SIGTERM', async () => {
        trail.emit({ type: 'x.shutdown' });
        await trail.close();
        process.exit(0);
      });
      trail.emit({ type: 'x.before' });
      setTimeout(() => {}, 60_000);
      process.kill(process.pid, 'SIGTERM');`,
    );
    expectShutdownRecorded(dir, r);
  });

  it('lets an application whose once-listener was added before the trail opened record its shutdown', () => {
    const { dir, r } = run(
      'own-sigterm-once-first',
      `process.once('SIGTERM', () => {
        setTimeout(() => {
          trail.emit({ type: 'x.shutdown' });
          process.exit(0);
        }, 20);
      });
      const trail = await AuditTrail.open({ dir });
      trail.emit({ type: 'x.before' });
      setTimeout(() => {}, 60_000);
      process.kill(process.pid, 'SIGTERM');`,
    );
    expectShutdownRecorded(dir, r);
  });

  it('finishes a close() that was not awaited before process.exit()', () => {
    const { dir, r } = run(
      'close-not-awaited',
      `const trail = await AuditTrail.open({ dir });
      for (let i = 0; i < 2000; i++) trail.emit({ type: 'x.e' });
      await trail.flush();
      trail.close();
      setImmediate(() => process.exit(0));`,
    );
    expect(r.stderr).toBe('');
    expect(verifyDir(dir).failure).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'writer.lock'))).toBe(false);
  });

  it('records what the count policy dropped when the process exits without close()', () => {
    const { dir, r } = run(
      'count-exit',
      `const trail = await AuditTrail.open({ dir, overflow: 'count', maxQueue: 1000, batchSize: 1000 });
      // The first 1000 fill the queue and go to the writer as one batch, which it cannot have made
      // durable a few microseconds later: the next 10 are dropped.
      for (let i = 0; i < 1010; i++) trail.emit({ type: 'x.e' });
      const dropped = trail.droppedPending;
      process.stdout.write(String(dropped));
      process.exit(0);`,
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^sealtrail: queue full: events are being dropped and counted/);
    const dropped = Number(r.stdout);
    expect(dropped).toBeGreaterThan(0);
    const all = entries(dir);
    expect(all.filter((e) => e.type === 'x.e')).toHaveLength(1010 - dropped);
    const overflow = all.filter((e) => e.type === 'system.overflow');
    expect(overflow.map((e) => (e.meta as { lost: number }).lost)).toEqual([dropped]);
    expect(verifyDir(dir).failure).toBeUndefined();
  });
});

describe('a process started with Node options a worker thread may not be given', () => {
  it.each([
    ['a V8 option and a process-wide one', ['--expose-gc', '--max-old-space-size=512']],
    ['node -e, with --input-type and a V8 option', ['--input-type=module', '--expose-gc']],
    ['node -e, with --input-type and its value apart', ['--input-type', 'module']],
  ])('writes its trail and verifies it in threads: %s', (name, options) => {
    const dir = path.join(root, name.replace(/\W+/g, '-'));
    const program = `
      import { AuditTrail, verifyDir } from ${JSON.stringify(dist)};
      const trail = await AuditTrail.open({ dir: ${JSON.stringify(dir)} });
      for (let i = 0; i < 100; i++) trail.emit({ type: 'x.options.test', meta: { i } });
      await trail.close();
      const report = verifyDir(${JSON.stringify(dir)}, { workers: 2 });
      console.log(JSON.stringify({ ok: report.ok, entries: report.entries }));
    `;
    let args: string[];
    if (options.some((o) => o.startsWith('--input-type'))) args = [...options, '-e', program];
    else {
      const file = path.join(root, `${path.basename(dir)}.mjs`);
      fs.writeFileSync(file, program);
      args = [...options, file];
    }
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, entries: 100 });
  });
});

describe('a trail with a torn tail', () => {
  it('moves the partial line to quarantine, records a system.recovery entry and continues the chain', async () => {
    const dir = path.join(root, 'torn');
    const trail = await AuditTrail.open({ dir });
    for (let i = 0; i < 5; i++) trail.emit(sampleEvent(i));
    await trail.close();
    const seg = segmentFiles(dir)[0]!;
    const before = fs.readFileSync(seg);
    fs.appendFileSync(seg, '{"content":{"prompt":"half a line');
    const again = await AuditTrail.open({ dir });
    again.emit(sampleEvent(5));
    await again.close();
    expect(fs.readFileSync(seg).subarray(0, before.length).equals(before)).toBe(true);
    const quarantined = fs.readdirSync(path.join(dir, 'quarantine'));
    expect(quarantined).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, 'quarantine', quarantined[0]!), 'utf8')).toContain('half a line');
    const all = entries(dir);
    expect(all.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(all[5]).toMatchObject({ type: 'system.recovery', meta: { bytes: 33 } });
    expect(verifyDir(dir).failure).toBeUndefined();
  });

  it('refuses to open, moving nothing, when a bad line sits below the latest signed checkpoint', async () => {
    // A crash cannot tear an entry a checkpoint covers (it is synced first): such a line was
    // changed, and cutting there would sign checkpoints smaller than one already signed.
    const dir = path.join(root, 'garbled-signed');
    const trail = await AuditTrail.open({ dir });
    for (let i = 0; i < 5; i++) trail.emit(sampleEvent(i));
    await trail.close();
    const seg = segmentFiles(dir)[0]!;
    const lines = fs.readFileSync(seg, 'utf8').split('\n');
    lines[2] = lines[2]!.slice(0, 30);
    fs.writeFileSync(seg, lines.join('\n'));
    const damaged = fs.readFileSync(seg);
    await expect(AuditTrail.open({ dir })).rejects.toMatchObject({
      code: 'TREE_SIZE_MISMATCH',
      detail: { seq: 2 },
    });
    expect(fs.readFileSync(seg).equals(damaged)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'quarantine'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'writer.lock'))).toBe(false);
  });
});
