import { describe, expect, it } from 'vitest';
import { fakeBody, only } from '../../test-support/redaction.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function pem(label: string, lines = 4, eol = '\n'): string {
  const body = Array.from({ length: lines }, (_, i) => fakeBody(64, i + 1, B64)).join(eol);
  return `-----BEGIN ${label}-----${eol}${body}${eol}-----END ${label}-----`;
}

describe('pem private key detector', () => {
  it.each([
    'PRIVATE KEY',
    'RSA PRIVATE KEY',
    'EC PRIVATE KEY',
    'OPENSSH PRIVATE KEY',
    'ENCRYPTED PRIVATE KEY',
    'PGP PRIVATE KEY BLOCK',
  ])('replaces a %s block whole', (label) => {
    expect(only('secret:pem', `key:\n${pem(label)}\nend`)).toBe('key:\n[SECRET:pem]\nend');
  });

  it('replaces a block logged with escaped newlines', () => {
    expect(only('secret:pem', `"key":"${pem('PRIVATE KEY', 3, '\\n')}"`)).toBe('"key":"[SECRET:pem]"');
  });

  it('replaces a block cut off before its END line through its body', () => {
    const cut = pem('RSA PRIVATE KEY').slice(0, 120);
    expect(only('secret:pem', `${cut}.`)).toBe('[SECRET:pem].');
  });

  it('keeps text after the block', () => {
    expect(only('secret:pem', `${pem('PRIVATE KEY')} and then ${pem('EC PRIVATE KEY')}!`)).toBe(
      '[SECRET:pem] and then [SECRET:pem]!',
    );
  });

  it.each([pem('PUBLIC KEY'), pem('CERTIFICATE'), '-----BEGIN PRIVATE KEY', '----- BEGIN PRIVATE KEY -----'])(
    'leaves %j alone',
    (text) => {
      expect(only('secret:pem', text)).toBe(text);
    },
  );

  it('stays linear on 100 KB of BEGIN lines, with and without an END far away', () => {
    const begins = '-----BEGIN PRIVATE KEY-----.'.repeat(3600);
    expect(only('secret:pem', begins)).toBe('[SECRET:pem].'.repeat(3600));
    const withEnd = `${'-----BEGIN PRIVATE KEY-----'.repeat(3600)}-----END CERTIFICATE-----`;
    expect(only('secret:pem', withEnd)).toContain('[SECRET:pem]');
  });
});
