/**
 * `sealtrail archive push`, `verify --from-s3`, `witness push` and `verify --against` as users run
 * them: the built executable against a real S3-API server and a real collector on loopback.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveSegmentName } from '../archive/index.js';
import { DirSource } from '../store/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { writeFixtureTrail } from '../test-support/read-fixtures.js';
import { type LocalS3, startLocalS3 } from '../test-support/s3-server.js';
import {
  copyTrail,
  recordEvents,
  restoreTrail,
  startWitnessCollector,
} from '../test-support/witness-fixtures.js';

const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const root = tempDir();
let s3: LocalS3;
let collector: Awaited<ReturnType<typeof startWitnessCollector>>;

/** Runs the CLI without blocking this process, which serves S3 and the collector. */
function run(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          ...process.env,
          SEALTRAIL_QUIET: '1',
          AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
          AWS_REGION: 'us-east-1',
          SEALTRAIL_S3_ENDPOINT: s3.endpoint,
          SEALTRAIL_WITNESS_TOKEN: collector.token,
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  s3 = await startLocalS3(['archive', 'witness']);
  collector = await startWitnessCollector();
});
afterAll(async () => {
  await s3.close();
  await collector.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('sealtrail archive push and verify --from-s3', () => {
  const dir = path.join(root, 'archived');
  const url = 's3://archive/prod/trail';

  beforeAll(async () => {
    await writeFixtureTrail(dir);
  });

  it('pushes the sealed segments with the Object Lock asked for, and says so', async () => {
    const mark = s3.requests.length;
    const r = await run([
      'archive',
      'push',
      url,
      '--dir',
      dir,
      '--lock-mode',
      'compliance',
      '--retain-days',
      '2555',
      '--legal-hold',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^archived \d+ sealed segments \(entries 0\.\.\d+\) to s3:\/\/archive\/prod\/trail\/: \d+ objects uploaded, 0 already there; COMPLIANCE 2555 days, legal hold\n$/,
    );
    const puts = s3.requests.slice(mark).filter((q) => q.method === 'PUT');
    expect(puts.length).toBeGreaterThan(0);
    for (const p of puts) {
      expect(p.headers['x-amz-object-lock-mode']).toBe('COMPLIANCE');
      expect(p.headers['x-amz-object-lock-legal-hold']).toBe('ON');
    }
    expect(r.stdout).not.toContain(s3.credentials.secretAccessKey);
  });

  it('uploads nothing the second time', async () => {
    const r = await run(['archive', 'push', url, '--dir', dir, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { pushed: number; present: number };
    expect(report.pushed).toBe(0);
    expect(report.present).toBeGreaterThan(0);
  });

  it('verifies the archive, and a range of it, straight from S3', async () => {
    const all = await run(['verify', '--from-s3', url]);
    expect(all.stderr).toBe('');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^ok: s3:\/\/archive\/prod\/trail\/ entries 0\.\.\d+ \(\d+ segments\)/);
    const sealed = new DirSource(dir).segments().flatMap((s) => (s.summary === undefined ? [] : [s.summary]));
    const mid = sealed[3]!;
    const some = await run([
      'verify',
      '--from-s3',
      url,
      '--from-seq',
      String(mid.firstSeq),
      '--to-seq',
      String(mid.lastSeq),
      '--json',
    ]);
    expect(some.code).toBe(0);
    const report = JSON.parse(some.stdout) as { ok: boolean; range: { from: number; to: number } };
    expect(report.ok).toBe(true);
    expect(report.range).toEqual({ from: mid.firstSeq, to: mid.lastSeq });
  });

  it('exits 1 naming the object when an archived segment was changed', async () => {
    const other = 's3://archive/tampered/trail';
    expect((await run(['archive', 'push', other, '--dir', dir, '--lock-mode', 'none'])).code).toBe(0);
    const first = new DirSource(dir).segments()[2]!.ref.firstSeq;
    const file = s3.objectFile('archive', `tampered/trail/${archiveSegmentName(first)}`);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"outcome":"', '"outcome":"x'));
    const r = await run(['verify', '--from-s3', other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^sealtrail: integrity failure: SEGMENT_CHECKSUM_MISMATCH: s3:\/\/archive\/tampered\/trail\/segments\/\d{20}\.log: bytes differ/,
    );
  });

  it('exits 2 with one line for a malformed location or lock mode', async () => {
    const bad = await run(['archive', 'push', 'https://archive/x', '--dir', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('sealtrail: archive push: expected s3://bucket/prefix\n');
    const mode = await run(['archive', 'push', url, '--dir', dir, '--lock-mode', 'forever']);
    expect(mode.code).toBe(2);
    expect(mode.stderr).toBe('sealtrail: lock-mode: expected GOVERNANCE, COMPLIANCE or none\n');
  });
});

describe('sealtrail witness push and verify --against', () => {
  const origin = 'example.test/cli-witnessed';
  const dir = path.join(root, 'witnessed');
  const wdir = path.join(root, 'other-volume', 'witness');
  const specs = () => ['s3://witness/cli', wdir, collector.url];

  beforeAll(async () => {
    await recordEvents(dir, 3, 'a', origin);
  });

  it('pushes the checkpoints to an S3 bucket, a directory and a collector, and verifies against each', async () => {
    const push = await run(['witness', 'push', '--dir', dir, ...specs().flatMap((s) => ['--to', s])]);
    expect(push.stderr).toBe('');
    expect(push.code).toBe(0);
    expect(push.stdout.trim().split('\n')).toEqual([
      's3://witness/cli/: 3 checkpoints pushed, newest witnessed size 3 (held 0 before)',
      `${wdir}: 3 checkpoints pushed, newest witnessed size 3 (held 0 before)`,
      `${collector.url}: 3 checkpoints pushed, newest witnessed size 3 (held 0 before)`,
    ]);
    expect(push.stdout).not.toContain(collector.token);
    for (const spec of specs()) {
      const r = await run(['verify', '--dir', dir, '--against', spec]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('consistent with');
    }
  });

  it('exits 2 for a mistyped address instead of taking it for a directory, never echoing its credentials', async () => {
    for (const spec of ['htps://ops:pw-1234@collector-b:8787', 'S3://witness/cli', 's3:/witness/cli']) {
      const r = await run(['witness', 'push', '--dir', dir, '--to', spec]);
      expect(r.code, spec).toBe(2);
      expect(r.stderr, spec).toMatch(/^sealtrail: .*witness: unknown address scheme '(htps|S3|s3):'.*\n$/);
      expect(r.stderr).not.toContain('pw-1234');
    }
    expect(fs.existsSync('htps:')).toBe(false);
    expect(fs.existsSync('s3:')).toBe(false);
  });

  it('exits 1 reporting a fork: another trail with the same origin and key', async () => {
    const fork = path.join(root, 'fork');
    copyTrail(dir, fork);
    await recordEvents(fork, 1, 'forked', origin);
    await recordEvents(dir, 1, 'a', origin);
    expect((await run(['witness', 'push', '--dir', dir, ...specs().flatMap((s) => ['--to', s])])).code).toBe(
      0,
    );
    for (const spec of specs()) {
      const ok = await run(['verify', '--dir', dir, '--against', spec]);
      expect(ok.stdout).toContain('; consistent with 4 outside checkpoints (sizes 1..4; --json lists them);');
      const r = await run(['verify', '--dir', fork, '--against', spec]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^sealtrail: integrity failure: ROOT_MISMATCH: fork: .* root at size 4 differs from the log/,
      );
    }
    const refused = await run(['witness', 'push', '--dir', fork, '--to', collector.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('fork');
  });

  it('exits 1 reporting a rollback: an older copy of the trail after newer witnessed checkpoints', async () => {
    const backup = path.join(root, 'backup');
    copyTrail(dir, backup);
    await recordEvents(dir, 2, 'a', origin);
    expect((await run(['witness', 'push', '--dir', dir, ...specs().flatMap((s) => ['--to', s])])).code).toBe(
      0,
    );
    restoreTrail(backup, dir);
    expect((await run(['verify', '--dir', dir])).code).toBe(0);
    for (const spec of specs()) {
      const r = await run(['verify', '--dir', dir, '--against', spec]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /^sealtrail: integrity failure: TREE_SIZE_MISMATCH: rollback: .* covers [56] entries but the log has 4 /,
      );
    }
  });
});

describe('sealtrail witness push --every', () => {
  it('keeps pushing new checkpoints until SIGTERM, then exits 0', async () => {
    const dir = path.join(root, 'watched');
    const wdir = path.join(root, 'watched-witness');
    await recordEvents(dir, 1, 'a', 'example.test/watched');
    const child = spawn(
      process.execPath,
      [bin, 'witness', 'push', '--dir', dir, '--to', wdir, '--every', '1s'],
      {
        env: { ...process.env, SEALTRAIL_QUIET: '1' },
      },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const note = (size: number) => path.join(wdir, 'checkpoints', `${String(size).padStart(20, '0')}.note`);
    const until = async (cond: () => boolean) => {
      while (!cond()) await new Promise((r) => setTimeout(r, 50));
    };
    await until(() => fs.existsSync(note(1)));
    await recordEvents(dir, 2, 'b', 'example.test/watched');
    await until(() => fs.existsSync(note(3)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The new checkpoints may arrive in one round or two.
    expect(stdout).toMatch(/: [12] checkpoints pushed, newest witnessed size 3 \(held [12] before\)\n$/);
  });

  it('exits 2 for an interval under a second', async () => {
    const r = await run(['witness', 'push', '--to', root, '--every', '10ms']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('sealtrail: --every: expected a duration of at least 1s (30s, 5m, 1h)\n');
  });
});
