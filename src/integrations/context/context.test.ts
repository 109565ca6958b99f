import { describe, expect, it } from 'vitest';
import { AuditError } from '../../errors.js';
import { compileTrustProxy, resolveClientIp } from './client-ip.js';
import { createHttpContextBuilder } from './http-context.js';
import {
  applyRequestContext,
  getRequestContext,
  runWithRequestContext,
  updateRequestContext,
} from './request-context.js';
import { parseTraceparent } from './traceparent.js';
import { TurnCounter } from './turns.js';

describe('resolveClientIp', () => {
  const xff = '198.51.100.1, 203.0.113.5, 10.0.0.2';
  it('ignores X-Forwarded-For when no proxy is trusted (the header is attacker-controlled)', () => {
    expect(resolveClientIp('10.0.0.3', xff, compileTrustProxy(false))).toBe('10.0.0.3');
  });
  it('takes the left-most address when every proxy is trusted', () => {
    expect(resolveClientIp('10.0.0.3', xff, compileTrustProxy(true))).toBe('198.51.100.1');
  });
  it('walks back a hop count', () => {
    expect(resolveClientIp('10.0.0.3', xff, compileTrustProxy(1))).toBe('10.0.0.2');
    expect(resolveClientIp('10.0.0.3', xff, compileTrustProxy(2))).toBe('203.0.113.5');
  });
  it('walks back past trusted ranges to the first untrusted address, so a spoofed left part is ignored', () => {
    expect(resolveClientIp('10.0.0.3', xff, compileTrustProxy(['private']))).toBe('203.0.113.5');
    expect(resolveClientIp('::ffff:127.0.0.1', '192.0.2.44', compileTrustProxy(['loopback']))).toBe(
      '192.0.2.44',
    );
    expect(resolveClientIp('203.0.113.9', '192.0.2.44', compileTrustProxy(['loopback']))).toBe('203.0.113.9');
  });
  it('stops at an entry that is not an address', () => {
    expect(
      resolveClientIp('10.0.0.3', 'evil, 203.0.113.5', compileTrustProxy(['10.0.0.0/8', '203.0.113.0/24'])),
    ).toBe('203.0.113.5');
  });
  it.each([[['10.0.0.0/33']], [['nonsense']], [-1], [[5]]])('refuses trustProxy %j naming it', (trust) => {
    expect(() => compileTrustProxy(trust as never)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/^trustProxy/) }),
    );
  });
});

describe('parseTraceparent', () => {
  it('takes the trace id of a valid header', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });
  it.each([
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
    'garbage',
  ])('ignores %s', (h) => {
    expect(parseTraceparent(h)).toBeUndefined();
  });
});

describe('TurnCounter', () => {
  it('counts turns per conversation and forgets the least recently used beyond its bound', () => {
    const t = new TurnCounter({ maxConversations: 2 });
    expect([t.next('a'), t.next('a'), t.next('b'), t.next('a')]).toEqual([1, 2, 1, 3]);
    t.next('c'); // evicts b, the least recently used
    expect(t.size).toBe(2);
    expect([t.next('b'), t.next('c'), t.next('a')]).toEqual([1, 2, 1]); // b came back new, which evicted a
  });
  it('forgets a conversation idle longer than the ttl, and takes a claimed turn ahead of the count', () => {
    let now = 0;
    const t = new TurnCounter({ ttlMs: 1000, now: () => now });
    t.next('a');
    now = 5000;
    expect(t.next('a')).toBe(1);
    expect(t.next('a', 7)).toBe(7);
    expect(t.next('a', 3)).toBe(8);
  });
  it('refuses a bad bound', () => {
    expect(() => new TurnCounter({ maxConversations: 0 })).toThrow(AuditError);
  });
});

describe('request context', () => {
  it('is visible inside the run, across awaits, and not outside', async () => {
    const seen = await runWithRequestContext({ userId: 'u' }, async () => {
      await new Promise((r) => setTimeout(r, 1));
      updateRequestContext({ conversationId: 'c' });
      return getRequestContext();
    });
    expect(seen).toEqual({ userId: 'u', conversationId: 'c' });
    expect(getRequestContext()).toBeUndefined();
    expect(() => updateRequestContext({ userId: 'x' })).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
  it('refuses unknown fields and wrong types naming the field', () => {
    expect(() => runWithRequestContext({ user: 'x' } as never, () => 0)).toThrow(/context\.user: unknown/);
    expect(() => runWithRequestContext({ turn: -1 }, () => 0)).toThrow(/context\.turn/);
    expect(() => runWithRequestContext({ ip: 5 } as never, () => 0)).toThrow(/context\.ip/);
  });
  it('fills only what the event leaves out', () => {
    const ctx = { userId: 'u', ip: '192.0.2.1', requestId: 'r', conversationId: 'c', turn: 2 };
    expect(applyRequestContext({ type: 'x.a' }, ctx)).toEqual({
      type: 'x.a',
      actor: { id: 'u', ip: '192.0.2.1' },
      requestId: 'r',
      conversation: { id: 'c', turn: 2 },
    });
    expect(
      applyRequestContext({ type: 'x.a', requestId: 'mine', conversation: { id: 'c' } }, ctx),
    ).toMatchObject({
      requestId: 'mine',
      conversation: { id: 'c', turn: 2 },
    });
  });
});

describe('createHttpContextBuilder', () => {
  const headers = (h: Record<string, string>) => ({ header: (n: string) => h[n] });
  it('reads the request id, trace, session, conversation and turn from headers', () => {
    const build = createHttpContextBuilder({ turns: new TurnCounter() });
    const ctx = build({
      remoteAddress: '127.0.0.1',
      ...headers({
        'x-request-id': 'req-9',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
        'x-session-id': 's-1',
        'x-conversation-id': 'conv-1',
        'user-agent': 'ua',
        'x-user-id': 'spoofed',
      }),
    });
    expect(ctx).toEqual({
      ip: '127.0.0.1',
      userAgent: 'ua',
      requestId: 'req-9',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      sessionId: 's-1',
      conversationId: 'conv-1',
      turn: 1,
    });
  });
  it('generates a request id when none is sent, and reads the user only from a configured gateway header', () => {
    const build = createHttpContextBuilder({ userHeader: 'X-Auth-User' });
    const ctx = build({ remoteAddress: '::1', ...headers({ 'x-auth-user': 'alice' }) });
    expect(ctx.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(ctx.userId).toBe('alice');
  });
  it('refuses a bad header name', () => {
    expect(() => createHttpContextBuilder({ requestIdHeader: 'bad header' })).toThrow(/requestIdHeader/);
  });
  it('takes a claimed turn only as 1–9 decimal digits, so a hostile header cannot break later requests', () => {
    const build = createHttpContextBuilder({ turns: new TurnCounter() });
    const turnOf = (claim: string) =>
      build({
        remoteAddress: '::1',
        ...headers({ 'x-conversation-id': 'c', 'x-conversation-turn': claim }),
      }).turn;
    expect(turnOf(String(Number.MAX_SAFE_INTEGER))).toBe(1);
    for (const claim of ['1e3', '0x10', ' 5', '-3', '1000000000']) expect(turnOf(claim)).toBeLessThan(10);
    expect(turnOf('40')).toBe(40);
    const after = turnOf('') ?? 0;
    expect(after).toBe(41);
    expect(() => runWithRequestContext({ conversationId: 'c', turn: after }, () => 0)).not.toThrow();
  });
});
