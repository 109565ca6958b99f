import { describe, expect, it } from 'vitest';
import { fakeBody, only } from '../../test-support/redaction.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const HEX = '0123456789abcdef';

describe('bearer token detector', () => {
  const token = fakeBody(32, 1);
  it.each([
    [`Authorization: Bearer ${token}`, 'Authorization: Bearer [SECRET:bearer]'],
    [`curl -H "Authorization: bearer ${token}"`, 'curl -H "Authorization: bearer [SECRET:bearer]"'],
    [`BEARER ${token}.`, 'BEARER [SECRET:bearer].'],
  ])('replaces the token in %j', (text, want) => {
    expect(only('secret:bearer', text)).toBe(want);
  });

  it.each(['the Bearer of bad news', 'Bearer token', 'Bearer 12345', 'Bearer abcdefghijklmnopqrstuvwxyz'])(
    'leaves %j alone',
    (text) => {
      expect(only('secret:bearer', text)).toBe(text);
    },
  );
});

describe('aws secret key detector', () => {
  const key = fakeBody(40, 2, B64);
  it.each([
    [`aws_secret_access_key = ${key}`, 'aws_secret_access_key = [SECRET:aws]'],
    [`My AWS secret access key is ${key}.`, 'My AWS secret access key is [SECRET:aws].'],
    [`AWS creds: AKIAFAKE000EXAMPLE77 / ${key}`, 'AWS creds: [SECRET:aws] / [SECRET:aws]'],
  ])('replaces the key in %j', (text, want) => {
    expect(only('secret:aws', text)).toBe(want);
  });

  it('leaves a 40-character string alone when nothing says AWS', () => {
    const text = `blob ${key} end`;
    expect(only('secret:aws', text)).toBe(text);
  });
});

describe('keyword-adjacent high-entropy detector', () => {
  const random = fakeBody(32, 3);
  const hex = fakeBody(40, 4, HEX);
  it.each([
    [`my api key is ${random}`, 'my api key is [SECRET:entropy]'],
    [`secret: ${random}`, 'secret: [SECRET:entropy]'],
    [`The token was ${hex}.`, 'The token was [SECRET:entropy].'],
    [`signing key -> ${random}`, 'signing key -> [SECRET:entropy]'],
    [`password is set to ${random}`, 'password is set to [SECRET:entropy]'],
    [`apiKey ${random}`, 'apiKey [SECRET:entropy]'],
    [`I rotated the secret, new one is ${random}`, 'I rotated the secret, new one is [SECRET:entropy]'],
    [`here's the key: ${random}`, "here's the key: [SECRET:entropy]"],
  ])('replaces the string in %j', (text, want) => {
    expect(only('secret:entropy', text)).toBe(want);
  });

  it.each([
    `commit ${hex}`,
    `primary key ${random}`,
    `cache key: ${random}`,
    `idempotency key ${random}`,
    `the key risks are ${random}`,
    `monkey ${random}`,
    `tokens ${random}`,
    `token refactor: ${random}`,
    'secret: correcthorsebatterystaple',
    'secret: /etc/ssl/private/server.key',
    'the token is abc123',
    `data:image/png;base64,${fakeBody(60, 5, B64)}`,
  ])('leaves %j alone', (text) => {
    expect(only('secret:entropy', text)).toBe(text);
  });

  it('stays linear on 100 KB of one long token', () => {
    const text = `secret: ${'a1'.repeat(50_000)}`;
    expect(only('secret:entropy', text)).toBe(text);
  });
});
