import { describe, expect, it } from 'vitest';
import { only } from '../../test-support/redaction.js';

describe('url credentials detector', () => {
  it.each([
    ['postgres://admin:hunter2@db.example.com:5432/app', 'postgres://[SECRET:url]@db.example.com:5432/app'],
    ['redis://:s3cret@cache.internal:6379', 'redis://[SECRET:url]@cache.internal:6379'],
    ['mongodb+srv://app:pw@cluster0.example.net/db', 'mongodb+srv://[SECRET:url]@cluster0.example.net/db'],
    ['see https://bob:p@ss@example.com/x', 'see https://[SECRET:url]@example.com/x'],
    ['"amqp://guest:guest@localhost/"', '"amqp://[SECRET:url]@localhost/"'],
  ])('replaces the user-info of %j', (text, want) => {
    expect(only('secret:url', text)).toBe(want);
  });

  it.each([
    'ssh://git@github.com/org/repo.git',
    'https://example.com/path@v2',
    'https://user:@example.com',
    'alice@example.com',
    'https://example.com:8443/a@b',
  ])('leaves %j alone', (text) => {
    expect(only('secret:url', text)).toBe(text);
  });
});
