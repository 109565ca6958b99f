/**
 * verifyInThread gives verifyDir's report from a worker thread, loaded from the TypeScript sources
 * (tests) and from the built package (an application), with the segment pool's threads started
 * inside it; and throws verifyDir's errors as the same AuditError.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { sampleEvent, tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';
import { verifyDir } from './verify-dir.js';
import { verifyInThread } from './verify-thread.js';

let root: string;
let dir: string;

beforeAll(async () => {
  root = tempDir();
  dir = path.join(root, 'audit');
  // Small segments, so that the pool has several to share out.
  const trail = await AuditTrail.open({ dir, maxSegmentBytes: 32 * 1024, handleExit: false });
  for (let i = 0; i < 300; i++) {
    trail.emit(sampleEvent(i));
    if (i % 100 === 99) await trail.checkpoint();
  }
  await trail.close();
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('verifyInThread', () => {
  it("gives verifyDir's report, also with the segment pool's threads started in the thread", async () => {
    const expected = verifyDir(dir);
    expect(expected.ok).toBe(true);
    expect(expected.entries).toBe(300);
    expect(await verifyInThread({ dir })).toEqual(expected);
    expect(await verifyInThread({ dir }, { workers: 2 })).toEqual(verifyDir(dir, { workers: 2 }));
  });

  it("gives verifyDir's integrity failure in its report", async () => {
    const broken = path.join(root, 'broken');
    fs.cpSync(dir, broken, { recursive: true });
    fs.appendFileSync(path.join(broken, 'checkpoints.jsonl'), 'not a checkpoint\n');
    const expected = verifyDir(broken);
    expect(expected.ok).toBe(false);
    expect(await verifyInThread({ dir: broken })).toEqual(expected);
  });

  it("throws verifyDir's error as the same AuditError (code, message, detail)", async () => {
    const missing = path.join(root, 'missing');
    let expected: unknown;
    try {
      verifyDir(missing);
    } catch (err) {
      expected = err;
    }
    expect(expected).toBeInstanceOf(AuditError);
    const got = await verifyInThread({ dir: missing }).catch((err: unknown) => err);
    expect(got).toBeInstanceOf(AuditError);
    const [e, g] = [expected as AuditError, got as AuditError];
    expect({ code: g.code, message: g.message, detail: g.detail }).toEqual({
      code: e.code,
      message: e.message,
      detail: e.detail,
    });
  });

  it('runs from the built package, as an application loads it (npm test builds first)', () => {
    const mod = new URL('../../dist/read/verify-thread.js', import.meta.url).href;
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { verifyInThread } = await import(${JSON.stringify(mod)});
         console.log(JSON.stringify(await verifyInThread({ dir: process.argv[1] }, { workers: 2 })));`,
        dir,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(verifyDir(dir))));
  });
});
