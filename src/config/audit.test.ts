import diagnosticsChannel from 'node:diagnostics_channel';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { verifyTrail } from '../chain/index.js';
import { DIAGNOSTICS_CHANNEL, type Diagnostic } from '../diagnostics.js';
import { AuditError } from '../errors.js';
import type { AuditEventInput } from '../event/index.js';
import { runWithRequestContext } from '../integrations/context/index.js';
import { type AuditEntry, decodeLine, verifyDir } from '../read/index.js';
import { DirSource } from '../store/index.js';
import { trailDirs } from '../test-support/fixtures.js';
import { AuditTrail, MemoryTrailStore } from '../writer/index.js';
import { Audit } from './audit.js';

const dirs = trailDirs();
afterAll(() => dirs.cleanup());

const TEST_ENV = { NODE_ENV: 'test', SEALTRAIL_QUIET: '1' };
const opened: Audit[] = [];

function newAudit(): Audit {
  const a = new Audit();
  opened.push(a);
  return a;
}

function entries(store: MemoryTrailStore): AuditEntry[] {
  return store.log.lines.map(decodeLine);
}

afterEach(async () => {
  for (const a of opened.splice(0)) await a.disable();
});

describe('Audit', () => {
  describe('enable() in a test environment', () => {
    it('writes to memory and fills id, type, category', async () => {
      const a = newAudit();
      await a.enable({ env: TEST_ENV });
      const id = a.emit({ type: 'x.hello', meta: { n: 1 } });
      await a.flush();
      const [store] = a.memoryStores;
      const [e] = entries(store!);
      expect(e).toMatchObject({ id, type: 'x.hello', category: 'custom', meta: { n: 1 } });
      expect(a.status()).toMatchObject({
        state: 'on',
        environment: 'test',
        destinations: ['memory'],
        content: 'plain',
        redactPii: true,
        failure: 'block',
      });
    });

    it('holds events emitted before the trail is open and writes them in order', async () => {
      const a = newAudit();
      const ready = a.enable({ env: TEST_ENV });
      expect(a.status().state).toBe('opening');
      expect(a.emit({ type: 'x.early', meta: { i: 1 } })).toBe('');
      a.emit({ type: 'x.early', meta: { i: 2 } });
      await ready;
      a.emit({ type: 'x.late', meta: { i: 3 } });
      await a.flush();
      expect(entries(a.memoryStores[0]!).map((e) => [e.type, (e.meta as { i: number }).i])).toEqual([
        ['x.early', 1],
        ['x.early', 2],
        ['x.late', 3],
      ]);
    });

    it('gives a held event the time it was emitted, not the time the trail opened', async () => {
      const a = newAudit();
      const dir = dirs.fresh();
      const ready = a.enable({ env: TEST_ENV, destination: dir, content: 'plain' });
      const event = { type: 'x.early' as const };
      const before = Date.now();
      a.emit(event);
      const emitted = Date.now();
      await ready;
      await a.flush();
      expect(event).toEqual({ type: 'x.early' }); // the caller's object is left alone
      await a.disable();
      const early = [...new DirSource(dir).lines()]
        .map((l) => decodeLine(l.text))
        .find((e) => e.type === 'x.early')!;
      const ts = Date.parse(early.ts);
      expect(ts).toBeGreaterThanOrEqual(before);
      expect(ts).toBeLessThanOrEqual(emitted);
    });

    it('records a held event as it was when emit() returned, whatever the caller changes later', async () => {
      const a = newAudit();
      const ready = a.enable({ env: TEST_ENV });
      const event = {
        type: 'x.held' as string,
        ts: new Date(1_700_000_000_000),
        meta: { n: 1 },
        content: { prompt: 'asked' },
      };
      a.emit(event as AuditEventInput);
      event.type = 'x.other';
      event.ts.setTime(0);
      event.meta.n = 2;
      event.content.prompt = 'changed';
      await ready;
      await a.flush();
      const held = entries(a.memoryStores[0]!).filter((e) => e.type.startsWith('x.'));
      expect(held.map((e) => [e.type, e.ts, e.meta, e.content])).toEqual([
        ['x.held', '2023-11-14T22:13:20.000Z', { n: 1 }, { prompt: 'asked' }],
      ]);
    });

    it('refuses a bad event while the trail opens, and writes the held events around it', async () => {
      const a = newAudit();
      const ready = a.enable({ env: TEST_ENV });
      a.emit({ type: 'x.before' });
      expect(() => a.emit({ type: 'x.bad', usage: { inputTokens: -1 } })).toThrow(
        expect.objectContaining({
          code: 'EVENT_INVALID',
          message: 'usage.inputTokens: expected a non-negative integer',
        }),
      );
      expect(() => a.emit({ type: 'x.date', content: { at: new Date(0) } })).toThrow(
        expect.objectContaining({ code: 'EVENT_INVALID' }),
      );
      a.emit({ type: 'x.after' });
      await ready;
      await a.flush();
      expect(
        entries(a.memoryStores[0]!)
          .map((e) => e.type)
          .filter((t) => t.startsWith('x.')),
      ).toEqual(['x.before', 'x.after']);
    });

    it('refuses a second enable() until disable()', async () => {
      const a = newAudit();
      await a.enable({ env: TEST_ENV });
      expect(() => a.enable({ env: TEST_ENV })).toThrow(expect.objectContaining({ code: 'USAGE' }));
      await a.disable();
      await a.enable({ env: TEST_ENV });
      expect(a.status().state).toBe('on');
    });

    it('records nothing before enable() and says so on the diagnostics channel', () => {
      const a = newAudit();
      const seen: Diagnostic[] = [];
      const listener = (d: unknown) => seen.push(d as Diagnostic);
      diagnosticsChannel.subscribe(DIAGNOSTICS_CHANNEL, listener);
      try {
        expect(a.emit({ type: 'x.lost' })).toBe('');
      } finally {
        diagnosticsChannel.unsubscribe(DIAGNOSTICS_CHANNEL, listener);
      }
      expect(seen.map((d) => d.kind)).toContain('not-enabled');
    });
  });

  describe('redaction', () => {
    it('redacts personal data in the prompt before it reaches the trail and records the finding', async () => {
      const a = newAudit();
      await a.enable({ env: TEST_ENV });
      a.modelCall({
        provider: 'openai',
        model: 'gpt-4o',
        prompt: 'mail me at jane.doe@example.com',
        response: 'ok',
      });
      await a.flush();
      const [e] = entries(a.memoryStores[0]!);
      const stored = a.memoryStores[0]!.log.lines[0]!;
      expect(stored).not.toContain('jane.doe@example.com');
      expect(e!.content).toEqual({ prompt: 'mail me at [EMAIL]', response: 'ok' });
      expect(e!.redactions).toEqual([{ path: 'content.prompt', kind: 'email', count: 1 }]);
    });

    it('keeps the text when redactPii is false, and applies a custom redactor when given', async () => {
      const plain = newAudit();
      await plain.enable({ env: TEST_ENV, redactPii: false });
      plain.modelCall({ prompt: 'jane.doe@example.com' });
      await plain.flush();
      expect(entries(plain.memoryStores[0]!)[0]!.content).toEqual({ prompt: 'jane.doe@example.com' });

      const custom = newAudit();
      await custom.enable({ env: TEST_ENV, redactor: { custom: [{ name: 'ticket', pattern: /TCK-\d+/ }] } });
      custom.modelCall({ prompt: 'about TCK-4411' });
      await custom.flush();
      expect(entries(custom.memoryStores[0]!)[0]!.content).toEqual({ prompt: 'about [TICKET]' });
    });
  });

  describe('redaction on the way to a collector', () => {
    /** An audit whose only destination is a collector no one answers: events stay in its spool. */
    async function spooling(name: string, failure?: 'block'): Promise<{ a: Audit; spoolDir: string }> {
      const spoolDir = path.join(dirs.root(), name);
      const a = newAudit();
      // nothing listens on port 9
      await a.enable({
        env: TEST_ENV,
        destination: 'http://127.0.0.1:9',
        collectorToken: 'test-token',
        spoolDir,
        ...(failure === undefined ? {} : { failure }),
      });
      return { a, spoolDir };
    }

    it('spools what was scanned, even when a getter answers a secret on a later read', async () => {
      const { a, spoolDir } = await spooling('spool');
      let reads = 0;
      const meta = Object.defineProperty({}, 'note', {
        get: () => (reads++ === 0 ? 'nothing here' : 'mail jane.doe@example.com'),
        enumerable: true,
      });
      a.emit({ type: 'x.note', meta } as AuditEventInput);
      const spool = fs.readFileSync(path.join(spoolDir, 'spool.jsonl'), 'utf8');
      expect(spool).toContain('nothing here');
      expect(spool).not.toContain('jane.doe@example.com');
      expect(reads).toBe(1);
    });

    it('refuses a record the trail writes about itself before it reaches the spool', async () => {
      const { a, spoolDir } = await spooling('own-spool', 'block');
      a.emit({ type: 'x.before' });
      expect(() => a.emit({ type: 'retention.content_expired' })).toThrow(
        expect.objectContaining({ code: 'EVENT_INVALID', detail: { field: 'type' } }),
      );
      const spool = fs.readFileSync(path.join(spoolDir, 'spool.jsonl'), 'utf8');
      expect(spool).toContain('x.before');
      expect(spool).not.toContain('retention.');
    });
  });

  describe('environment variables reach the trails', () => {
    it('SEALTRAIL_DESTINATION, SEALTRAIL_ORIGIN and SEALTRAIL_REDACT_PII', async () => {
      const dir = dirs.root();
      const a = newAudit();
      await a.enable({
        env: {
          ...TEST_ENV,
          SEALTRAIL_DESTINATION: `memory,${dir}`,
          SEALTRAIL_ORIGIN: 'example.org/support-bot',
          SEALTRAIL_REDACT_PII: 'false',
        },
      });
      expect(a.trails.map((t) => t.origin)).toEqual(['example.org/support-bot', 'example.org/support-bot']);
      a.modelCall({ prompt: 'jane.doe@example.com' });
      await a.disable();
      expect(entries(a.memoryStores[0] ?? new MemoryTrailStore())).toEqual([]); // stores are forgotten on disable
      const fromDir = [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
      expect(fromDir.map((e) => e.content)).toEqual([{ prompt: 'jane.doe@example.com' }]);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'trail.json'), 'utf8')).origin).toBe(
        'example.org/support-bot',
      );
    });

    it('SEALTRAIL_CONTENT=hash with SEALTRAIL_KEY hashes content in a directory trail', async () => {
      const dir = dirs.root();
      const a = newAudit();
      await a.enable({
        env: {
          ...TEST_ENV,
          SEALTRAIL_DESTINATION: dir,
          SEALTRAIL_CONTENT: 'hash',
          SEALTRAIL_KEY: '3c'.repeat(32),
        },
      });
      a.modelCall({ prompt: 'private question' });
      await a.disable();
      const [loaded, e] = [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
      // The trail records which provider served its keys, first.
      expect(loaded).toMatchObject({ type: 'system.keys_loaded', meta: { provider: 'env' } });
      expect(e!.contentModes).toEqual({ prompt: 'hash' });
      expect(JSON.stringify(e!.content)).not.toContain('private question');
    });
  });

  describe('content mode and keys', () => {
    it('hands content hash and the SEALTRAIL_KEY key ring to a memory trail, which stores the keyed hash', async () => {
      const a = newAudit();
      await a.enable({
        env: {
          NODE_ENV: 'production',
          SEALTRAIL_KEY: '7e'.repeat(32),
          SEALTRAIL_ALLOW_DISABLE: '1',
          SEALTRAIL_QUIET: '1',
        },
        destination: 'memory',
      });
      a.modelCall({ prompt: 'what is our refund policy?' });
      await a.flush();
      const [, e] = entries(a.memoryStores[0]!);
      expect(e!.contentModes).toEqual({ prompt: 'hash' });
      expect(a.memoryStores[0]!.log.lines[1]).not.toContain('refund policy');
      expect(a.status()).toMatchObject({ environment: 'production', content: 'hash', keysConfigured: true });
    });

    describe('when Vault and SEALTRAIL_KEY are both configured for a directory trail', () => {
      it('takes the keys from Vault, first in the chain the CLI reads the trail with', async () => {
        // A loopback server answering Vault's KV v2 read (api-docs/secret/kv/kv-v2).
        const vaultKey = Buffer.alloc(32, 0x5a).toString('base64');
        const server = http.createServer((req, res) => {
          const ok = req.url === '/v1/secret/data/sealtrail/prod' && req.headers['x-vault-token'] === 'hvs.t';
          res.writeHead(ok ? 200 : 403, { 'Content-Type': 'application/json' });
          res.end(
            JSON.stringify(
              ok
                ? { data: { data: { current: 'k1', k1: vaultKey }, metadata: { version: 1 } } }
                : { errors: ['permission denied'] },
            ),
          );
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        try {
          const dir = dirs.root();
          const a = newAudit();
          await a.enable({
            env: {
              ...TEST_ENV,
              SEALTRAIL_DESTINATION: dir,
              SEALTRAIL_CONTENT: 'hash',
              SEALTRAIL_KEY: `k9:${'3c'.repeat(32)}`,
              VAULT_ADDR: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
              VAULT_TOKEN: 'hvs.t',
              SEALTRAIL_VAULT_PATH: 'sealtrail/prod',
            },
          });
          a.modelCall({ prompt: 'private question' });
          await a.disable();
          const [loaded, e] = [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
          expect(loaded).toMatchObject({
            type: 'system.keys_loaded',
            meta: { provider: 'vault', current: 'k1' },
          });
          expect(e!.content!.prompt).toMatch(/^sth1:k1:/);
        } finally {
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
        }
      });
    });

    it('refuses enable() at once for content hash on a memory or stdout trail without keys, naming SEALTRAIL_KEY', () => {
      // Before, the promise rejected later, after a stdout trail had printed its header.
      for (const [env, destination] of [
        [{ NODE_ENV: 'production' }, 'memory'],
        [{ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, undefined],
      ] as const) {
        const a = newAudit();
        const options = { env: { ...env, SEALTRAIL_QUIET: '1' }, allowDisable: true };
        expect(() => a.enable(destination === undefined ? options : { ...options, destination })).toThrow(
          expect.objectContaining({
            code: 'CONFIG_INVALID',
            detail: { field: 'SEALTRAIL_KEY' },
            message: expect.stringMatching(
              /^SEALTRAIL_KEY: content hash \((the production|the container) default\) needs a master key on a (memory|stdout) trail/,
            ),
          }),
        );
      }
      const a = newAudit();
      expect(() =>
        a.enable({ env: { NODE_ENV: 'production', SEALTRAIL_CONTENT: 'hash' }, destination: 'stdout' }),
      ).toThrow(expect.objectContaining({ detail: { field: 'SEALTRAIL_CONTENT' } }));
    });
  });

  describe('helpers', () => {
    it('record each catalogue event field by field', async () => {
      const a = newAudit();
      await a.enable({ env: TEST_ENV, redactPii: false });
      a.modelCall({
        provider: 'anthropic',
        model: 'claude',
        prompt: 'p',
        response: 'r',
        usage: { inputTokens: 3, outputTokens: 4 },
        latencyMs: 12,
        finishReason: 'stop',
        conversation: { id: 'c1', turn: 2 },
      });
      a.toolCall({ name: 'search', args: { q: 'x' }, result: [1], toolCallId: 'call_1', latencyMs: 5 });
      a.toolCall({ name: 'fetch', error: new TypeError('boom') });
      a.toolCall({ name: 'plan', args: { step: 1 } });
      a.guardrail({ name: 'toxicity', decision: 'block', reason: 'insult', confidence: 0.9, stage: 'input' });
      a.auth({ userId: 'u1', method: 'password' });
      a.auth({ userId: 'u2', outcome: 'failure', reason: 'bad password' });
      a.auth({ event: 'logout', userId: 'u1' });
      a.dataAccess({
        resource: { type: 'customer', id: 'c-9' },
        action: 'export',
        subject: 'c-9',
        records: 12,
      });
      a.admin({ action: 'role_changed', actor: { id: 'admin' }, resource: { type: 'role', id: 'editor' } });
      await a.flush();
      const got = entries(a.memoryStores[0]!).map(({ id: _id, ts: _ts, seq: _seq, ...rest }) => rest);
      expect(got).toEqual([
        {
          type: 'model.completion',
          category: 'ai',
          severity: 'info',
          model: { provider: 'anthropic', name: 'claude' },
          usage: { inputTokens: 3, outputTokens: 4 },
          latencyMs: 12,
          conversation: { id: 'c1', turn: 2 },
          outcome: 'success',
          content: { prompt: 'p', response: 'r' },
          meta: { finishReason: 'stop' },
        },
        {
          type: 'tool.result',
          category: 'ai',
          severity: 'info',
          resource: { type: 'tool', id: 'search' },
          action: 'execute',
          latencyMs: 5,
          outcome: 'success',
          content: { toolArgs: { q: 'x' }, toolResult: [1] },
          meta: { toolCallId: 'call_1' },
        },
        {
          type: 'tool.result',
          category: 'ai',
          severity: 'info',
          resource: { type: 'tool', id: 'fetch' },
          action: 'execute',
          outcome: 'error',
          content: { error: { name: 'TypeError', message: 'boom' } },
        },
        {
          type: 'tool.call',
          category: 'ai',
          severity: 'info',
          resource: { type: 'tool', id: 'plan' },
          action: 'request',
          outcome: 'success',
          content: { toolArgs: { step: 1 } },
        },
        {
          type: 'guardrail.decision',
          category: 'ai',
          severity: 'notice',
          guardrails: [{ name: 'toxicity', decision: 'block', reason: 'insult', confidence: 0.9 }],
          outcome: 'blocked',
          action: 'input',
        },
        {
          type: 'auth.success',
          category: 'authentication',
          severity: 'info',
          subject: 'u1',
          actor: { id: 'u1', authMethod: 'password' },
          outcome: 'success',
        },
        {
          type: 'auth.failure',
          category: 'authentication',
          severity: 'warning',
          subject: 'u2',
          actor: { id: 'u2' },
          outcome: 'failure',
          meta: { reason: 'bad password' },
        },
        {
          type: 'auth.logout',
          category: 'authentication',
          severity: 'info',
          subject: 'u1',
          actor: { id: 'u1' },
          outcome: 'success',
        },
        {
          type: 'data.export',
          category: 'data',
          severity: 'notice',
          subject: 'c-9',
          resource: { type: 'customer', id: 'c-9' },
          action: 'export',
          outcome: 'success',
          meta: { records: 12 },
        },
        {
          type: 'admin.role_changed',
          category: 'admin',
          severity: 'notice',
          subject: 'admin',
          actor: { id: 'admin' },
          resource: { type: 'role', id: 'editor' },
          action: 'role_changed',
          outcome: 'success',
        },
      ]);
    });

    it('modelRequest writes two linked entries with the latency between them', async () => {
      const a = newAudit();
      await a.enable({ env: TEST_ENV, redactPii: false });
      const call = a.modelRequest({
        provider: 'openai',
        model: 'gpt-4o',
        prompt: 'hi',
        conversation: { id: 'c' },
      });
      await new Promise((r) => setTimeout(r, 20));
      const responseId = call.respond({
        response: 'hello',
        usage: { outputTokens: 1 },
        finishReason: 'stop',
      });
      expect(() => call.respond({})).toThrow(expect.objectContaining({ code: 'USAGE' }));
      const failed = a.modelRequest({ model: 'gpt-4o', prompt: 'again' });
      failed.fail(Object.assign(new Error('rate limited'), { status: 429 }));
      await a.flush();
      const [req, res, req2, res2] = entries(a.memoryStores[0]!);
      expect(req).toMatchObject({
        id: call.id,
        type: 'model.request',
        model: { provider: 'openai', name: 'gpt-4o' },
        conversation: { id: 'c' },
        content: { prompt: 'hi' },
        meta: { callId: call.callId },
      });
      expect(res).toMatchObject({
        id: responseId,
        type: 'model.completion',
        model: { provider: 'openai', name: 'gpt-4o' },
        conversation: { id: 'c' },
        outcome: 'success',
        usage: { outputTokens: 1 },
        content: { response: 'hello' },
        meta: { callId: call.callId, requestEntry: call.id, finishReason: 'stop' },
      });
      expect(res!.latencyMs as number).toBeGreaterThanOrEqual(15);
      expect(res2).toMatchObject({
        type: 'model.completion',
        outcome: 'error',
        content: { error: { name: 'Error', message: 'rate limited', status: 429 } },
        meta: { callId: failed.callId, requestEntry: req2!.id },
      });
    });

    it('a bad helper input throws EVENT_INVALID naming the field under failure block', async () => {
      const a = newAudit();
      await a.enable({ env: TEST_ENV });
      const field = (fn: () => unknown) => {
        try {
          fn();
        } catch (err) {
          return [(err as AuditError).code, (err as AuditError).detail.field];
        }
        return undefined;
      };
      expect(field(() => a.guardrail({ name: 'g', decision: 'deny' as 'block' }))).toEqual([
        'EVENT_INVALID',
        'decision',
      ]);
      expect(field(() => a.toolCall({ name: '' }))).toEqual(['EVENT_INVALID', 'name']);
      expect(field(() => a.auth({ event: 'logout', outcome: 'failure' }))).toEqual([
        'EVENT_INVALID',
        'outcome',
      ]);
      expect(field(() => a.admin({ action: 'reboot' as 'role_changed' }))).toEqual([
        'EVENT_INVALID',
        'action',
      ]);
      expect(
        field(() => a.dataAccess({ resource: { type: 't', id: 'i' }, action: 'peek' as 'read' })),
      ).toEqual(['EVENT_INVALID', 'action']);
      expect(() => a.modelCall({ usage: { inputTokens: -1 } })).toThrow(/usage.inputTokens/);
    });

    it('under failure continue a bad event is reported, not thrown', async () => {
      const a = newAudit();
      await a.enable({ env: TEST_ENV, failure: 'continue' });
      expect(a.modelCall({ usage: { inputTokens: -1 } })).toBe('');
      expect(a.guardrail({ name: 'g', decision: 'nope' as 'block' })).toBe('');
      expect(a.emit({ type: 'x.ok' })).not.toBe('');
    });
  });

  describe('request context', () => {
    it('fills actor, request, trace and conversation from the context without overwriting the event', async () => {
      const a = newAudit();
      await a.enable({ env: TEST_ENV });
      runWithRequestContext(
        {
          userId: 'u-7',
          ip: '203.0.113.9',
          userAgent: 'curl/8',
          requestId: 'req-1',
          traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
          conversationId: 'conv-1',
          turn: 3,
        },
        () => {
          a.emit({ type: 'x.one' });
          a.setUser({ id: 'u-8', authMethod: 'oidc' });
          a.emit({ type: 'x.two', actor: { id: 'explicit' }, conversation: { id: 'other' } });
        },
      );
      await a.flush();
      const [one, two] = entries(a.memoryStores[0]!);
      expect(one).toMatchObject({
        actor: { id: 'u-7', ip: '203.0.113.9', userAgent: 'curl/8' },
        requestId: 'req-1',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        conversation: { id: 'conv-1', turn: 3 },
      });
      expect(two).toMatchObject({
        actor: { id: 'explicit', ip: '203.0.113.9', authMethod: 'oidc' },
        conversation: { id: 'other' },
      });
      expect((two!.conversation as { turn?: number }).turn).toBeUndefined();
    });
  });

  describe('destinations', () => {
    it('writes a list of destinations in parallel, each sealed and verifiable on its own', async () => {
      const dir = dirs.root();
      const store = new MemoryTrailStore();
      const a = newAudit();
      await a.enable({ env: TEST_ENV, destination: [dir, store] });
      a.emit({ type: 'x.both', meta: { n: 1 } });
      a.emit({ type: 'x.both', meta: { n: 2 } });
      await a.disable();
      const fromDir = [...new DirSource(dir).lines()].map((l) => decodeLine(l.text));
      expect(fromDir.map((e) => e.meta)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(entries(store).map((e) => e.meta)).toEqual([{ n: 1 }, { n: 2 }]);
      expect((await verifyDir(dir)).ok).toBe(true);
      expect(verifyTrail(store.verifyInput()).ok).toBe(true);
    });

    it('reads an event once for all destinations: a getter cannot show each another value', async () => {
      const one = new MemoryTrailStore();
      const two = new MemoryTrailStore();
      const a = newAudit();
      await a.enable({ env: TEST_ENV, destination: [one, two] });
      let reads = 0;
      const meta = Object.defineProperty({}, 'note', { get: () => `read ${++reads}`, enumerable: true });
      a.emit({ type: 'x.note', meta } as AuditEventInput);
      await a.disable();
      expect(reads).toBe(1);
      expect(entries(one)[0]!.meta).toEqual({ note: 'read 1' });
      expect(entries(two)[0]!.meta).toEqual({ note: 'read 1' });
    });

    it('writes to an AuditTrail it was given and leaves it open on disable()', async () => {
      const store = new MemoryTrailStore();
      const trail = await AuditTrail.open({ store, handleExit: false });
      const a = newAudit();
      await a.enable({ env: TEST_ENV, destination: trail });
      a.emit({ type: 'x.mine' });
      await a.disable();
      trail.emit({ type: 'x.still-open' });
      await trail.close();
      expect(entries(store).map((e) => e.type)).toEqual(['x.mine', 'x.still-open']);
    });

    it('prints one line per event for the pretty destination, without content', async () => {
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        const a = newAudit();
        await a.enable({ env: TEST_ENV, destination: ['pretty', 'memory'] });
        a.modelCall({
          model: 'gpt-4o',
          prompt: 'secret plan',
          latencyMs: 41.6,
          usage: { inputTokens: 5, outputTokens: 7 },
        });
        const line = String(
          write.mock.calls.find((c) => String(c[0]).includes('audit model.completion'))?.[0],
        );
        expect(line).toMatch(/ audit model\.completion success model=gpt-4o tokens=5\/7 42ms\n$/);
        expect(line).not.toContain('secret plan');
      } finally {
        write.mockRestore();
      }
    });

    it('prints the pretty line of the event as redacted, as the trail records it', async () => {
      const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
      try {
        const a = newAudit();
        await a.enable({
          env: TEST_ENV,
          destination: ['pretty', 'memory'],
          redactor: { classes: { identifiers: 'all' } },
        });
        a.emit({ type: 'x.lookup', resource: { type: 'profile', id: 'jane.doe@example.com' } });
        const line = String(write.mock.calls.find((c) => String(c[0]).includes('audit x.lookup'))?.[0]);
        expect(line).toMatch(/ audit x\.lookup profile=\[EMAIL\]\n$/);
        await a.flush();
        expect(entries(a.memoryStores[0]!).at(-1)?.resource).toEqual({ type: 'profile', id: '[EMAIL]' });
      } finally {
        write.mockRestore();
      }
    });

    it('fails enable() with the open error under failure block, and reports it under continue', async () => {
      const file = path.join(dirs.root(), 'not-a-dir');
      fs.writeFileSync(file, 'x');
      const a = newAudit();
      await expect(a.enable({ env: TEST_ENV, destination: file })).rejects.toBeInstanceOf(AuditError);
      expect(a.status().state).toBe('failed');
      expect(() => a.emit({ type: 'x.after' })).toThrow(AuditError);
      const b = newAudit();
      await b.enable({ env: TEST_ENV, destination: file, failure: 'continue' });
      expect(b.emit({ type: 'x.after' })).toBe('');
    });
  });

  describe('disable()', () => {
    it('is refused in production', async () => {
      const a = newAudit();
      await a.enable({
        env: { NODE_ENV: 'production', SEALTRAIL_QUIET: '1' },
        destination: 'memory',
        content: 'plain',
      });
      expect(() => a.disable()).toThrow(
        expect.objectContaining({
          code: 'USAGE',
          message: expect.stringMatching(/cannot be disabled in production/),
        }),
      );
      expect(a.status().state).toBe('on');
      opened.splice(opened.indexOf(a), 1);
    });

    it('is allowed in production with the override option or variable', async () => {
      for (const options of [
        { allowDisable: true },
        { env: { NODE_ENV: 'production', SEALTRAIL_ALLOW_DISABLE: '1' } },
      ]) {
        const a = newAudit();
        await a.enable({
          env: { NODE_ENV: 'production' },
          destination: 'memory',
          content: 'plain',
          ...options,
        });
        await a.disable();
        expect(a.status().state).toBe('off');
      }
    });

    it('SEALTRAIL_ENABLED=false leaves the trail off outside production', async () => {
      const a = newAudit();
      await a.enable({ env: { ...TEST_ENV, SEALTRAIL_ENABLED: 'false' } });
      expect(a.status()).toMatchObject({ state: 'off', disabledByEnv: true });
      expect(a.trails).toHaveLength(0);
    });
  });
});
