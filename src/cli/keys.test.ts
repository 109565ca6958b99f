/**
 * `sealtrail keys init|list|rotate` as users run them: the built executable, spawned with a
 * clean environment (no key variables inherited from the machine running the tests).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deriveKeyId,
  KeyFile,
  openTrailKeyRing,
  openTrailSubjectKeys,
  trailKeyPaths,
} from '../keys/index.js';
import { decodeLine } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { tempDir } from '../test-support/fixtures.js';
import { AuditTrail } from '../writer/index.js';

const bin = fileURLToPath(new URL('../../dist/cli/bin.js', import.meta.url));
const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const PASS = 'correct horse battery staple';
const KEY_VARS = [
  'SEALTRAIL_KEY',
  'SEALTRAIL_PASSPHRASE',
  'SEALTRAIL_PASSPHRASE_FILE',
  'VAULT_ADDR',
  'VAULT_TOKEN',
  'SEALTRAIL_VAULT_PATH',
  'SEALTRAIL_VAULT_TRANSIT_KEY',
  'SEALTRAIL_DIR',
];

function run(args: string[], env: Record<string, string> = {}) {
  const base: NodeJS.ProcessEnv = { ...process.env, SEALTRAIL_QUIET: '1' };
  for (const v of KEY_VARS) delete base[v];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...base, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function newTrail(name: string): string {
  const dir = path.join(root, name);
  const r = run(['init', '--dir', dir, '--origin', `example.test/${name}`]);
  expect(r.code).toBe(0);
  return dir;
}

function expectOneErrorLine(r: { code: number | null; stderr: string; stdout: string }, message: RegExp) {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.split('\n')).toEqual([expect.stringMatching(/^sealtrail: /), '']);
  expect(r.stderr).toMatch(message);
}

describe('sealtrail keys', () => {
  describe('with the passphrase key file', () => {
    let dir: string;

    beforeAll(() => {
      dir = newTrail('file');
    });

    it('list without any key: KEY_NOT_FOUND in one line, exit 2', () => {
      expectOneErrorLine(run(['keys', 'list', '--dir', dir]), /no master key: no key provider is configured/);
    });

    it('init without a passphrase: one line, exit 2', () => {
      expectOneErrorLine(run(['keys', 'init', '--dir', dir]), /set SEALTRAIL_PASSPHRASE/);
    });

    it('init creates keys/master.json, 0600 in a 0700 directory, with k1', () => {
      const r = run(['keys', 'init', '--dir', dir, '--json'], { SEALTRAIL_PASSPHRASE: PASS });
      expect(r.stderr).toBe('');
      const { keyFile, keysDir } = trailKeyPaths(dir);
      expect(JSON.parse(r.stdout)).toEqual({ file: keyFile, current: 'k1' });
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(fs.statSync(keysDir).mode & 0o777).toBe(0o700);
      expectOneErrorLine(
        run(['keys', 'init', '--dir', dir], { SEALTRAIL_PASSPHRASE: PASS }),
        /already exists/,
      );
    });

    it('list --json names the provider, the ids and the current key', () => {
      const r = run(['keys', 'list', '--dir', dir, '--json'], { SEALTRAIL_PASSPHRASE: PASS });
      expect(r.stderr).toBe('');
      const listed = JSON.parse(r.stdout);
      expect(listed).toMatchObject({ provider: 'file', current: 'k1', keys: [{ id: 'k1', current: true }] });
      expect(listed.keys[0].createdAt).toBeGreaterThan(0);
    });

    it('a wrong passphrase: one line naming the file, exit 2', () => {
      const r = run(['keys', 'list', '--dir', dir], { SEALTRAIL_PASSPHRASE: 'wrong horse' });
      expectOneErrorLine(r, /master\.json: wrong passphrase, or the file was changed/);
      expect(r.stderr).not.toContain('wrong horse');
    });

    it('takes the passphrase from SEALTRAIL_PASSPHRASE_FILE', () => {
      const file = path.join(root, 'passphrase.txt');
      fs.writeFileSync(file, `${PASS}\n`, { mode: 0o600 });
      expect(run(['keys', 'list', '--dir', dir], { SEALTRAIL_PASSPHRASE_FILE: file }).code).toBe(0);
    });

    it('rotate adds k2, rewraps the subject keys, and never prints key material', async () => {
      const env = { SEALTRAIL_PASSPHRASE: PASS };
      const ring = await openTrailKeyRing(dir, { env });
      const subjects = await openTrailSubjectKeys(dir, ring, { env });
      await subjects.subjectKey('alice@example.com');
      await subjects.subjectKey('bob@example.com');

      const r = run(['keys', 'rotate', '--dir', dir, '--json'], env);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toMatchObject({
        provider: 'file',
        current: 'k2',
        previous: 'k1',
        subjectKeysRewrapped: 2,
        keys: [
          { id: 'k1', current: false },
          { id: 'k2', current: true },
        ],
      });

      const list = run(['keys', 'list', '--dir', dir], env);
      expect(list.stdout.split('\n')).toEqual([
        expect.stringMatching(/^id +created +current +provider$/),
        expect.stringMatching(/^k1 +\d{4}-\d\d-\d\dT[\d:.]+Z +file$/),
        expect.stringMatching(/^k2 +\d{4}-\d\d-\d\dT[\d:.]+Z +yes +file$/),
        '',
      ]);

      const keys = (await KeyFile.open(trailKeyPaths(dir).keyFile, PASS)).loaded().keys;
      for (const out of [r.stdout, list.stdout]) {
        for (const k of keys) {
          for (const s of [Buffer.from(k.key).toString('hex'), Buffer.from(k.key).toString('base64')]) {
            expect(out).not.toContain(s);
          }
        }
      }
      const rotated = await openTrailKeyRing(dir, { env });
      const reread = await openTrailSubjectKeys(dir, rotated, { env });
      expect((await reread.subjectKey('alice@example.com', { mode: 'read' })).current).toMatch(/^s-/);
    });
  });

  describe('with SEALTRAIL_KEY', () => {
    let dir: string;
    const key = randomBytes(32);

    beforeAll(() => {
      dir = newTrail('env');
    });

    it('list shows the derived id and the env provider', () => {
      const r = run(['keys', 'list', '--dir', dir], { SEALTRAIL_KEY: key.toString('base64') });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(new RegExp(`^${deriveKeyId(key)} +- +yes +env$`, 'm'));
      expect(r.stdout).not.toContain(key.toString('base64'));
    });

    it('rotate says how to put a new key in the variable', () => {
      expectOneErrorLine(
        run(['keys', 'rotate', '--dir', dir], { SEALTRAIL_KEY: key.toString('hex') }),
        /SEALTRAIL_KEY=k2:<new base64>,k1:<old>/,
      );
    });

    it('a malformed key: one line naming the variable, never its value', () => {
      const short = randomBytes(31).toString('hex');
      const r = run(['keys', 'list', '--dir', dir], { SEALTRAIL_KEY: `k1:${short}` });
      expectOneErrorLine(r, /SEALTRAIL_KEY: expected 32 bytes/);
      expect(r.stderr).not.toContain(short.slice(0, 16));
    });
  });

  it("a writer running through keys rotate keeps encrypting under each subject's own key", async () => {
    const dir = path.join(root, 'rotate-live');
    expect(run(['init', '--dir', dir, '--content', 'encrypt', '--origin', 'example.test/live']).code).toBe(0);
    const pass = { SEALTRAIL_PASSPHRASE: PASS };
    expect(run(['keys', 'init', '--dir', dir], pass).code).toBe(0);
    const append = (line: string) =>
      spawnSync(process.execPath, [bin, 'append', '--dir', dir], {
        input: `${line}\n`,
        encoding: 'utf8',
        env: { ...process.env, ...pass, SEALTRAIL_QUIET: '1' },
      });
    expect(append('{"type":"x.a","subject":"bob","content":{"prompt":"bob before"}}').status).toBe(0);
    process.env.SEALTRAIL_PASSPHRASE = PASS;
    try {
      const trail = await AuditTrail.open({ dir, handleExit: false });
      trail.emit({ type: 'x.a', subject: 'alice', content: { prompt: 'alice' } });
      await trail.flush();
      expect(run(['keys', 'rotate', '--dir', dir], pass).code).toBe(0);
      trail.emit({ type: 'x.a', subject: 'bob', content: { prompt: 'bob after' } });
      await trail.close();
    } finally {
      delete process.env.SEALTRAIL_PASSPHRASE;
    }
    const stored = [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
    const bob = stored.filter((e) => e.subject === 'bob').map((e) => String(e.content?.prompt));
    expect(bob).toHaveLength(2);
    // both under bob's data key (s-<generation>), never the master key (k…)
    for (const c of bob) expect(c).toMatch(/^st1:s-/);
    expect(bob[1]!.split(':')[1]).toBe(bob[0]!.split(':')[1]);
  });

  describe('a reader of an encrypt-mode trail', () => {
    it('creates no key material, and a search text is not recorded in clear', () => {
      const dir = path.join(root, 'reader');
      expect(
        run(['init', '--dir', dir, '--content', 'encrypt', '--origin', 'example.test/reader']).code,
      ).toBe(0);
      const pass = { SEALTRAIL_PASSPHRASE: PASS };
      expect(run(['keys', 'init', '--dir', dir], pass).code).toBe(0);
      // a reader with a key that is not the trail's, before the writer made any subject key
      const foreign = { SEALTRAIL_KEY: randomBytes(32).toString('base64') };
      expect(run(['query', '--dir', dir, '--decrypt', '--format', 'jsonl'], foreign).code).toBe(0);
      expect(fs.existsSync(path.join(trailKeyPaths(dir).subjectsDir, 'index.key'))).toBe(false);
      const line =
        '{"type":"model.completion","subject":"bob","content":{"prompt":"Zyxwvut secret words"}}\n';
      const append = spawnSync(process.execPath, [bin, 'append', '--dir', dir], {
        input: line,
        encoding: 'utf8',
        env: { ...process.env, ...pass, SEALTRAIL_QUIET: '1' },
      });
      expect(append.stderr).toBe('');
      expect(append.status).toBe(0);
      const q = run(['query', '--dir', dir, '--decrypt', '--text', 'Zyxwvut', '--format', 'jsonl'], pass);
      expect(q.stdout).toContain('Zyxwvut secret words');
      const reads = run(['query', '--dir', dir, '--type', 'audit.read', '--format', 'jsonl'], pass);
      expect(reads.stdout).toContain('[7 characters]');
      for (const f of fs.readdirSync(path.join(dir, 'segments')))
        expect(fs.readFileSync(path.join(dir, 'segments', f), 'latin1')).not.toContain('Zyxwvut');
    });
  });

  it('without a subcommand or a trail: one line, exit 2', () => {
    expectOneErrorLine(run(['keys']), /keys: expected init, list or rotate/);
    expectOneErrorLine(run(['keys', 'list', '--dir', path.join(root, 'nothing')]), /no trail in/);
  });
});
