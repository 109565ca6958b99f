import { describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { addPeriod, keepUntil, objectLockRetention, parseRetentionPolicy, ruleFor } from './policy.js';

function codeAndField(fn: () => unknown): [string, unknown] {
  try {
    fn();
  } catch (err) {
    if (err instanceof AuditError) return [err.code, err.detail.field];
  }
  return ['none', undefined];
}

describe('parseRetentionPolicy', () => {
  it('accepts categories, types, content days, archive and Object Lock mode', () => {
    const p = parseRetentionPolicy({
      format: 'sealtrail-retention/1',
      default: { keep: '1y' },
      categories: { security: { keep: '7y' }, ai: { keep: '1y', contentDays: 90 } },
      types: { 'model.completion': { contentDays: 30 } },
      archiveAfter: '30d',
      objectLock: { mode: 'GOVERNANCE' },
    });
    expect(ruleFor(p, 'model.completion', 'ai')).toEqual({ keep: '1y', contentDays: 30 });
    expect(ruleFor(p, 'auth.failure', 'security')).toEqual({ keep: '7y' });
    expect(ruleFor(p, 'x.mine', 'custom')).toEqual({ keep: '1y' });
  });

  for (const [doc, field] of [
    [{ categories: { ai: { keep: '90 days' } } }, 'categories.ai.keep'],
    [{ categories: { ai: { contentDays: -1 } } }, 'categories.ai.contentDays'],
    [{ categories: { ai: { contentDays: 1.5 } } }, 'categories.ai.contentDays'],
    [{ categories: { robots: { keep: '1y' } } }, 'categories.robots'],
    [{ categories: { ai: { keep: '1y', delete: true } } }, 'categories.ai.delete'],
    [{ types: { 'Not A Type': { keep: '1y' } } }, 'types.Not A Type'],
    [{ types: { 'auth.failur': { keep: '7y' } } }, 'types.auth.failur'],
    [{ archiveAfter: 'forever' }, 'archiveAfter'],
    [{ objectLock: { mode: 'STRICT' } }, 'objectLock.mode'],
    [{ retain: '1y' }, 'retain'],
    [[], '(root)'],
  ] as const) {
    it(`rejects ${JSON.stringify(doc)} naming ${field}`, () => {
      expect(codeAndField(() => parseRetentionPolicy(doc))).toEqual(['CONFIG_INVALID', field]);
    });
  }
});

describe('addPeriod', () => {
  const t = Date.parse('2024-02-29T12:00:00.000Z');
  it('adds days and weeks exactly, months and years on the calendar (UTC)', () => {
    expect(addPeriod(t, '90d')).toBe(t + 90 * 86_400_000);
    expect(addPeriod(t, '2w')).toBe(t + 14 * 86_400_000);
    expect(new Date(addPeriod(t, '1m')).toISOString()).toBe('2024-03-29T12:00:00.000Z');
    expect(new Date(addPeriod(t, '7y')).toISOString()).toBe('2031-03-01T12:00:00.000Z');
    expect(addPeriod(t, 'forever')).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('keepUntil', () => {
  it('keeps an entry forever when no rule names a keep period', () => {
    expect(keepUntil({}, 'auth.failure', 'authentication', 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('objectLockRetention', () => {
  const policy = parseRetentionPolicy({
    default: { keep: '1y' },
    categories: { security: { keep: '7y' }, ai: { keep: '90d' } },
  });
  const maxTs = '2025-01-01T00:00:00.000Z';

  it('retains a segment until its longest-kept category expires', () => {
    expect(objectLockRetention(policy, { maxTs, categories: ['ai'] })).toEqual({
      mode: 'COMPLIANCE',
      retainUntil: new Date('2025-04-01T00:00:00.000Z'),
      legalHold: false,
    });
    expect(objectLockRetention(policy, { maxTs, categories: ['ai', 'security'] }).retainUntil).toEqual(
      new Date('2032-01-01T00:00:00.000Z'),
    );
  });

  it('without the categories, takes the longest period of the policy', () => {
    expect(objectLockRetention(policy, { maxTs }).retainUntil).toEqual(new Date('2032-01-01T00:00:00.000Z'));
  });

  it('asks for a legal hold when an entry is kept forever or a hold covers it', () => {
    const forever = objectLockRetention({}, { maxTs, categories: ['ai'] });
    expect(forever).toEqual({ mode: 'COMPLIANCE', retainUntil: undefined, legalHold: true });
    expect(objectLockRetention(policy, { maxTs, categories: ['ai'] }, true).legalHold).toBe(true);
  });
});
