import { spawn } from 'node:child_process';
import { createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { acquireLock } from '../store/lock.js';
import { tempDir } from '../test-support/fixtures.js';
import { createKeyFile, KeyFile, keyFileProvider, SCRYPT_DEFAULTS } from './key-file.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

// The floor of the accepted parameters keeps the tests quick; one test uses the defaults.
const FAST = { N: 2 ** 14, r: 8, p: 1 };
const PASS = 'correct horse battery staple';

async function errorOf(p: Promise<unknown>): Promise<AuditError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AuditError) return err;
    throw err;
  }
  throw new Error('expected an AuditError');
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

describe('createKeyFile', () => {
  const file = path.join(root, 'trail', 'keys', 'master.json');
  const key = randomBytes(32);

  it('writes a 0600 file in a 0700 directory holding one key k1, wrapped', async () => {
    const { id } = await createKeyFile(file, PASS, { key: { key }, scrypt: FAST, now: 1_700_000_000_000 });
    expect(id).toBe('k1');
    expect(mode(file)).toBe(0o600);
    expect(mode(path.dirname(file))).toBe(0o700);
    const text = fs.readFileSync(file, 'utf8');
    for (const s of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
      expect(text).not.toContain(s);
    }
    expect(text).not.toContain(PASS);
    const json = JSON.parse(text);
    expect(Object.keys(json)).toEqual(['format', 'kdf', 'current', 'keys', 'wrap']);
    expect(json).toMatchObject({
      format: 'sealtrail-keyfile/1',
      kdf: { name: 'scrypt', N: 16384, r: 8, p: 1 },
      current: 'k1',
      keys: [{ id: 'k1', createdAt: 1_700_000_000_000 }],
      wrap: { alg: 'A256GCM' },
    });
    expect(Buffer.from(json.kdf.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(json.wrap.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(json.wrap.ciphertext, 'base64')).toHaveLength(32 + 16);
  });

  it('can be unwrapped by hand from docs/keys.md: scrypt, then AES-256-GCM with the header lines as associated data', () => {
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const kek = scryptSync(PASS, Buffer.from(json.kdf.salt, 'base64'), 32, { N: 16384, r: 8, p: 1 });
    const aad = `sealtrail-keyfile/1\nscrypt 16384 8 1 ${json.kdf.salt}\ncurrent k1\nkey k1 1700000000000\n`;
    const sealed = Buffer.from(json.wrap.ciphertext, 'base64');
    const d = createDecipheriv('aes-256-gcm', kek, Buffer.from(json.wrap.iv, 'base64'));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(sealed.subarray(32));
    expect(Buffer.concat([d.update(sealed.subarray(0, 32)), d.final()]).equals(key)).toBe(true);
  });

  it('refuses to overwrite an existing file', async () => {
    const err = await errorOf(createKeyFile(file, PASS, { scrypt: FAST }));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/already exists/);
  });

  it('refuses an empty passphrase and scrypt parameters below the floor', async () => {
    const other = path.join(root, 'other.json');
    expect((await errorOf(createKeyFile(other, '', { scrypt: FAST }))).code).toBe('CONFIG_INVALID');
    expect((await errorOf(createKeyFile(other, PASS, { scrypt: { N: 1024, r: 8, p: 1 } }))).code).toBe(
      'CONFIG_INVALID',
    );
    expect(fs.existsSync(other)).toBe(false);
  });

  it('uses N = 2^17, r = 8, p = 1 by default', async () => {
    const f = path.join(root, 'default', 'master.json');
    await createKeyFile(f, PASS);
    expect(JSON.parse(fs.readFileSync(f, 'utf8')).kdf).toMatchObject(SCRYPT_DEFAULTS);
    expect((await KeyFile.open(f, PASS)).current).toBe('k1');
  });
});

describe('KeyFile.open', () => {
  const file = path.join(root, 'open', 'master.json');
  const key = randomBytes(32);

  it('gives back the key with the right passphrase', async () => {
    await createKeyFile(file, PASS, { key: { key }, scrypt: FAST });
    const kf = await KeyFile.open(file, PASS);
    const loaded = kf.loaded();
    expect(loaded.current).toBe('k1');
    expect(Buffer.from(loaded.keys[0]!.key).equals(key)).toBe(true);
    expect(`${String(kf)} ${JSON.stringify(kf)}`).not.toContain(key.toString('hex'));
  });

  it('accepts the passphrase however its accents are composed (NFC)', async () => {
    const f = path.join(root, 'nfc', 'master.json');
    await createKeyFile(f, 'caf\u00e9 passphrase', { scrypt: FAST });
    expect((await KeyFile.open(f, 'cafe\u0301 passphrase')).current).toBe('k1');
  });

  describe('with a wrong passphrase', () => {
    it('fails with KEY_INVALID, naming the file and not the passphrase', async () => {
      const err = await errorOf(KeyFile.open(file, 'incorrect horse'));
      expect(err.code).toBe('KEY_INVALID');
      expect(err.message).toBe(`key file ${file}: wrong passphrase, or the file was changed`);
    });
  });

  describe('when the public header was changed', () => {
    it.each([
      ['createdAt', (j: { keys: Array<{ createdAt: number }> }) => (j.keys[0]!.createdAt += 1)],
      ['the salt', (j: { kdf: { salt: string } }) => (j.kdf.salt = randomBytes(16).toString('base64'))],
    ])('fails with KEY_INVALID (%s is associated data)', async (_name, change) => {
      const f = path.join(root, `changed-${_name.replace(/\W/g, '')}`, 'master.json');
      await createKeyFile(f, PASS, { scrypt: FAST });
      const json = JSON.parse(fs.readFileSync(f, 'utf8'));
      change(json as never);
      fs.writeFileSync(f, JSON.stringify(json));
      expect((await errorOf(KeyFile.open(f, PASS))).code).toBe('KEY_INVALID');
    });
  });

  it('refuses a file that group or others can read', async () => {
    const f = path.join(root, 'loose', 'master.json');
    await createKeyFile(f, PASS, { scrypt: FAST });
    fs.chmodSync(f, 0o644);
    const err = await errorOf(KeyFile.open(f, PASS));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toMatch(/chmod 600/);
  });

  it.each([
    ['not JSON', '{'],
    ['another format', '{"format":"x"}'],
    ['absurd scrypt memory', null],
  ])('reports a damaged file (%s) without deriving', async (_name, text) => {
    const f = path.join(root, `damaged-${_name.replace(/\W/g, '')}`, 'master.json');
    await createKeyFile(f, PASS, { scrypt: FAST });
    if (text === null) {
      const json = JSON.parse(fs.readFileSync(f, 'utf8'));
      json.kdf.N = 2 ** 30;
      fs.writeFileSync(f, JSON.stringify(json));
    } else {
      fs.writeFileSync(f, text);
    }
    const err = await errorOf(KeyFile.open(f, PASS));
    expect(['KEY_INVALID', 'CONFIG_INVALID']).toContain(err.code);
  });

  it('reports a missing file with KEY_NOT_FOUND', async () => {
    expect((await errorOf(KeyFile.open(path.join(root, 'none.json'), PASS))).code).toBe('KEY_NOT_FOUND');
  });
});

describe('KeyFile.rotate', () => {
  it('adds k2 as current, keeps k1, rewrites the file 0600 under a fresh IV', async () => {
    const file = path.join(root, 'rotate', 'master.json');
    await createKeyFile(file, PASS, { scrypt: FAST });
    const before = JSON.parse(fs.readFileSync(file, 'utf8'));
    const kf = await KeyFile.open(file, PASS);
    const k1 = Buffer.from(kf.loaded().keys[0]!.key);
    const loaded = await kf.rotate();
    expect(loaded.current).toBe('k2');
    expect(loaded.keys.map((k) => k.id)).toEqual(['k1', 'k2']);
    expect(mode(file)).toBe(0o600);
    const after = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(after.wrap.iv).not.toBe(before.wrap.iv);
    expect(after.kdf).toEqual(before.kdf);
    const reopened = (await KeyFile.open(file, PASS)).loaded();
    expect(reopened.current).toBe('k2');
    expect(Buffer.from(reopened.keys[0]!.key).equals(k1)).toBe(true);
  });

  it('loses no key when another handle rotated the file meanwhile', async () => {
    const file = path.join(root, 'race', 'master.json');
    await createKeyFile(file, PASS, { scrypt: FAST });
    const a = await KeyFile.open(file, PASS);
    const b = await KeyFile.open(file, PASS);
    await a.rotate();
    const loaded = await b.rotate();
    expect(loaded.keys.map((k) => k.id)).toEqual(['k1', 'k2', 'k3']);
    expect((await KeyFile.open(file, PASS)).loaded().keys.map((k) => k.id)).toEqual(['k1', 'k2', 'k3']);
  });
});

describe('KeyFile.rotate while another rotation holds the lock', () => {
  it('waits without blocking the event loop, then rotates', async () => {
    const file = path.join(root, 'held-lock', 'master.json');
    await createKeyFile(file, PASS, { scrypt: FAST });
    const kf = await KeyFile.open(file, PASS);
    const release = acquireLock(`${file}.lock`, 'held by the test');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const rotation = kf.rotate();
    await new Promise((r) => setTimeout(r, 200));
    expect(ticks).toBeGreaterThan(5); // the loop ran while the rotation waited
    release();
    clearInterval(timer);
    expect((await rotation).current).toBe('k2');
  });
});

describe('KeyFile.rotate in two processes at once', () => {
  it('keeps both new keys: each rotation reads and writes the file under a lock', async () => {
    const file = path.join(root, 'two-processes', 'master.json');
    await createKeyFile(file, PASS, { scrypt: FAST });
    // Each child opens the file first (scrypt), then rotates at the same moment, with a slow
    // fsync standing for a slow disk: without the lock the second write drops the first key.
    // The built module (npm test builds first), as a process outside the test runner loads it.
    const url = new URL('../../dist/keys/key-file.js', import.meta.url).href;
    const child = `
      import fs from 'node:fs';
      const { KeyFile } = await import(${JSON.stringify(url)});
      const kf = await KeyFile.open(process.argv[1], process.argv[2]);
      const sync = fs.fsyncSync;
      fs.fsyncSync = (fd) => { const t = Date.now() + 300; while (Date.now() < t); return sync(fd); };
      await new Promise((r) => setTimeout(r, Number(process.argv[3]) - Date.now()));
      const loaded = await kf.rotate();
      const mine = loaded.keys.find((k) => k.id === loaded.current);
      process.stdout.write(Buffer.from(mine.key).toString('base64'));`;
    const at = Date.now() + 3000;
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const c = spawn(process.execPath, ['--input-type=module', '-e', child, file, PASS, String(at)]);
        let out = '';
        let err = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (err += d));
        c.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
      });
    const made = await Promise.all([run(), run()]);
    const kept = (await KeyFile.open(file, PASS)).loaded();
    expect(kept.keys.map((k) => k.id)).toEqual(['k1', 'k2', 'k3']);
    const stored = kept.keys.map((k) => Buffer.from(k.key).toString('base64'));
    for (const key of made) expect(stored).toContain(key);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 30_000);
});

