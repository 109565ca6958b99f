import { createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format, inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { isAuditError } from '../errors.js';
import { deriveKeyId, nextKeyId } from './key-id.js';
import { KEY_PURPOSES, KeyRing, purposeKeyBytes } from './key-ring.js';

const K1 = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
const K2 = Buffer.from('f0e0d0c0b0a090807060504030201000ffeeddccbbaa99887766554433221100', 'hex');

/** HKDF-SHA256 written out from RFC 5869 §2.2-2.3 (one block), as an independent reference. */
function hkdfReference(ikm: Buffer, info: string): Buffer {
  const prk = createHmac('sha256', Buffer.alloc(32)).update(ikm).digest();
  return createHmac('sha256', prk)
    .update(info)
    .update(Buffer.from([1]))
    .digest();
}

/** Every spelling of key material a leak could take. */
function spellings(key: Buffer): string[] {
  return [
    key.toString('hex'),
    key.toString('base64'),
    key.toString('base64url').slice(0, 40),
    key.toString('latin1'),
  ];
}

function expectNoMaterial(text: string, ...keys: Buffer[]): void {
  for (const k of keys) for (const s of spellings(k)) expect(text).not.toContain(s);
}

describe('KeyRing', () => {
  const ring = KeyRing.fromKeys(
    [
      { id: 'k1', key: K1, createdAt: 1 },
      { id: 'k2', key: K2, createdAt: 2 },
    ],
    { current: 'k2', context: 'example.test/trail' },
  );

  describe('purposeKey', () => {
    it('is HKDF-SHA256 of the master key with info "sealtrail purpose v1\\n<purpose>\\n<context>"', () => {
      for (const purpose of KEY_PURPOSES) {
        const want = hkdfReference(K1, `sealtrail purpose v1\n${purpose}\nexample.test/trail`);
        expect(ring.purposeKey('k1', purpose).export().equals(want)).toBe(true);
      }
    });

    it('gives each purpose its own key', () => {
      const hex = KEY_PURPOSES.map((p) => ring.purposeKey('k2', p).export().toString('hex'));
      expect(new Set(hex).size).toBe(KEY_PURPOSES.length);
    });

    it('uses the current key when no id is given', () => {
      expect(ring.purposeKey(undefined, 'hash').export().equals(ring.purposeKey('k2', 'hash').export())).toBe(
        true,
      );
    });

    it('derives once: the same object comes back', () => {
      expect(ring.purposeKey('k1', 'encryption')).toBe(ring.purposeKey('k1', 'encryption'));
      expect(purposeKeyBytes(ring, 'k1', 'hash').key).toBe(purposeKeyBytes(ring, 'k1', 'hash').key);
    });

    it('binds the context: another trail with the same master key gets another key', () => {
      const other = KeyRing.fromKeys([{ id: 'k1', key: K1 }], { context: 'other.test/trail' });
      expect(
        other.purposeKey('k1', 'fingerprint').export().equals(ring.purposeKey('k1', 'fingerprint').export()),
      ).toBe(false);
    });

    it('fails with KEY_NOT_FOUND naming the id, and nothing of any key', () => {
      let err: unknown;
      try {
        ring.purposeKey('k9', 'encryption');
      } catch (e) {
        err = e;
      }
      expect(isAuditError(err, 'KEY_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toMatch(/\bk9\b/);
      expectNoMaterial(`${(err as Error).message} ${inspect(err)}`, K1, K2);
    });
  });

  describe('when printed', () => {
    it('shows ids, never material: String, JSON, inspect (also showHidden), format %o', () => {
      const outputs = [
        String(ring),
        JSON.stringify({ ring }),
        inspect(ring, { showHidden: true, depth: 10 }),
        inspect({ nested: { ring } }, { depth: 10 }),
        format('%o %O %j', ring, ring, ring),
      ];
      for (const o of outputs) {
        expect(o).toContain('KeyRing current=k2 keys=k1,k2');
        expectNoMaterial(o, K1, K2);
      }
    });

    it('prints a purpose key without its bytes', () => {
      const key = ring.purposeKey('k1', 'encryption');
      expectNoMaterial(inspect(key, { showHidden: true }), key.export());
    });
  });

  describe('fromKeys', () => {
    it('names a key given without id from its hash: k- and 8 hex digits, stable', () => {
      const r = KeyRing.fromKeys([{ key: K1 }]);
      expect(r.current).toMatch(/^k-[0-9a-f]{8}$/);
      expect(r.current).toBe(deriveKeyId(K1));
      expect(deriveKeyId(K2)).not.toBe(r.current);
    });

    it.each([
      ['a short key', [{ id: 'k1', key: K1.subarray(0, 31) }], 'KEY_INVALID', /got length=31/],
      [
        'a string as key',
        [{ id: 'k1', key: 'x'.repeat(32) as unknown as Uint8Array }],
        'KEY_INVALID',
        /Uint8Array/,
      ],
      [
        'a duplicate id',
        [
          { id: 'k1', key: K1 },
          { id: 'k1', key: K2 },
        ],
        'KEY_INVALID',
        /duplicate key id k1/,
      ],
      [
        'the same key twice',
        [
          { id: 'k1', key: K1 },
          { id: 'k2', key: Buffer.from(K1) },
        ],
        'KEY_INVALID',
        /same key/,
      ],
      ['an id with a colon', [{ id: 'k:1', key: K1 }], 'KEY_INVALID', /key id/],
      ['no key', [], 'KEY_NOT_FOUND', /no master key/],
    ] as const)('rejects %s', (_name, keys, code, message) => {
      expect(() => KeyRing.fromKeys(keys as never)).toThrow(
        expect.objectContaining({ code, message: expect.stringMatching(message) }),
      );
    });

    it('rejects a current id that is not among the keys with KEY_NOT_FOUND', () => {
      expect(() => KeyRing.fromKeys([{ id: 'k1', key: K1 }], { current: 'k2' })).toThrow(
        expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
      );
    });

    it('keeps its own copy of the material', () => {
      const mine = Buffer.from(K1);
      const r = KeyRing.fromKeys([{ id: 'k1', key: mine }]);
      const before = r.purposeKey('k1', 'hash').export();
      mine.fill(0);
      const fresh = KeyRing.fromKeys([{ id: 'k1', key: K1 }]);
      expect(fresh.purposeKey('k1', 'hash').export().equals(before)).toBe(true);
      expect(r.purposeKey('k1', 'seal').export().equals(fresh.purposeKey('k1', 'seal').export())).toBe(true);
    });
  });

  describe('rotate', () => {
    it('adds the new key as current with the next id and keeps the old ones', () => {
      const k3 = randomBytes(32);
      const r = ring.rotate({ key: k3 });
      expect(r.current).toBe('k3');
      expect(r.ids).toEqual(['k1', 'k2', 'k3']);
      expect(r.purposeKey('k1', 'hash').export().equals(ring.purposeKey('k1', 'hash').export())).toBe(true);
      expect(ring.current).toBe('k2');
    });

    it('refuses a key already in the ring', () => {
      expect(() => ring.rotate({ key: Buffer.from(K1) })).toThrow(
        expect.objectContaining({ code: 'KEY_INVALID' }),
      );
    });

    it('numbers after the highest kN', () => {
      expect(nextKeyId(['k1', 'k-0a1b2c3d', 'k10', 'x'])).toBe('k11');
      expect(nextKeyId([])).toBe('k1');
    });
  });

  describe('wipe', () => {
    it('zeroes the ring: later use fails with KEY_NOT_FOUND', () => {
      const r = KeyRing.fromKeys([{ id: 'k1', key: K1 }]);
      const bytes = purposeKeyBytes(r, 'k1', 'encryption').key;
      r.wipe();
      expect(bytes.every((b) => b === 0)).toBe(true);
      expect(() => r.purposeKey('k1', 'encryption')).toThrow(
        expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
      );
    });
  });

  describe('rotate after wipe', () => {
    it('refuses a wiped ring, whose keys are zeros now', () => {
      const r = KeyRing.fromKeys([{ id: 'k1', key: K1 }]);
      r.wipe();
      expect(() => r.rotate({ key: randomBytes(32) })).toThrow(
        expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
      );
    });
  });

  describe('context', () => {
    it('is refused past what HKDF info holds, counted in UTF-8 bytes, and works up to it', () => {
      const longest = 'a'.repeat(991);
      const r = KeyRing.fromKeys([{ id: 'k1', key: K1 }], { context: longest });
      for (const purpose of KEY_PURPOSES) expect(() => r.purposeKey('k1', purpose)).not.toThrow();
      for (const context of ['a'.repeat(992), '\u00e9'.repeat(496)]) {
        expect(() => KeyRing.fromKeys([{ id: 'k1', key: K1 }], { context })).toThrow(
          expect.objectContaining({ code: 'CONFIG_INVALID' }),
        );
      }
    });
  });

  describe('exportForWorker', () => {
    it('survives a structured clone and rebuilds the same purpose keys', () => {
      const copy = KeyRing.fromExport(structuredClone(ring.exportForWorker()));
      expect(copy.current).toBe('k2');
      expect(copy.context).toBe('example.test/trail');
      expect(copy.list()).toEqual(ring.list());
      for (const p of KEY_PURPOSES) {
        expect(copy.purposeKey('k1', p).export().equals(ring.purposeKey('k1', p).export())).toBe(true);
      }
    });

    it('prints as a label in JSON and inspect, though it holds the bytes', () => {
      const data = ring.exportForWorker();
      expect(data.keys[0]!.key).toEqual(new Uint8Array(K1));
      for (const o of [JSON.stringify(data), inspect(data), inspect({ data }, { depth: 5 })]) {
        expect(o).toContain('KeyRingExport current=k2');
        expectNoMaterial(o, K1, K2);
      }
    });

    it('crosses to a real worker thread, which derives the same keys', async () => {
      // The worker loads the built package (npm test builds it first).
      const dist = pathToFileURL(fileURLToPath(new URL('../../dist/keys/index.js', import.meta.url))).href;
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         import(${JSON.stringify(dist)}).then(({ KeyRing }) => {
           parentPort.once('message', (data) => {
             const ring = KeyRing.fromExport(data);
             parentPort.postMessage(ring.purposeKey('k1', 'encryption').export().toString('hex'));
           });
         });`,
        { eval: true },
      );
      const answer = new Promise<string>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      worker.postMessage(ring.exportForWorker());
      expect(await answer).toBe(ring.purposeKey('k1', 'encryption').export().toString('hex'));
      await worker.terminate();
    });

    it('rejects data that is not an export with KEY_INVALID', () => {
      expect(() => KeyRing.fromExport({ format: 'x' } as never)).toThrow(
        expect.objectContaining({ code: 'KEY_INVALID' }),
      );
      const bad = structuredClone(ring.exportForWorker());
      bad.keys[0]!.key = new Uint8Array(16);
      expect(() => KeyRing.fromExport(bad)).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
    });
  });
});
