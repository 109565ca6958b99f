/** Which payloads of a subject destroying its data key reaches (crypto-shredding on PostgreSQL). */
import { describe, expect, it } from 'vitest';
import { KeyRing, sealField } from '../keys/index.js';
import { planCryptoShred } from './crypto-shred.js';

const key = Buffer.alloc(32, 5);
const under = (id: string) => sealField(id, key, 'origin\nentry\nprompt', 'words');

describe('planCryptoShred', () => {
  it('counts the payloads under a subject key, per entry', () => {
    const plan = planCryptoShred([
      {
        content: { prompt: under('s-0123456789abcdef'), response: under('s-0123456789abcdef') },
        contentModes: { prompt: 'encrypt', response: 'encrypt' },
      },
      { content: { prompt: under('s-0123456789abcdef') }, contentModes: { prompt: 'encrypt' } },
      { contentModes: {} },
    ]);
    expect(plan).toEqual({ entries: 2, fields: 3, plain: 0, masterKey: 0 });
  });

  describe('when a payload is in clear or under the master key', () => {
    it('counts what the destruction would leave readable', () => {
      const plan = planCryptoShred([
        { content: { prompt: under('k1') }, contentModes: { prompt: 'encrypt' } },
        {
          content: { prompt: 'in clear', note: under('s-0123456789abcdef') },
          contentModes: { note: 'encrypt' },
        },
      ]);
      expect(plan).toEqual({ entries: 1, fields: 1, plain: 1, masterKey: 1 });
    });
  });

  describe('with the generation being destroyed', () => {
    it('counts only the payloads under it, and still what would stay readable', () => {
      const entries = [
        { content: { prompt: under('s-000000000000000a') }, contentModes: { prompt: 'encrypt' } },
        {
          content: { prompt: under('s-000000000000000b'), response: under('s-000000000000000b') },
          contentModes: { prompt: 'encrypt', response: 'encrypt' },
        },
        { content: { prompt: 'in clear' }, contentModes: {} },
      ];
      expect(planCryptoShred(entries, 's-000000000000000b')).toEqual({
        entries: 1,
        fields: 2,
        plain: 1,
        masterKey: 0,
      });
      expect(planCryptoShred(entries)).toEqual({ entries: 2, fields: 3, plain: 1, masterKey: 0 });
    });
  });

  it('leaves keyed hashes out of both counts', () => {
    const ring = KeyRing.fromKeys([{ id: 'k1', key }]);
    expect(ring.current).toBe('k1');
    expect(
      planCryptoShred([{ content: { prompt: 'hm1:k1:abc' }, contentModes: { prompt: 'hash' } }]),
    ).toEqual({
      entries: 0,
      fields: 0,
      plain: 0,
      masterKey: 0,
    });
  });
});
