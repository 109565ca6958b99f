import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMPTY_TREE_ROOT } from './rfc6962.js';
import {
  deriveSealKey,
  evolveSealKey,
  newSealSeed,
  type SealContext,
  SealKeyChain,
  SealKeyFile,
  type SealRecord,
  verifySeals,
} from './seal.js';

const ORIGIN = 'example.test/seals';
const D = 60_000;
const T0 = 1_700_000_000_000;
const roots = new Map<number, Buffer>([
  [0, EMPTY_TREE_ROOT],
  [5, Buffer.alloc(32, 5)],
  [9, Buffer.alloc(32, 9)],
]);

/** Seals epochs with the given sizes, as a writer does. */
function sealEpochs(seed: Buffer, sizes: number[]): SealRecord[] {
  const chain = SealKeyChain.fromSeed(seed, ORIGIN);
  return sizes.map((size, e) => {
    const rec = chain.seal({
      epoch: e,
      start: T0 + e * D,
      end: T0 + (e + 1) * D,
      size,
      root: roots.get(size)!.toString('base64'),
    });
    chain.evolve();
    return rec;
  });
}

function ctx(over: Partial<SealContext> = {}): SealContext {
  return {
    t0: T0,
    epochMs: D,
    now: T0 + 3 * D + 1,
    rootAt: (n) => roots.get(n),
    treeSize: 9,
    closed: true,
    ...over,
  };
}

describe('verifySeals', () => {
  const seed = randomBytes(32);
  const seedText = seed.toString('base64url');
  const good = sealEpochs(seed, [0, 5, 9]);

  it('accepts every epoch sealed in order, the empty first one included', () => {
    expect(verifySeals(good, seedText, ORIGIN, ctx())).toEqual({
      sealedEpochs: 3,
      lastSealedSize: 9,
      writerKeyChecked: false,
    });
  });

  describe('when a tag is forged with a key of a later epoch', () => {
    it('fails with SEAL_INVALID', () => {
      // The host compromised in epoch 2 holds k_2 only; it re-seals epoch 1 with it.
      const k2 = evolveSealKey(evolveSealKey(deriveSealKey(seed, ORIGIN)));
      const forged = [...good];
      forged[1] = new SealKeyChain(ORIGIN, 1, k2).seal({
        ...good[1]!,
        size: 9,
        root: roots.get(9)!.toString('base64'),
      });
      expect(() => verifySeals(forged, seedText, ORIGIN, ctx())).toThrow(
        expect.objectContaining({ code: 'SEAL_INVALID' }),
      );
    });
  });

  describe('when a middle seal is removed', () => {
    it('fails with SEAL_MISSING', () => {
      expect(() => verifySeals([good[0]!, good[2]!], seedText, ORIGIN, ctx())).toThrow(
        expect.objectContaining({ code: 'SEAL_MISSING' }),
      );
    });
  });

  describe('when the last seal of a closed trail is removed', () => {
    it('fails with SEAL_MISSING', () => {
      expect(() => verifySeals(good.slice(0, 2), seedText, ORIGIN, ctx())).toThrow(
        expect.objectContaining({ code: 'SEAL_MISSING' }),
      );
    });
  });

  describe('when a running writer has not sealed an epoch that ended long ago', () => {
    it('fails with SEAL_MISSING', () => {
      const c = ctx({ closed: false, treeSize: 9, now: T0 + 10 * D });
      expect(() => verifySeals(good, seedText, ORIGIN, c)).toThrow(
        expect.objectContaining({ code: 'SEAL_MISSING' }),
      );
    });
  });

  describe('when the sealed root is not the log root at that size', () => {
    it('fails with ROOT_MISMATCH', () => {
      const c = ctx({ rootAt: (n) => (n === 5 ? Buffer.alloc(32, 6) : roots.get(n)) });
      expect(() => verifySeals(good, seedText, ORIGIN, c)).toThrow(
        expect.objectContaining({ code: 'ROOT_MISMATCH' }),
      );
    });
  });

  describe('when the seed is wrong', () => {
    it('fails with SEAL_INVALID', () => {
      expect(() => verifySeals(good, randomBytes(32).toString('base64url'), ORIGIN, ctx())).toThrow(
        expect.objectContaining({ code: 'SEAL_INVALID' }),
      );
    });
  });

  it("still accepts a seed whose text starts with '-' (seeds handed out before they were avoided)", () => {
    const dash = randomBytes(32);
    dash[0] = (62 << 2) | (dash[0]! & 3);
    const text = dash.toString('base64url');
    expect(text.startsWith('-')).toBe(true);
    expect(verifySeals(sealEpochs(dash, [0, 5, 9]), text, ORIGIN, ctx())).toEqual({
      sealedEpochs: 3,
      lastSealedSize: 9,
      writerKeyChecked: false,
    });
  });

  it('rejects a malformed seed with KEY_INVALID', () => {
    expect(() => verifySeals(good, 'not-a-seed', ORIGIN, ctx())).toThrow(
      expect.objectContaining({ code: 'KEY_INVALID' }),
    );
  });
});

describe('SealKeyFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sealtrail-seal-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a 0600 file and overwrites the key in place when it evolves', () => {
    const file = path.join(dir, 'seal.key');
    const seed = randomBytes(32);
    SealKeyFile.create(file, seed, ORIGIN);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const before = fs.readFileSync(file, 'utf8');
    const key = SealKeyFile.open(file);
    expect(key.epoch).toBe(0);
    key.evolve();
    const after = fs.readFileSync(file, 'utf8');
    expect(after.length).toBe(before.length);
    expect(after).not.toContain(deriveSealKey(seed, ORIGIN).toString('base64'));
    expect(after).toContain(evolveSealKey(deriveSealKey(seed, ORIGIN)).toString('base64'));
    expect(SealKeyFile.open(file).epoch).toBe(1);
  });

  it('reports a damaged file with KEY_INVALID and a missing one with KEY_NOT_FOUND', () => {
    const file = path.join(dir, 'bad.key');
    fs.writeFileSync(file, 'garbage\n');
    expect(() => SealKeyFile.open(file)).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
    expect(() => SealKeyFile.open(path.join(dir, 'none'))).toThrow(
      expect.objectContaining({ code: 'KEY_NOT_FOUND' }),
    );
  });
});

describe('newSealSeed', () => {
  it("gives 32 random bytes whose base64url text never starts with '-'", () => {
    const texts = Array.from({ length: 3000 }, () => newSealSeed().toString('base64url'));
    expect(texts.every((t) => t.length === 43 && !t.startsWith('-'))).toBe(true);
    expect(new Set(texts).size).toBe(3000);
  });
});
