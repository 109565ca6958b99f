import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { tempDir } from '../test-support/fixtures.js';
import { envKeyProvider, parseKeyEnv } from './env-provider.js';
import { createKeyFile, keyFileProvider } from './key-file.js';
import { deriveKeyId } from './key-id.js';
import { parseKeyText } from './key-material.js';
import { explicitKeyProvider, type KeyProvider, openKeyRing, rotateKeys } from './provider.js';

const root = tempDir();
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const KEY = randomBytes(32);
const FAST = { N: 2 ** 14, r: 8, p: 1 };

async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<AuditError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    if (err instanceof AuditError) return err;
    throw err;
  }
  throw new Error('expected an AuditError');
}

describe('parseKeyText', () => {
  it('reads the same 32 bytes from hex, base64 and base64url, padded or not', () => {
    for (const text of [
      KEY.toString('hex'),
      KEY.toString('hex').toUpperCase(),
      KEY.toString('base64'),
      KEY.toString('base64').replace(/=$/, ''),
      KEY.toString('base64url'),
      ` ${KEY.toString('base64')}\n`,
    ]) {
      expect(parseKeyText(text, 'k').equals(KEY)).toBe(true);
    }
  });

  it.each([
    ['31 bytes', randomBytes(31).toString('base64'), /found 44 characters, 31 bytes/],
    ['33 bytes', randomBytes(33).toString('hex'), /66 characters/],
    ['spare bits set', `${KEY.toString('base64').slice(0, 42)}B=`, /32 bytes/],
    ['other characters', `${KEY.toString('hex').slice(0, 60)}zz!!`, /characters outside/],
  ])('rejects %s with KEY_INVALID, without echoing the text', async (_name, text, message) => {
    const err = await errorOf(() => parseKeyText(text, 'SEALTRAIL_KEY'));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain(text.slice(0, 12));
  });
});

describe('the environment provider', () => {
  it('is not configured when SEALTRAIL_KEY is unset or blank', async () => {
    expect(await envKeyProvider({}).load()).toBeUndefined();
    expect(await envKeyProvider({ SEALTRAIL_KEY: '  ' }).load()).toBeUndefined();
  });

  it('serves one bare key under its derived id', async () => {
    const ring = await openKeyRing({
      providers: [envKeyProvider({ SEALTRAIL_KEY: KEY.toString('base64') })],
    });
    expect(ring.ids).toEqual([deriveKeyId(KEY)]);
    expect(ring.source).toEqual({ provider: 'env', detail: 'SEALTRAIL_KEY' });
  });

  it('serves id:key pairs with the first as current', async () => {
    const k1 = randomBytes(32);
    const value = `k2:${KEY.toString('hex')}, k1:${k1.toString('base64')}`;
    const ring = await openKeyRing({ providers: [envKeyProvider({ SEALTRAIL_KEY: value })] });
    expect(ring.current).toBe('k2');
    expect(ring.ids).toEqual(['k2', 'k1']);
  });

  it('names the bad entry and never its text', async () => {
    const short = randomBytes(31).toString('base64');
    const err = await errorOf(() => parseKeyEnv(`k2:${KEY.toString('base64')},k1:${short}`));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toMatch(/^SEALTRAIL_KEY entry 2: /);
    expect(err.message).not.toContain(short);
    expect(err.message).not.toContain(KEY.toString('base64'));
    expect((await errorOf(() => parseKeyEnv('k1:'))).code).toBe('KEY_INVALID');
    expect((await errorOf(() => parseKeyEnv(`,${KEY.toString('hex')}`))).message).toMatch(/entry 1: empty/);
    expect((await errorOf(() => parseKeyEnv(`s p:${KEY.toString('hex')}`))).message).toMatch(/key id/);
  });

  it('has no rotate: rotateKeys says how to add a key to the variable', async () => {
    const err = await errorOf(
      rotateKeys({ providers: [envKeyProvider({ SEALTRAIL_KEY: KEY.toString('hex') })] }),
    );
    expect(err.code).toBe('USAGE');
    expect(err.message).toMatch(/SEALTRAIL_KEY=k2:<new base64>,k1:<old>/);
  });
});

describe('openKeyRing', () => {
  const file = path.join(root, 'chain', 'keys', 'master.json');
  const unconfigured: KeyProvider = { name: 'vault', load: async () => undefined };

  it('asks the providers in order and the first configured one serves', async () => {
    await createKeyFile(file, 'correct horse', { scrypt: FAST });
    const env = envKeyProvider({ SEALTRAIL_KEY: KEY.toString('hex') });
    const fileProvider = keyFileProvider(file, 'correct horse');
    expect((await openKeyRing({ providers: [unconfigured, env, fileProvider] })).source.provider).toBe('env');
    const fromFile = await openKeyRing({ providers: [unconfigured, envKeyProvider({}), fileProvider] });
    expect(fromFile.source).toEqual({ provider: 'file', detail: file });
    expect(fromFile.current).toBe('k1');
  });

  it('stops at a configured provider that fails, unless told to go on', async () => {
    const wrong = keyFileProvider(file, 'wrong horse');
    const env = envKeyProvider({ SEALTRAIL_KEY: KEY.toString('hex') });
    const err = await errorOf(openKeyRing({ providers: [wrong, env] }));
    expect(err.code).toBe('KEY_INVALID');
    expect(err.message).toMatch(/wrong passphrase/);
    expect(err.message).not.toContain('wrong horse');
    expect((await openKeyRing({ providers: [wrong, env], onError: 'next' })).source.provider).toBe('env');
    const none = await errorOf(openKeyRing({ providers: [wrong], onError: 'next' }));
    expect(none.code).toBe('KEY_NOT_FOUND');
    expect(none.message).toMatch(/file: KEY_INVALID/);
  });

  it('goes on past a provider whose keys the ring refuses (an s- id), when told to', async () => {
    const subjectId: KeyProvider = { name: 'vault', load: async () => ({ keys: [{ id: 's-x', key: KEY }] }) };
    const env = envKeyProvider({ SEALTRAIL_KEY: KEY.toString('hex') });
    expect((await errorOf(openKeyRing({ providers: [subjectId, env] }))).code).toBe('KEY_INVALID');
    expect((await openKeyRing({ providers: [subjectId, env], onError: 'next' })).source.provider).toBe('env');
  });

  it('fails with KEY_NOT_FOUND when no provider is configured', async () => {
    const err = await errorOf(openKeyRing({ providers: [unconfigured, envKeyProvider({})] }));
    expect(err.code).toBe('KEY_NOT_FOUND');
    expect(err.message).toMatch(/tried vault, env/);
  });

  it('serves an explicit key object', async () => {
    const ring = await openKeyRing({
      providers: [explicitKeyProvider({ keys: [{ id: 'a', key: KEY }], current: 'a' })],
      context: 'example.test/t',
    });
    expect(ring.source.provider).toBe('explicit');
    expect(ring.context).toBe('example.test/t');
  });

  it('keeps ids beginning s- for subject keys', async () => {
    const err = await errorOf(
      openKeyRing({ providers: [explicitKeyProvider({ keys: [{ id: 's-1', key: KEY }] })] }),
    );
    expect(err.code).toBe('KEY_INVALID');
  });
});
