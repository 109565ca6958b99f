/**
 * The lock file: one holder among processes that try at the same moment, a stale lock (its
 * process gone) taken over, and a live one refused. The racing processes load the built module.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-support/fixtures.js';
import { acquireLock, acquireLockWaiting, lockHolder } from './lock.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const mod = new URL('../../dist/store/lock.js', import.meta.url).href;

/** Starts a process that tries the lock at `at` (ms) and holds what it got until stdin closes. */
function racer(lockFile: string, at: number): Promise<string> {
  const code = `
    const { acquireLock } = await import(${JSON.stringify(mod)});
    await new Promise((r) => setTimeout(r, ${at} - Date.now()));
    let got = 'refused';
    try { acquireLock(process.argv[1]); got = 'held'; } catch {}
    process.stdout.write(got);
    process.stdin.resume();
    process.stdin.on('end', () => process.exit(0));`;
  const c = spawn(process.execPath, ['--input-type=module', '-e', code, lockFile]);
  return new Promise((resolve) => {
    c.stdout.once('data', (d) => {
      resolve(String(d));
      setTimeout(() => c.stdin.end(), 500);
    });
  });
}

describe('acquireLock', () => {
  it('gives the lock to exactly one of eight processes trying at once, round after round', async () => {
    for (let round = 0; round < 4; round++) {
      const lockFile = path.join(root, `race-${round}.lock`);
      const at = Date.now() + 1500;
      const results = await Promise.all(Array.from({ length: 8 }, () => racer(lockFile, at)));
      expect(results.filter((r) => r === 'held')).toHaveLength(1);
    }
  }, 60_000);

  it('takes over a stale lock and refuses a live one, naming what holds it', () => {
    const lockFile = path.join(root, 'stale.lock');
    fs.writeFileSync(lockFile, '999999999\n');
    const long = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile, long, long); // and not refreshed for a minute
    const release = acquireLock(lockFile, 'key file is being rotated');
    expect(fs.readFileSync(lockFile, 'utf8').split('\n')[0]).toBe(String(process.pid));
    expect(() => acquireLock(lockFile, 'key file is being rotated')).toThrow(
      /key file is being rotated in this process already/,
    );
    release();
    expect(fs.existsSync(lockFile)).toBe(false);
    expect(fs.readdirSync(root).filter((f) => f.startsWith('stale.lock.'))).toEqual([]);
  });

  it.runIf(fs.existsSync('/proc/self/stat'))(
    'takes over a lock naming its own pid from an earlier process (a restarted container is pid 1 again)',
    () => {
      const lockFile = path.join(root, 'reused.lock');
      fs.writeFileSync(lockFile, `${process.pid}\n1\n`); // same pid, another start time
      const long = new Date(Date.now() - 60_000);
      fs.utimesSync(lockFile, long, long); // not refreshed since (a fresh one is waited for, ~11 s)
      const release = acquireLock(lockFile);
      const [pid, started] = fs.readFileSync(lockFile, 'utf8').split('\n');
      expect(pid).toBe(String(process.pid));
      expect(started).not.toBe('1');
      expect(() => acquireLock(lockFile)).toThrow(/in this process already/);
      release();
    },
  );

  it('refuses a lock whose process it cannot see while that lock is being refreshed (another container)', async () => {
    const lockFile = path.join(root, 'unseen.lock');
    fs.writeFileSync(lockFile, '999999999\n1\n');
    const beat = spawn(process.execPath, [
      '-e',
      `const fs = require('node:fs'); setInterval(() => { const t = new Date(); fs.utimesSync(${JSON.stringify(lockFile)}, t, t); }, 1000);`,
    ]);
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(() => acquireLock(lockFile)).toThrow(/being written by process 999999999/);
    } finally {
      beat.kill();
    }
    // once its refreshes stop, it is taken over after the grace period
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile, old, old);
    acquireLock(lockFile)();
  }, 30_000);

  it('waits for a lock of another container with the event loop running, and takes it once it goes stale', async () => {
    const lockFile = path.join(root, 'unseen-waiting.lock');
    fs.writeFileSync(lockFile, '999999999\n1\npid:[1]\n');
    let ticks = 0;
    const tick = setInterval(() => ticks++, 10);
    try {
      await expect(acquireLockWaiting(lockFile, 'rotating', 300)).rejects.toMatchObject({
        code: 'TRAIL_LOCKED',
      });
    } finally {
      clearInterval(tick);
    }
    // blocked in Atomics.wait, as acquireLock waits, the timer would not have run at all
    expect(ticks).toBeGreaterThan(5);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(lockFile, old, old);
    (await acquireLockWaiting(lockFile, 'rotating', 300))();
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it.runIf(fs.existsSync('/proc/self/ns/pid'))(
    'counts a fresh lock of a gone process as stale in its own pid namespace, as live from another',
    () => {
      const ns = fs.readlinkSync('/proc/self/ns/pid');
      const here = path.join(root, 'gone-here.lock');
      fs.writeFileSync(here, `999999999\n1\n${ns}\n`);
      expect(lockHolder(here)).toBeUndefined(); // the process table here is the whole truth
      const elsewhere = path.join(root, 'gone-elsewhere.lock');
      fs.writeFileSync(elsewhere, '999999999\n1\npid:[1]\n');
      expect(lockHolder(elsewhere)).toBe(999999999); // refreshed lately: its holder may run there
      acquireLock(here)();
    },
  );
});
