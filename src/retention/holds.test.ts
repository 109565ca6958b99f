import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditError } from '../errors.js';
import { ensureDir, trailLayout } from '../store/index.js';
import { trailDirs } from '../test-support/fixtures.js';
import {
  addHold,
  checkHold,
  checkNewHold,
  holdCovers,
  type LegalHold,
  readHolds,
  removeHold,
} from './holds.js';

const dirs = trailDirs();
afterEach(() => dirs.cleanup());

const createdAt = '2026-01-01T00:00:00.000Z';
const entry = {
  ts: '2025-06-01T00:00:00.000Z',
  type: 'model.completion',
  category: 'ai',
  actor: 'u1',
  subject: 'alice',
};

describe('holdCovers', () => {
  it('covers every entry without a scope, and only matching ones with one', () => {
    expect(holdCovers({ id: 'a', reason: 'r', createdAt }, entry)).toBe(true);
    expect(holdCovers({ id: 'a', reason: 'r', createdAt, scope: { subject: 'alice' } }, entry)).toBe(true);
    expect(holdCovers({ id: 'a', reason: 'r', createdAt, scope: { subject: 'bob' } }, entry)).toBe(false);
    expect(
      holdCovers(
        { id: 'a', reason: 'r', createdAt, scope: { subject: 'alice', category: 'security' } },
        entry,
      ),
    ).toBe(false);
    const window = { from: '2025-05-01T00:00:00Z', to: '2025-06-01T00:00:00Z' };
    expect(holdCovers({ id: 'a', reason: 'r', createdAt, scope: window }, entry)).toBe(false); // `to` is exclusive
    expect(
      holdCovers(
        { id: 'a', reason: 'r', createdAt, scope: { ...window, to: '2025-07-01T00:00:00Z' } },
        entry,
      ),
    ).toBe(true);
  });
});

describe('checkHold', () => {
  for (const [hold, field] of [
    [{ id: '', reason: 'r', createdAt }, 'id'],
    [{ id: 'a b', reason: 'r', createdAt }, 'id'],
    [{ id: 'a', reason: ' ', createdAt }, 'reason'],
    [{ id: 'a', reason: 'r', createdAt, scope: { team: 'x' } }, 'scope.team'],
    [{ id: 'a', reason: 'r', createdAt, scope: { from: 'yesterday' } }, 'scope.from'],
  ] as const) {
    it(`rejects ${JSON.stringify(hold)} naming ${field}`, () => {
      let err: unknown;
      try {
        checkHold(hold as unknown as LegalHold);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AuditError);
      expect((err as AuditError).detail.field).toBe(field);
    });
  }
});

describe('checkNewHold', () => {
  for (const [scope, field] of [
    [{ category: 'securty' }, 'scope.category'],
    [{ type: 'auth.failures' }, 'scope.type'],
    [{ from: '2025-03-01T00:00:00' }, 'scope.from'],
    [{ to: 'March 5, 2025' }, 'scope.to'],
    [{ from: '2025-06-01T00:00:00Z', to: '2025-05-01T00:00:00Z' }, 'scope.to'],
    [{ from: '2025-06-01', to: '2025-06-01T00:00:00Z' }, 'scope.to'],
  ] as const) {
    it(`refuses a hold that would cover nothing: ${JSON.stringify(scope)} names ${field}`, () => {
      let err: unknown;
      try {
        checkNewHold({ id: 'a', reason: 'r', createdAt, scope });
      } catch (e) {
        err = e;
      }
      expect((err as AuditError).code).toBe('CONFIG_INVALID');
      expect((err as AuditError).detail.field).toBe(field);
    });
  }

  it('keeps a window with zones as UTC ISO times, and custom types', () => {
    const placed = checkNewHold({
      id: 'a',
      reason: 'r',
      createdAt,
      scope: { from: '2025-05-01', to: '2025-06-01T02:00:00+02:00', type: 'x.app.login', category: 'custom' },
    });
    expect(placed.scope).toEqual({
      from: '2025-05-01T00:00:00.000Z',
      to: '2025-06-01T00:00:00.000Z',
      type: 'x.app.login',
      category: 'custom',
    });
  });
});

describe('addHold and removeHold', () => {
  it('keep holds.json (0600) in step, refuse a duplicate id, and name a missing one', () => {
    const layout = trailLayout(dirs.fresh());
    ensureDir(layout.dir);
    expect(readHolds(layout)).toEqual([]);
    addHold(layout, { id: 'case-1', reason: 'litigation', createdAt });
    addHold(layout, { id: 'case-2', reason: 'regulator', createdAt, scope: { category: 'security' } });
    expect(fs.statSync(layout.holds).mode & 0o777).toBe(0o600);
    expect(() => addHold(layout, { id: 'case-1', reason: 'again', createdAt })).toThrow(/exists/);
    expect(removeHold(layout, 'case-1').reason).toBe('litigation');
    expect(readHolds(layout).map((h) => h.id)).toEqual(['case-2']);
    let err: unknown;
    try {
      removeHold(layout, 'case-1');
    } catch (e) {
      err = e;
    }
    expect((err as AuditError).code).toBe('NOT_FOUND');
  });

  it('reports a damaged holds.json as CONFIG_INVALID naming the file', () => {
    const layout = trailLayout(dirs.fresh());
    ensureDir(layout.dir);
    fs.writeFileSync(layout.holds, '{"holds": 3}');
    expect(() => readHolds(layout)).toThrow(/holds.json/);
  });
});