describe('KeyFile.rotate with a key that could not be opened', () => {
  it('writes nothing: the same key twice, a bad createdAt, an s- id', async () => {
    const file = path.join(root, 'bad-rotation', 'master.json');
    await createKeyFile(file, PASS, { scrypt: FAST });
    const kf = await KeyFile.open(file, PASS);
    const before = fs.readFileSync(file, 'utf8');
    const k1 = Uint8Array.from(kf.loaded().keys[0]!.key);
    for (const next of [
      { key: k1 },
      { key: randomBytes(32), createdAt: Number.NaN },
      { id: 's-1', key: randomBytes(32) },
    ]) {
      await expect(kf.rotate(next)).rejects.toMatchObject({ code: 'KEY_INVALID' });
      expect(fs.readFileSync(file, 'utf8')).toBe(before);
    }
    expect((await KeyFile.open(file, PASS)).loaded().current).toBe('k1');
  });
});

describe('keyFileProvider', () => {
  it('is not configured without the file, and asks for the passphrase only when the file exists', async () => {
    const file = path.join(root, 'provider', 'master.json');
    let asked = 0;
    const provider = keyFileProvider(file, () => {
      asked++;
      return undefined;
    });
    expect(await provider.load()).toBeUndefined();
    expect(asked).toBe(0);
    await createKeyFile(file, PASS, { scrypt: FAST });
    const err = await errorOf(provider.load());
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/SEALTRAIL_PASSPHRASE/);
    expect(asked).toBe(1);
  });

  it('rotates through the file it opened', async () => {
    const file = path.join(root, 'provider-rotate', 'master.json');
    await createKeyFile(file, PASS, { scrypt: FAST });
    const provider = keyFileProvider(file, PASS);
    expect((await provider.load())?.current).toBe('k1');
    expect((await provider.rotate!()).current).toBe('k2');
  });
});
