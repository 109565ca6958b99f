/**
 * The `sealtrail` command on a PostgreSQL log: the built executable, spawned, with `--postgres`
 * in place of `--dir`, against a real server the test starts. The password travels in
 * PGPASSWORD, never in the URL or any output.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyInclusion } from '../chain/index.js';
import { envKeyProvider, openKeyRing } from '../keys/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { startPostgres, type TestPostgres } from '../test-support/postgres.js';
import { AuditTrail } from '../writer/index.js';

const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const root = tempDir();
let server: TestPostgres;
let url: string;

beforeAll(async () => {
  server = await startPostgres();
  await server.createDatabase('cli');
  // The URL without its password: the driver reads PGPASSWORD.
  url = server.url('cli').replace(':postgres@', '@');
});

afterAll(() => {
  server?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

function run(args: string[], input?: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, SEALTRAIL_QUIET: '1', PGPASSWORD: 'postgres', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sealtrail --postgres', () => {
  const keys = () => path.join(root, 'keys');
  const pgArgs = () => ['--postgres', url, '--log', 'cli'];
  let seed: string;

  beforeAll(() => {
    const init = run(['init', ...pgArgs(), '--keys', keys(), '--origin', 'example.test/pg', '--json']);
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    seed = JSON.parse(init.stdout).sealSeed;
    const events = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        type: i % 2 ? 'auth.failure' : 'model.request',
        actor: { id: `u${i % 4}` },
        meta: { i },
        ...(i < 4 ? { conversation: { id: 'conv-pg', turn: i } } : {}),
      }),
    );
    const append = run(['append', ...pgArgs(), '--keys', keys(), '--durable'], `${events.join('\n')}\n`);
    expect(append.stderr).toBe('');
    expect(append.stdout.trim().split('\n')).toHaveLength(40);
  });

  it('init refuses a log that exists', () => {
    const again = run(['init', ...pgArgs(), '--keys', path.join(root, 'other-keys')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/TRAIL_EXISTS|already exists/);
  });

  it('verifies the log with its seals', () => {
    // With `=`: a seed may start with '-', which a separate argument cannot.
    const r = run(['verify', ...pgArgs(), `--seal-seed=${seed}`, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.ok).toBe(true);
    expect(report.entries).toBe(40);
  });

  it('queries and exports with filters', () => {
    const q = run(['query', ...pgArgs(), '--type', 'auth.failure', '--actor', 'u1', '--format', 'jsonl']);
    expect(q.code).toBe(0);
    const got = q.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(got.map((e) => e.meta.i)).toEqual([37, 33, 29, 25, 21, 17, 13, 9, 5, 1]);
    const out = path.join(root, 'export.csv');
    const e = run(['export', ...pgArgs(), '--format', 'csv', '--out', out, '--json']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout).entries).toBe(40);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(41);
  });

  it('reconstructs a conversation with each entry checked against the signed checkpoint', () => {
    const r = run(['conversation', 'conv-pg', ...pgArgs(), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view.entries).toBe(4);
    expect(view.integrity).toMatchObject({ verified: 4, failed: 0 });
  });

  it('tails the newest entries', () => {
    const r = run(['tail', ...pgArgs(), '-n', '3', '--json']);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).meta.i),
    ).toEqual([37, 38, 39]);
  });

  it('proves inclusion against the latest checkpoint', () => {
    const r = run(['prove', ...pgArgs(), '--seq', '17', '--json']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout);
    const cp = run(['checkpoint', ...pgArgs()]);
    expect(cp.stdout).toBe(p.checkpoint);
    const root64 = p.checkpoint.split('\n')[2];
    expect(() =>
      verifyInclusion(
        17,
        p.treeSize,
        Buffer.from(p.leafHash, 'base64'),
        p.hashes.map((h: string) => Buffer.from(h, 'base64')),
        Buffer.from(root64, 'base64'),
      ),
    ).not.toThrow();
  });

  it('shows the status of the log: entries, the latest checkpoint, seals; no segment figures', () => {
    const r = run(['status', ...pgArgs()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('trail example.test/pg in postgres ');
    expect(r.stdout).toContain('entries: 40, from ');
    expect(r.stdout).toMatch(/last checkpoint: size 40 at \S+ \(\w+\), signature valid/);
    expect(r.stdout).toContain('segments: none (entries are rows in PostgreSQL)');
    expect(r.stdout).not.toContain('reads waiting');
    const s = JSON.parse(run(['status', ...pgArgs(), '--json']).stdout);
    expect(s).toMatchObject({
      store: 'postgres',
      origin: 'example.test/pg',
      entries: 40,
      unsignedEntries: 0,
      writer: { running: false, pid: null },
      segments: null,
      bytesOnDisk: null,
      pendingReads: null,
      retention: null,
    });
    expect(s.lastCheckpoint).toMatchObject({ size: 40, signatureVerified: true });
    expect(s.seals).toBeGreaterThan(0);
    expect(s.lastSeal.size).toBe(40);
  });

  it('reports on the log with its counts and a verification of the whole log', () => {
    const r = run([
      'report',
      ...pgArgs(),
      '--from',
      '2000-01-01T00:00:00Z',
      '--format',
      'json',
      `--seal-seed=${seed}`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.origin).toBe('example.test/pg');
    expect(report.totals.entries).toBe(40);
    expect(report.totals.byType).toEqual(
      expect.arrayContaining([
        { key: 'auth.failure', count: 20 },
        { key: 'model.request', count: 20 },
      ]),
    );
    expect(report.authFailures.count).toBe(20);
    expect(report.integrity.verify).toEqual({ ok: true, entries: 40, failure: null });
    expect(report.integrity.latestCheckpoint).toMatchObject({ size: 40, signatureVerified: true });
    expect(report.retention).toMatchObject({ segments: null, bytesOnDisk: null, archivedSegments: null });
    const md = run([
      'report',
      ...pgArgs(),
      '--from',
      '2000-01-01T00:00:00Z',
      '--format',
      'md',
      '--no-verify',
    ]);
    expect(md.code).toBe(0);
    expect(md.stdout).toContain('stored in PostgreSQL (no segment files)');
  });

  it('finds an authentication-failure burst appended to the log', () => {
    const burst = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ type: 'auth.failure', actor: { id: 'mallory' }, meta: { attempt: i } }),
    );
    const append = run(['append', ...pgArgs(), '--keys', keys(), '--durable'], `${burst.join('\n')}\n`);
    expect(append.code).toBe(0);
    const r = run([
      'anomalies',
      ...pgArgs(),
      '--from',
      '2000-01-01T00:00:00Z',
      '--actor',
      'mallory',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const found = JSON.parse(r.stdout);
    expect(found.entries).toBe(6);
    expect(found.findings).toHaveLength(1);
    expect(found.findings[0]).toMatchObject({ rule: 'authFailureBurst', count: 5, threshold: 5 });
    expect(found.findings[0].key).toContain('mallory');
    const quiet = run(['anomalies', ...pgArgs(), '--from', '2000-01-01T00:00:00Z', '--actor', 'u0']);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout.trim()).toBe('no anomalies in 10 entries');
  });

  it('matches a text against content stored as a keyed hash in the log', async () => {
    const env = { SEALTRAIL_KEY: Buffer.alloc(32, 7).toString('base64') };
    const origin = 'example.test/pg-hashed';
    const keys = await openKeyRing({ providers: [envKeyProvider(env)], context: origin });
    const trail = await AuditTrail.open({
      postgres: { url: server.url('cli'), log: 'hashed', keysDir: path.join(root, 'hashed-keys') },
      origin,
      content: 'hash',
      keys,
      handleExit: false,
    });
    const id = trail.emit({ type: 'model.request', content: { prompt: 'the exact words' } });
    await trail.close();
    const args = ['match', '--postgres', url, '--log', 'hashed', '--id', id, '--field', 'prompt'];
    const stored = run(['query', '--postgres', url, '--log', 'hashed', '--format', 'jsonl']);
    expect(stored.stdout).toContain(id);
    expect(stored.stdout).not.toContain('the exact words');
    expect(run(args, 'the exact words\n', env)).toMatchObject({ code: 0, stdout: 'match\n', stderr: '' });
    expect(run(args, 'other words', env)).toMatchObject({ code: 1, stdout: 'no match\n' });
    const noKey = run(args, 'the exact words', { SEALTRAIL_KEY: '' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('rejects --dir with --postgres, and a wrong password without showing it', () => {
    const both = run(['verify', ...pgArgs(), '--dir', root]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--dir or --postgres/);
    const bad = run(['verify', '--postgres', server.urlAs('postgres', 'hunter2-secret', 'cli')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/STORE_UNAVAILABLE|authentication failed/);
    expect(bad.stderr).not.toContain('hunter2-secret');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
