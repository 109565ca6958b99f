/**
 * RFC 6962 hashing against the known answers of transparency-dev/merkle `rfc6962/rfc6962_test.go`
 * and `testonly/constants.go`, plus properties tying the string and byte forms together.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REFERENCE_LEAVES_HEX } from '../test-support/reference-tree.js';
import {
  EMPTY_TREE_ROOT,
  hashChildren,
  hashLeaf,
  RFC6962_LEAF_PREFIX,
  RFC6962_NODE_PREFIX,
} from './rfc6962.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** SHA-256 of the concatenation, the definition the fast paths must match. */
function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

describe('rfc6962', () => {
  describe('known answers of transparency-dev/merkle rfc6962_test.go', () => {
    it('has the empty tree root SHA-256("")', () => {
      expect(hex(EMPTY_TREE_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    });

    it('hashes an empty leaf differently from the empty tree', () => {
      expect(hex(hashLeaf(new Uint8Array(0)))).toBe(
        '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      );
      expect(hex(hashLeaf(''))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    });

    it('hashes the leaf "L123456"', () => {
      const want = '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56';
      expect(hex(hashLeaf('L123456'))).toBe(want);
      expect(hex(hashLeaf(Buffer.from('L123456')))).toBe(want);
    });

    it('hashes the children "N123" and "N456"', () => {
      expect(hex(hashChildren(Buffer.from('N123'), Buffer.from('N456')))).toBe(
        'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
      );
    });
  });

  describe('known answers of transparency-dev/merkle testonly/constants.go', () => {
    const leaves = REFERENCE_LEAVES_HEX;
    const level0 = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
      '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
    ];
    const level1 = [
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    ];

    it('hashes the eight reference leaves', () => {
      expect(leaves.map((l) => hex(hashLeaf(Buffer.from(l, 'hex'))))).toEqual(level0);
    });

    it('hashes the four reference pairs', () => {
      const pairs = [0, 2, 4, 6].map((i) =>
        hex(hashChildren(Buffer.from(level0[i]!, 'hex'), Buffer.from(level0[i + 1]!, 'hex'))),
      );
      expect(pairs).toEqual(level1);
    });
  });

  describe('hashLeaf', () => {
    it('equals SHA-256(0x00 || UTF-8 bytes) for any string', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
          expect(hex(hashLeaf(s))).toBe(
            sha256(new Uint8Array([RFC6962_LEAF_PREFIX]), Buffer.from(s, 'utf8')),
          );
          expect(hashLeaf(s).equals(hashLeaf(Buffer.from(s, 'utf8')))).toBe(true);
        }),
      );
    });

    it('equals SHA-256(0x00 || bytes) for byte arrays of any length, views included', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 40_000, size: 'max' }), fc.nat({ max: 16 }), (bytes, cut) => {
          const view = bytes.subarray(Math.min(cut, bytes.length));
          expect(hex(hashLeaf(view))).toBe(sha256(new Uint8Array([0]), view));
        }),
        { numRuns: 60 },
      );
    });

    it('hashes a lone surrogate as U+FFFD, like Buffer.from', () => {
      expect(hashLeaf('a\ud800b').equals(hashLeaf(Buffer.from('a\ufffdb', 'utf8')))).toBe(true);
    });

    it('is not disturbed by a large leaf between small ones', () => {
      const small = Buffer.from('small leaf');
      const first = hashLeaf(small);
      hashLeaf(new Uint8Array(100_000).fill(7));
      expect(hashLeaf(small).equals(first)).toBe(true);
    });
  });

  describe('hashChildren', () => {
    it('equals SHA-256(0x01 || left || right) for 32-byte and other inputs', () => {
      fc.assert(
        fc.property(
          fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 70 })),
          fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 70 })),
          (left, right) => {
            expect(hex(hashChildren(left, right))).toBe(
              sha256(new Uint8Array([RFC6962_NODE_PREFIX]), left, right),
            );
          },
        ),
      );
    });

    it('returns a fresh buffer each call', () => {
      const a = hashChildren(new Uint8Array(32), new Uint8Array(32));
      const b = hashChildren(new Uint8Array(32).fill(1), new Uint8Array(32));
      expect(a.equals(b)).toBe(false);
      expect(hex(a)).toBe(sha256(new Uint8Array([1]), new Uint8Array(64)));
    });

    it('differs from the leaf hash of the concatenation (second-preimage resistance)', () => {
      const l = hashLeaf('Hello');
      const r = hashLeaf('World');
      expect(hashChildren(l, r).equals(hashLeaf(Buffer.concat([l, r])))).toBe(false);
      expect(hashChildren(l, r).equals(hashChildren(r, l))).toBe(false);
    });
  });
});
