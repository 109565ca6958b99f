import { describe, expect, it } from 'vitest';
import { DEFAULT_ARCHIVE_LOCK, lockHeaders, parseLockMode, retainUntil } from './object-lock.js';
import { formatS3Url, parseS3Url, resolveS3Connect } from './s3-location.js';

describe('parseS3Url', () => {
  it('reads the bucket and a prefix ending in a slash', () => {
    expect(parseS3Url('s3://audit-archive/prod/assistant')).toEqual({
      bucket: 'audit-archive',
      prefix: 'prod/assistant/',
    });
    expect(parseS3Url('s3://audit-archive/prod/')).toEqual({ bucket: 'audit-archive', prefix: 'prod/' });
    expect(parseS3Url('s3://audit-archive')).toEqual({ bucket: 'audit-archive', prefix: '' });
    expect(formatS3Url(parseS3Url('s3://b12/x'))).toBe('s3://b12/x/');
  });

  for (const bad of [
    'https://bucket/x',
    's3://',
    's3://Bucket/x',
    's3://a/x',
    's3://bucket/x//y',
    's3://bucket/../y',
  ])
    it(`fails with USAGE naming the field for ${JSON.stringify(bad)}`, () => {
      expect(() => parseS3Url(bad, 'from-s3')).toThrow(
        expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(/^from-s3: /) }),
      );
    });
  it('fails with USAGE for credentials in the URL, without echoing them', () => {
    let err: unknown;
    try {
      parseS3Url('s3://AKIAEXAMPLE:wJalrXUtnFEMI-secret@audit-archive/trail', 'archive push');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'USAGE', detail: { field: 'archive push' } });
    expect((err as Error).message).toMatch(/^archive push: credentials do not belong in the s3:\/\/ URL/);
    expect((err as Error).message).not.toMatch(/AKIAEXAMPLE|secret/);
  });
});

describe('resolveS3Connect', () => {
  it('takes the endpoint from the environment and then uses path-style addressing', () => {
    expect(resolveS3Connect({}, { SEALTRAIL_S3_ENDPOINT: 'http://127.0.0.1:9000' })).toEqual({
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
    });
    expect(resolveS3Connect({}, {})).toEqual({ forcePathStyle: false });
    expect(
      resolveS3Connect({}, { SEALTRAIL_S3_ENDPOINT: 'http://x:1', SEALTRAIL_S3_FORCE_PATH_STYLE: '0' })
        .forcePathStyle,
    ).toBe(false);
  });

  it('refuses an endpoint with credentials in it, without repeating them', () => {
    let message = '';
    try {
      resolveS3Connect({ endpoint: 'http://AKIDEXAMPLE:hunter2@127.0.0.1:9000' });
    } catch (err) {
      message = (err as Error).message;
      expect((err as { code?: string }).code).toBe('CONFIG_INVALID');
    }
    expect(message).toContain('s3-endpoint');
    expect(message).not.toContain('hunter2');
  });
});

describe('Object Lock', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');

  it('retains for the given days after the newest event', () => {
    expect(retainUntil('2026-05-20T10:00:00.000Z', 30, now).toISOString()).toBe('2026-06-19T10:00:00.000Z');
  });

  it('retains at least one day from now, since S3 refuses a date in the past', () => {
    expect(retainUntil('2020-01-01T00:00:00.000Z', 30, now).toISOString()).toBe('2026-06-02T00:00:00.000Z');
  });

  it('defaults to GOVERNANCE for 365 days without legal hold, and sends nothing for mode none', () => {
    expect(DEFAULT_ARCHIVE_LOCK).toEqual({ mode: 'GOVERNANCE', retainDays: 365, legalHold: false });
    expect(
      lockHeaders({ ...DEFAULT_ARCHIVE_LOCK, mode: 'none' }, '2026-05-20T10:00:00.000Z', now),
    ).toBeUndefined();
    expect(lockHeaders(DEFAULT_ARCHIVE_LOCK, '2026-05-20T10:00:00.000Z', now)?.mode).toBe('GOVERNANCE');
  });

  it('parses modes in any case and refuses others with USAGE', () => {
    expect(parseLockMode('compliance')).toBe('COMPLIANCE');
    expect(parseLockMode('None')).toBe('none');
    expect(() => parseLockMode('legal')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
