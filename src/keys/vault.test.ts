/**
 * The Vault provider and Transit wrapper against a loopback HTTP server that follows Vault's
 * documented API (api-docs/secret/kv/kv-v2, api-docs/secret/transit, api-docs "Error response",
 * "HTTP status codes"): real HTTP on 127.0.0.1 through Node's fetch; no real Vault server runs
 * in the test suite.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { tempDir } from '../test-support/fixtures.js';
import { envKeyProvider } from './env-provider.js';
import { decryptField, encryptField } from './field-cipher.js';
import { openKeyRing, rotateKeys } from './provider.js';
import { SubjectKeyStore } from './subject-keys.js';
import type { VaultConfig } from './vault-client.js';
import { vaultConfigFromEnv, vaultKeyProvider, vaultTransitWrapper } from './vault-provider.js';

const TOKEN = 'hvs.test-token-0123456789abcdef';

interface Seen {
  method: string;
  url: string;
  token: string | undefined;
  namespace: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

/** A small Vault: KV v2 mounts with versions and check-and-set, and Transit aes256-gcm96 keys. */
class FakeVault {
  readonly kv = new Map<string, Array<{ data: Record<string, unknown>; created: string }>>();
  readonly transit = new Map<string, Buffer[]>();
  readonly seen: Seen[] = [];
  beforeWrite: (() => void) | undefined;
  /** When set, every request is answered 200 with this text (a broken or hostile server). */
  rawAnswer: string | undefined;
  server = http.createServer((req, res) => this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      let body: Record<string, unknown> = {};
      if (text !== '') {
        try {
          body = JSON.parse(text);
        } catch {
          return this.reply(res, 400, { errors: ['failed to parse JSON input'] });
        }
      }
      const token = req.headers['x-vault-token'] as string | undefined;
      this.seen.push({
        method: req.method!,
        url: req.url!,
        token,
        namespace: req.headers['x-vault-namespace'] as string | undefined,
        contentType: req.headers['content-type'],
        body,
      });
      if (token !== TOKEN) return this.reply(res, 403, { errors: ['permission denied'] });
      if (this.rawAnswer !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(this.rawAnswer);
        return;
      }
      const url = new URL(req.url!, 'http://vault');
      let m = /^\/v1\/(.+?)\/data\/(.+)$/.exec(url.pathname);
      if (m !== null && this.kvMounts.has(m[1]!))
        return this.kvRoute(req.method!, `${m[1]}/${m[2]}`, body, res);
      m = /^\/v1\/transit\/(encrypt|decrypt)\/([^/]+)$/.exec(url.pathname);
      if (m !== null && req.method === 'POST') return this.transitRoute(m[1]!, m[2]!, body, res);
      return this.reply(res, 404, { errors: [] });
    });
  }

  readonly kvMounts = new Set(['secret', 'kv2']);

  private kvRoute(
    method: string,
    key: string,
    body: Record<string, unknown>,
    res: http.ServerResponse,
  ): true {
    const versions = this.kv.get(key) ?? [];
    if (method === 'GET') {
      const latest = versions.at(-1);
      if (latest === undefined) return this.reply(res, 404, { errors: [] });
      return this.reply(res, 200, {
        request_id: 'f1f2',
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: {
          data: latest.data,
          metadata: {
            created_time: latest.created,
            custom_metadata: null,
            deletion_time: '',
            destroyed: false,
            version: versions.length,
          },
        },
        wrap_info: null,
        warnings: null,
        auth: null,
      });
    }
    if (method === 'POST' || method === 'PUT') {
      this.beforeWrite?.();
      const now = this.kv.get(key) ?? [];
      const cas = (body.options as { cas?: number } | undefined)?.cas;
      if (cas !== undefined && cas !== now.length) {
        return this.reply(res, 400, {
          errors: ['check-and-set parameter did not match the current version'],
        });
      }
      if (typeof body.data !== 'object' || body.data === null) {
        return this.reply(res, 400, { errors: ['no data provided'] });
      }
      const created = new Date().toISOString();
      now.push({ data: body.data as Record<string, unknown>, created });
      this.kv.set(key, now);
      return this.reply(res, 200, {
        data: {
          created_time: created,
          custom_metadata: null,
          deletion_time: '',
          destroyed: false,
          version: now.length,
        },
      });
    }
    return this.reply(res, 405, { errors: ['unsupported operation'] });
  }

  private transitRoute(
    op: string,
    name: string,
    body: Record<string, unknown>,
    res: http.ServerResponse,
  ): true {
    if (op === 'encrypt') {
      // With the create capability, encrypting to a missing key creates it (upsert).
      if (!this.transit.has(name)) this.transit.set(name, [randomBytes(32)]);
      const keys = this.transit.get(name)!;
      if (typeof body.plaintext !== 'string')
        return this.reply(res, 400, { errors: ['missing plaintext to encrypt'] });
      const nonce = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', keys.at(-1)!, nonce);
      const ct = Buffer.concat([
        nonce,
        c.update(Buffer.from(body.plaintext, 'base64')),
        c.final(),
        c.getAuthTag(),
      ]);
      return this.reply(res, 200, {
        data: { ciphertext: `vault:v${keys.length}:${ct.toString('base64')}`, key_version: keys.length },
      });
    }
    const keys = this.transit.get(name);
    if (keys === undefined) return this.reply(res, 400, { errors: ['encryption key not found'] });
    const m = typeof body.ciphertext === 'string' ? /^vault:v(\d+):(.+)$/.exec(body.ciphertext) : null;
    const key = m === null ? undefined : keys[Number(m[1]) - 1];
    if (m === null || key === undefined)
      return this.reply(res, 400, { errors: ['invalid ciphertext: no prefix'] });
    const raw = Buffer.from(m[2]!, 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      d.setAuthTag(raw.subarray(-16));
      const pt = Buffer.concat([d.update(raw.subarray(12, -16)), d.final()]);
      return this.reply(res, 200, { data: { plaintext: pt.toString('base64') } });
    } catch {
      return this.reply(res, 400, { errors: ['cipher: message authentication failed'] });
    }
  }

  private reply(res: http.ServerResponse, status: number, json: unknown): true {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(json));
    return true;
  }
}

