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
import { SealKeyFile, verifyInclusion } from '../chain/index.js';
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

function jsonl(text: string) {
  return text
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

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
    // With the key directory, the writer's seal key is checked too: one epoch ahead of the seals
    // stored (as if the newest had been deleted from the database) is SEAL_MISSING.
    expect(run(['verify', ...pgArgs(), '--keys', keys(), `--seal-seed=${seed}`]).code).toBe(0);
    const ahead = path.join(root, 'keys-ahead');
    fs.cpSync(keys(), ahead, { recursive: true });
    SealKeyFile.open(path.join(ahead, 'seal.key')).evolve();
    const v = run(['verify', ...pgArgs(), '--keys', ahead, `--seal-seed=${seed}`]);
    expect(v.code).toBe(1);
    expect(v.stderr + v.stdout).toMatch(/SEAL_MISSING|seal key is at epoch/);
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
    // Reads by runs without the key directory wait in pending_reads: the owner may count them.
    expect(r.stdout).toMatch(/reads waiting to be recorded: \d+/);
    const s = JSON.parse(run(['status', ...pgArgs(), '--json']).stdout);
    expect(s).toMatchObject({
      store: 'postgres',
      origin: 'example.test/pg',
      entries: 40,
      unsignedEntries: 0,
      writer: { running: false, pid: null },
      segments: null,
      bytesOnDisk: null,
      pendingReads: expect.any(Number),
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

describe('sealtrail --postgres with content keys (--keys DIR)', () => {
  const k1 = `k1:${Buffer.alloc(32, 11).toString('base64')}`;
  const env = { SEALTRAIL_KEY: k1 };
  const keysOf = (log: string) => path.join(root, `${log}-keys`);
  const args = (log: string) => ['--postgres', url, '--log', log, '--keys', keysOf(log)];
  const requests = (log: string) => ['query', ...args(log), '--type', 'model.request', '--format', 'jsonl'];

  describe('an encrypt-mode log', () => {
    let seed: string;
    beforeAll(() => {
      const init = run(['init', ...args('sealed'), '--content', 'encrypt', '--json'], undefined, env);
      expect(init.stderr).toBe('');
      expect(init.code).toBe(0);
      seed = JSON.parse(init.stdout).sealSeed;
      const events = [
        {
          type: 'model.request',
          actor: { id: 'alice' },
          conversation: { id: 'c-enc' },
          content: { prompt: 'alice words' },
        },
        { type: 'model.request', actor: { id: 'bob' }, content: { prompt: 'bob words' } },
        { type: 'model.request', content: { prompt: 'words of nobody' } },
      ];
      const append = run(
        ['append', ...args('sealed'), '--durable'],
        `${events.map((e) => JSON.stringify(e)).join('\n')}\n`,
        env,
      );
      expect(append.stderr).toBe('');
      expect(append.code).toBe(0);
    });

    it('appends from the CLI with the key ring of --keys: no plaintext stored, subject keys in DIR/subjects', async () => {
      const rows = await server.sql(
        'cli',
        'SELECT line FROM sealtrail.entries e JOIN sealtrail.logs l ON l.id = e.log_id WHERE l.log = $1',
        ['sealed'],
      );
      const all = rows.rows.map((r) => r.line).join('\n');
      expect(all).not.toContain('words');
      expect(all).toMatch(/st1:/);
      expect(
        fs.readdirSync(path.join(keysOf('sealed'), 'subjects')).filter((f) => f.endsWith('.key')).length,
      ).toBe(3);
      const v = run(['verify', '--postgres', url, '--log', 'sealed', `--seal-seed=${seed}`]);
      expect(v.code).toBe(0);
    });

    it('query, export and conversation --decrypt show the plaintext', () => {
      const q = run([...requests('sealed'), '--decrypt'], undefined, env);
      expect(q.stderr).toBe('');
      expect(q.code).toBe(0);
      expect(
        jsonl(q.stdout)
          .map((e) => e.content.prompt)
          .sort(),
      ).toEqual(['alice words', 'bob words', 'words of nobody']);
      const plain = run(requests('sealed'), undefined, env);
      expect(plain.stdout).not.toContain('words');
      const x = run(
        ['export', ...args('sealed'), '--type', 'model.request', '--format', 'jsonl', '--decrypt'],
        undefined,
        env,
      );
      expect(x.code).toBe(0);
      expect(x.stdout).toContain('"prompt":"bob words"');
      const c = run(['conversation', 'c-enc', ...args('sealed'), '--decrypt', '--json'], undefined, env);
      expect(c.code).toBe(0);
      expect(c.stdout).toContain('alice words');
    });

    it('--decrypt without the master key names the missing key id and exits 2', () => {
      const other = { SEALTRAIL_KEY: `k2:${Buffer.alloc(32, 12).toString('base64')}` };
      const r = run(['query', ...args('sealed'), '--decrypt'], undefined, other);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('master key k1 is not in the key ring');
      const none = run(['query', ...args('sealed'), '--decrypt'], undefined, { SEALTRAIL_KEY: '' });
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/no master key/);
    });

    it('erase crypto-shreds one subject: its content is gone, the others still decrypt, the log verifies', () => {
      const subjects = path.join(keysOf('sealed'), 'subjects');
      const keyFiles = () => fs.readdirSync(subjects).filter((f) => f.endsWith('.key'));
      const before = keyFiles().length;
      const r = run(
        ['erase', ...args('sealed'), '--subject', 'alice', '--reason', 'art17', '--json'],
        undefined,
        env,
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({ entries: 1, fields: 1 });
      expect(keyFiles()).toHaveLength(before - 1);
      const q = run([...requests('sealed'), '--decrypt'], undefined, env);
      expect(q.code).toBe(0);
      const byActor = Object.fromEntries(jsonl(q.stdout).map((e) => [e.actor?.id ?? '-', e.content.prompt]));
      expect(byActor).toEqual({ alice: '[erased]', bob: 'bob words', '-': 'words of nobody' });
      expect(q.stdout).not.toContain('alice words');
      const erasure = jsonl(
        run(['query', ...args('sealed'), '--type', 'audit.erasure', '--format', 'jsonl']).stdout,
      );
      expect(erasure).toHaveLength(1);
      expect(erasure[0]).toMatchObject({
        subject: 'alice',
        meta: { entries: 1, fields: 1, method: 'crypto-shredding', reason: 'art17' },
      });
      expect(run(['verify', '--postgres', url, '--log', 'sealed', `--seal-seed=${seed}`]).code).toBe(0);
    });

    it('erase refuses a log that is not in content mode encrypt, saying why', () => {
      for (const [log, mode] of [
        ['plain-erase', 'plain'],
        ['hash-erase', 'hash'],
      ] as const) {
        expect(run(['init', ...args(log), '--content', mode], undefined, env).code).toBe(0);
        const r = run(['erase', ...args(log), '--subject', 'u1'], undefined, env);
        expect(r.code, log).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(
          /not in content mode encrypt.*append-only rows.*destroys the subject's data key/,
        );
      }
    });

    it('init refuses hash or encrypt without a master key, before creating anything', () => {
      const r = run(['init', ...args('keyless'), '--content', 'encrypt'], undefined, { SEALTRAIL_KEY: '' });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/no master key/);
      expect(fs.existsSync(keysOf('keyless'))).toBe(false);
      expect(run(['verify', '--postgres', url, '--log', 'keyless']).stderr).toMatch(
        /TRAIL_NOT_FOUND|no such log/,
      );
    });
  });

  describe('keys of a log', () => {
    it('keys init, rotate and list work in the key directory; entries under three keys decrypt and verify', () => {
      const pass = { SEALTRAIL_PASSPHRASE: 'correct horse battery staple', SEALTRAIL_KEY: '' };
      // The key file comes first: init --content encrypt needs a master key at hand.
      const made = run(['keys', 'init', ...args('rotated'), '--json'], undefined, pass);
      expect(made.stderr).toBe('');
      const file = path.join(keysOf('rotated'), 'master.json');
      expect(JSON.parse(made.stdout)).toEqual({ file, current: 'k1' });
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(run(['init', ...args('rotated'), '--content', 'encrypt'], undefined, pass).code).toBe(0);
      const append = (n: number) =>
        run(
          ['append', ...args('rotated'), '--durable'],
          `${JSON.stringify({ type: 'model.request', actor: { id: `user-${n}` }, content: { prompt: `words ${n}` } })}\n`,
          pass,
        );
      expect(append(1).stderr).toBe('');
      for (const [n, current] of [
        [2, 'k2'],
        [3, 'k3'],
      ] as const) {
        const r = run(['keys', 'rotate', ...args('rotated'), '--json'], undefined, pass);
        expect(r.stderr).toBe('');
        const rotated = JSON.parse(r.stdout);
        expect(rotated).toMatchObject({ provider: 'file', current, previous: `k${n - 1}` });
        expect(rotated.subjectKeysRewrapped).toBeGreaterThanOrEqual(n - 1);
        expect(append(n).stderr).toBe('');
      }
      const listed = JSON.parse(run(['keys', 'list', ...args('rotated'), '--json'], undefined, pass).stdout);
      expect(listed.keys.map((k: { id: string }) => k.id)).toEqual(['k1', 'k2', 'k3']);
      const q = run([...requests('rotated'), '--decrypt'], undefined, pass);
      expect(q.stderr).toBe('');
      expect(jsonl(q.stdout).map((e) => e.content.prompt)).toEqual(['words 3', 'words 2', 'words 1']);
      expect(run(['verify', '--postgres', url, '--log', 'rotated']).code).toBe(0);
      expect(
        run(['keys', 'list', '--postgres', url, '--log', 'absent', '--keys', keysOf('rotated')]).stderr,
      ).toMatch(/no such log/);
    });
  });

  describe('a hash-mode log', () => {
    it('appends from the CLI and matches a text with the key of --keys', () => {
      expect(run(['init', ...args('hashed-cli'), '--content', 'hash'], undefined, env).code).toBe(0);
      const append = run(
        ['append', ...args('hashed-cli'), '--durable'],
        `${JSON.stringify({ type: 'model.request', content: { prompt: 'hashed words' } })}\n`,
        env,
      );
      expect(append.stderr).toBe('');
      const id = append.stdout.trim();
      const q = run(['query', ...args('hashed-cli'), '--format', 'jsonl']);
      expect(q.stdout).toContain(id);
      expect(q.stdout).not.toContain('hashed words');
      expect(q.stdout).toMatch(/"prompt":"hm1:|"prompt":"[^"]*:/);
      const m = ['match', ...args('hashed-cli'), '--id', id, '--field', 'prompt'];
      expect(run(m, 'hashed words\n', env)).toMatchObject({ code: 0, stdout: 'match\n' });
      expect(run(m, 'other words\n', env)).toMatchObject({ code: 1, stdout: 'no match\n' });
      const noKey = run(['append', ...args('hashed-cli')], '{"type":"x.y"}\n', { SEALTRAIL_KEY: '' });
      expect(noKey.code).toBe(2);
      expect(noKey.stderr).toMatch(/no master key/);
      expect(run(['verify', '--postgres', url, '--log', 'hashed-cli']).code).toBe(0);
    });
  });
});

describe('reads of a PostgreSQL log through the CLI', () => {
  const keys = path.join(root, 'audited-keys');
  let readerUrl: string;
  const reads = () =>
    jsonl(
      run([
        'query',
        '--postgres',
        url,
        '--log',
        'audited',
        '--type',
        'audit.read',
        '--format',
        'jsonl',
        '--order',
        'oldest',
      ]).stdout,
    );
  const pendingCount = async () =>
    (await server.sql('cli', 'SELECT count(*)::int AS n FROM sealtrail.pending_reads')).rows[0].n as number;

  beforeAll(async () => {
    expect(run(['init', '--postgres', url, '--log', 'audited', '--keys', keys]).code).toBe(0);
    const events = Array.from({ length: 8 }, (_, i) =>
      JSON.stringify({ type: 'auth.failure', actor: { id: 'eve' }, meta: { i } }),
    );
    expect(
      run(['append', '--postgres', url, '--log', 'audited', '--keys', keys], `${events.join('\n')}\n`).code,
    ).toBe(0);
    await server.sql('cli', "CREATE ROLE auditor LOGIN PASSWORD 'aud-pw' IN ROLE sealtrail_reader");
    readerUrl = server.urlAs('auditor', 'aud-pw', 'cli').replace(':aud-pw@', '@');
    // Reads recorded so far by other tests of this file wait for their own logs' writers.
    await server.sql('cli', 'DELETE FROM sealtrail.pending_reads');
  });

  it("a reader role's query waits in pending_reads and enters the log when a writer opens it", async () => {
    const q = run(
      [
        'query',
        '--postgres',
        readerUrl,
        '--log',
        'audited',
        '--as',
        'ann',
        '--type',
        'auth.failure',
        '--format',
        'jsonl',
      ],
      undefined,
      { PGPASSWORD: 'aud-pw', SEALTRAIL_QUIET: '0' },
    );
    expect(q.code).toBe(0);
    expect(jsonl(q.stdout)).toHaveLength(8);
    expect(q.stderr).toContain('sealtrail.pending_reads');
    expect(await pendingCount()).toBe(1);
    // The owner sees the waiting read in status; the reader role may not count them.
    const owner = run(['status', '--postgres', url, '--log', 'audited']);
    expect(owner.stdout).toContain('reads waiting to be recorded: 1');
    expect(
      JSON.parse(run(['status', '--postgres', url, '--log', 'audited', '--json']).stdout).pendingReads,
    ).toBe(1);
    const asReader = run(['status', '--postgres', readerUrl, '--log', 'audited', '--json'], undefined, {
      PGPASSWORD: 'aud-pw',
    });
    expect(asReader.stderr).toBe('');
    expect(JSON.parse(asReader.stdout).pendingReads).toBeNull();
    expect(reads()).toHaveLength(0);
    const append = run(
      ['append', '--postgres', url, '--log', 'audited', '--keys', keys],
      '{"type":"x.after"}\n',
    );
    expect(append.code).toBe(0);
    expect(await pendingCount()).toBe(0);
    const recorded = reads().filter((e) => e.actor.id === 'ann');
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({
      action: 'query',
      meta: { verb: 'query', count: 8, recordedLate: true, dbRole: 'auditor' },
    });
    expect(run(['verify', '--postgres', url, '--log', 'audited']).code).toBe(0);
  });

  it('with the key directory and no writer running, the reading CLI records the read at once', async () => {
    const before = reads().length;
    for (const verb of [
      ['export', '--format', 'jsonl'],
      ['timeline', '--from', '2000-01-01T00:00:00Z'],
      ['report', '--from', '2000-01-01T00:00:00Z', '--format', 'json', '--no-verify'],
    ]) {
      const r = run([...verb, '--postgres', url, '--log', 'audited', '--keys', keys, '--as', 'bo']);
      expect(r.code, verb[0]).toBe(0);
    }
    expect(await pendingCount()).toBe(0);
    const mine = reads()
      .slice(before)
      .filter((e) => e.actor.id === 'bo');
    expect(mine.map((e) => e.meta.verb)).toEqual(['export', 'timeline', 'report']);
    expect(run(['verify', '--postgres', url, '--log', 'audited']).code).toBe(0);
  });

  it('records anomaly findings once, as for a directory', () => {
    const a = [
      'anomalies',
      '--postgres',
      url,
      '--log',
      'audited',
      '--keys',
      keys,
      '--from',
      '2000-01-01T00:00:00Z',
      '--actor',
      'eve',
      '--json',
    ];
    const first = run(a);
    expect(first.code).toBe(1);
    expect(JSON.parse(first.stdout)).toMatchObject({ alreadyRecorded: 0 });
    const found = jsonl(
      run(['query', '--postgres', url, '--log', 'audited', '--type', 'security.anomaly', '--format', 'jsonl'])
        .stdout,
    );
    expect(found).toHaveLength(1);
    expect(found[0].meta.rule).toBe('authFailureBurst');
    const again = run(a);
    expect(JSON.parse(again.stdout)).toMatchObject({ alreadyRecorded: 1 });
    expect(run(['verify', '--postgres', url, '--log', 'audited']).code).toBe(0);
  });
});
