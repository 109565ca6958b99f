/**
 * The append thread: batches land in the file in the order they were queued, waits return once
 * they are there, and a write that fails is cut back to whole lines and retried, while nothing the
 * writer confirmed as durable is lost.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeLine, verifyDir } from '../read/index.js';
import { canSetAppendOnly, runCutBackWriter } from '../test-support/cut-back.js';
import { tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/trail.js';
import { AppendThread } from './append-thread.js';
import { DirSource } from './index.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('AppendThread', () => {
  it('is not used when it does not run within the wait given (the writer writes itself then)', () => {
    const events = { onWritten: () => undefined, onError: () => undefined };
    // no thread loads its module in no time: start gives up, and ends it
    expect(AppendThread.start(events, 0)).toBeUndefined();
    const thread = AppendThread.start(events);
    expect(thread).toBeDefined();
    return thread!.terminate();
  });

  it('writes queued batches in order, and waitIdle returns once all are in the file', async () => {
    const file = path.join(root, 'ordered.log');
    const fd = fs.openSync(file, 'a', 0o600);
    const written: number[] = [];
    let allReported: () => void = () => undefined;
    const reported = new Promise<void>((resolve) => {
      allReported = resolve;
    });
    const onWritten = (n: number) => {
      written.push(n);
      if (n === 40) allReported();
    };
    const thread = AppendThread.start({ onWritten, onError: () => undefined })!;
    try {
      let expected = '';
      let offset = 0;
      // more batches than slots, so that queuing waits for a free slot too
      for (let i = 0; i < 40; i++) {
        const text = `${String(i).repeat(1 + (i % 7) * 1000)}\n`;
        thread.write(fd, Buffer.from(text), offset, file);
        offset += text.length;
        expected += text;
      }
      expect(thread.issued).toBe(40);
      thread.waitIdle(file);
      expect(thread.completed).toBe(40);
      expect(fs.readFileSync(file, 'utf8')).toBe(expected);
      expect(thread.fits(4 * 1024 * 1024)).toBe(true);
      expect(thread.fits(4 * 1024 * 1024 + 1)).toBe(false);
      await reported; // the message of each write follows it
      expect(written).toEqual([...written].sort((a, b) => a - b));
    } finally {
      await thread.terminate();
      fs.closeSync(fd);
    }
  });
});

describe('AppendThread.abandon', () => {
  it('ends a thread that is retrying a failed write before its next attempt, and returns once it has', async () => {
    const file = path.join(root, 'read-only.log');
    fs.writeFileSync(file, 'x\n');
    const fd = fs.openSync(file, 'r'); // every write to it fails (EBADF) and is retried
    let errors = 0;
    let failed: () => void = () => undefined;
    const firstFailure = new Promise<void>((resolve) => {
      failed = resolve;
    });
    const onError = () => {
      errors++;
      failed();
    };
    const thread = AppendThread.start({ onWritten: () => undefined, onError })!;
    const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    try {
      thread.write(fd, Buffer.from('line\n'), 2, file);
      await firstFailure;
      expect(() => thread.waitIdle(file)).toThrow(/a write is failing/);
      thread.abandon();
      await pause(50); // the messages it sent before it ended
      const seen = errors;
      await pause(400); // retries come after 50, 100 and 200 ms
      expect(errors).toBe(seen);
      expect(fs.readFileSync(file, 'utf8')).toBe('x\n');
    } finally {
      await thread.terminate();
      fs.closeSync(fd);
    }
  });
});

describe('AppendThread, when a write fails part way and the part cannot be cut back at once', () => {
  it.skipIf(!canSetAppendOnly(root))('writes the batch again only after the part is cut back', () => {
    const dir = path.join(root, 'cut-back');
    const child = runCutBackWriter('thread', dir);
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    // the line before, then the batch whole: no part of a first attempt before it
    const text = fs.readFileSync(path.join(dir, 'thread.log'), 'utf8');
    expect(text.length).toBe(1000 + 5000);
    expect(text === `${'a'.repeat(999)}\n${'b'.repeat(4999)}\n`).toBe(true);
  });
});

describe('a trail whose segment writes fail (file size limit)', () => {
  it('reports STORE_IO, cuts every failed write back to whole lines, and loses nothing made durable', async () => {
    const dir = path.join(root, 'audit');
    const created = await AuditTrail.open({ dir });
    const seed = created.sealSeed!;
    await created.close();
    const script = fileURLToPath(new URL('../test-support/full-disk-writer.mjs', import.meta.url));
    // 400 blocks (200 or 400 KB, as the shell counts them): room for a few hundred events
    const child = spawn('sh', ['-c', 'ulimit -f 400 && exec "$0" "$@"', process.execPath, script, dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        // a few retries later, the kill
        if (err.includes('cannot write a segment: EFBIG')) setTimeout(() => child.kill('SIGKILL'), 300);
      });
      child.on('exit', (_code, signal) =>
        signal === 'SIGKILL' ? resolve() : reject(new Error(`writer ended on its own: ${err}`)),
      );
    });
    expect(err).toContain('sealtrail: cannot write a segment: EFBIG (retrying)');
    const acked = out
      .split('\n')
      .filter((l) => /^\d+$/.test(l))
      .map(Number);
    expect(acked.length).toBeGreaterThan(10);
    // Every failed write was cut back: the segment ends on a whole line, nothing is quarantined.
    const segments = fs.readdirSync(path.join(dir, 'segments')).filter((f) => f.endsWith('.log'));
    for (const f of segments) {
      const bytes = fs.readFileSync(path.join(dir, 'segments', f));
      expect(bytes.at(-1), f).toBe(0x0a);
    }
    const trail = await AuditTrail.open({ dir });
    await trail.close();
    expect(fs.existsSync(path.join(dir, 'quarantine'))).toBe(false);
    expect(verifyDir(dir, { sealSeed: seed }).failure).toBeUndefined();
    const recorded = new Set(
      [...new DirSource(dir).lines()]
        .map((l) => decodeLine(l.text))
        .filter((e) => e.type === 'x.disk.full')
        .map((e) => (e.meta as { i: number }).i),
    );
    for (const i of acked) expect(recorded.has(i), `event ${i}`).toBe(true);
  });
});