const vault = new FakeVault();
const root = tempDir();
let addr: string;
const K1 = randomBytes(32);
const K2 = randomBytes(32);

beforeAll(async () => {
  addr = await vault.start();
});
afterAll(async () => {
  await vault.stop();
  fs.rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  vault.kv.clear();
  vault.seen.length = 0;
  vault.beforeWrite = undefined;
  vault.kv.set('secret/sealtrail/prod', [
    {
      data: { current: 'k2', k1: K1.toString('base64'), k2: K2.toString('hex') },
      created: '2026-01-01T00:00:00Z',
    },
  ]);
});

function config(extra: Partial<VaultConfig> = {}): VaultConfig {
  return { addr, token: TOKEN, kvPath: 'sealtrail/prod', ...extra };
}

async function errorOf(p: Promise<unknown>): Promise<AuditError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AuditError) return err;
    throw err;
  }
  throw new Error('expected an AuditError');
}

function expectNoSecrets(err: AuditError): void {
  const all = `${err.message} ${JSON.stringify(err.detail)} ${String(err.stack)}`;
  for (const s of [TOKEN, K1.toString('base64'), K2.toString('hex')]) expect(all).not.toContain(s);
}

describe('vaultKeyProvider', () => {
  it('reads the master keys from KV v2 with GET /v1/secret/data/<path> and X-Vault-Token', async () => {
    const ring = await openKeyRing({ providers: [vaultKeyProvider(config())], context: 'example.test/t' });
    expect(ring.current).toBe('k2');
    expect(ring.ids).toEqual(['k1', 'k2']);
    expect(ring.source).toEqual({ provider: 'vault', detail: 'secret/sealtrail/prod v1' });
    expect(vault.seen).toHaveLength(1);
    expect(vault.seen[0]).toMatchObject({
      method: 'GET',
      url: '/v1/secret/data/sealtrail/prod',
      token: TOKEN,
    });
  });

  it('serves the same keys as the environment would', async () => {
    const fromVault = await openKeyRing({ providers: [vaultKeyProvider(config())] });
    const fromEnv = await openKeyRing({
      providers: [envKeyProvider({ SEALTRAIL_KEY: `k2:${K2.toString('base64')},k1:${K1.toString('hex')}` })],
    });
    const text = encryptField(fromEnv, { keyId: 'k1', aad: 'a', plaintext: 'same keys' });
    expect(decryptField(fromVault, text, 'a')).toBe('same keys');
  });

  it('uses another mount and the namespace header when configured', async () => {
    vault.kv.set('kv2/team/trail', [{ data: { k1: K1.toString('base64') }, created: '' }]);
    const ring = await openKeyRing({
      providers: [vaultKeyProvider(config({ kvMount: 'kv2', kvPath: 'team/trail', namespace: 'ns1' }))],
    });
    expect(ring.current).toBe('k1');
    expect(vault.seen[0]).toMatchObject({ url: '/v1/kv2/data/team/trail', namespace: 'ns1' });
  });

  it('is not configured without a KV path', async () => {
    expect(await vaultKeyProvider(undefined).load()).toBeUndefined();
    expect(await vaultKeyProvider({ addr, token: TOKEN }).load()).toBeUndefined();
    expect(vault.seen).toHaveLength(0);
  });

  describe('with a bad token', () => {
    it('fails with KEY_PROVIDER_ERROR (403), never printing the token', async () => {
      const err = await errorOf(vaultKeyProvider(config({ token: `${TOKEN}x` })).load());
      expect(err.code).toBe('KEY_PROVIDER_ERROR');
      expect(err.message).toBe(
        'vault GET secret/data/sealtrail/prod: permission denied (403); check VAULT_TOKEN and its policy',
      );
      expectNoSecrets(err);
    });
  });

  describe('with a missing path', () => {
    it('fails with KEY_NOT_FOUND (404)', async () => {
      const err = await errorOf(vaultKeyProvider(config({ kvPath: 'sealtrail/none' })).load());
      expect(err.code).toBe('KEY_NOT_FOUND');
      expect(err.message).toMatch(/secret\/data\/sealtrail\/none: not found \(404\)/);
    });
  });

  describe('when nothing listens', () => {
    it('fails with KEY_PROVIDER_ERROR: cannot connect', async () => {
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const err = await errorOf(vaultKeyProvider(config({ addr: `http://127.0.0.1:${port}` })).load());
      expect(err.code).toBe('KEY_PROVIDER_ERROR');
      expect(err.message).toMatch(/cannot connect \(ECONNREFUSED\)/);
      expectNoSecrets(err);
    });
  });

  describe('a server that misbehaves', () => {
    let odd: http.Server;
    let oddAddr: string;
    beforeAll(async () => {
      odd = http.createServer((req, res) => {
        let body = '';
        req.on('data', (d) => {
          body += d;
        });
        req.on('end', () => {
          if (req.url?.includes('echo-token') === true) {
            // a proxy in front of Vault that quotes the request's headers in its error
            res.writeHead(500, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ errors: [`bad gateway for token ${req.headers['x-vault-token']}`] }));
            return;
          }
          if (req.method === 'GET') {
            // headers and the start of a body, then nothing
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.write('{"data":');
            return;
          }
          res.writeHead(400, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ errors: [`invalid request: ${body}`] }));
        });
      });
      await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
      oddAddr = `http://127.0.0.1:${(odd.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      odd.closeAllConnections();
      await new Promise((r) => odd.close(r));
    });

    it('an answer that stops halfway is a provider error, not an empty secret', async () => {
      const err = await errorOf(vaultKeyProvider(config({ addr: oddAddr, timeoutMs: 300 })).load());
      expect(err.code).toBe('KEY_PROVIDER_ERROR');
      expect(err.message).toMatch(/the answer broke off: no answer within 300 ms/);
    });

    it('an error that quotes the request does not carry the keys it held into the message', async () => {
      const { VaultClient } = await import('./vault-client.js');
      const client = new VaultClient(config({ addr: oddAddr }));
      const err = await errorOf(client.writeKv({ current: 'k2', k2: K2.toString('base64') }, 1));
      expect(err.message).toMatch(/refused \(400: invalid request: /);
      expect(err.message).not.toContain(K2.toString('base64'));
      expect(err.message).not.toContain(K2.toString('base64').slice(0, 20));
    });

    it('an error that quotes a short token does not carry it into the message', async () => {
      const err = await errorOf(
        vaultKeyProvider(config({ addr: oddAddr, token: 'devroot', kvPath: 'echo-token' })).load(),
      );
      expect(err.code).toBe('KEY_PROVIDER_ERROR');
      expect(err.message).toBe('vault GET secret/data/echo-token: HTTP 500 bad gateway for token […]');
    });
  });

  it('refuses plain http to a host that is not loopback', async () => {
    const err = await errorOf(vaultKeyProvider(config({ addr: 'http://vault.example:8200' })).load());
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/use https/);
  });

  it.each([
    ['a key of the wrong length', { k1: randomBytes(16).toString('base64') }, 'KEY_INVALID'],
    ['several keys and no current', { k1: K1.toString('base64'), k2: K2.toString('base64') }, 'KEY_INVALID'],
    ['no key at all', { current: 'k1' }, 'KEY_NOT_FOUND'],
  ])('rejects a secret with %s', async (_name, data, code) => {
    vault.kv.set('secret/sealtrail/prod', [{ data, created: '' }]);
    const err = await errorOf(vaultKeyProvider(config()).load());
    expect(err.code).toBe(code);
    expectNoSecrets(err);
  });

  describe('in a chain with the environment', () => {
    const env = envKeyProvider({ SEALTRAIL_KEY: randomBytes(32).toString('base64') });

    it('serves first when configured', async () => {
      expect((await openKeyRing({ providers: [vaultKeyProvider(config()), env] })).source.provider).toBe(
        'vault',
      );
    });

    it('stops the chain when Vault refuses, or hands over to the environment when told to', async () => {
      const refused = vaultKeyProvider(config({ token: 'hvs.wrong' }));
      expect((await errorOf(openKeyRing({ providers: [refused, env] }))).code).toBe('KEY_PROVIDER_ERROR');
      expect((await openKeyRing({ providers: [refused, env], onError: 'next' })).source.provider).toBe('env');
    });

    it('leaves the environment in charge when Vault is not configured', async () => {
      const provider = vaultKeyProvider(vaultConfigFromEnv({ VAULT_ADDR: addr }));
      expect((await openKeyRing({ providers: [provider, env] })).source.provider).toBe('env');
    });
  });

  describe('rotate', () => {
    it('writes a new version holding every old key and k3 as current, with check-and-set', async () => {
      const old = await openKeyRing({ providers: [vaultKeyProvider(config())] });
      const oldText = encryptField(old, { aad: 'e1', plaintext: 'written under k2' });
      const { ring, previous } = await rotateKeys({ providers: [vaultKeyProvider(config())] });
      expect(previous.current).toBe('k2');
      expect(ring.current).toBe('k3');
      expect(ring.source.detail).toBe('secret/sealtrail/prod v2');
      const write = vault.seen.find((s) => s.method === 'POST')!;
      expect(write.url).toBe('/v1/secret/data/sealtrail/prod');
      expect(write.contentType).toBe('application/json');
      expect((write.body as { options: unknown }).options).toEqual({ cas: 1 });
      const stored = vault.kv.get('secret/sealtrail/prod')!;
      expect(stored).toHaveLength(2);
      expect(Object.keys(stored[1]!.data).sort()).toEqual(['current', 'k1', 'k2', 'k3']);
      expect(stored[1]!.data.current).toBe('k3');
      const reread = await openKeyRing({ providers: [vaultKeyProvider(config())] });
      expect(decryptField(reread, oldText, 'e1')).toBe('written under k2');
    });

    it('writes nothing that could not be opened again: a key already in the ring', async () => {
      const before = vault.kv.get('secret/sealtrail/prod')!.length;
      const err = await errorOf(
        rotateKeys({ providers: [vaultKeyProvider(config())], next: { key: Uint8Array.from(K1) } }),
      );
      expect(err.code).toBe('KEY_INVALID');
      expect(vault.kv.get('secret/sealtrail/prod')!).toHaveLength(before);
      await openKeyRing({ providers: [vaultKeyProvider(config())] });
    });

    it('fails with KEY_PROVIDER_ERROR when another rotation wrote first (check-and-set)', async () => {
      vault.beforeWrite = () => {
        vault.beforeWrite = undefined;
        vault.kv.get('secret/sealtrail/prod')!.push({ data: { k1: K1.toString('base64') }, created: '' });
      };
      const err = await errorOf(rotateKeys({ providers: [vaultKeyProvider(config())] }));
      expect(err.code).toBe('KEY_PROVIDER_ERROR');
      expect(err.message).toMatch(/refused \(400: check-and-set parameter did not match/);
    });
  });
});

describe('a Vault that answers JSON that is not an object', () => {
  afterEach(() => {
    vault.rawAnswer = undefined;
  });
  for (const answer of ['null', '[]', '7']) {
    it(`fails with KEY_INVALID for ${answer}, on KV and Transit`, async () => {
      vault.rawAnswer = answer;
      expect((await errorOf(openKeyRing({ providers: [vaultKeyProvider(config())] }))).code).toBe(
        'KEY_INVALID',
      );
      const wrapper = vaultTransitWrapper(config({ transitKey: 'sealtrail-subjects' }));
      expect((await errorOf(wrapper.wrap(new Uint8Array(32)))).code).toBe('KEY_INVALID');
    });
  }
});

describe('vaultTransitWrapper', () => {
  const transit = () => vaultTransitWrapper(config({ transitKey: 'sealtrail-subjects' }));

  it('wraps with POST /v1/transit/encrypt/<key> and unwraps with /decrypt/<key>', async () => {
    const w = transit();
    const key = randomBytes(32);
    const wrapped = await w.wrap(key);
    expect(wrapped).toMatch(/^vault:v1:[A-Za-z0-9+/]+=*$/);
    expect((await w.unwrap(wrapped)).equals(key)).toBe(true);
    const [enc, dec] = vault.seen;
    expect(enc).toMatchObject({
      method: 'POST',
      url: '/v1/transit/encrypt/sealtrail-subjects',
      token: TOKEN,
    });
    expect((enc!.body as { plaintext: string }).plaintext).toBe(key.toString('base64'));
    expect(dec).toMatchObject({
      url: '/v1/transit/decrypt/sealtrail-subjects',
      body: { ciphertext: wrapped },
    });
  });

  it('fails with DECRYPT_FAILED for a changed ciphertext', async () => {
    const w = transit();
    const wrapped = await w.wrap(randomBytes(32));
    const changed = `${wrapped.slice(0, 12)}${wrapped[12] === 'A' ? 'B' : 'A'}${wrapped.slice(13)}`;
    const err = await errorOf(w.unwrap(changed));
    expect(err.code).toBe('DECRYPT_FAILED');
  });

  it('keeps subject keys wrapped by Transit: a reopened store unwraps them through Vault', async () => {
    const master = await openKeyRing({ providers: [vaultKeyProvider(config())], context: 'example.test/t' });
    const dir = path.join(root, 'subjects-transit');
    const store = await SubjectKeyStore.open(dir, master, { wrapper: transit() });
    const alice = await store.subjectKey('alice@example.com');
    const text = encryptField(alice, { aad: 'e1', plaintext: 'about alice' });
    const record = JSON.parse(
      fs.readFileSync(path.join(dir, `${store.subjectName('alice@example.com')}.key`), 'utf8'),
    );
    expect(record).toMatchObject({ wrap: 'vault-transit', transitKey: 'transit/sealtrail-subjects' });
    expect(record.wrapped).toMatch(/^vault:v1:/);

    vault.seen.length = 0;
    const again = await SubjectKeyStore.open(dir, master, { wrapper: transit() });
    expect(decryptField(await again.subjectKey('alice@example.com', { mode: 'read' }), text, 'e1')).toBe(
      'about alice',
    );
    expect(vault.seen.filter((s) => s.url.startsWith('/v1/transit/decrypt/'))).toHaveLength(2);

    const without = await errorOf(SubjectKeyStore.open(dir, master));
    expect(without.code).toBe('KEY_NOT_FOUND');
    expect(without.message).toMatch(/Vault Transit key transit\/sealtrail-subjects/);

    expect(await again.destroySubjectKey('alice@example.com')).toBe(alice.current);
    const gone = await errorOf(again.subjectKey('alice@example.com', { mode: 'read' }));
    expect(gone.code).toBe('KEY_DESTROYED');
  });
});
