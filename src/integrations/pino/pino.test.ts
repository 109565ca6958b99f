/**
 * The pino transport run by real pino in its worker thread (the built module, as an application
 * loads it), sealing records by level and by marker field into a trail that verifies.
 */
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeLine, verifyDir } from '../../read/index.js';
import { DirSource } from '../../store/index.js';
import { trailDirs } from '../../test-support/fixtures.js';
import { compileSelector, levelsOf, toEvent } from './index.js';

const dirs = trailDirs();
afterAll(() => dirs.cleanup());

const target = fileURLToPath(new URL('../../../dist/integrations/pino/index.js', import.meta.url));

describe('sealtrail/pino', () => {
  it('seals the records at or above minLevel and those with the marker field, through a real pino transport', async () => {
    const dir = dirs.root();
    const transport = pino.transport({ target, options: { dir, minLevel: 'warn', field: 'audit' } });
    const logger = pino({ base: { pid: 4242, hostname: 'app-1' } }, transport);
    logger.info('routine, not sealed');
    logger.info({ audit: true, userId: 'u-1', role: 'admin' }, 'role granted');
    logger.warn({ card: '4111 1111 1111 1111' }, 'payment retried');
    logger.error({ auditType: 'x.payment.failed' }, 'payment failed');
    logger.debug({ audit: false }, 'not sealed either');
    await new Promise<void>((resolve) => {
      transport.on('close', () => resolve());
      transport.end();
    });
    const entries = [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
    expect(
      entries.map(({ type, severity, actor, content, meta }) => ({ type, severity, actor, content, meta })),
    ).toEqual([
      {
        type: 'x.log',
        severity: 'info',
        actor: { id: 'u-1' },
        content: { message: 'role granted', fields: { role: 'admin' } },
        meta: { level: 30, pid: 4242, hostname: 'app-1' },
      },
      {
        type: 'x.log',
        severity: 'warning',
        actor: undefined,
        content: { message: 'payment retried', fields: { card: '[CARD]' } },
        meta: { level: 40, pid: 4242, hostname: 'app-1' },
      },
      {
        type: 'x.payment.failed',
        severity: 'warning',
        actor: undefined,
        content: { message: 'payment failed' },
        meta: { level: 50, pid: 4242, hostname: 'app-1' },
      },
    ]);
    expect(entries.every((e) => typeof e.ts === 'string')).toBe(true);
    expect((await verifyDir(dir)).ok).toBe(true);
  });

  it('keeps a record the event model refuses whole, and reads level labels, without stopping the transport', async () => {
    const dir = dirs.root();
    const transport = pino.transport({ target, options: { dir, minLevel: 'warn' } });
    const logger = pino(
      {
        base: null,
        timestamp: () => ',"time":1e20', // past year 9999
        formatters: { level: (label) => ({ level: label }) },
      },
      transport,
    );
    logger.info('below minLevel');
    logger.warn({ card: '4111 1111 1111 1111' }, 'far future');
    logger.error('still recorded after it');
    await new Promise<void>((resolve) => {
      transport.on('close', () => resolve());
      transport.end();
    });
    const entries = [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
    expect(entries.map(({ severity, content, meta }) => ({ severity, content, meta }))).toEqual([
      {
        severity: 'warning',
        content: { raw: '{"level":"warn","time":1e20,"card":"[CARD]","msg":"far future"}' },
        meta: { invalidField: 'ts' },
      },
      {
        severity: 'warning',
        content: { raw: '{"level":"error","time":1e20,"msg":"still recorded after it"}' },
        meta: { invalidField: 'ts' },
      },
    ]);
    expect((await verifyDir(dir)).ok).toBe(true);
  });

  it("understands the logger's customLevels, as labels and in minLevel, through a real pino transport", async () => {
    const dir = dirs.root();
    const customLevels = { audit: 45, notice: 35 };
    const transport = pino.transport({ target, options: { dir, minLevel: 'audit', customLevels } });
    const logger = pino(
      { base: null, customLevels, formatters: { level: (label) => ({ level: label }) } },
      transport,
    );
    logger.notice('below minLevel');
    logger.audit({ userId: 'u-7' }, 'export approved');
    logger.fatal('down');
    await new Promise<void>((resolve) => {
      transport.on('close', () => resolve());
      transport.end();
    });
    const entries = [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
    expect(entries.map(({ severity, meta, content }) => ({ severity, meta, content }))).toEqual([
      { severity: 'warning', meta: { level: 45 }, content: { message: 'export approved' } },
      { severity: 'critical', meta: { level: 60 }, content: { message: 'down' } },
    ]);
  });

  it('refuses customLevels that are not names to numbers, naming the level', () => {
    expect(() => levelsOf([])).toThrow(/^customLevels: /);
    expect(() => levelsOf({ audit: '45' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', detail: { field: 'customLevels.audit' } }),
    );
    expect(() => compileSelector({ dir: '/x', minLevel: 'audit' }, levelsOf({ notice: 35 }))).toThrow(
      /^minLevel/,
    );
  });

  it('refuses options that seal nothing or name no directory', () => {
    expect(() => compileSelector({ dir: '/x' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => compileSelector({ dir: '', minLevel: 'warn' })).toThrow(/^dir/);
    expect(() => compileSelector({ dir: '/x', minLevel: 'loud' })).toThrow(/^minLevel/);
  });

  it("reads pino's three time formats, and keeps a time it cannot read as meta.logTime", () => {
    const at = Date.parse('2026-12-07T01:58:42.000Z');
    expect(toEvent({ level: 30, time: at, msg: 'm' }).ts).toBe(at); // epochTime, the default
    expect(toEvent({ level: 30, time: at / 1000, msg: 'm' }).ts).toBe(at); // unixTime
    expect(toEvent({ level: 30, time: '2026-12-07T01:58:42.000Z', msg: 'm' }).ts).toBe(
      '2026-12-07T01:58:42.000Z',
    );
    const odd = toEvent({ level: 30, time: 'yesterday', msg: 'm' });
    expect(odd.ts).toBeUndefined();
    expect(odd.meta).toEqual({ level: 30, logTime: 'yesterday' });
  });

  it('maps a fatal record to critical and keeps a bad auditType out of the type, among the fields', () => {
    expect(toEvent({ level: 60, time: 0, msg: 'down', auditType: 'auth.failure' })).toEqual({
      type: 'x.log',
      severity: 'critical',
      ts: 0,
      meta: { level: 60 },
      content: { message: 'down', fields: { auditType: 'auth.failure' } },
    });
  });

  it('takes an integer userId as the actor, and keeps what it cannot take among the fields', () => {
    expect(toEvent({ level: 30, msg: 'role granted', userId: 42 }).actor).toEqual({ id: '42' });
    expect(
      toEvent({ level: 'audit', msg: 'm', userId: { sub: 'u-1' }, pid: 'worker-3', hostname: 7 }),
    ).toEqual({
      type: 'x.log',
      severity: 'info',
      meta: { level: null },
      content: {
        message: 'm',
        fields: { userId: { sub: 'u-1' }, level: 'audit', pid: 'worker-3', hostname: 7 },
      },
    });
  });
});
